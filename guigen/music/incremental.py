"""Decoding a growing event stream again and again without reading it all each time.

The piano roll decodes primer + generated ids every frame; for a long piece that is most of a
frame's work. The notes before a *clean cut* never change: a point where no note is held across
(polyphony: a step whose events hold no CONTINUED_NOTE; melody: a step with a NOTE_ON or
NOTE_OFF, which ends the note before). StreamDecoder keeps the notes up to the last clean cut and
decodes only what follows; the result equals codec.decode(ids) (tests/test_app_pianoroll.py checks).
"""

from __future__ import annotations

from dataclasses import replace

from guigen.music import melody, polyphony


class StreamDecoder:
    def __init__(self, codec):
        self.codec = codec
        self.kind = getattr(codec, "name", "")
        self.reset()

    def reset(self) -> None:
        self.cut = 0  # ids before this index are decoded into self.head
        self.cut_step = 0  # the step the cut falls on
        self.head: list = []  # notes before the cut (final)
        self.ended = False  # an END came before the cut: nothing after it counts

    def decode(self, ids) -> list:
        """codec.decode(ids); ids must extend the ids of the previous call (else call reset())."""
        ids = list(ids)
        if len(ids) < self.cut or self.kind not in ("polyphony", "melody"):
            self.reset()
            if self.kind not in ("polyphony", "melody"):
                return self.codec.decode(ids)
        if self.ended:
            return list(self.head)
        cut = self._last_cut(ids)
        if cut > self.cut:  # move the cut on: decode the stretch between the cuts once
            part = ids[self.cut:cut]
            self.head += self._shifted(self.codec.decode(part), self.cut_step)
            self.cut_step += self.codec.count_steps(part)
            if self.kind == "polyphony" and polyphony.END in part:
                self.ended = True
                self.cut = cut
                return list(self.head)
            self.cut = cut
        return self.head + self._shifted(self.codec.decode(ids[self.cut:]), self.cut_step)

    @staticmethod
    def _shifted(notes, steps: int) -> list:
        return [replace(n, start=n.start + steps, end=n.end + steps) for n in notes] if steps else notes

    def _last_cut(self, ids) -> int:
        """The last clean cut after self.cut with a complete step after it, or self.cut."""
        if self.kind == "melody":
            # a NOTE_ON or NOTE_OFF at k ends the note before it; the last id may still change nothing
            for k in range(len(ids) - 1, self.cut, -1):
                if ids[k] != melody.NO_EVENT:
                    return k
            return self.cut
        ends = [j for j in range(self.cut, len(ids)) if ids[j] == polyphony.STEP_END]
        # a cut after ends[i] is clean when the step that follows (up to ends[i + 1]) holds no note on
        for i in range(len(ends) - 2, -1, -1):
            step = ids[ends[i] + 1:ends[i + 1]]
            if not any(t >= polyphony.CONTINUED_NOTE for t in step):
                return ends[i] + 1
        return self.cut
