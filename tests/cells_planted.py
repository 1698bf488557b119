"""A tiny text model whose weights are set by hand so that cell 0 knows whether it is inside quotes.

On a '"' the forget gate closes and the input gate opens, and the candidate is
tanh(-10 h + 2): the opposite sign of the cell's own output, so each quote flips the cell
(from 0 at the start, the first quote sends it up). On every other character the forget gate
stays open and the input gate shut: the cell holds. The other cells are small random weights.
"""

from __future__ import annotations

import numpy as np

from guigen.core.config import ModelConfig
from guigen.core.modelfile import save_model
from guigen.core.vocab import CharVocab

CHARS = '\n "ab.'
HIDDEN = 6


def planted_weights(seed: int = 0) -> tuple[ModelConfig, CharVocab, dict]:
    codec = CharVocab(list(CHARS))
    v, h = len(CHARS), HIDDEN
    cfg = ModelConfig(vocab_size=v, embed=v, hidden=h, layers=1, dropout=0.0)
    rng = np.random.default_rng(seed)
    w = {
        "embed.weight": np.eye(v, dtype=np.float32),
        "lstm.weight_ih_l0": rng.normal(0, 0.5, (4 * h, v)).astype(np.float32),
        "lstm.weight_hh_l0": rng.normal(0, 0.5, (4 * h, h)).astype(np.float32),
        "lstm.bias_ih_l0": np.zeros(4 * h, np.float32),
        "lstm.bias_hh_l0": np.zeros(4 * h, np.float32),
        "head.weight": rng.normal(0, 0.1, (v, h)).astype(np.float32),
        "head.bias": np.zeros(v, np.float32),
    }
    q = codec.index['"']
    i, f, g, o = 0, h, 2 * h, 3 * h  # torch's gate blocks; cell 0 is the first row of each
    for gate in (i, f, g, o):
        w["lstm.weight_ih_l0"][gate] = 0
        w["lstm.weight_hh_l0"][gate] = 0
    w["lstm.weight_ih_l0"][i, q], w["lstm.bias_ih_l0"][i] = 20, -10  # input gate: open on a quote only
    w["lstm.weight_ih_l0"][f, q], w["lstm.bias_ih_l0"][f] = -20, 10  # forget gate: closes on a quote only
    w["lstm.weight_hh_l0"][g, 0], w["lstm.bias_ih_l0"][g] = -10, 2  # candidate: against the cell's own sign
    w["lstm.bias_ih_l0"][o] = 10  # output gate open: h follows the cell
    return cfg, codec, w


def save_planted(path) -> None:
    cfg, codec, w = planted_weights()
    save_model(path, cfg, codec, w, {"note": "hand-set weights: cell 0 tracks quotes"})


def quoted_text(n_words: int = 400, seed: int = 1) -> str:
    """Words of a and b, some runs of them in quotes, some line breaks."""
    rng = np.random.default_rng(seed)
    out, inside = [], False
    for _ in range(n_words):
        word = "".join(rng.choice(list("ab"), rng.integers(1, 6)))
        if rng.random() < 0.15:
            word = ('"' + word) if not inside else (word + '"')
            inside = not inside
        out.append(word)
        out.append("\n" if rng.random() < 0.1 else (". " if rng.random() < 0.1 else " "))
    return "".join(out) + ('"' if inside else "")
