"""One set of facts about a model, worded once: its scores, its data and its teachers.

The app's model card, `guigen info` and the README's table all say a model's scores the same way:
the test score in nats where the model has one (measured by `guigen eval` and stored in the file's
metadata as training["scores"]), the validation score beside it. `set_facts` writes such facts
into a model file's metadata, leaving every weight byte as it was.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

META_KEY = "guigen"  # the safetensors metadata entry GuiGen's own metadata lives in


def network(config) -> str:
    """'2x512 LSTM', or 'ensemble of 4 2x512 LSTMs' for a file holding several networks."""
    one = f"{config.layers}x{config.hidden} LSTM"
    return one if config.members == 1 else f"ensemble of {config.members} {one}s"


def unit(kind: str) -> str:
    return "char" if kind == "text" else "event"


def scores_line(training: dict, kind: str) -> str:
    """'test 1.492 nats/char, validation 1.331', or the trainer's validation figure alone."""
    u = unit(kind)
    s = training.get("scores")
    s = s if isinstance(s, dict) else {}
    if _number(s.get("test")):
        line = f"test {s['test']:.3f} nats/{u}"
        if _number(s.get("validation")):
            line += f", validation {s['validation']:.3f}"
        return line
    if _number(training.get("val_loss")):
        return f"validation {training['val_loss']:.3f} nats/{u} (the trainer's)"
    return ""


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def data_line(training: dict) -> str:
    """The data named by what it is: the name the card gives, else the files or folders trained on."""
    if training.get("data_name"):
        return str(training["data_name"])
    data = training.get("data") or []
    return ", ".join(data) if isinstance(data, list) else str(data)


def teachers(training: dict) -> list[str]:
    """The teachers a model was distilled from, by name (A, not A.safetensors)."""
    return [t.removesuffix(".safetensors") for t in training.get("distilled_from") or []]


def members(training: dict) -> list[str]:
    """The networks an ensemble file holds, by the names of the models they came from."""
    return [t.removesuffix(".safetensors") for t in training.get("ensemble_of") or []]


def set_facts(path, **facts) -> None:
    """Put facts (scores, data_name, distilled_from, ...) into a model file's training summary.

    Only the JSON header changes: the tensors' bytes are copied unchanged, and their offsets (which
    count from the end of the header) stay valid. The file is replaced atomically.
    """
    from guigen.core.files import atomic_write_bytes

    path = Path(path)
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = json.loads(header["__metadata__"][META_KEY])
    meta["training"].update(facts)
    header["__metadata__"][META_KEY] = json.dumps(meta, ensure_ascii=False)
    text = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # safetensors pads the header with spaces to 8 bytes
    atomic_write_bytes(path, struct.pack("<Q", len(text)) + text + raw[8 + n:])


def weights_bytes(path) -> bytes:
    """The tensor data of a safetensors file: what set_facts must leave unchanged."""
    raw = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return raw[8 + n:]
