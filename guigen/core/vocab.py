"""Character vocabulary for text models: Unicode characters <-> token ids."""

from __future__ import annotations

import warnings

import numpy as np


class UnknownCharsError(ValueError):
    """Text holds characters the model never saw."""

    def __init__(self, chars: list[str]):
        self.chars = chars
        shown = ", ".join(repr(c) for c in chars[:20]) + (" ..." if len(chars) > 20 else "")
        super().__init__(
            f"{len(chars)} character(s) not in the model's vocabulary: {shown} "
            "(use --drop-unknown to drop them with a warning)"
        )


def _label(ch: str) -> str:
    """A readable label for a character: space and control characters made visible."""
    special = {" ": "␣", "\n": "⏎", "\t": "⇥", "\r": "␍", "\ufeff": "BOM"}
    if ch in special:
        return special[ch]
    if not ch.isprintable():
        return f"U+{ord(ch):04X}"
    return ch


class CharVocab:
    """Sorted list of distinct characters; a token id is an index into it."""

    kind = "text"

    def __init__(self, chars: list[str] | str):
        chars = list(chars)
        if not chars or any(not isinstance(c, str) or len(c) != 1 for c in chars):
            raise ValueError("a vocabulary is a non-empty list of single characters")
        if len(set(chars)) != len(chars):
            raise ValueError("vocabulary characters must be distinct")
        self.chars = chars
        self.index = {c: i for i, c in enumerate(chars)}

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        return cls(sorted(set(text)))

    @property
    def num_classes(self) -> int:
        return len(self.chars)

    def unknown(self, text: str) -> list[str]:
        return sorted(set(text) - self.index.keys())

    def encode(self, text: str, drop_unknown: bool = False) -> np.ndarray:
        """Token ids for text; unseen characters raise, or are dropped with a warning."""
        missing = self.unknown(text)
        if missing:
            if not drop_unknown:
                raise UnknownCharsError(missing)
            warnings.warn(str(UnknownCharsError(missing)).split(" (")[0] + " were dropped", stacklevel=2)
            text = "".join(c for c in text if c in self.index)
        return np.fromiter((self.index[c] for c in text), dtype=np.int64, count=len(text))

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)

    def token_label(self, i: int) -> str:
        return _label(self.chars[int(i)])

    def to_meta(self) -> dict:
        return {"kind": "text", "chars": "".join(self.chars)}

    @classmethod
    def from_meta(cls, meta: dict) -> CharVocab:
        return cls(list(meta["chars"]))
