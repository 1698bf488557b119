"""The inference fast path: one LSTM step in NumPy, O(1) per token, no torch needed.

Three things make it fast at batch 1, where a step is a few matrix-vector products:
- the embedding is folded into the first layer's gates: a table lookup replaces a matmul;
- the input and recurrent weights of upper layers are stacked, one product per layer;
- the sigmoid gates' rows are pre-scaled by 0.5 so one tanh call covers all four gates
  (sigmoid(x) = 0.5 * tanh(x / 2) + 0.5);
- matrices are kept as (outputs, inputs), so at batch 1 each product is W @ x, a matrix-vector
  product that BLAS streams through faster than x @ W (measured: 120 against 189 us for 2048x1024).
All buffers are allocated once and updated in place.
"""

from __future__ import annotations

import numpy as np

from guigen.core.config import ModelConfig


def _reorder(w: np.ndarray, h: int) -> np.ndarray:
    """torch's gate order (i, f, g, o) -> (i, f, o, g), with sigmoid rows scaled by 0.5."""
    i, f, g, o = (w[k * h : (k + 1) * h] for k in range(4))
    return np.concatenate([0.5 * i, 0.5 * f, 0.5 * o, g], axis=0)


class FastLSTM:
    """Stateful-free step function; the caller owns the state (h, c) arrays."""

    def __init__(self, config: ModelConfig, weights: dict[str, np.ndarray]):
        self.config = cfg = config
        h = cfg.hidden
        w = {k: v.astype(np.float32) for k, v in weights.items()}
        b0 = _reorder(w["lstm.bias_ih_l0"] + w["lstm.bias_hh_l0"], h)
        self.table = np.ascontiguousarray(w["embed.weight"] @ _reorder(w["lstm.weight_ih_l0"], h).T + b0)
        self.w_hh0 = np.ascontiguousarray(_reorder(w["lstm.weight_hh_l0"], h))  # (4H, H)
        self.w_up, self.b_up = [], []  # layers above the first: (4H, 2H) @ [x; h]
        for layer in range(1, cfg.layers):
            stacked = np.concatenate([w[f"lstm.weight_ih_l{layer}"], w[f"lstm.weight_hh_l{layer}"]], axis=1)
            self.w_up.append(np.ascontiguousarray(_reorder(stacked, h)))
            self.b_up.append(_reorder(w[f"lstm.bias_ih_l{layer}"] + w[f"lstm.bias_hh_l{layer}"], h))
        self.w_head = np.ascontiguousarray(w["head.weight"])  # (V, H)
        self.b_head = w["head.bias"].copy()
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
