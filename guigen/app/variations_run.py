"""Variations under way in the generation process (guigen.app.engine): N continuations of one
primer as the rows of one Generator (batch = N), fed the primer once and stepped in slices between
the window's commands; every frame what they gained goes back as a VariationsBatch, with their
notes decoded now and then (decoding is the costly part of drawing them). No Qt."""

from __future__ import annotations

import time

import numpy as np

from guigen.app.jobs import VariationsBatch, VariationsJob

DECODE_S = 0.25  # notes decoded for drawing at most this often (each decode reads them all)


class VariationsRun:
    def __init__(self, model, job: VariationsJob, end_token=None):
        from guigen.core.generate import Generator

        if not job.primer:
            raise ValueError("the primer is empty")
        if not 1 <= job.count <= 16 or job.length < 1:
            raise ValueError("variations: 1 to 16 of them, each at least one token long")
        self.model, self.job, self.end_token = model, job, end_token  # end_token: polyphony's END
        self.gen = Generator(model, job.settings, seed=job.seed, batch=job.count, undo_depth=0)
        self.gen.feed(job.primer)
        self.tokens: list = []  # per step: the N tokens drawn
        self.probs: list = []  # per step: the probability each had
        self.sent = 0  # steps sent so far
        self.in_step = np.zeros(job.count, dtype=np.int64)  # events so far in each row's step
        self.last_sent = time.monotonic()
        self.decoded = 0.0

    def work(self, slice_s: float, frame_s: float) -> VariationsBatch | None:
        """Step for slice_s; the batch to send once frame_s has passed since the last (or at the end)."""
        from guigen.core.sampling import draw

        job, gen, tokens, probs = self.job, self.gen, self.tokens, self.probs
        rows = np.arange(job.count)
        end = time.monotonic() + slice_s
        while len(tokens) < job.length and time.monotonic() < end:
            p = gen.preview()[0]
            if self.end_token is not None:  # polyphony: each runs its full length (as guigen generate)
                from guigen.music.generate import MAX_NOTES_PER_STEP
                from guigen.music.polyphony import STEP_END

                p = p.copy()
                p[:, self.end_token] = 0.0
                p[self.in_step >= MAX_NOTES_PER_STEP] = 0.0
                p[p.sum(axis=1) <= 0, STEP_END] = 1.0
                p /= p.sum(axis=1, keepdims=True)
            t = draw(p, gen.rng)
            gen.step(force=t)
            if self.end_token is not None:
                ends = np.array([self.model.codec.ends_step(x) for x in t])
                self.in_step = np.where(ends, 0, self.in_step + 1)
            tokens.append(t)
            probs.append(p[rows, t])
        done = len(tokens) >= job.length
        now = time.monotonic()
        if not done and now - self.last_sent < frame_s:
            return None
        batch = VariationsBatch(job.id, np.array(tokens[self.sent:], dtype=np.int64).T.reshape(job.count, -1),
                                np.array(probs[self.sent:], dtype=float).T.reshape(job.count, -1), done)
        self.sent = len(tokens)
        self.last_sent = now
        if job.codec is not None and (done or now - self.decoded >= DECODE_S):
            _decode(job, batch, np.array(tokens, dtype=np.int64).T.reshape(job.count, -1))
            self.decoded = time.monotonic()
        return batch


def _decode(job: VariationsJob, batch: VariationsBatch, rows: np.ndarray) -> None:
    """Notes (and, once done, voices) of each variation."""
    batch.notes = [job.codec.decode(list(job.primer) + row.tolist()) for row in rows]
    if batch.done and job.codec.name == "polyphony":
        from guigen.music.voices import assign_voices

        batch.voices = [assign_voices(n) if n else None for n in batch.notes]
