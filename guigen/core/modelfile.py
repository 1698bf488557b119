"""Model files: weights in safetensors, and in its metadata all that is needed to use them.

Loading never unpickles anything and never imports torch: weights come back as NumPy arrays,
so the app can show a window before torch has even been imported. Every way a file can be
broken ends in a ModelFileError that names the file and says what is wrong.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from guigen.core.codec import codec_from_meta
from guigen.core.files import atomic_write_bytes
from guigen.core.config import ModelConfig, parameter_shapes

FORMAT = 1  # bump when the metadata layout changes incompatibly
META_KEY = "guigen"
MAX_HEADER = 64 << 20  # a safetensors header larger than this is not one of ours


class ModelFileError(Exception):
    """A model file could not be read; the message says which file and why."""


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


def _sniff(path: Path, data_head: bytes, size: int) -> None:
    """Reject what is clearly not safetensors before handing it to the parser."""
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
    raise ModelFileError(f"{path}: not a safetensors file (bad header), or the file is truncated")


def read_metadata(path) -> dict:
    """The GuiGen metadata of a model file, without reading its weights."""
    return _open(path)[0]


def _open(path):
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    size = path.stat().st_size
    with open(path, "rb") as f:
        _sniff(path, f.read(9), size)
    from safetensors import safe_open

    try:
        handle = safe_open(str(path), framework="numpy")
        raw = handle.metadata() or {}
    except Exception as e:  # the parser's own errors are terse: say which file
        raise ModelFileError(f"{path}: not a readable safetensors file ({e})") from None
    if META_KEY not in raw:
        if "guigen_checkpoint" in raw:  # the trainer's own checkpoint: say what to do with it
            model = path.name.removesuffix(".ckpt.safetensors") + ".safetensors"
            raise ModelFileError(f"{path}: a GuiGen training checkpoint, not a model; continue the training with "
                                 f"`guigen train ... --resume {path.name}`, or use the model it writes ({model})")
        raise ModelFileError(f"{path}: a safetensors file, but not a GuiGen model (no '{META_KEY}' metadata)")
    try:
        meta = json.loads(raw[META_KEY])
    except json.JSONDecodeError as e:
        raise ModelFileError(f"{path}: model metadata is not valid JSON ({e})") from None
    if not isinstance(meta, dict):
        raise ModelFileError(f"{path}: model metadata is not a JSON object")
    if meta.get("format") != FORMAT:
        raise ModelFileError(f"{path}: model format {meta.get('format')!r}; this GuiGen reads format {FORMAT}")
    return meta, handle


def load_model(path, name: str = "") -> LoadedModel:
    """Read and check a model file; raise ModelFileError on anything wrong with it."""
    meta, handle = _open(path)
    path = Path(path)
    try:
        config = ModelConfig.from_meta(meta.get("config") or {})
        codec = codec_from_meta(meta.get("codec"))
    except (ValueError, TypeError, KeyError) as e:
        raise ModelFileError(f"{path}: bad model description: {e}") from None
    if codec.num_classes != config.vocab_size:
        raise ModelFileError(
            f"{path}: codec has {codec.num_classes} classes but the model has {config.vocab_size} outputs"
        )
    expected = parameter_shapes(config)
    present = set(handle.keys())
    if present != expected.keys():
        missing, extra = sorted(expected.keys() - present), sorted(present - expected.keys())
        raise ModelFileError(f"{path}: wrong tensors (missing {missing}, unexpected {extra})")
    weights = {}
    try:
        for name_, shape in expected.items():
            w = handle.get_tensor(name_)
            if tuple(w.shape) != shape:
                raise ModelFileError(f"{path}: tensor {name_} has shape {tuple(w.shape)}, expected {shape}")
            if w.dtype.kind != "f":
                raise ModelFileError(f"{path}: tensor {name_} has dtype {w.dtype}, expected floating point")
            w = np.ascontiguousarray(w, dtype=np.float32)
            if not np.isfinite(w).all():
                raise ModelFileError(f"{path}: tensor {name_} holds NaN or infinite values")
            weights[name_] = w
    except ModelFileError:
        raise
    except Exception as e:
        raise ModelFileError(f"{path}: could not read the weights ({e}); the file may be truncated") from None
    training = meta.get("training") if isinstance(meta.get("training"), dict) else {}
    return LoadedModel(config, codec, weights, training, path, name or path.stem)

