"""Corpora bigger than memory: token shards on disk (.npy, memory-mapped) with a manifest, and streams over them.

`guigen prepare` writes a folder: shard-GEN-NNNNN.npy files, each a flat array of tokens, and
manifest.json, which says for every source file where its tokens lie (or why it was skipped),
its content hash, the split and the vocabulary or encoding. Text shards hold Unicode code
points (uint32) and the vocabulary maps them to ids as windows are read, so a corpus that grows
never re-encodes the files it had; music shards hold the encoding's ids (uint16) per piece,
moved by a per-epoch transposition through a lookup table. Training reads windows with
np.load(mmap_mode="r"): memory stays flat whatever the corpus size (nanoGPT's prepare.py and
memmap loader are the model).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
from pathlib import Path

import numpy as np

from guigen.core.data import DataError, TokenData
from guigen.core.files import atomic_write_text
from guigen.core.manifest import FORMAT, MANIFEST, read_checked, scan_ids

SHARD_TOKENS = 1 << 26  # tokens per shard file (256 MB of text, 128 MB of music)
HEADER_BYTES = 128  # a fixed .npy header, rewritten with the final length when a shard closes


# -- writing -------------------------------------------------------------------------------------
def _npy_header(dtype: np.dtype, n: int) -> bytes:
    text = "{'descr': '%s', 'fortran_order': False, 'shape': (%d,), }" % (np.dtype(dtype).str, n)
    text = text.ljust(HEADER_BYTES - 10 - 1) + "\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text.encode("latin1")


class ShardWriter:
    """Appends token arrays to shard files of a new generation; add() says where each landed."""

    def __init__(self, folder: Path, generation: int, dtype):
        self.folder, self.generation, self.dtype = Path(folder), generation, np.dtype(dtype)
        self.names: list[str] = []
        self.sizes: list[int] = []
        self.file = None

    def _open(self) -> None:
        name = f"shard-{self.generation:03d}-{len(self.names):05d}.npy"
        self.names.append(name)
        self.sizes.append(0)
        path = self.folder / name
        with contextlib.suppress(FileNotFoundError):  # whatever a new generation's name holds (we hold the lock)
            path.unlink()
        self.file = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644), "wb")
        self.file.write(_npy_header(self.dtype, 0))

    def _close(self) -> None:
        if self.file is not None:
            self.file.seek(0)
            self.file.write(_npy_header(self.dtype, self.sizes[-1]))
            self.file.close()
            self.file = None

    def add(self, tokens: np.ndarray) -> tuple[str, int, int]:
        """(shard name, start, length): a piece is never split between two shards."""
        if self.file is None or (self.sizes[-1] and self.sizes[-1] + len(tokens) > SHARD_TOKENS):
            self._close()
            self._open()
        start = self.sizes[-1]
        self.file.write(np.ascontiguousarray(tokens, dtype=self.dtype).tobytes())
        self.sizes[-1] += len(tokens)
        return self.names[-1], start, len(tokens)

    def close(self) -> None:
        self._close()


def file_sha256(path: Path) -> str:
    from guigen.core.files import open_regular

    h = hashlib.sha256()
    with open_regular(path) as f:  # a FIFO is refused, never waited on
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_manifest(folder: Path) -> dict:
    """The folder's manifest, every field and shard checked (guigen.core.manifest); DataError naming the field."""
    return read_checked(folder)[0]


def write_manifest(folder: Path, manifest: dict) -> None:
    indent = 1 if len(manifest.get("files", [])) <= 2000 else None  # readable, unless it is huge
    atomic_write_text(Path(folder) / MANIFEST, json.dumps(manifest, indent=indent, ensure_ascii=False))


