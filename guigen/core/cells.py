"""Cell activations of the LSTM, and the cells that follow a feature of the input.

Activations come from the NumPy fast path: a Generator with `cells = []` keeps a copy of row 0's
state after every token (generation, the app); `run_tokens` runs a sample through the model
teacher-forced. Either way they are an array (T, layers, 2, H): [:, :, 0] is the cell state
through tanh (what Karpathy, Johnson and Fei-Fei 2015 coloured text by), [:, :, 1] the hidden
output h. Cells are ranked by Pearson correlation with a feature over the same T steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KINDS = ("cell", "hidden")  # index 0: tanh(c); index 1: h


def from_states(states) -> np.ndarray:
    """Activations (T, layers, 2, H) from states as the Generator keeps them: (layers, 2, H) with h, c."""
    raw = np.asarray(states, dtype=np.float32)
    if raw.ndim == 3:
        raw = raw[None]
    if raw.shape[0] == 0:
        return np.zeros((0, *raw.shape[1:]), dtype=np.float32)
    return np.stack([np.tanh(raw[:, :, 1]), raw[:, :, 0]], axis=2)


def run_tokens(model, tokens) -> np.ndarray:
    """Run tokens through the model from the zero state, teacher-forced; their activations (T, layers, 2, H)."""
    from guigen.core.generate import Generator

    tokens = np.asarray(tokens, dtype=np.int64).reshape(-1)
    if tokens.size == 0:
        raise ValueError("the sample is empty")
    gen = Generator(model, undo_depth=0, constrain=False)
    gen.cells = []
    gen.feed(tokens)
    return from_states(gen.cells)


def run_text(model, text: str) -> np.ndarray:
    """A text through a text model; one row of activations per character."""
    if model.kind != "text":
        raise ValueError(f"model {model.name!r} is a {model.kind} model; give it a MIDI file, not text")
    return run_tokens(model, model.codec.encode(text))


@dataclass
class Ranked:
    """One cell's correlation with a feature."""

    layer: int
    kind: str  # "cell" (tanh(c)) or "hidden" (h)
    cell: int
    r: float  # Pearson correlation over the sample, in [-1, 1]; 0 where either side is constant

    @property
    def name(self) -> str:
        return f"layer {self.layer} {self.kind} {self.cell}"


def correlations(acts: np.ndarray, feature, kind: str = "cell") -> np.ndarray:
    """Pearson r of every cell with a feature: (layers, H). Steps where the feature is NaN are left
    out; a constant feature or cell correlates 0 (not NaN)."""
    k = KINDS.index(kind)
    x = np.asarray(acts, dtype=np.float64)[:, :, k]  # (T, layers, H)
    f = np.asarray(feature, dtype=np.float64).reshape(-1)
    if len(f) != len(x):
        raise ValueError(f"the feature has {len(f)} steps, the activations {len(x)}")
    keep = np.isfinite(f)
    x, f = x[keep], f[keep]
    if len(f) < 2:
        return np.zeros(x.shape[1:])
    xc = x - x.mean(axis=0)
    fc = f - f.mean()
    var_f, var_x = (fc * fc).mean(), (xc * xc).mean(axis=0)
    num = np.tensordot(fc, xc, axes=(0, 0)) / len(f)
    den = np.sqrt(var_f * var_x)
    varies = (var_x > 1e-12) & (var_f > 1e-12)  # below this a side is constant: rounding, not a signal
    r = np.divide(num, den, out=np.zeros_like(num), where=varies)
    return np.clip(r, -1.0, 1.0)


def rank(acts: np.ndarray, feature, kind: str = "cell", layer: int | None = None, top: int = 5) -> list[Ranked]:
    """The `top` cells whose activation follows the feature best (largest |r|), best first."""
    return best(correlations(acts, feature, kind), kind, top, layer)


