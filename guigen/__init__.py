"""GuiGen: play with recurrent generative models (char-level and note-level LSTMs)."""

__version__ = "0.1.0"
