"""Note-level music: note events on a 16th-note grid, Magenta-style encodings, MIDI, audio, ports.

Only guigen.music.midi imports mido; everything else speaks `Note` and `NoteSequence`.
Importing the package registers its encodings with the engine (guigen.core.codec), so model
files of kind "music" can be loaded.
"""

from guigen.core.codec import register as _register


def _codec_from_meta(meta: dict):
    from guigen.music.encodings import encoding_from_meta

    return encoding_from_meta(meta)


def _encodings() -> tuple:
    from guigen.music.encodings import ENCODINGS

    return tuple(ENCODINGS)


_register("music", _codec_from_meta, _encodings)