def top_at(acts_step: np.ndarray, kind: str = "cell", count: int = 5) -> list[tuple[int, int, float]]:
    """(layer, cell, value) of the cells most activated (largest |value|) at one step (layers, 2, H)."""
    a = np.asarray(acts_step)[:, KINDS.index(kind)]
    flat = np.argsort(-np.abs(a), axis=None, kind="stable")[:count]
    return [(int(i // a.shape[1]), int(i % a.shape[1]), float(a.flat[i])) for i in flat]


def table(acts: np.ndarray, features: dict, kind: str = "cell") -> dict[str, np.ndarray]:
    """correlations() of every feature at once: the activations are centred once (float32), features
    defined at every step share one matrix product; those with gaps (NaN) go one by one."""
    x = np.asarray(acts)[:, :, KINDS.index(kind)].astype(np.float32)
    steps = len(x)
    x = x.reshape(steps, -1)
    out: dict[str, np.ndarray] = {}
    full = [n for n, f in features.items() if np.isfinite(f).all()]
    for name in features:
        if name not in full:
            out[name] = correlations(acts, features[name], kind)
    if full and steps >= 2:
        xc = x
        xc -= x.mean(axis=0)  # in place: x is already a copy
        sx = np.sqrt(np.einsum("tc,tc->c", xc, xc) / steps)
        f = np.stack([np.asarray(features[n], dtype=np.float32) for n in full], axis=1)
        fc = f - f.mean(axis=0)
        sf = np.sqrt((fc * fc).mean(axis=0))
        cov = fc.T @ xc / steps  # (features, cells)
        den = sf[:, None] * sx[None, :]
        r = np.divide(cov, den, out=np.zeros_like(cov), where=(sf[:, None] > 1e-6) & (sx[None, :] > 1e-6))
        for i, name in enumerate(full):
            out[name] = np.clip(r[i], -1, 1).astype(np.float64).reshape(acts.shape[1], acts.shape[3])
    elif full:
        for name in full:
            out[name] = np.zeros((acts.shape[1], acts.shape[3]))
    return out


def best(r: np.ndarray, kind: str = "cell", top: int = 3, layer: int | None = None) -> list[Ranked]:
    """The `top` cells of a correlation array (layers, H) with the largest |r|, best first."""
    layers = range(r.shape[0]) if layer is None else [layer]
    found = [Ranked(lay, kind, int(c), float(r[lay, c])) for lay in layers for c in range(r.shape[1])]
    found.sort(key=lambda x: (-abs(x.r), x.layer, x.cell))
    return found[:top]


class Recording:
    """Activations of a growing sequence (the app's): float16, which halves the memory (4 KB a token
    for 2 x 512 cells) and is finer than any colour shade, in a buffer that doubles as it fills."""

    def __init__(self, width: tuple[int, int, int]):
        self._buf = np.zeros((256, *width), dtype=np.float16)
        self.n = 0

    def __len__(self) -> int:
        return self.n

    @property
    def array(self) -> np.ndarray:
        """(T, layers, 2, H), a view: valid until the next put."""
        return self._buf[:self.n]

    def put(self, start: int, acts: np.ndarray) -> None:
        """The activations of tokens start, start + 1, ...; whatever came after start is dropped."""
        if not 0 <= start <= self.n:
            raise ValueError(f"activations from token {start}, but only {self.n} are recorded")
        end = start + len(acts)
        if end > len(self._buf):
            grown = np.zeros((max(end, 2 * len(self._buf)), *self._buf.shape[1:]), dtype=np.float16)
            grown[:start] = self._buf[:start]
            self._buf = grown
        self._buf[start:end] = acts
        self.n = end

    def truncate(self, n: int) -> None:
        self.n = max(0, min(self.n, n))


CHUNK = 2048  # tokens run at a time when streaming: activations of one chunk only are ever held


def stream_tokens(model, tokens, chunk: int = CHUNK):
    """run_tokens, a chunk at a time: yields (T_chunk, layers, 2, H) arrays, the state carried over."""
    from guigen.core.generate import Generator

    tokens = np.asarray(tokens, dtype=np.int64).reshape(-1)
    gen = Generator(model, undo_depth=0, constrain=False)
    for a in range(0, len(tokens), chunk):
        gen.cells = []
        gen.feed(tokens[a:a + chunk])
        yield from_states(gen.cells)


class Accumulator:
    """Pearson r of every cell with every feature, and each cell's spread, from sums gathered chunk
    by chunk: memory stays flat however long the sample (as table() and the std over all steps)."""

    def __init__(self, names, kind: str = "cell"):
        self.names, self.k = list(names), KINDS.index(kind)
        self.shape = None
        self.n = 0
        self.sums: dict = {}

    def add(self, acts: np.ndarray, features: dict) -> None:
        x = np.asarray(acts)[:, :, self.k].astype(np.float64)
        if self.shape is None:
            self.shape = x.shape[1:]
            self.sx, self.sxx = np.zeros(self.shape), np.zeros(self.shape)
        x = x.reshape(len(x), -1)
        self.n += len(x)
        self.sx += x.sum(axis=0).reshape(self.shape)
        self.sxx += np.einsum("tc,tc->c", x, x).reshape(self.shape)
        for name in self.names:
            f = np.asarray(features[name], dtype=np.float64)
            keep = np.isfinite(f)
            xs, fs = (x, f) if keep.all() else (x[keep], f[keep])
            s = self.sums.setdefault(name, [0, 0.0, 0.0, 0.0, 0.0, 0.0])  # n, sf, sff, sx, sxx, sxf
            s[0] += len(fs)
            s[1] += fs.sum()
            s[2] += fs @ fs
            s[3] = s[3] + xs.sum(axis=0)
            s[4] = s[4] + np.einsum("tc,tc->c", xs, xs)
            s[5] = s[5] + fs @ xs

    def table(self) -> dict[str, np.ndarray]:
        out = {}
        for name in self.names:
            n, sf, sff, sx, sxx, sxf = self.sums.get(name, [0] * 6)
            if n < 2:
                out[name] = np.zeros(self.shape)
                continue
            cov = sxf / n - (sx / n) * (sf / n)
            var_x, var_f = np.maximum(sxx / n - (sx / n) ** 2, 0), max(sff / n - (sf / n) ** 2, 0.0)
            den = np.sqrt(var_x * var_f)
            ok = (var_x > 1e-12) & (var_f > 1e-12)
            r = np.divide(cov, den, out=np.zeros_like(cov), where=ok)
            out[name] = np.clip(r, -1.0, 1.0).reshape(self.shape)
        return out

    def spread(self) -> np.ndarray:
        """Each cell's standard deviation over every step (layers, H)."""
        mean = self.sx / max(self.n, 1)
        return np.sqrt(np.maximum(self.sxx / max(self.n, 1) - mean ** 2, 0))
