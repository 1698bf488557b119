"""A prepared folder's manifest.json checked as a closed world, before anything it names is read.

`guigen prepare` writes the manifest; a person or a program may have edited it since. Before
training (or the app's Train dialog, or a `prepare` re-run) uses it, every field is checked
against the schema below: types, ranges, lengths, nesting depth; every shard name must be a
plain file name that resolves inside the folder (no absolute path, no `..`, no symlink out of
it) to a regular file (a FIFO or device is refused without being waited on) holding a flat
.npy array of the kind's dtype; every span and piece must lie within its shard's real size;
the text split must cover exactly the tokens listed. A bad manifest is one DataError naming
the folder and the field; nothing is read past the first fault.

What is not checked here: the token values themselves (that would read the whole corpus);
TokenStream checks each window it reads against the vocabulary instead.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import numpy as np

from guigen.core.codec import codec_from_meta, encodings
from guigen.core.data import DataError

MANIFEST = "manifest.json"
FORMAT = "guigen-shards"
MAX_MANIFEST_BYTES = 256 << 20  # about two million files listed
MAX_DEPTH = 8  # a real manifest nests 5 deep (files / entry / pieces / piece)
MAX_SHARDS = 1 << 20
MAX_CHARS = 1 << 20  # a text vocabulary: at most every Unicode code point once
MAX_TRANSPOSE = 24  # semitones, as `train music --transpose` allows
DTYPES = {"text": np.dtype("<u4"), "music": np.dtype("<u2")}
SHARD_NAME = re.compile(r"shard-\d{3,}-\d{5,}\.npy")
SUMMARY = {"valid_data": list, "encoding": str, "transpose": list, "train_files": dict, "valid_files": dict}
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)


class ManifestError(DataError):
    """A manifest field that is missing, of the wrong type or out of range."""


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


class _Checker:
    """Field checks whose errors name the folder and the field ('files[3].spans[0][1]')."""

    def __init__(self, folder: Path):
        self.folder = folder

    def fail(self, field: str, why: str):
        raise ManifestError(f"{self.folder}: {MANIFEST} field '{field}' {why}; "
                            f"run `guigen prepare --rebuild` to make the folder again")

    def get(self, d: dict, key: str, field: str, kind, optional: bool = False):
        if key not in d:
            if optional:
                return None
            self.fail(field, "is missing")
        v = d[key]
        if optional and v is None:
            return None
        if kind is int:
            ok = _is_int(v)
        elif kind is float:
            ok = _is_num(v)
        else:
            ok = isinstance(v, kind) and not isinstance(v, bool)
        if not ok:
            name = {int: "a whole number", float: "a number", str: "a string", list: "a list",
                    dict: "an object"}.get(kind, str(kind))
            self.fail(field, f"is {type(v).__name__}, not {name}")
        return v

    def int_in(self, d: dict, key: str, field: str, low: int, high: int, optional: bool = False):
        v = self.get(d, key, field, int, optional)
        if v is not None and not low <= v <= high:
            self.fail(field, f"is {v}, outside {low}..{high}")
        return v


def read_bytes(path: Path, what: str, limit: int) -> bytes:
    """A regular file's bytes, at most `limit`; a FIFO or device is refused without blocking."""
    from guigen.core.files import open_regular

    try:
        with open_regular(path, what) as f:
            data = f.read(limit + 1)
    except FileNotFoundError:
        raise
    except OSError as e:
        raise DataError(f"{path}: {e.strerror or e}") from None
    if len(data) > limit:
        raise DataError(f"{path}: larger than {limit >> 20} MB, too large to be a {what}")
    return data


def json_depth(data: bytes) -> int:
    """How deep the JSON's brackets nest (strings left out), without parsing it."""
    bare = np.frombuffer(_STRING.sub(b'""', data), dtype=np.uint8)
    step = np.isin(bare, (ord("["), ord("{"))).astype(np.int32) - np.isin(bare, (ord("]"), ord("}")))
    return int(np.cumsum(step).max(initial=0))


