"""The piano roll's notes as the GUI thread keeps them, mixed into PianoRoll: the notes, each one's
voice and the probability of the event that struck it, taken in as NotesUpdates (guigen.app.roll_feed:
made in the generation process for the sample it streams, so the GUI thread neither decodes nor
labels voices; made here by a RollFeed of the roll's own for music that comes otherwise), and
drawn as one BarGraphItem per CHUNK steps: a batch redraws only the chunks its new or changed
notes fall in, and painting replays the others' pictures as they are."""

from __future__ import annotations

from bisect import bisect_left, bisect_right

import numpy as np
import pyqtgraph as pg

CHUNK = 64  # steps per BarGraphItem (4 bars of 4/4)


class RollModel:
    def _clear_notes(self) -> None:
        """No notes (a reset): the lists, the chunks and the roll's own feed go."""
        for item in getattr(self, "chunks", []):
            self.view.removeItem(item)
        self.chunks: list = []  # BarGraphItem per CHUNK steps, by the start step of their notes
        self._notes: list = []
        self._voices_now: list | None = None
        self._note_probs: list = []
        self._ends: list[int] = []  # per note: the latest end among it and the notes before it
        self._low: list[int] = []  # per note: the lowest pitch among it and the notes before it
        self._high: list[int] = []
        self._longest = 0  # steps of the longest note (how far back a note under the pointer can start)
        self._steps = self.primer_steps
        self._changed_from: int | None = 0  # notes from this index on are not drawn as they are
        self._feed = None  # the roll's own RollFeed, for tokens that came without their notes

    def _take(self, update) -> None:
        """Take in a NotesUpdate: the lists change now, the drawing at the next redraw."""
        k = update.first
        del self._notes[k:], self._note_probs[k:], self._ends[k:], self._low[k:], self._high[k:]
        self._notes += update.notes
        self._note_probs += update.probs
        if update.voices is None:
            if self._voices_now is not None:
                k = 0  # no longer four-voice: every note's colour changes
            self._voices_now = None
        elif self._voices_now is None:  # four-voice from here on: every note's colour changes
            self._voices_now, k = list(update.voices), 0
        else:
            del self._voices_now[k:]
            self._voices_now += update.voices
        for n in update.notes:
            self._ends.append(max(self._ends[-1], n.end) if self._ends else n.end)
            self._low.append(min(self._low[-1], n.pitch) if self._low else n.pitch)
            self._high.append(max(self._high[-1], n.pitch) if self._high else n.pitch)
            self._longest = max(self._longest, n.end - n.start)
        self._steps = update.steps
        self._changed_from = k if self._changed_from is None else min(self._changed_from, k)

    def _feed_own(self) -> None:
        """Notes for the tokens that came without them, by the roll's own RollFeed (in the GUI
        thread: a harmonisation, a variation or take opened, an undo the process has not answered)."""
        from guigen.app.roll_feed import RollFeed

        if self._feed is None:  # a fresh one reads every token so far: its first update holds every note
            self._feed = RollFeed(self.codec, self.primer, self.top_line)
            self._feed_tokens = 0
        update = self._feed.extend(self.tokens[self._feed_tokens:], self.probs[self._feed_tokens:])
        self._feed_tokens = len(self.tokens)
        self._take(update)

    def _fits(self, update) -> bool:
        """Whether a NotesUpdate from the generation process continues the notes the roll holds."""
        return (update is not None and update.ids == len(self.primer) + len(self.tokens)
                and update.codec == repr(self.codec)
                and update.first <= len(self._notes)
                and (update.voices is None or self._voices_now is not None or update.first == 0))

    def show_notes(self, notes, voices=None, probs=None) -> None:
        """Notes that come as notes, not as a model's tokens (the live panel's recording and answers):
        drawn as given, after the primer; voices: per note 0-3 (soprano-bass) or None, or None for
        one colour; probs: per note the probability of the event that struck it, or None."""
        from guigen.app.roll_feed import NotesUpdate

        order = sorted(range(len(notes)), key=lambda i: (notes[i].start, notes[i].end, notes[i].pitch))
        del self.tokens[:], self.probs[:]
        self._feed, self._own = None, False
        steps = max([self.primer_steps] + [n.end for n in notes])
        self._take(NotesUpdate(0, [notes[i] for i in order], [voices[i] for i in order] if voices is not None else None,
                               [probs[i] for i in order] if probs is not None else [None] * len(notes), steps,
                               len(self.primer)))
        self._restyle()
        self._redraw()

    # -- drawing ---------------------------------------------------------------------------------
    def _draw_notes(self) -> None:
        """Redraw the chunks that hold a note changed since the last redraw (all of them after a
        change of colouring: _restyle)."""
        k = self._changed_from
        if k is None:
            return
        self._changed_from = None
        notes = self._notes
        # notes[:k] are drawn as they are, so a note changed or gone started no earlier than notes[k - 1]
        first_chunk = notes[min(k, len(notes)) - 1].start // CHUNK if k > 0 and notes else 0
        last_chunk = (notes[-1].start // CHUNK) if notes else -1
        while len(self.chunks) > last_chunk + 1:
            self.view.removeItem(self.chunks.pop())
        for c in range(first_chunk, last_chunk + 1):
            lo = bisect_left(notes, c * CHUNK, key=lambda n: n.start)
            hi = bisect_left(notes, (c + 1) * CHUNK, key=lambda n: n.start)
            if c >= len(self.chunks):
                item = pg.BarGraphItem(x0=[], y0=[], width=[], height=[])
                self.view.addItem(item, ignoreBounds=True)
                self.chunks.append(item)
            self._draw_chunk(self.chunks[c], lo, hi)

    def _draw_chunk(self, item, lo: int, hi: int) -> None:
        notes = self._notes[lo:hi]
        if not notes:
            item.setOpts(x0=[], y0=[], width=[], height=[], brushes=None, pens=None)
            return
        start = np.array([n.start for n in notes], dtype=float)
        end = np.array([n.end for n in notes], dtype=float)
        pitch = np.array([n.pitch for n in notes], dtype=float)
        brushes, pens = self._styles(range(lo, hi))
        item.setOpts(x0=start, y0=pitch - 0.42, width=end - start, height=np.full(len(notes), 0.84),
                     brushes=brushes, pens=pens)

    def _restyle(self, step: int = 0) -> None:
        """The colours of the notes from `step` on may have changed (colouring, palette, the Cells view)."""
        k = bisect_left(self._notes, step, key=lambda n: n.start)
        self._changed_from = k if self._changed_from is None else min(self._changed_from, k)

    def fill_of(self, i: int):
        """The QColor note i is filled with, as drawn."""
        c = self._notes[i].start // CHUNK
        lo = bisect_left(self._notes, c * CHUNK, key=lambda n: n.start)
        return self.chunks[c].opts["brushes"][i - lo].color()

    @property
    def drawn(self) -> list[int]:
        """Indices of the notes the plot holds: all of them."""
        self._flush()
        return list(range(len(self._notes)))

    def note_at(self, step: float, pitch: float) -> int | None:
        """The index of the note sounding at (step, pitch), or None."""
        p = round(pitch)
        notes = self.notes
        k = bisect_right(notes, step, key=lambda n: n.start)
        while k > 0 and notes[k - 1].start >= step - self._longest:
            k -= 1
            n = notes[k]
            if n.pitch == p and n.start <= step < n.end:
                return k
        return None

    def event_probs(self) -> dict:
        """(step, pitch) -> probability of the generated event that struck that note."""
        self._flush()
        return {(n.start, n.pitch): p for n, p in zip(self._notes, self._note_probs) if p is not None}

