"""The inference fast path: one LSTM step in NumPy, O(1) per token, no torch needed.

Three things make it fast at batch 1, where a step is a few matrix-vector products:
- the embedding is folded into the first layer's gates: a table lookup replaces a matmul;
- the input and recurrent weights of upper layers are stacked, one product per layer;
- the sigmoid gates' rows are pre-scaled by 0.5 so one tanh call covers all four gates
  (sigmoid(x) = 0.5 * tanh(x / 2) + 0.5);
- matrices are kept as (outputs, inputs), so at batch 1 each product is W @ x, a matrix-vector
  product that BLAS streams through faster than x @ W (measured: 120 against 189 us for 2048x1024).
All buffers are allocated once and updated in place.

BLAS threads: a step's products are far too small to share among threads. Spread over two, each
product waits on the other thread, and when another process holds a core the wait is a whole
time slice: batch-1 generation ran 5-80x slower under load. So the fast path runs its products
on ONE BLAS thread (measured faster at every batch from 1 to 1024 rows, idle and loaded, on a
2-core machine: benchmarks/generation_speed.py --load), set through threadpoolctl around the
work and put back after it, never by environment variables. Larger batches keep BLAS's own count.
"""

from __future__ import annotations

import threading

import numpy as np

from guigen.core.config import ModelConfig, member_config, member_weights

ONE_THREAD_MAX_BATCH = 1024  # rows per product up to which one BLAS thread is used (measured faster)


class BlasThreads:
    """`with blas_threads(batch):` runs numpy's BLAS on one thread for that stretch of work.

    threadpoolctl's own limit() costs ~35 us (it walks every library each time); this keeps one
    ThreadpoolController, made on first use, and sets the count directly (~2 us). The setting is
    process-wide (OpenBLAS has one thread count), so it also covers the app's worker thread; holds
    nest and count, so a whole run wrapped once makes the per-step holds inside it free.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._libs = None  # threadpoolctl's controllers of the BLAS libraries loaded
        self._held = 0
        self._saved: list[int] = []

    def _controllers(self):
        if self._libs is None:
            try:
                from threadpoolctl import ThreadpoolController

                libs = ThreadpoolController().select(user_api="blas").lib_controllers
            except Exception:  # threadpoolctl missing or a library it cannot drive: leave BLAS alone
                libs = []
            # threadpoolctl >= 3.6 lets only the first Python thread that limits OpenBLAS change its
            # count later (silently ignoring the others), but the count is process-wide and the app
            # generates in a worker thread: set it directly; the lock here keeps holds in step
            self._libs = [(lib.get_num_threads, getattr(lib, "_real_set_num_threads", lib.set_num_threads))
                          for lib in libs]
        return self._libs

    def __enter__(self):
        with self._lock:
            if self._held == 0:
                libs = self._controllers()
                self._saved = [get() for get, _ in libs]
                for (_, set_threads), n in zip(libs, self._saved):
                    if n != 1:
                        set_threads(1)
            self._held += 1
        return self

    def __exit__(self, *exc):
        with self._lock:
            self._held -= 1
            if self._held == 0:
                for (_, set_threads), n in zip(self._libs, self._saved):
                    if n != 1:
                        set_threads(n)
        return False


class _Unlimited:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_ONE_THREAD = BlasThreads()
_UNLIMITED = _Unlimited()


def blas_threads(batch: int = 1):
    """The BLAS thread setting for a step's products at this batch: one thread up to
    ONE_THREAD_MAX_BATCH rows, BLAS's own count above."""
    return _ONE_THREAD if batch <= ONE_THREAD_MAX_BATCH else _UNLIMITED


def _reorder(w: np.ndarray, h: int) -> np.ndarray:
    """torch's gate order (i, f, g, o) -> (i, f, o, g), with sigmoid rows scaled by 0.5."""
    i, f, g, o = (w[k * h : (k + 1) * h] for k in range(4))
    return np.concatenate([0.5 * i, 0.5 * f, 0.5 * o, g], axis=0)


