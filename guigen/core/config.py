"""Model size: the config a model file carries, and the tensors it implies. No torch here."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

MAX_MEMBERS = 16  # networks in one ensemble file: each step runs them all


@dataclass
class ModelConfig:
    vocab_size: int  # number of token classes (characters, or events of a music encoding)
    embed: int = 64  # embedding width; the fast path folds it into the first layer's gates
    hidden: int = 512  # LSTM units per layer
    layers: int = 2  # stacked LSTM layers
    dropout: float = 0.2  # between layers and before the head, training only
    members: int = 1  # networks of this size whose mean distribution is the model's (an ensemble when > 1)

    def to_meta(self) -> dict:
        meta = asdict(self)
        if self.members == 1:  # single networks keep the layout every earlier GuiGen reads
            del meta["members"]
        return meta

    @classmethod
    def from_meta(cls, meta: dict) -> ModelConfig:
        names = {f.name for f in fields(cls)}
        missing = names - meta.keys() - {"members"}
        if missing:
            raise ValueError(f"model config lacks {sorted(missing)}")
        cfg = cls(**{k: meta[k] for k in names if k in meta})
        if not isinstance(cfg.members, int) or isinstance(cfg.members, bool) or not 1 <= cfg.members <= MAX_MEMBERS:
            raise ValueError(f"model config members={cfg.members!r} is not 1-{MAX_MEMBERS}")
        for k in ("vocab_size", "embed", "hidden", "layers"):
            v = getattr(cfg, k)
            if not isinstance(v, int) or isinstance(v, bool) or not 0 < v <= 1 << 16:
                raise ValueError(f"model config {k}={v!r} is not a sensible size")
        if not isinstance(cfg.dropout, (int, float)) or not 0 <= cfg.dropout < 1:
            raise ValueError(f"model config dropout={cfg.dropout!r} is not in [0, 1)")
        return cfg


def member_config(cfg: ModelConfig) -> ModelConfig:
    """The config of one network of an ensemble (the same sizes, members = 1)."""
    return replace(cfg, members=1)


def member_prefix(k: int) -> str:
    """The prefix of the k-th network's tensor names in an ensemble file."""
    return f"m{k}."


def member_weights(weights: dict, k: int) -> dict:
    """The k-th network's tensors of an ensemble's, under their single-network names (the same arrays)."""
    prefix = member_prefix(k)
    return {name[len(prefix):]: w for name, w in weights.items() if name.startswith(prefix)}


def parameter_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every tensor a model file must hold, with its shape (names as in LSTMModel.state_dict(), each
    network's prefixed by member_prefix in an ensemble)."""
    if cfg.members > 1:
        one = parameter_shapes(member_config(cfg))
        return {member_prefix(k) + name: shape for k in range(cfg.members) for name, shape in one.items()}
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
