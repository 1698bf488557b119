"""Model size: the config a model file carries, and the tensors it implies. No torch here."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass
class ModelConfig:
    vocab_size: int  # number of token classes (characters, or events of a music encoding)
    embed: int = 64  # embedding width; the fast path folds it into the first layer's gates
    hidden: int = 512  # LSTM units per layer
    layers: int = 2  # stacked LSTM layers
    dropout: float = 0.2  # between layers and before the head, training only

    def to_meta(self) -> dict:
        return asdict(self)

    @classmethod
    def from_meta(cls, meta: dict) -> ModelConfig:
        names = {f.name for f in fields(cls)}
        missing = names - meta.keys()
        if missing:
            raise ValueError(f"model config lacks {sorted(missing)}")
        cfg = cls(**{k: meta[k] for k in names})
        for k in ("vocab_size", "embed", "hidden", "layers"):
            v = getattr(cfg, k)
            if not isinstance(v, int) or isinstance(v, bool) or not 0 < v <= 1 << 16:
                raise ValueError(f"model config {k}={v!r} is not a sensible size")
        if not isinstance(cfg.dropout, (int, float)) or not 0 <= cfg.dropout < 1:
            raise ValueError(f"model config dropout={cfg.dropout!r} is not in [0, 1)")
        return cfg


def parameter_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every tensor a model file must hold, with its shape (names as in LSTMModel.state_dict())."""
    h = cfg.hidden
    shapes = {"embed.weight": (cfg.vocab_size, cfg.embed)}
    for layer in range(cfg.layers):
        width = cfg.embed if layer == 0 else h
        shapes[f"lstm.weight_ih_l{layer}"] = (4 * h, width)
        shapes[f"lstm.weight_hh_l{layer}"] = (4 * h, h)
        shapes[f"lstm.bias_ih_l{layer}"] = (4 * h,)
        shapes[f"lstm.bias_hh_l{layer}"] = (4 * h,)
    shapes["head.weight"] = (cfg.vocab_size, h)
    shapes["head.bias"] = (cfg.vocab_size,)
    return shapes
