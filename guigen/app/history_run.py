"""The Cells view's history in the generation process (guigen.app.engine): the tokens it shows from
before it opened, run through the model from the zero state a slice at a time, as the engine steps
a sample, so that commands and the sample go on meanwhile. No Qt here."""

from __future__ import annotations

import time

import numpy as np

CHUNK = 32  # tokens fed between looks at the clock


class HistoryRun:
    def __init__(self, model, epoch: int, tokens):
        """ValueError where the tokens cannot be run (no model, none, or outside its vocabulary)."""
        from guigen.core.generate import Generator

        self.epoch = epoch
        self.tokens = np.asarray(tokens, dtype=np.int64).reshape(-1)
        if model is None or self.tokens.size == 0:
            raise ValueError("nothing to run")
        if self.tokens.min() < 0 or self.tokens.max() >= model.config.vocab_size:
            raise ValueError("tokens outside the model's vocabulary")
        self.gen = Generator(model, undo_depth=0, constrain=False)
        self.gen.cells = []
        self.fed = 0

    def work(self, slice_s: float):
        """Feed tokens for about slice_s seconds; the activations (T, layers, 2, H) once all are fed,
        else None."""
        from guigen.core.cells import from_states

        end = time.monotonic() + slice_s
        while self.fed < len(self.tokens) and time.monotonic() < end:
            chunk = self.tokens[self.fed:self.fed + CHUNK]
            self.gen.feed(chunk)
            self.fed += len(chunk)
        return from_states(self.gen.cells) if self.fed >= len(self.tokens) else None