_PREPARED: dict[int, tuple] = {}  # id(weights) -> (weights, their fast-path form); the last few models
_PREPARED_KEPT = 4


def prepared(config: ModelConfig, weights: dict[str, np.ndarray]):
    """The weights in the fast path's form, made once per model and shared by its generators (read only).

    Making them costs ~50 ms for the 2x512 model, holding the GIL: done afresh on every Generate it
    stalled the app's GUI thread; the app's loader calls this so the first Generate is quick too.
    An ensemble's entry is the list of its networks' forms: one entry per model, whatever its size.
    """
    hit = _PREPARED.get(id(weights))
    if hit is not None and hit[0] is weights:  # the dict is kept alive by the entry, so its id is not reused
        return hit[1]
    if config.members == 1:
        out = _prepare(config, weights)
    else:
        one = member_config(config)
        out = [_prepare(one, member_weights(weights, k)) for k in range(config.members)]
    while len(_PREPARED) >= _PREPARED_KEPT:
        _PREPARED.pop(next(iter(_PREPARED)))
    _PREPARED[id(weights)] = (weights, out)
    return out


def _prepare(config: ModelConfig, weights: dict[str, np.ndarray]) -> tuple:
    cfg, h = config, config.hidden
    w = {k: v.astype(np.float32) for k, v in weights.items()}
    b0 = _reorder(w["lstm.bias_ih_l0"] + w["lstm.bias_hh_l0"], h)
    table = np.ascontiguousarray(w["embed.weight"] @ _reorder(w["lstm.weight_ih_l0"], h).T + b0)
    w_hh0 = np.ascontiguousarray(_reorder(w["lstm.weight_hh_l0"], h))  # (4H, H)
    w_up, b_up = [], []  # layers above the first: (4H, 2H) @ [x; h]
    for layer in range(1, cfg.layers):
        stacked = np.concatenate([w[f"lstm.weight_ih_l{layer}"], w[f"lstm.weight_hh_l{layer}"]], axis=1)
        w_up.append(np.ascontiguousarray(_reorder(stacked, h)))
        b_up.append(_reorder(w[f"lstm.bias_ih_l{layer}"] + w[f"lstm.bias_hh_l{layer}"], h))
    w_head = np.ascontiguousarray(w["head.weight"])  # (V, H)
    b_head = w["head.bias"].copy()
    for arr in (table, w_hh0, *w_up, *b_up, w_head, b_head):
        arr.flags.writeable = False  # shared between generators: nobody may change them in place
    return table, w_hh0, w_up, b_up, w_head, b_head


def fast_net(model):
    """The fast path for a loaded model: one FastLSTM, or a FastEnsemble of its networks."""
    if model.config.members == 1:
        return FastLSTM(model.config, model.weights)
    return FastEnsemble(model)