def load(folder: Path) -> dict:
    """The parsed manifest.json of a folder, depth and size bounded (not yet checked field by field)."""
    path = folder / MANIFEST
    try:
        data = read_bytes(path, "manifest", MAX_MANIFEST_BYTES)
    except FileNotFoundError:
        raise DataError(f"{folder}: no {MANIFEST} here; make one with `guigen prepare`") from None
    if json_depth(data) > MAX_DEPTH:
        raise ManifestError(f"{path}: nested more than {MAX_DEPTH} deep; not a manifest written by `guigen prepare`")
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as e:
        raise DataError(f"{path}: not a readable manifest ({str(e)[:120]})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DataError(f"{path}: not a manifest written by `guigen prepare`")
    return manifest


def shard_path(folder: Path, name: str, field: str) -> Path:
    """The shard's path, if `name` is a plain shard file name that stays inside the folder."""
    c = _Checker(folder)
    if not SHARD_NAME.fullmatch(name):
        c.fail(field, f"{name!r} is not a shard file name (shard-GEN-NNNNN.npy, inside the folder)")
    path = folder / name
    real, inside = os.path.realpath(path), os.path.realpath(folder)
    if os.path.dirname(real) != inside:
        c.fail(field, f"{name!r} is a link that leads out of the folder")
    return path


def open_shard(folder: Path, name: str, kind: str, field: str = "shards"):
    """The shard as a read-only memory map of its tokens, after checking it is a flat .npy array of
    the kind's dtype whose size matches its header (read from the file descriptor opened)."""
    from guigen.core.files import open_regular

    path = shard_path(folder, name, field)
    try:
        f = open_regular(path, "shard")
    except OSError as e:
        raise DataError(f"{path}: can't read this shard ({e.strerror or e}); run `guigen prepare` again") from None
    with f:
        try:
            version = np.lib.format.read_magic(f)
            shape, fortran, dtype = (np.lib.format.read_array_header_1_0(f) if version == (1, 0)
                                     else np.lib.format.read_array_header_2_0(f))
        except (ValueError, OSError, SyntaxError) as e:
            raise DataError(f"{path}: not a shard ({str(e)[:100]}); run `guigen prepare` again") from None
        if dtype != DTYPES[kind] or len(shape) != 1 or fortran:
            raise DataError(f"{path}: holds {dtype} {shape}, not the flat {DTYPES[kind]} array of a {kind} shard; "
                            "run `guigen prepare` again")
        offset, n = f.tell(), shape[0]
        size = os.fstat(f.fileno()).st_size
        if size != offset + n * dtype.itemsize:
            raise DataError(f"{path}: {size} bytes, not the {offset + n * dtype.itemsize} its header says "
                            "(cut short?); run `guigen prepare` again")
        if n == 0:
            return np.zeros(0, dtype=dtype)
        return np.memmap(f, dtype=dtype, mode="r", offset=offset, shape=(n,))


def check(folder: Path, manifest: dict) -> dict:
    """Check every field; return {shard name: its memory map} (opened, nothing read beyond headers)."""
    c = _Checker(folder)
    c.get(manifest, "version", "version", int)
    kind = c.get(manifest, "kind", "kind", str)
    if kind not in DTYPES:
        c.fail("kind", f"is {kind!r}, not text or music")
    c.int_in(manifest, "generation", "generation", 0, 10 ** 9)
    names = c.get(manifest, "shards", "shards", list)
    if len(names) > MAX_SHARDS:
        c.fail("shards", f"lists {len(names):,} shards, more than {MAX_SHARDS:,}")
    for i, name in enumerate(names):
        if not isinstance(name, str):
            c.fail(f"shards[{i}]", "is not a file name")
    if len(set(names)) != len(names):
        c.fail("shards", "lists a shard twice")
    c.get(manifest, "corpus_sha256", "corpus_sha256", str)
    c.get(manifest, "describe", "describe", str, optional=True)
    for i, e in enumerate(c.get(manifest, "skipped", "skipped", list, optional=True) or []):
        if not isinstance(e, dict):
            c.fail(f"skipped[{i}]", "is not an object")
        c.get(e, "path", f"skipped[{i}].path", str)
        c.get(e, "why", f"skipped[{i}].why", str)
    options = c.get(manifest, "options", "options", dict)
    codec = c.get(manifest, "codec", "codec", dict)
    (_check_text if kind == "text" else _check_music)(c, manifest, options, codec)
    shards = {name: open_shard(folder, name, kind, f"shards[{i}]") for i, name in enumerate(names)}
    files = c.get(manifest, "files", "files", list)
    total = 0
    for i, e in enumerate(files):
        total += _check_entry(c, e, f"files[{i}]", kind, shards)
    if kind == "text":
        split = manifest["split"]
        if split["test"][1] != total:
            c.fail("split", f"ends at {split['test'][1]:,}, but the files' spans hold {total:,} tokens")
    counts = c.get(manifest, "counts", "counts", dict)
    tokens = c.get(counts, "tokens", "counts.tokens", int)
    if tokens != total:
        c.fail("counts.tokens", f"is {tokens:,}, but the files' spans and pieces hold {total:,}")
    return shards


def _check_text(c: _Checker, manifest: dict, options: dict, codec: dict) -> None:
    for key, low in (("val_frac", 0.0), ("test_frac", 0.0)):
        v = c.get(options, key, f"options.{key}", float)
        if not low <= v < 0.5:
            c.fail(f"options.{key}", f"is {v}, outside 0..0.5")
    if codec.get("kind") != "text":
        c.fail("codec.kind", f"is {codec.get('kind')!r}, not 'text'")
    chars = c.get(codec, "chars", "codec.chars", str)
    if not chars or len(chars) > MAX_CHARS or len(set(chars)) != len(chars):
        c.fail("codec.chars", "is not a string of distinct characters")
    known = set(chars)
    for i, e in enumerate(manifest.get("files") if isinstance(manifest.get("files"), list) else []):
        extra = set(e.get("chars") or "") - known if isinstance(e, dict) and isinstance(e.get("chars"), str) else ()
        if extra:
            c.fail(f"files[{i}].chars", f"holds {len(extra)} character(s) codec.chars lacks")
    split = c.get(manifest, "split", "split", dict)
    end = 0
    for part in ("train", "val", "test"):
        span = c.get(split, part, f"split.{part}", list)
        if len(span) != 2 or not all(_is_int(x) for x in span):
            c.fail(f"split.{part}", "is not [start, end]")
        if span[0] != end or span[1] < span[0]:
            c.fail(f"split.{part}", f"is {span}; the parts must follow each other from 0 without gaps")
        end = span[1]
    if split["train"][1] - split["train"][0] < 1 or split["val"][1] - split["val"][0] < 1:
        c.fail("split", "has an empty training or validation part")


def _check_music(c: _Checker, manifest: dict, options: dict, codec: dict) -> None:
    known = encodings("music")  # registered by guigen.music: core never imports it
    if not known:
        c.fail("kind", "is 'music', and guigen.music is not imported to read it")
    # the codec first: a later version's encoding is named as such, whatever else differs
    if codec.get("kind") != "music":
        c.fail("codec.kind", f"is {codec.get('kind')!r}, not 'music'")
    name = c.get(codec, "encoding", "codec.encoding", str)
    if name not in known:  # perhaps a later version's
        c.fail("codec.encoding", f"is {name[:40]!r}, an encoding this GuiGen can't train (it knows "
               f"{', '.join(known)})")
    low = c.int_in(codec, "min_pitch", "codec.min_pitch", 0, 127)
    high = c.int_in(codec, "max_pitch", "codec.max_pitch", 0, 127)
    if low > high:
        c.fail("codec.max_pitch", f"is {high}, below min_pitch {low}")
    c.int_in(codec, "transpose_to_key", "codec.transpose_to_key", 0, 11, optional=True)
    c.int_in(codec, "steps_per_quarter", "codec.steps_per_quarter", 4, 4, optional=True)
    encoding = c.get(options, "encoding", "options.encoding", str)
    if encoding not in known:
        c.fail("options.encoding", f"is {encoding!r}, not one of {', '.join(known)}")
    for key in ("min_pitch", "max_pitch"):
        c.int_in(options, key, f"options.{key}", 0, 127)
    c.int_in(options, "key", "options.key", 0, 11, optional=True)
    transpose = c.get(options, "transpose", "options.transpose", list)
    if not (len(transpose) == 2 and all(_is_int(x) for x in transpose)
            and -MAX_TRANSPOSE <= transpose[0] <= transpose[1] <= MAX_TRANSPOSE):
        c.fail("options.transpose", f"is {str(transpose)[:60]}, not [low, high] within "
               f"-{MAX_TRANSPOSE}..{MAX_TRANSPOSE} semitones")
    valid = c.get(options, "valid", "options.valid", list, optional=True)
    if valid is not None and not all(isinstance(v, str) for v in valid):
        c.fail("options.valid", "is not a list of paths")
    try:
        codec_from_meta(codec)
    except (ValueError, TypeError, KeyError) as e:
        c.fail("codec", f"does not describe an encoding ({e})")
    summary = c.get(manifest, "summary", "summary", dict)  # it goes into the model file's training summary
    for key, value in summary.items():
        if key not in SUMMARY:
            c.fail(f"summary.{key[:40]}", "is not a field prepare writes")
        if not isinstance(value, SUMMARY[key]):
            c.fail(f"summary.{key}", f"is {type(value).__name__}, the wrong type")
    for key in ("train_files", "valid_files"):
        for k, v in summary.get(key, {}).items():
            if not _is_int(v) or v < 0:
                c.fail(f"summary.{key}", f"holds {k[:40]!r}: {str(v)[:40]}, not a count")
    if not all(isinstance(v, str) for v in summary.get("valid_data", [])):
        c.fail("summary.valid_data", "is not a list of names")


def _check_entry(c: _Checker, e, field: str, kind: str, shards: dict) -> int:
    """One file's entry; returns how many tokens its spans or pieces hold."""
    if not isinstance(e, dict):
        c.fail(field, "is not an object")
    c.get(e, "path", f"{field}.path", str)
    c.get(e, "sha256", f"{field}.sha256", str)
    c.int_in(e, "size", f"{field}.size", 0, 1 << 62, optional=True)
    c.get(e, "mtime_ns", f"{field}.mtime_ns", int, optional=True)
    c.get(e, "why", f"{field}.why", str, optional=True)
    counts = c.get(e, "counts", f"{field}.counts", dict, optional=True) or {}
    for key, v in counts.items():
        if not _is_int(v) or v < 0:
            c.fail(f"{field}.counts", f"holds {key!r}: {str(v)[:40]}, not a count")
    key, width = ("spans", 3) if kind == "text" else ("pieces", 5)
    other = "pieces" if kind == "text" else "spans"
    if other in e:
        c.fail(f"{field}.{other}", f"is not a field of a {kind} manifest")
    if kind == "text":
        chars = c.get(e, "chars", f"{field}.chars", str, optional=True)
        if chars is not None and len(chars) > MAX_CHARS:
            c.fail(f"{field}.chars", "is too long")
    else:
        split = c.get(e, "split", f"{field}.split", str)
        if split not in ("train", "val"):
            c.fail(f"{field}.split", f"is {split!r}, not 'train' or 'val'")
    total = 0
    for j, row in enumerate(c.get(e, key, f"{field}.{key}", list, optional=True) or []):
        where = f"{field}.{key}[{j}]"
        if not (isinstance(row, list) and len(row) == width and isinstance(row[0], str)
                and all(_is_int(x) for x in row[1:])):
            c.fail(where, f"is not [shard, start, length{', low, high' if width == 5 else ''}]")
        name, start, n = row[:3]
        if name not in shards:
            c.fail(where, f"names {name[:60]!r}, a shard the manifest does not list")
        if start < 0 or n < 0 or start + n > len(shards[name]):
            c.fail(where, f"is tokens {start:,}..{start + n:,} of {name}, which holds {len(shards[name]):,}")
        if width == 5 and not 0 <= row[3] <= row[4] <= 127:
            c.fail(where, f"has the pitch range {row[3]}..{row[4]}, not within 0..127")
        total += n
    return total


SCAN = 1 << 24  # tokens read at a time when scanning shards


def scan_ids(folder: Path, shards: dict, lut: np.ndarray) -> None:
    """Read every shard once, a block at a time: every token must map through `lut` (ids -> ids, or
    code points -> ids) to an id >= 0. Training calls it (the Train dialog does not: it would read
    the whole corpus); a shard edited after prepare is named here, not deep in an epoch."""
    for name, arr in shards.items():
        for a in range(0, len(arr), SCAN):
            block = np.asarray(arr[a:a + SCAN])
            if not len(block):
                continue
            top = int(block.max())
            if top >= len(lut) or int(lut[block].min()) < 0:
                raise DataError(f"{folder / name}: holds token {top if top >= len(lut) else 'ids'} outside the "
                                f"vocabulary of {MANIFEST}; run `guigen prepare --rebuild`")


def check_manifest_slot(folder) -> None:
    """Refuse a manifest.json that `prepare` must not read or replace: a FIFO, device, folder, or a
    symlink (its target may lie outside the folder). Checked with lstat: nothing is opened."""
    import stat

    from guigen.core.files import _kind

    path = Path(folder) / MANIFEST
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise DataError(f"{path}: is a symbolic link; a prepared folder's manifest is a file of its own")
    if not stat.S_ISREG(st.st_mode):
        raise DataError(f"{path}: is {_kind(st.st_mode)}, not a manifest")


def read_checked(folder) -> tuple[dict, dict]:
    """(manifest, {shard name: memory map}) of a prepared folder, every field checked."""
    folder = Path(folder)
    manifest = load(folder)
    return manifest, check(folder, manifest)
