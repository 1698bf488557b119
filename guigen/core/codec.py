"""Codecs turn tokens into things people read: characters, or music events.

A codec has `kind` ("text" or "music"), `num_classes`, `token_label(i)` for the histogram,
and `to_meta()` / `from_meta()` so a model file can carry it.

Text is core's own kind. Other kinds register how to rebuild their codecs, and which encodings
they can train (`register`), when their package is imported: guigen.music registers "music", so
the engine never imports the music package.
"""

from __future__ import annotations

_FROM_META = {}  # kind -> function rebuilding a codec from its metadata
_ENCODINGS = {}  # kind -> function naming the encodings that kind can train


def register(kind: str, from_meta, encodings=tuple) -> None:
    """Let model files of this kind be loaded: `from_meta(meta)` rebuilds their codec, and
    `encodings()` names the encodings a prepared folder of this kind may use."""
    _FROM_META[kind] = from_meta
    _ENCODINGS[kind] = encodings


def encodings(kind: str) -> tuple:
    """The encodings a registered kind can train; () for a kind whose package is not imported."""
    return tuple(_ENCODINGS.get(kind, tuple)())


def codec_from_meta(meta: dict):
    """Rebuild the codec a model file describes."""
    if not isinstance(meta, dict) or "kind" not in meta:
        raise ValueError("codec description lacks 'kind'")
    if meta["kind"] == "text":
        from guigen.core.vocab import CharVocab

        return CharVocab.from_meta(meta)
    if meta["kind"] in _FROM_META:
        return _FROM_META[meta["kind"]](meta)
    if meta["kind"] == "music":  # a kind this installation has, once its package is imported
        raise ValueError("a music model needs guigen.music: import it before loading the model")
    raise ValueError(f"unknown codec kind {meta['kind']!r}")
