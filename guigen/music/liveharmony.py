"""The live harmonizer's model side: three lower voices under each note as it is played.

Every note the player strikes is a polyphony step whose first event is forced to it (the
soprano); the lower voices are drawn one event at a time under `guigen harmonize`'s rules
(guigen.music.harmonize: constrain_lower, below the melody; voice_parallels and
step_end_parallel, no parallel fifths or octaves as guigen.music.quality.parallel counts them
between the voices as guigen.music.voices.next_voicing reads them; _harmonic_logits, Bach's
chord vocabulary and spacing) through the one streaming Generator. One difference: a live chord
always has four voices when the rules leave a note for each, where `guigen harmonize` only
favours them. Between strikes the clock's 16th-note steps are fed as they pass: while the key
is held, every voice holds (CONTINUED_NOTE events); after it is let go, empty steps (a rest),
up to a bar of them, so a long pause does not fill the model's memory with silence. A rest
ends every voice's line, so nothing moves in parallel across it (as the counter reads it).

strike() returns the chord as soon as it is decided, so the caller can send it before the
step's last events are fed (finish()): of the ~5 model steps a struck note costs, 3 come
before the notes leave.
"""

from __future__ import annotations

import numpy as np

from guigen.core.generate import MASKED, Generator
from guigen.core.sampling import SamplingSettings, distributions, draw
from guigen.music.harmonize import (LOWER_VOICES, _harmonic_logits, constrain_lower, step_end_parallel, step_notes,
                                    voice_parallels)
from guigen.music.polyphony import CONTINUED_NOTE, NEW_NOTE, START, STEP_END
from guigen.music.voices import START_PITCH, next_voicing

MAX_REST_STEPS = 16  # empty steps fed after the player lets go; later ones are not fed


class LiveHarmonizer:
    def __init__(self, model, settings: SamplingSettings, seed=None, shift: int = 0, strict: bool = True,
                 four: bool = True, chords: bool | None = None):
        codec = model.codec
        if getattr(codec, "name", "") != "polyphony":
            raise ValueError(f"{model.name or 'this model'} is a {getattr(codec, 'name', model.kind)} model; the live "
                             "harmonizer needs a polyphony model such as bach-chorales")
        self.codec, self.settings, self.shift = codec, settings, shift
        self.strict, self.four = strict, four
        self.chords = strict if chords is None else chords  # as guigen harmonize: on with the rules
        self.gen = Generator(model, settings, seed, batch=1, undo_depth=0)
        self.gen.feed([START])
        self.melody: int | None = None  # the model pitch of the soprano sounding now
        self.lower: list[int] = []  # the model pitches under it, highest first
        self.rests = 0
        # the voices as the counter reads them (voices.next_voicing): each one's pitch in the last
        # step fed (None: resting), and where each last sang
        self.sung: list[int | None] = [None] * 4
        self.last_sung: list[int] = list(START_PITCH)
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
        self.gen.step(force=NEW_NOTE + p)
        tokens = [NEW_NOTE + p]  # the step's events so far
        lower: list[tuple[int, bool]] = []
        prob = 1.0
        while True:
            g = self.gen.grammar
            cur = np.flatnonzero(g.cur[0])[::-1]
            bad = voice_parallels(self.sung, cur, 0)[None] if self.strict else None
            logits = constrain_lower(self.gen.logits.copy(), p, released, np.array([len(lower)]), True, bad, self.four)
            if self.melody is None:  # the player let go since the last step: no voice is left to hold
                logits[0, CONTINUED_NOTE:] = MASKED
            if self.chords and len(lower) < LOWER_VOICES:
                _harmonic_logits(logits[0], cur, np.flatnonzero(g.prev[0])[::-1])
            notes_left = (logits[0, NEW_NOTE:] > MASKED / 2).any()
            if self.four and len(lower) < LOWER_VOICES and notes_left:
                logits[0, STEP_END] = MASKED  # heard live, a chord is four voices whenever four can be found
            elif (self.strict and notes_left and logits[0, STEP_END] > MASKED / 2
                  and step_end_parallel(self.sung, self.last_sung, tokens, True)):
                logits[0, STEP_END] = MASKED  # a shorter chord whose voices, as the counter reads them, move in parallel
            probs, raw, entropy = distributions(logits, settings)
            token = int(draw(probs, self.gen.rng)[0])
            prob *= float(probs[0, token])
            self.last = (probs[0], raw[0], token, float(entropy[0]))
            if token == STEP_END:
                self.pending = [STEP_END]
                break
            tokens.append(token)
            lower.append((token - NEW_NOTE, True) if token < CONTINUED_NOTE else (token - CONTINUED_NOTE, False))
            if len(lower) == LOWER_VOICES:  # the step is full: STEP_END is the only event left
                self.pending = [token, STEP_END]
                break
            self.gen.step(force=token)
        self._voiced(tokens, True)
        self.melody, self.lower, self.rests = p, [q for q, _ in lower], 0
        return [(q - self.shift, new) for q, new in lower], prob

    def _voiced(self, tokens, melody: bool) -> None:
        """A step fed (or decided): the voices as the counter reads them move on."""
        _, self.sung, self.last_sung = next_voicing(self.sung, self.last_sung, *step_notes(tokens), melody)

    def finish(self) -> None:
        """Feed the events of the last struck step that were decided but not fed yet."""
        for token in self.pending:
            self.gen.step(force=token)
        self.pending = []

    def release(self) -> None:
        """The player let the soprano go: every voice stops with it."""
        self.finish()
        self.melody, self.lower = None, []

    def pass_step(self) -> None:
        """A 16th-note step went by without a strike: hold the chord, or rest."""
        self.finish()
        if self.melody is not None:
            held = [CONTINUED_NOTE + q for q in [self.melody] + self.lower]
            for token in held:
                self.gen.step(force=token)
            self.gen.step(force=STEP_END)
            self._voiced(held, True)
        elif self.rests < MAX_REST_STEPS:
            self.gen.step(force=STEP_END)
            self.rests += 1
            self._voiced([], False)

    def set_settings(self, settings: SamplingSettings) -> None:
        self.settings = self.gen.settings = settings
