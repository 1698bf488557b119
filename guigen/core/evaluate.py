"""Scoring: mean negative log-likelihood of token sequences under a model (teacher forcing)."""

from __future__ import annotations

import math

import numpy as np

CHUNK = 2048  # tokens per forward call; the state carries over, so the result is exact


def nll(model, sequences) -> tuple[float, int]:
    """Total NLL in nats of each sequence's tokens 1..n given those before, and how many were scored.

    Each sequence starts from a zero state, as generation does.
    """
    import torch

    from guigen.core.model import LSTMModel

    net = LSTMModel.from_loaded(model)
    total, count = 0.0, 0
    with torch.no_grad():
        for seq in sequences:
            seq = torch.as_tensor(np.asarray(seq, dtype=np.int64))
            state = None
            for start in range(0, len(seq) - 1, CHUNK):
                x = seq[start : start + CHUNK][None]
                y = seq[start + 1 : start + CHUNK + 1][None]
                x = x[:, : y.shape[1]]
                logits, state = net(x, state)
                total += float(torch.nn.functional.cross_entropy(logits[0], y[0], reduction="sum"))
                count += y.shape[1]
    return total, count


def bits(nats: float) -> float:
    return nats / math.log(2)
