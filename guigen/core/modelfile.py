"""Model files: weights in safetensors, and in its metadata all that is needed to use them.

Loading never unpickles anything and never imports torch: weights come back as NumPy arrays,
so the app can show a window before torch has even been imported. Every way a file can be
broken ends in a ModelFileError that names the file and says what is wrong.
"""

from __future__ import annotations

import errno
import json
import math
import os
import stat
import struct
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from guigen.core.codec import codec_from_meta
from guigen.core.files import atomic_write_bytes
from guigen.core.config import ModelConfig, member_config, member_weights, parameter_shapes

FORMAT = 1  # bump when the metadata layout changes incompatibly
META_KEY = "guigen"
MAX_HEADER = 4 << 20  # a safetensors header larger than this is not one of ours (theirs are a few KB)


class ModelFileError(Exception):
    """A model file could not be read; the message says which file and why.

    exit_status: 2 when the file is wrong, 1 when the system could not read it (as for any OSError).
    """

    def __init__(self, message: str, exit_status: int = 2):
        super().__init__(message)
        self.exit_status = exit_status


@dataclass
class LoadedModel:
    """A model ready to use: its config, codec, weights (NumPy) and training summary."""

    config: ModelConfig
    codec: object
    weights: dict[str, np.ndarray]
    training: dict = field(default_factory=dict)
    path: Path | None = None
    name: str = ""

    @property
    def kind(self) -> str:
        return self.codec.kind

    def num_parameters(self) -> int:
        return int(sum(w.size for w in self.weights.values()))

    @cached_property
    def networks(self) -> list[LoadedModel]:
        """The networks whose mean next-token distribution is this model's: itself, or an ensemble's
        members, each a LoadedModel of its own (sharing this one's arrays, not copies)."""
        if self.config.members == 1:
            return [self]
        one = member_config(self.config)
        return [LoadedModel(one, self.codec, member_weights(self.weights, k), {}, self.path, f"{self.name}[{k}]")
                for k in range(self.config.members)]


def save_model(path, config: ModelConfig, codec, weights: dict, training: dict | None = None) -> None:
    """Write weights (torch tensors or NumPy arrays) and metadata atomically."""
    from safetensors.numpy import save

    arrays = {}
    for name, w in weights.items():
        if hasattr(w, "detach"):
            w = w.detach().cpu().float().numpy()
        arrays[name] = np.ascontiguousarray(w, dtype=np.float32)
    meta = {"format": FORMAT, "config": config.to_meta(), "codec": codec.to_meta(), "training": training or {}}
    atomic_write_bytes(path, save(arrays, metadata={META_KEY: json.dumps(meta, ensure_ascii=False)}))


# -- reading: every check on the header comes before the safetensors binding sees the file --------
MAX_CONTAINERS = 100_000  # JSON objects and arrays in a header: ours hold a few hundred
MAX_DEPTH = 32  # nesting of JSON in a header or its metadata: ours go 5 deep
ITEMSIZE = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "U16": 2, "I16": 2, "F16": 2, "BF16": 2,
            "U32": 4, "I32": 4, "F32": 4, "U64": 8, "I64": 8, "F64": 8}  # safetensors' dtypes, bytes each
WEIGHT_DTYPES = ("F16", "F32", "F64")  # what a model's weights may be stored as (read as float32)
SPARSE_CHECK_BYTES = 64 << 20  # weights this large must be on disk, not holes of a sparse file


@dataclass
class Header:
    """A checked safetensors header: the metadata strings, and per tensor its dtype, shape and bytes."""

    metadata: dict[str, str]
    tensors: dict[str, tuple[str, tuple[int, ...], tuple[int, int]]]
    data_bytes: int


def _open_file(path: Path) -> int:
    """An fd of a regular file, or ModelFileError saying why not (distinct for each cause)."""
    try:  # O_NONBLOCK: opening a FIFO must not wait for a writer
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        why = {errno.ENOENT: "no such model file", errno.ELOOP: "a symbolic link loop, not a model file",
               errno.EACCES: "permission denied: this user can't read the model file",
               errno.EPERM: "permission denied: this user can't read the model file",
               errno.ENOTDIR: "no such model file (a part of the path is a file, not a folder)"}
        status = 2 if e.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP) else 1  # a wrong name; else the system's
        raise ModelFileError(f"{path}: {why.get(e.errno, f'can not be opened ({e.strerror})')}", status) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        what = "a folder" if stat.S_ISDIR(mode) else "a device, FIFO or socket"
        raise ModelFileError(f"{path}: {what}, not a model file")
    return fd


