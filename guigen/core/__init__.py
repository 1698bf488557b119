"""The engine: vocabularies, the LSTM model, model files, sampling, generation and training.

Nothing under guigen.core imports Qt; the app is a thin view over it.
"""
