"""Ensembles in one model file: several networks of one size whose mean next-token distribution is
the model's. Generation, `guigen eval` and distillation treat such a file as its networks; the
fast path steps them side by side (fastlstm.FastEnsemble)."""

from __future__ import annotations

from dataclasses import replace

from guigen.core.config import MAX_MEMBERS, member_prefix
from guigen.core.modelfile import LoadedModel, ModelFileError, save_model

SHARED = ("data", "data_chars", "split", "data_name")  # training facts kept when every network agrees


def join(models: list[LoadedModel]) -> tuple:
    """(config, codec, weights, training) of the ensemble of these models' networks, in order.

    They must predict the same tokens with networks of one size (the state is one array); an
    ensemble among them adds its own networks. ModelFileError says which model does not fit.
    """
    nets = [net for m in models for net in m.networks]
    if len(nets) < 2:
        raise ModelFileError("an ensemble needs at least two networks")
    if len(nets) > MAX_MEMBERS:
        raise ModelFileError(f"an ensemble holds at most {MAX_MEMBERS} networks; these are {len(nets)}")
    first = models[0]
    size = (first.config.vocab_size, first.config.embed, first.config.hidden, first.config.layers)
    for m in models[1:]:
        if m.codec.to_meta() != first.codec.to_meta():
            raise ModelFileError(f"{m.name} has another vocabulary or encoding than {first.name}; "
                                 "an ensemble's networks must predict the same tokens")
        if (m.config.vocab_size, m.config.embed, m.config.hidden, m.config.layers) != size:
            raise ModelFileError(f"{m.name} is {m.config.layers}x{m.config.hidden} (embedding {m.config.embed}), "
                                 f"{first.name} {first.config.layers}x{first.config.hidden} (embedding "
                                 f"{first.config.embed}); an ensemble's networks must be of one size")
    weights = {member_prefix(k) + name: w for k, net in enumerate(nets) for name, w in net.weights.items()}
    names = [n for m in models for n in ([m.name] if m.config.members == 1 else m.training.get("ensemble_of") or
                                          [f"{m.name}[{k}]" for k in range(m.config.members)])]
    training = {"ensemble_of": names}
    for key in SHARED:  # the data and split the networks were trained on, where they say the same
        values = [m.training.get(key) for m in models]
        if values[0] is not None and all(v == values[0] for v in values):
            training[key] = values[0]
    return replace(first.config, members=len(nets)), first.codec, weights, training


def write(models: list[LoadedModel], path, command: str = "") -> None:
    """Write the ensemble of these models to path (atomically)."""
    config, codec, weights, training = join(models)
    if command:
        training["command"] = command
    save_model(path, config, codec, weights, training)
