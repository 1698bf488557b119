"""Sampling maths: temperature in log space, then top-k and top-p, then a draw.

For logits z and temperature T > 0, q_i = exp(z_i/T) / sum_j exp(z_j/T); T = 0 is argmax exactly.
T below 1e-4 is greedy and T above 1e6 samples as at 1e6 (uniform over the allowed tokens): the
limits' behaviour, where exp(z/T) would underflow or lift masked tokens (guigen.core.bounds).
All functions take (batch, vocab) arrays and work row by row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from guigen.core.bounds import effective_temperature


def check_temperature(temperature) -> float:
    """Return T as a float, or raise ValueError for negative, NaN or infinite values."""
    try:
        t = float(temperature)
    except (TypeError, ValueError):
        raise ValueError(f"temperature must be a number, not {temperature!r}") from None
    if not math.isfinite(t) or t < 0:
        raise ValueError(f"temperature must be a finite number >= 0 (0 means greedy), not {temperature}")
    return t


@dataclass
class SamplingSettings:
    temperature: float = 1.0  # 0 = greedy; < 1 sharpens, > 1 flattens
    top_k: int = 0  # keep the k most likely tokens; 0 = all
    top_p: float = 1.0  # keep the smallest set holding this much mass; 1 = all

    def __post_init__(self):
        self.check()

    def check(self) -> SamplingSettings:
        self.temperature = check_temperature(self.temperature)
        if not isinstance(self.top_k, (int, np.integer)) or self.top_k < 0:
            raise ValueError(f"top-k must be a whole number >= 0 (0 = off), not {self.top_k!r}")
        if not (isinstance(self.top_p, (int, float)) and 0 < self.top_p <= 1):
            raise ValueError(f"top-p must be in (0, 1] (1 = off), not {self.top_p!r}")
        return self


def entropy(probs: np.ndarray) -> np.ndarray:
    """Entropy in nats per row; zero-probability entries contribute nothing (0 log 0 = 0)."""
    return -(probs * np.log(np.maximum(probs, 1e-300))).sum(axis=-1)


def distribution(logits: np.ndarray, s: SamplingSettings) -> np.ndarray:
    """The distribution a token is drawn from: temperature, then top-k, then top-p."""
    return distributions(logits, s)[0]


def distributions(logits: np.ndarray, s: SamplingSettings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sampled distribution, raw T = 1 distribution, raw entropy in nats), per row, in one pass.

    All three share z = logits - max: the raw softmax is e^z / sum e^z, its entropy is
    log sum e^z - sum p z (no logs of zero), and the tempered weights are e^(z/T). The filters
    rank tokens by z, which orders them as every T > 0 does, and work on unnormalised weights.
    """
    z = np.array(logits, dtype=np.float64, ndmin=2)  # a copy, changed in place below
    t, vocab = effective_temperature(s.temperature), z.shape[-1]  # T < 1e-4 greedy, T > 1e6 as 1e6: never NaN
    top_k = 0 < s.top_k < vocab
    if len(z) == 1 and t > 0:  # the app's and the CLI's case, in 1-d calls (a step's overhead is per call)
        return _distributions_row(z[0], t, s.top_k if top_k else vocab, s.top_p)
    z -= z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    total = e.sum(axis=-1, keepdims=True)
    raw = np.divide(e, total, out=e)
    ent = np.log(total[:, 0]) - (raw * z).sum(axis=-1)
    if t == 0:  # greedy: all mass on the first argmax
        probs = np.zeros_like(z)
        probs[np.arange(len(z)), z.argmax(axis=-1)] = 1.0
        return probs, raw, ent
    weights = raw if t == 1 else np.exp(z * (1.0 / t))
    if not (top_k or s.top_p < 1.0):
        return (raw if t == 1 else weights / weights.sum(axis=-1, keepdims=True)), raw, ent
    # one stable sort serves both filters; ties at the k-th value keep exactly k tokens
    order = np.argsort(-z, axis=-1, kind="stable")
    sorted_w = np.take_along_axis(weights, order, axis=-1)
    keep_sorted = np.ones(sorted_w.shape, dtype=bool)
    if top_k:
        keep_sorted[:, s.top_k:] = False
    if s.top_p < 1.0:  # on the distribution top-k left, renormalised
        kept = np.where(keep_sorted, sorted_w, 0.0)
        kept /= kept.sum(axis=-1, keepdims=True)
        keep_sorted &= (np.cumsum(kept, axis=-1) - kept) < s.top_p  # the top token is always kept
    keep = np.empty_like(keep_sorted)
    np.put_along_axis(keep, order, keep_sorted, axis=-1)
    probs = np.where(keep, weights, 0.0)
    probs /= probs.sum(axis=-1, keepdims=True)
    return probs, raw, ent


