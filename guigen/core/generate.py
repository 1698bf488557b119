"""The one streaming generation API, used by the CLI, the app and the benchmarks.

A Generator carries the LSTM state, so each step costs O(1): feed a primer once, then step.
Each step reports the token chosen, the distribution it was drawn from (after temperature,
top-k and top-p), the model's own T = 1 distribution and its entropy. Settings may change
between steps; a step may be forced to a given token; undo steps back.

When the model's codec has a grammar (polyphony: notes highest first, held notes only where
a note sounds), events it rules out get probability 0 in every distribution reported.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from guigen.core.fastlstm import blas_threads, fast_net
from guigen.core.modelfile import LoadedModel
from guigen.core.sampling import SamplingSettings, distributions, draw

UNDO_DEPTH = 2000  # steps that can be undone
# Undo keeps a full snapshot (state, logits, random stream, grammar) every CHECKPOINT steps and, per
# step, only what was forced and the settings in force; undo restores the snapshot before the step
# undone and steps forward again from it: the same arithmetic on the same inputs, so the same state,
# tokens and random stream to the bit. A snapshot at every step (a copy of the state, the random
# stream's state as a dict, the grammar's arrays, 2,000 of them alive) cost a chorale's step 5-10%;
# this, 0-6% (benchmarks/undo_cost.py), and an undo 3-7 ms
CHECKPOINT = 32
MASKED = -1e9  # the logit of an event the encoding's grammar rules out: probability exactly 0


@dataclass
class Step:
    index: int  # steps generated so far, this one included
    tokens: np.ndarray  # (batch,) token ids chosen
    probs: np.ndarray  # (batch, vocab) the distribution the tokens were drawn from
    raw_probs: np.ndarray  # (batch, vocab) the model's own distribution (T = 1, no filtering)
    entropy: np.ndarray  # (batch,) entropy of raw_probs in nats
    logprob: np.ndarray  # (batch,) log raw probability of each chosen token
    forced: bool = False  # the token was chosen by the user, not drawn

    @property
    def token(self) -> int:
        """The chosen token of the first (often only) sample."""
        return int(self.tokens[0])


class Generator:
    """Stateful sampler over a loaded model; `batch` independent samples run side by side."""

    def __init__(self, model: LoadedModel, settings: SamplingSettings | None = None, seed=None, batch: int = 1,
                 undo_depth: int = UNDO_DEPTH, constrain: bool = True):
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self.model = model
        self.net = fast_net(model)
        self.settings = settings or SamplingSettings()
        self.rng = np.random.default_rng(seed)
        self.batch = batch
        self.state = self.net.zero_state(batch)
        grammar = getattr(model.codec, "grammar", None) if constrain else None
        self.grammar = grammar(batch) if grammar else None
        self.logits: np.ndarray | None = None  # (batch, vocab) for the next token, masked by the grammar
        self.count = 0
        self.undo_depth = undo_depth  # 0: no undo (CLI, beam search)
        self._undoable = 0  # steps that undo can take back now
        # snapshots (count, state, logits, random stream, grammar) and, per step, (forced tokens or None,
        # settings), reaching CHECKPOINT steps further back than undo may go, to step forward from
        self._checkpoints: deque = deque(maxlen=(undo_depth + CHECKPOINT) // CHECKPOINT + 2)
        self._forced: deque = deque(maxlen=undo_depth + CHECKPOINT)
        self._used: deque = deque(maxlen=undo_depth + CHECKPOINT)
        self._checkpoint_due = True  # the next step snapshots whatever its count (a feed changed the state)
        # while a list (the Cells view is open), row 0's state (layers, 2, H) is appended after every token
        self.cells: list | None = None

    @property
    def ready(self) -> bool:
        return self.logits is not None

    def feed(self, tokens) -> None:
        """Run tokens (a primer, shared by all rows) through the model without sampling."""
        tokens = np.asarray(tokens, dtype=np.int64).reshape(-1)
        if tokens.size == 0:
            raise ValueError("nothing to feed: the primer is empty")
        if tokens.min() < 0 or tokens.max() >= self.model.config.vocab_size:
            raise ValueError("primer holds token ids outside the model's vocabulary")
        with blas_threads(self.batch):  # one hold for the whole primer (see fastlstm)
            for t in tokens:
                self._advance(np.full(self.batch, t))
        self._checkpoint_due = True  # undo steps forward from a snapshot: never across a feed

    def _advance(self, tokens: np.ndarray) -> None:
        logits = self.net.step(tokens, self.state)
        if self.cells is not None:
            self.cells.append(self.state[:, :, 0].copy())
        if self.grammar is not None:
            self.grammar.advance(tokens)
            logits = np.where(self.grammar.allowed(), logits, MASKED)
        self.logits = logits

    def preview(self, settings: SamplingSettings | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(probs, raw_probs, entropy) of the next token under settings, without drawing or moving on."""
        if self.logits is None:
            raise RuntimeError("feed a primer before sampling")
        return distributions(self.logits, settings or self.settings)

    def step(self, force=None) -> Step:
        """Choose the next token (drawn, or `force`d), advance the state, and report it."""
        if self.logits is None:
            raise RuntimeError("feed a primer before sampling")
        forced = None
        if force is not None:
            forced = np.broadcast_to(np.asarray(force, dtype=np.int64), (self.batch,)).copy()
            if forced.min() < 0 or forced.max() >= self.logits.shape[-1]:
                raise ValueError(f"forced token {force} is outside the vocabulary")
        if self.undo_depth:  # before the draw, so undo also rewinds the random stream
            last = self._checkpoints[-1][0] if self._checkpoints else -1
            if self._checkpoint_due or (self.count % CHECKPOINT == 0 and last != self.count):
                if last == self.count:  # (after an undo) the one there is replaced, not doubled
                    self._checkpoints.pop()
                self._checkpoints.append((self.count, self.state.copy(), self.logits.copy(), self.rng.bit_generator.state,
                                          self.grammar.snapshot() if self.grammar is not None else None))
                self._checkpoint_due = False
            self._forced.append(None if forced is None else forced.copy())  # (the Step hands `forced` out)
            self._used.append(self.settings)  # its users replace the settings, never change them in place
            self._undoable = min(self._undoable + 1, self.undo_depth)
        return self._step(forced)

    def _step(self, forced) -> Step:
        probs, raw, ent = distributions(self.logits, self.settings)
        tokens = draw(probs, self.rng) if forced is None else forced
        logprob = np.log(np.maximum(raw[np.arange(self.batch), tokens], 1e-300))  # a forced token may have p = 0
        self._advance(tokens)
        self.count += 1
        return Step(self.count, tokens, probs, raw, ent, logprob, forced is not None)

    def undo(self) -> bool:
        """Step back one token; False when there is nothing left to undo."""
        if self._undoable <= 0:
            return False
        target = self.count - 1  # the count to go back to
        while self._checkpoints and self._checkpoints[-1][0] > target:
            self._checkpoints.pop()
        first = self.count - len(self._forced)  # the oldest step logged
        if not self._checkpoints or self._checkpoints[-1][0] < first:
            return False  # (a feed between steps made snapshots that pushed out the one needed)
        start, state, logits, rng_state, grammar = self._checkpoints[-1]
        self.state[...] = state
        self.logits = logits.copy()
        if grammar is not None:
            self.grammar.restore(grammar)
        self.rng.bit_generator.state = rng_state
        self._forced.pop()
        self._used.pop()
        self._undoable -= 1
        # step forward from the snapshot to the count before the step undone, as those steps were made
        settings, cells = self.settings, self.cells
        self.cells, self.count = None, start  # their cells were recorded when they were made
        try:
            with blas_threads(self.batch):
                for k in range(start - first, target - first):
                    self.settings = self._used[k]
                    self._step(self._forced[k])
        finally:
            self.settings, self.cells = settings, cells
        return True

    def reorder(self, rows) -> None:
        """Rows become copies of the given rows (beam search keeps its best)."""
        self.state[...] = self.state[:, :, rows]
        self.logits = self.logits[rows]
        if self.grammar is not None:
            self.grammar.reorder(rows)
        self._undoable = 0  # undo steps the rows as they were: not across a reorder
        self._checkpoints.clear()
        self._forced.clear()
        self._used.clear()
        self._checkpoint_due = True

    def stream(self, n: int) -> Iterator[Step]:
        for _ in range(n):
            yield self.step()


