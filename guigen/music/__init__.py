"""Note-level music: note events on a 16th-note grid, Magenta-style encodings, MIDI, audio, ports.

Only guigen.music.midi imports mido; everything else speaks `Note` and `NoteSequence`.
"""