def _distributions_row(z: np.ndarray, t: float, k: int, top_p: float):
    """distributions() for one row z (changed in place), t > 0, keeping at most k tokens."""
    z -= z.max()
    e = np.exp(z)
    total = e.sum()
    raw = np.divide(e, total, out=e)
    ent = np.array([np.log(total) - raw.dot(z)])
    vocab = len(z)
    weights = raw if t == 1 else np.exp(z * (1.0 / t))
    if k == vocab and top_p >= 1.0:
        return (raw if t == 1 else weights / weights.sum())[None], raw[None], ent
    order = np.argsort(-z, kind="stable")[:k]  # what survives is a prefix of this order
    head = weights[order]
    if top_p < 1.0:  # keep token i while the mass ranked above it is below top_p
        mass = np.cumsum(head)
        n = 1 + int(mass.searchsorted(top_p * mass[-1], side="left"))
        head, order = head[:n], order[:n]
    probs = np.zeros((1, vocab))
    probs[0, order] = head / head.sum()
    return probs, raw[None], ent


def allowed_log_mass(logits: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Per row of (rows, classes) logits: the log of the probability they give (at T = 1) the
    events `allowed` leaves (at least log 1e-300): how much of the model's own distribution a
    constraint (an ending's chord) kept."""
    raw = np.exp(logits - logits.max(axis=1, keepdims=True))
    return np.log(np.maximum((raw * allowed).sum(axis=1) / raw.sum(axis=1), 1e-300))


def draw(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One token per row by inverse CDF (cumsum + searchsorted): cheap and reproducible."""
    if len(probs) == 1:  # the common case, at a fraction of the cost
        cdf = np.cumsum(probs[0])
        token = min(int(cdf.searchsorted(rng.random() * cdf[-1], side="right")), len(cdf) - 1)
        if probs[0, token] <= 0:  # rounding at an edge: never return a zero-probability token
            token = int(probs[0].argmax())
        return np.array([token])
    cdf = np.cumsum(probs, axis=-1)
    u = rng.random(len(probs)) * cdf[:, -1]
    tokens = (cdf < u[:, None]).sum(axis=-1)
    # guard against rounding at the top end, and never land on a zero-probability token
    tokens = np.minimum(tokens, probs.shape[-1] - 1)
    bad = probs[np.arange(len(probs)), tokens] <= 0
    if bad.any():
        tokens[bad] = probs[bad].argmax(axis=-1)
    return tokens


# -- what a distribution means to a reader (the app's header, `generate --trace`) ------------------
CURVE_TEMPERATURES = np.geomspace(0.05, 5.0, 36)  # the temperature curve's grid: log-spaced, as the dial
_CURVE_INV_T = 1.0 / CURVE_TEMPERATURES.reshape(-1, 1)


def summary(probs: np.ndarray) -> tuple[float, int, int]:
    """(entropy in nats, tokens with p > 0, tokens with p > 0.1%) of one distribution (1-d)."""
    probs = np.asarray(probs, dtype=np.float64)
    return float(entropy(probs)), int((probs > 0).sum()), int((probs > 1e-3).sum())


def entropy_curve(logits: np.ndarray, temperatures=CURVE_TEMPERATURES, top_k: int = 0,
                  top_p: float = 1.0) -> np.ndarray:
    """Entropy in nats of the distribution sampled from at each temperature (all T > 0), for one row.

    H(T) = log sum_i e^{z_i/T} - sum_i q_i z_i / T over the tokens top-k and top-p keep at that T,
    renormalised, as distributions() samples. Logits of -1e9 (ruled out) and log(0) = -inf count as
    probability 0. All temperatures at once: one (len(T), vocab) array, no Python loop.
    """
    z = np.asarray(logits, dtype=np.float64).reshape(-1)
    if temperatures is CURVE_TEMPERATURES:  # the app's, at every shown step: checked once, below
        inv_t = _CURVE_INV_T
    else:
        t = np.asarray(temperatures, dtype=np.float64).reshape(-1, 1)
        if (t <= 0).any():
            raise ValueError("the entropy curve takes temperatures > 0")
        inv_t = 1.0 / t
    order = np.argsort(-z, kind="stable")  # the sampler's ranking: every T > 0 orders tokens alike
    if 0 < top_k < len(z):
        order = order[:top_k]
    zs = z[order]
    u = (zs - zs[0]) * inv_t  # <= 0: no overflow; -inf for log(0) gives weight 0
    finite = bool(np.isfinite(zs[-1]))  # ranked: the last finite means all are
    if not finite:
        u[~np.isfinite(u)] = -np.inf
    w = np.exp(u)
    if top_p < 1.0:  # keep token j while the mass ranked above it is below top_p
        cum = np.cumsum(w, axis=-1)
        cut = cum - w >= top_p * cum[:, -1:]
        if cut.any():
            w[cut] = 0.0
            finite = False
    total = w.sum(axis=-1)
    if not finite:
        u[w == 0] = 0.0  # 0 * -inf counts as 0
    return np.log(total) - (w * u).sum(axis=-1) / total