# -- reading -------------------------------------------------------------------------------------
class TokenStream:
    """Spans of memory-mapped shards read as one sequence: len() and [a:b] (an int64 array).

    Each span may go through a lookup table (a transposition, or code points to ids); only the
    span table lives in memory, a few numbers per piece, never the tokens.
    """

    def __init__(self, shards: list, span_shard, span_start, span_len, span_lut=None, luts=None,
                 vocab: int | None = None, where: str = ""):
        self.shards = shards
        # ids a shard may hold (a damaged or edited shard is named, never an IndexError deep in training)
        self.vocab, self.where = vocab, where
        self.span_shard = np.asarray(span_shard, dtype=np.int32)
        self.span_start = np.asarray(span_start, dtype=np.int64)
        self.span_len = np.asarray(span_len, dtype=np.int64)
        self.span_lut = None if span_lut is None else np.asarray(span_lut, dtype=np.int32)
        self.luts = luts
        self.cum = np.concatenate([[0], np.cumsum(self.span_len)])

    def __len__(self) -> int:
        return int(self.cum[-1])

    def __getitem__(self, key) -> np.ndarray:
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError("a token stream is read in contiguous slices")
        a, b, _ = key.indices(len(self))
        parts = []
        i = int(np.searchsorted(self.cum, a, side="right")) - 1
        while a < b:
            within = a - self.cum[i]
            take = min(b - a, self.span_len[i] - within)
            start = self.span_start[i] + within
            part = np.asarray(self.shards[self.span_shard[i]][start : start + take], dtype=np.int64)
            if self.luts is not None:
                lut = self.luts[0 if self.span_lut is None else self.span_lut[i]]
                if len(part) and int(part.max()) >= len(lut):
                    self._bad(int(part.max()))
                part = lut[part]
                if len(part) and int(part.min()) < 0:
                    self._bad(-1)
            elif self.vocab is not None and len(part) and int(part.max()) >= self.vocab:
                self._bad(int(part.max()))
            parts.append(part)
            a += take
            i += 1
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def _bad(self, token: int):
        what = "a code point outside the vocabulary" if token < 0 else f"token {token}, outside the vocabulary"
        raise DataError(f"{self.where or 'a shard'}: holds {what}; the shards don't match the manifest "
                        "(run `guigen prepare --rebuild`)")

    def part(self, a: int, b: int) -> TokenStream:
        """The positions a..b as a stream of its own (the train or validation part of a corpus)."""
        spans, i, pos = [], int(np.searchsorted(self.cum, a, side="right")) - 1, a
        while pos < b and i < len(self.span_len):
            within = pos - self.cum[i]
            take = min(b - pos, self.span_len[i] - within)
            spans.append((self.span_shard[i], self.span_start[i] + within, take,
                          0 if self.span_lut is None else self.span_lut[i]))
            pos += take
            i += 1
        s = np.asarray(spans, dtype=np.int64).reshape(-1, 4)
        return TokenStream(self.shards, s[:, 0], s[:, 1], s[:, 2], s[:, 3], self.luts, self.vocab, self.where)


def open_shards(folder: Path, manifest: dict) -> dict:
    """name -> memory-mapped array (nothing is read until a window needs it); each checked again."""
    from guigen.core.manifest import open_shard

    return {name: open_shard(Path(folder), name, manifest["kind"]) for name in manifest["shards"]}


def _spans(entries, shard_index, key):
    rows = [(shard_index[s], start, n) for e in entries for (s, start, n, *_rest) in e[key] if n]
    return np.asarray(rows, dtype=np.int64).reshape(-1, 3)


# -- text ----------------------------------------------------------------------------------------
def text_shard_data(folder: Path, vocab=None) -> TokenData:
    """TokenData over a prepared text corpus: the split by position the manifest gives.

    `vocab` (fine-tuning, distilling) must hold every character of the corpus.
    """
    from guigen.core.vocab import CharVocab

    folder = Path(folder)
    manifest, shards = read_checked(folder)
    if manifest["kind"] != "text":
        raise DataError(f"{folder} holds prepared {manifest['kind']}; train {manifest['kind']} --data {folder}")
    if vocab is None:
        vocab = CharVocab.from_meta(manifest["codec"])
    elif missing := sorted(set(manifest["codec"]["chars"]) - set(vocab.chars)):
        raise DataError(f"the prepared text has characters the model (--init or --teacher) has never seen: "
                        f"{', '.join(map(repr, missing[:20]))}")
    # code points -> ids: a table as long as the largest code point (at most 4.4 MB)
    points = np.asarray([ord(c) for c in vocab.chars], dtype=np.int64)
    lut = np.full(int(points.max()) + 1, -1, dtype=np.int64)
    lut[points] = np.arange(len(points))
    scan_ids(folder, shards, lut)
    names = list(manifest["shards"])
    used = [e for e in manifest["files"] if e.get("spans")]
    spans = _spans(used, {n: i for i, n in enumerate(names)}, "spans")
    whole = TokenStream([shards[n] for n in names], spans[:, 0], spans[:, 1], spans[:, 2], luts=[lut],
                        where=str(folder))
    split = manifest["split"]
    train, val = whole.part(*split["train"]), whole.part(*split["val"])
    summary = {
        "data": [f"{folder.name}/ ({len(used)} file{'' if len(used) == 1 else 's'} prepared by guigen prepare)"],
        "data_sha256": manifest["corpus_sha256"],
        "data_chars": len(whole),
        "split": split,
        "val_frac": manifest["options"]["val_frac"],
        "test_frac": manifest["options"]["test_frac"],
    }
    return TokenData(vocab, train, val, summary)


