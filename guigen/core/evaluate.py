"""Scoring: mean negative log-likelihood of token sequences under a model (teacher forcing)."""

from __future__ import annotations

import math

import numpy as np

CHUNK = 2048  # tokens per forward call; the state carries over, so the result is exact


def nll(models, sequences, device="cpu") -> tuple[float, int]:
    """Total NLL in nats of each sequence's tokens 1..n given those before, and how many were scored.

    `models` is one model, or a list scored as an ensemble: the mean of their next-token
    distributions, which is what distilling from them as teachers aims at.
    Each sequence starts from a zero state, as generation does.
    """
    import torch

    from guigen.core.model import LSTMModel

    models = models if isinstance(models, (list, tuple)) else [models]
    # an ensemble file counts as its networks: the mean over all of them is the mean of the means
    # only when members are weighted alike, so every network gets one vote
    nets = [LSTMModel.from_loaded(n).to(device) for m in models for n in m.networks]
    threads = torch.get_num_threads()
    if torch.device(device).type == "cpu":
        # one sequence at a time is a chain of small products: spread over threads they wait on each
        # other, 15x slower when another process is busy (61 s against 4 s for the 77 test chorales)
        torch.set_num_threads(1)
    try:
        return _nll(nets, sequences, device)
    finally:
        torch.set_num_threads(threads)


def _nll(nets, sequences, device) -> tuple[float, int]:
    import torch

    total, count = 0.0, 0
    with torch.no_grad():
        for seq in sequences:
            seq = torch.as_tensor(np.asarray(seq, dtype=np.int64)).to(device)  # float32 on any device
            states = [None] * len(nets)
            for start in range(0, len(seq) - 1, CHUNK):
                x = seq[start : start + CHUNK][None]
                y = seq[start + 1 : start + CHUNK + 1][None]
                x = x[:, : y.shape[1]]
                logp = []
                for k, net in enumerate(nets):
                    logits, states[k] = net(x, states[k])
                    logp.append(torch.log_softmax(logits[0], -1))
                mean = torch.logsumexp(torch.stack(logp), 0) - math.log(len(logp))  # log of the mean distribution
                total -= float(mean.gather(1, y[0][:, None]).sum())
                count += y.shape[1]
    return total, count


def bits(nats: float) -> float:
    return nats / math.log(2)
