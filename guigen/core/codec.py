"""Codecs turn tokens into things people read: characters, or music events.

A codec has `kind` ("text" or "music"), `num_classes`, `token_label(i)` for the histogram,
and `to_meta()` / `from_meta()` so a model file can carry it.
"""

from __future__ import annotations


def codec_from_meta(meta: dict):
    """Rebuild the codec a model file describes."""
    if not isinstance(meta, dict) or "kind" not in meta:
        raise ValueError("codec description lacks 'kind'")
    if meta["kind"] == "text":
        from guigen.core.vocab import CharVocab

        return CharVocab.from_meta(meta)
    if meta["kind"] == "music":
        from guigen.music.encodings import encoding_from_meta

        return encoding_from_meta(meta)
    raise ValueError(f"unknown codec kind {meta['kind']!r}")
