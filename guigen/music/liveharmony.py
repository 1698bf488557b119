"""The live harmonizer's model side: three lower voices under each note as it is played.

Every note the player strikes is a polyphony step whose first event is forced to it (the
soprano); the lower voices are drawn one event at a time under guigen.music.harmonize's rules
(constrain_lower and parallel_pitches: below the melody, no parallel fifths or octaves, four
voices: a live chord always has all four when the rules leave a note for each, where
`guigen harmonize` only favours them) through the one streaming Generator. Between strikes the clock's 16th-note
steps are fed as they pass: while the key is held, every voice holds (CONTINUED_NOTE events);
after it is let go, empty steps (a rest), up to a bar of them, so a long pause does not fill
the model's memory with silence.

strike() returns the chord as soon as it is decided, so the caller can send it before the
step's last events are fed (finish()): of the ~5 model steps a struck note costs, 3 come
before the notes leave.
"""

from __future__ import annotations

import numpy as np

from guigen.core.generate import MASKED, Generator
from guigen.core.sampling import SamplingSettings, distributions, draw
from guigen.music.harmonize import LOWER_VOICES, constrain_lower, parallel_pitches
from guigen.music.polyphony import CONTINUED_NOTE, NEW_NOTE, START, STEP_END

MAX_REST_STEPS = 16  # empty steps fed after the player lets go; later ones are not fed


class LiveHarmonizer:
    def __init__(self, model, settings: SamplingSettings, seed=None, shift: int = 0, strict: bool = True,
                 four: bool = True):
        codec = model.codec
        if getattr(codec, "name", "") != "polyphony":
            raise ValueError(f"{model.name or 'this model'} is a {getattr(codec, 'name', model.kind)} model; the live "
                             "harmonizer needs a polyphony model such as bach-chorales")
        self.codec, self.settings, self.shift = codec, settings, shift
        self.strict, self.four = strict, four
        self.gen = Generator(model, settings, seed, batch=1, undo_depth=0)
        self.gen.feed([START])
        self.melody: int | None = None  # the model pitch of the soprano sounding now
        self.lower: list[int] = []  # the model pitches under it, highest first
        self.melody_before = False  # the soprano sounded in the last step fed
        self.rests = 0
        self.last_chord: list[int] = []  # the model pitches of the last chord struck, highest first
        self.pending: list[int] = []  # events decided but not yet fed (see finish)
        self.last = None  # (probs, raw, token, entropy) of the last event drawn, for a live histogram

    def model_pitch(self, pitch: int) -> int:
        p = pitch + self.shift
        while p > 127:
            p -= 12
        while p < 0:
            p += 12
        return p

    def strike(self, pitch: int) -> tuple[list[tuple[int, bool]], float]:
        """The player's `pitch` begins a step: returns the lower voices as (pitch as heard, struck)
        highest first (struck False: a voice holding its note on) and the probability of the
        chord's events under the distributions they were drawn from. Call finish() once sent."""
        self.finish()
        settings = self.settings
        p = self.model_pitch(pitch)
        released = self.melody  # a new soprano ends the one before, even if its key is still down
        self.melody = None if released is None else p  # (set before drawing: read by the rule below)
        held_over = self.melody_before
        self.gen.step(force=NEW_NOTE + p)
        lower: list[int] = []
        prob = 1.0
        while True:
            bad = None
            if self.strict:  # against the last chord heard, also across a rest: parallels are heard over it
                g = self.gen.grammar
                prev = np.flatnonzero(g.prev[0])[::-1] if g.prev[0].any() else np.asarray(self.last_chord)
                bad = parallel_pitches(prev, np.flatnonzero(g.cur[0])[::-1], held_over)[None]
            logits = constrain_lower(self.gen.logits.copy(), p, released, np.array([len(lower)]), True, bad, self.four)
            if self.melody is None:  # the player let go since the last step: no voice is left to hold
                logits[0, CONTINUED_NOTE:] = MASKED
            if self.four and len(lower) < LOWER_VOICES and (logits[0, NEW_NOTE:] > MASKED / 2).any():
                logits[0, STEP_END] = MASKED  # heard live, a chord is four voices whenever four can be found
            probs, raw, entropy = distributions(logits, settings)
            token = int(draw(probs, self.gen.rng)[0])
            prob *= float(probs[0, token])
            self.last = (probs[0], raw[0], token, float(entropy[0]))
            if token == STEP_END:
                self.pending = [STEP_END]
                break
            lower.append((token - NEW_NOTE, True) if token < CONTINUED_NOTE else (token - CONTINUED_NOTE, False))
            if len(lower) == LOWER_VOICES:  # the step is full: STEP_END is the only event left
                self.pending = [token, STEP_END]
                break
            self.gen.step(force=token)
        self.melody, self.lower, self.rests = p, [q for q, _ in lower], 0
        self.last_chord = [p] + self.lower
        return [(q - self.shift, new) for q, new in lower], prob

    def finish(self) -> None:
        """Feed the events of the last struck step that were decided but not fed yet."""
        for token in self.pending:
            self.gen.step(force=token)
        if self.pending:
            self.melody_before = True
        self.pending = []

    def release(self) -> None:
        """The player let the soprano go: every voice stops with it."""
        self.finish()
        self.melody, self.lower = None, []

    def pass_step(self) -> None:
        """A 16th-note step went by without a strike: hold the chord, or rest."""
        self.finish()
        if self.melody is not None:
            for q in [self.melody] + self.lower:
                self.gen.step(force=CONTINUED_NOTE + q)
            self.gen.step(force=STEP_END)
            self.melody_before = True
        elif self.rests < MAX_REST_STEPS:
            self.gen.step(force=STEP_END)
            self.rests += 1
            self.melody_before = False

    def set_settings(self, settings: SamplingSettings) -> None:
        self.settings = self.gen.settings = settings