def beam_search(gen: Generator, steps: int, beam_size: int, branch_factor: int, steps_per_iteration: int = 1):
    """Magenta-style beam search over a fed Generator whose batch is beam_size * branch_factor.

    Every row samples steps_per_iteration tokens (with the generator's settings); then the
    beam_size rows with the highest log-likelihood under the model (T = 1) are kept, each
    copied into branch_factor rows. Returns (tokens of the best row, its log-likelihood).
    """
    if gen.batch != beam_size * branch_factor:
        raise ValueError("the generator's batch must be beam_size * branch_factor")
    if beam_size < 1 or branch_factor < 1 or steps_per_iteration < 1:
        raise ValueError("beam size, branch factor and steps per iteration must be at least 1")
    seqs = np.zeros((gen.batch, 0), dtype=np.int64)
    scores = np.zeros(gen.batch)
    done = 0
    while done < steps:
        for _ in range(min(steps_per_iteration, steps - done)):
            step = gen.step()
            seqs = np.concatenate([seqs, step.tokens[:, None]], axis=1)
            scores += step.logprob
            done += 1
        keep = np.repeat(np.argsort(-scores, kind="stable")[:beam_size], branch_factor)
        gen.reorder(keep)
        seqs, scores = seqs[keep], scores[keep]
    return seqs[0], float(scores[0])