# -- music ---------------------------------------------------------------------------------------
def shift_table(codec, shift: int) -> np.ndarray:
    """ids -> the ids of the same events moved by `shift` semitones (pitches that leave 0-127 stay)."""
    lut = np.arange(codec.num_classes, dtype=np.int64)
    for first, n in codec.pitch_blocks():  # runs of ids, one per pitch, low to high
        src = np.arange(n)
        ok = (src + shift >= 0) & (src + shift < n)
        lut[first + src[ok]] = first + src[ok] + shift
    return lut


class MusicShardData(TokenData):
    """Music from shards: every epoch the pieces are shuffled and each moved by a random transposition
    (as MusicData does in memory), through lookup tables, reading only the windows trained on."""

    def __init__(self, codec, shards, pieces, val, summary, shifts, where: str = ""):
        self.shards, self.pieces = shards, pieces  # pieces: (shard, start, length, low, high) per row
        self.shifts = list(shifts)
        self.luts = [shift_table(codec, s) for s in self.shifts]
        low, high = pieces[:, 3], pieces[:, 4]
        # which shifts keep each piece inside the encoding's pitch range (as codec.transpositions)
        lo, hi = (codec.min_pitch, codec.max_pitch)
        self.allowed = np.stack([(low + s >= lo) & (high + s <= hi) for s in self.shifts], axis=1)
        self.allowed[~self.allowed.any(axis=1), self.shifts.index(0) if 0 in self.shifts else 0] = True
        self.where = where
        train = TokenStream(shards, pieces[:, 0], pieces[:, 1], pieces[:, 2], vocab=codec.num_classes, where=where)
        super().__init__(codec, train, val, summary, same_every_epoch=False)  # reshuffled every epoch

    def train_tokens(self, epoch: int, rng: np.random.Generator) -> TokenStream:
        order = rng.permutation(len(self.pieces))
        # a uniform choice among each piece's allowed shifts, drawn for all pieces at once
        weights = self.allowed[order] * rng.random((len(order), len(self.shifts)))
        choice = np.argmax(weights, axis=1)
        p = self.pieces[order]
        return TokenStream(self.shards, p[:, 0], p[:, 1], p[:, 2], choice, self.luts, where=self.where)


def music_shard_data(folder: Path, fixed_codec=None) -> MusicShardData:
    from guigen.core.codec import codec_from_meta

    folder = Path(folder)
    manifest, shards = read_checked(folder)
    if manifest["kind"] != "music":
        raise DataError(f"{folder} holds prepared {manifest['kind']}; train {manifest['kind']} --data {folder}")
    codec = codec_from_meta(manifest["codec"])
    if fixed_codec is not None and fixed_codec.to_meta() != codec.to_meta():
        raise DataError(f"{folder} was prepared for {codec!r}, not the model's {fixed_codec!r}; "
                        "prepare it again with the model's options")
    scan_ids(folder, shards, np.arange(codec.num_classes))
    names = list(manifest["shards"])
    index = {n: i for i, n in enumerate(names)}

    def table(part):
        rows = [(index[s], start, n, low, high) for e in manifest["files"] if e.get("split") == part
                for (s, start, n, low, high) in e.get("pieces", [])]
        return np.asarray(rows, dtype=np.int64).reshape(-1, 5)

    train, val = table("train"), table("val")
    if not len(train) or not len(val):
        raise DataError(f"{folder}: no usable {'training' if not len(train) else 'validation'} pieces")
    arrays = [shards[n] for n in names]
    low, high = manifest["options"]["transpose"]
    summary = {**manifest["summary"], "data": [f"{folder.name}/ (prepared by guigen prepare)"]}
    val_stream = TokenStream(arrays, val[:, 0], val[:, 1], val[:, 2], vocab=codec.num_classes, where=str(folder))
    return MusicShardData(codec, arrays, train, val_stream, summary, range(low, high + 1), str(folder))


def corpus_hash(entries) -> str:
    """One hash for the corpus: its files' content hashes in order."""
    h = hashlib.sha256()
    for e in entries:
        h.update(e["sha256"].encode())
    return h.hexdigest()


def split_positions(n: int, val_frac: float, test_frac: float) -> dict:
    """Contiguous split as text_data: training, then validation, then the held-out test part."""
    n_test, n_val = int(round(n * test_frac)), int(round(n * val_frac))
    n_train = n - n_val - n_test
    if n_train < 1000 or n_val < 100:
        raise DataError(f"the text is too short to train on ({n} characters; need a few thousand)")
    return {"train": [0, n_train], "val": [n_train, n_train + n_val], "test": [n_train + n_val, n]}


def bytes_of(n_tokens: int, dtype) -> str:
    size = n_tokens * np.dtype(dtype).itemsize
    units = ["B", "KB", "MB", "GB", "TB"]
    k = min(len(units) - 1, int(math.log(max(size, 1), 1000)))
    return f"{size / 1000 ** k:.1f} {units[k]}"