class FastLSTM:
    """Stateful-free step function; the caller owns the state (h, c) arrays."""

    def __init__(self, config: ModelConfig, weights: dict[str, np.ndarray], form: tuple | None = None):
        self.config = config
        form = form if form is not None else prepared(config, weights)
        self.table, self.w_hh0, self.w_up, self.b_up, self.w_head, self.b_head = form
        self._batch = 0

    def weight_bytes(self) -> int:
        """Bytes of weights read per step at batch 1 (one table row, all matrices, the head)."""
        mats = [self.w_hh0, *self.w_up, self.w_head]
        return int(sum(m.nbytes for m in mats) + self.table.shape[1] * 4 + sum(b.nbytes for b in self.b_up))

    def zero_state(self, batch: int = 1) -> np.ndarray:
        """State as one array (layers, 2, batch, H): [:, 0] is h, [:, 1] is c."""
        return np.zeros((self.config.layers, 2, batch, self.config.hidden), dtype=np.float32)

    def _buffers(self, batch: int):
        if batch != self._batch:
            h = self.config.hidden
            self._gates = np.empty((batch, 4 * h), dtype=np.float32)
            self._xh = np.empty((batch, 2 * h), dtype=np.float32)
            self._tmp = np.empty((batch, h), dtype=np.float32)
            self._logits = np.empty((batch, self.config.vocab_size), dtype=np.float32)
            self._batch = batch

    def _cell(self, gates: np.ndarray, state_l: np.ndarray) -> None:
        """LSTM cell update in place: state_l is (2, batch, H)."""
        h = self.config.hidden
        np.tanh(gates, out=gates)
        sig = gates[:, : 3 * h]
        sig *= 0.5
        sig += 0.5
        i, f, o, g = gates[:, :h], gates[:, h : 2 * h], gates[:, 2 * h : 3 * h], gates[:, 3 * h :]
        c = state_l[1]
        c *= f
        np.multiply(i, g, out=self._tmp)
        c += self._tmp
        np.tanh(c, out=state_l[0])
        state_l[0] *= o

    @staticmethod
    def _product(w: np.ndarray, x: np.ndarray, out: np.ndarray) -> None:
        """out = x @ w.T, as a matrix-vector product when there is one row."""
        if len(x) == 1:
            np.matmul(w, x[0], out=out[0])
        else:
            np.matmul(x, w.T, out=out)

    def step(self, tokens: np.ndarray, state: np.ndarray) -> np.ndarray:
        """Advance state in place by one token per row; return the next-token logits (batch, V)."""
        tokens = np.asarray(tokens).reshape(-1)
        with blas_threads(len(tokens)):
            return self._step(tokens, state)

    def _step(self, tokens: np.ndarray, state: np.ndarray) -> np.ndarray:
        batch = len(tokens)
        self._buffers(batch)
        h = self.config.hidden
        gates = self._gates
        self._product(self.w_hh0, state[0, 0], gates)
        gates += self.table[tokens]
        self._cell(gates, state[0])
        for layer, (w, b) in enumerate(zip(self.w_up, self.b_up), start=1):
            self._xh[:, :h] = state[layer - 1, 0]
            self._xh[:, h:] = state[layer, 0]
            self._product(w, self._xh, gates)
            gates += b
            self._cell(gates, state[layer])
        self._product(self.w_head, state[-1, 0], self._logits)
        self._logits += self.b_head
        return self._logits.copy()


class FastEnsemble:
    """An ensemble's fast path: its networks step side by side on slices of one state array, and the
    logits returned are the log of their mean distribution (what `guigen eval` scores for an ensemble),
    so temperature, top-k and top-p act on the ensemble's distribution as on one network's."""

    def __init__(self, model):
        self.config = model.config
        forms = prepared(model.config, model.weights)
        self.nets = [FastLSTM(n.config, n.weights, form) for n, form in zip(model.networks, forms)]
        self.layers = self.config.layers  # state rows per network

    def weight_bytes(self) -> int:
        return sum(n.weight_bytes() for n in self.nets)

    def zero_state(self, batch: int = 1) -> np.ndarray:
        """(members x layers, 2, batch, H): network k's layers are rows k*layers .. (k+1)*layers - 1."""
        return np.zeros((len(self.nets) * self.layers, 2, batch, self.config.hidden), dtype=np.float32)

    def step(self, tokens: np.ndarray, state: np.ndarray) -> np.ndarray:
        tokens = np.asarray(tokens).reshape(-1)
        with blas_threads(len(tokens)):
            logp = [_log_softmax(net._step(tokens, state[k * self.layers:(k + 1) * self.layers]))
                    for k, net in enumerate(self.nets)]
        top = np.max(logp, axis=0)
        mean = np.mean([np.exp(lp - top) for lp in logp], axis=0)
        return (top + np.log(mean)).astype(np.float32)


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
