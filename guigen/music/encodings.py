"""The music encodings by name, and the codec a model file's metadata describes."""

from __future__ import annotations

from guigen.music.melody import MelodyEncoding
from guigen.music.polyphony import PolyphonyEncoding

ENCODINGS = {"melody": MelodyEncoding, "polyphony": PolyphonyEncoding}


def names() -> list[str]:
    return list(ENCODINGS)


def encoding_from_meta(meta: dict):
    """Rebuild an encoding from {"kind": "music", "encoding": NAME, ...parameters}."""
    name = meta.get("encoding")
    if name not in ENCODINGS:
        raise ValueError(f"unknown music encoding {name!r} (known: {', '.join(ENCODINGS)})")
    if meta.get("steps_per_quarter", 4) != 4:
        raise ValueError("only 4 steps per quarter note (16th notes) are supported")
    return ENCODINGS[name].from_meta(meta)


def make_encoding(name: str, min_pitch: int = 48, max_pitch: int = 83, key: int | None = None):
    """An encoding for training: the melody's pitch range and key are its parameters."""
    if name == "melody":
        return MelodyEncoding(min_pitch, max_pitch, key)
    if name == "polyphony":
        return PolyphonyEncoding(key)
    return encoding_from_meta({"kind": "music", "encoding": name})