def _json(path: Path, raw: bytes | str, what: str):
    """Parse JSON whose size was capped, refusing more containers or deeper nesting than ours have."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    if raw.count(b"{") + raw.count(b"[") > MAX_CONTAINERS:  # before parsing: bounds the memory it takes
        raise ModelFileError(f"{path}: the {what} holds too many JSON objects (more than {MAX_CONTAINERS:,})")
    try:
        value = json.loads(raw)
    except RecursionError:
        raise ModelFileError(f"{path}: the {what} is nested too deeply") from None
    except (ValueError, UnicodeError) as e:
        raise ModelFileError(f"{path}: the {what} is not valid JSON ({e})") from None
    stack = [(value, 1)]
    while stack:  # the depth, without recursion
        v, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ModelFileError(f"{path}: the {what} is nested too deeply (more than {MAX_DEPTH} levels)")
        if isinstance(v, dict):
            stack += [(x, depth + 1) for x in v.values()]
        elif isinstance(v, list):
            stack += [(x, depth + 1) for x in v]
    return value


def _json_type(v) -> str:
    """What a JSON value is, in JSON's words."""
    for kind, name in ((bool, "true/false"), (str, "a string"), ((int, float), "a number"), (list, "an array"),
                       (dict, "an object")):
        if isinstance(v, kind):
            return name
    return "null"


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def read_header(path) -> Header:
    """Read and check a safetensors header without the binding: sizes, offsets, dtypes, shapes."""
    path = Path(path)
    fd = _open_file(path)
    try:
        size = os.fstat(fd).st_size
        head = os.pread(fd, 9, 0)
        _sniff(path, head, size)
        (n,) = struct.unpack("<Q", head[:8])
        raw = os.pread(fd, n, 8)
        allocated = os.fstat(fd).st_blocks * 512
    except OSError as e:
        raise ModelFileError(f"{path}: can't be read ({e.strerror})", 1) from None
    finally:
        os.close(fd)
    if len(raw) != n:
        raise ModelFileError(f"{path}: the file is truncated (its header is cut short)")
    header = _json(path, raw, "safetensors header")
    if not isinstance(header, dict):
        raise ModelFileError(f"{path}: the safetensors header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ModelFileError(f"{path}: the safetensors metadata is not a map of strings")
    tensors, spans = {}, []
    for name, t in header.items():
        if not isinstance(t, dict) or set(t) != {"dtype", "shape", "data_offsets"}:
            raise ModelFileError(f"{path}: tensor {name!r} is not described by dtype, shape and data_offsets")
        dtype, shape, offsets = t["dtype"], t["shape"], t["data_offsets"]
        if dtype not in ITEMSIZE:
            raise ModelFileError(f"{path}: tensor {name} has an unknown dtype {dtype!r}")
        if not isinstance(shape, list) or len(shape) > 8 or not all(_is_int(d) and d >= 0 for d in shape):
            raise ModelFileError(f"{path}: tensor {name} has a bad shape {shape!r}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_int(o) for o in offsets)
                and 0 <= offsets[0] <= offsets[1]):
            raise ModelFileError(f"{path}: tensor {name} has bad data_offsets {offsets!r}")
        if math.prod(shape) * ITEMSIZE[dtype] != offsets[1] - offsets[0]:
            raise ModelFileError(f"{path}: tensor {name}'s shape {tuple(shape)} does not match its "
                                 f"{offsets[1] - offsets[0]:,} bytes")
        tensors[name] = (dtype, tuple(shape), (offsets[0], offsets[1]))
        spans.append((offsets[0], offsets[1], name))
    data_bytes = size - 8 - n
    end = 0
    for begin, stop, name in sorted(spans):  # the tensors tile the data exactly, as safetensors requires
        if begin != end:
            raise ModelFileError(f"{path}: tensor {name}'s data does not follow the one before it "
                                 "(overlapping or a gap)")
        end = stop
    if end != data_bytes:
        raise ModelFileError(f"{path}: the header describes {end:,} bytes of weights but the file holds "
                             f"{data_bytes:,}; it is truncated or not one file")
    if data_bytes > SPARSE_CHECK_BYTES and allocated < data_bytes // 2:
        raise ModelFileError(f"{path}: {data_bytes / 1e6:,.0f} MB of weights, but only {allocated / 1e6:,.0f} MB "
                             "of them are on disk (a sparse file); not loading it")
    return Header(metadata, tensors, data_bytes)


def _sniff(path: Path, data_head: bytes, size: int) -> None:
    """Reject what is clearly not safetensors before reading further."""
    if size < 8:
        raise ModelFileError(f"{path}: too short to be a model file ({size} bytes)")
    (n,) = struct.unpack("<Q", data_head[:8])
    if 0 < n <= MAX_HEADER and n <= size - 8 and data_head[8:9] == b"{":
        return  # a plausible safetensors header (its length's first byte may well be 0x80)
    if data_head[:1] == b"\x80" or data_head[:2] == b"PK":
        raise ModelFileError(
            f"{path}: looks like a pickle or a torch.save() archive; GuiGen only reads safetensors "
            "model files and never unpickles anything"
        )
    if data_head[8:9] == b"{" and n > size - 8:
        raise ModelFileError(f"{path}: the header is {n:,} bytes long but the file holds {size - 8:,}; "
                             "it is truncated")
    if data_head[8:9] == b"{" and n > MAX_HEADER:
        raise ModelFileError(f"{path}: a safetensors header of {n:,} bytes; GuiGen reads headers of up to "
                             f"{MAX_HEADER:,} bytes")
    raise ModelFileError(f"{path}: not a safetensors file (bad header), or the file is truncated")


def read_metadata(path) -> dict:
    """The GuiGen metadata of a model file, checked, without reading its weights."""
    return _read_meta(Path(path), read_header(path))


def _read_meta(path: Path, header: Header) -> dict:
    raw = header.metadata
    if META_KEY not in raw:
        if "guigen_checkpoint" in raw:  # the trainer's own checkpoint: say what to do with it
            model = path.name.removesuffix(".ckpt.safetensors") + ".safetensors"
            raise ModelFileError(f"{path}: a GuiGen training checkpoint, not a model; continue the training with "
                                 f"`guigen train ... --resume {path.name}`, or use the model it writes ({model})")
        raise ModelFileError(f"{path}: a safetensors file, but not a GuiGen model (no '{META_KEY}' metadata)")
    meta = _json(path, raw[META_KEY], "model metadata")
    if not isinstance(meta, dict):
        raise ModelFileError(f"{path}: model metadata is not a JSON object")
    if meta.get("format") != FORMAT:
        raise ModelFileError(f"{path}: model format {meta.get('format')!r}; this GuiGen reads format {FORMAT}")
    for key, kind in (("config", dict), ("codec", dict), ("training", dict)):
        if key in meta and not isinstance(meta[key], kind):
            raise ModelFileError(f"{path}: model metadata '{key}' is {_json_type(meta[key])}, not a JSON object")
    _check_codec(path, meta.get("codec") or {})
    _check_training(path, meta.get("training") or {})
    return meta


def _check_codec(path: Path, codec: dict) -> None:
    """Types of the codec's fields, which the codec classes take on trust."""
    if codec.get("kind") == "text":
        chars = codec.get("chars")
        if not isinstance(chars, str) or not chars or len(set(chars)) != len(chars):
            raise ModelFileError(f"{path}: the vocabulary is not a string of distinct characters")
    elif codec.get("kind") == "music":
        for k in ("min_pitch", "max_pitch"):
            if k in codec and not (_is_int(codec[k]) and 0 <= codec[k] <= 127):
                raise ModelFileError(f"{path}: codec {k} {codec[k]!r} is not a MIDI pitch 0-127")
        key = codec.get("transpose_to_key")
        if key is not None and not (_is_int(key) and 0 <= key < 12):
            raise ModelFileError(f"{path}: codec transpose_to_key {key!r} is not a key 0-11")


_NUMBER = (int, float)
TRAINING_TYPES = {  # the training summary's fields that info and the app show, and their types
    "data": (list, str), "data_chars": int, "split": dict, "steps": int, "epochs": int,
    "train_seconds": _NUMBER, "val_loss": _NUMBER, "val_bits": _NUMBER, "command": str,
    "fine_tuned_from": str, "distilled_from": list, "ensemble_of": list, "train_config": dict, "precision": str,
}


def _check_training(path: Path, training: dict) -> None:
    for key, kind in TRAINING_TYPES.items():
        v = training.get(key)
        if v is not None and (not isinstance(v, kind) or isinstance(v, bool)):
            raise ModelFileError(f"{path}: training summary '{key}' is {_json_type(v)}, the wrong type")
    for key in ("data", "distilled_from", "ensemble_of"):
        if isinstance(training.get(key), list) and not all(isinstance(x, str) for x in training[key]):
            raise ModelFileError(f"{path}: training summary '{key}' is not a list of names")
    for part, span in (training.get("split") or {}).items():
        if not (isinstance(span, list) and len(span) == 2 and all(_is_int(x) for x in span)):
            raise ModelFileError(f"{path}: training summary split '{part}' is not [start, end]")
    weight = (training.get("train_config") or {}).get("teacher_weight")
    if weight is not None and not isinstance(weight, _NUMBER):
        raise ModelFileError(f"{path}: training summary teacher_weight is not a number")


def load_model(path, name: str = "") -> LoadedModel:
    """Read and check a model file; raise ModelFileError on anything wrong with it.

    Everything the safetensors binding could trip on is checked first; whatever it raises still
    becomes a ModelFileError, its Rust panics (pyo3's PanicException, a BaseException) included,
    so a caller catching Exception (the app's worker) always gets a message.
    """
    path = Path(path)
    header = read_header(path)
    meta = _read_meta(path, header)
    try:
        config = ModelConfig.from_meta(meta.get("config") or {})
        codec = codec_from_meta(meta.get("codec"))
    except Exception as e:
        raise ModelFileError(f"{path}: bad model description: {e}") from None
    if codec.num_classes != config.vocab_size:
        raise ModelFileError(
            f"{path}: codec has {codec.num_classes} classes but the model has {config.vocab_size} outputs"
        )
    expected = parameter_shapes(config)
    present = set(header.tensors)
    if present != expected.keys():
        missing, extra = sorted(expected.keys() - present), sorted(present - expected.keys())
        raise ModelFileError(f"{path}: wrong tensors (missing {missing}, unexpected {extra})")
    for name_, shape in expected.items():  # before any tensor is read
        dtype, declared, _ = header.tensors[name_]
        if declared != shape:
            raise ModelFileError(f"{path}: tensor {name_} has shape {declared}, expected {shape}")
        if dtype not in WEIGHT_DTYPES:
            raise ModelFileError(f"{path}: tensor {name_} has dtype {dtype}, expected floating point "
                                 f"({', '.join(WEIGHT_DTYPES)})")
    weights = read_tensors(path, expected)
    training = meta.get("training") or {}
    return LoadedModel(config, codec, weights, training, path, name or path.stem)


def read_tensors(path, expected: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """The named tensors as float32 arrays, through the safetensors binding, once the header is checked.

    Whatever the binding raises becomes a ModelFileError, its Rust panics included (pyo3's
    PanicException derives from BaseException; a 10^12-element tensor makes it panic).
    """
    path = Path(path)
    weights = {}
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="numpy") as handle:
            for name, shape in expected.items():
                w = np.ascontiguousarray(handle.get_tensor(name), dtype=np.float32)
                if w.shape != shape:  # the file changed under us
                    raise ModelFileError(f"{path}: tensor {name} changed while it was read")
                if not np.isfinite(w).all():
                    raise ModelFileError(f"{path}: tensor {name} holds NaN or infinite values; not using it "
                                         "(a training that diverged writes such weights)")
                weights[name] = w
    except ModelFileError:
        raise
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:  # the binding's errors and panics, MemoryError
        what = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ModelFileError(f"{path}: could not read the weights ({type(e).__name__}: {what})") from None
    return weights
