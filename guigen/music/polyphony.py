"""Polyphonic encoding, as Magenta's polyphony_rnn: each 16th-note step lists its sounding notes.

Events: START, END, STEP_END, NEW_NOTE(pitch) and CONTINUED_NOTE(pitch) for all 128 pitches,
259 classes. A piece is START, then for every step the notes sounding in it, highest first
(NEW_NOTE where the note begins, CONTINUED_NOTE where it goes on), then STEP_END; then END.
"""

from __future__ import annotations

import numpy as np

from guigen.music.events import (DEFAULT_VELOCITY, Note, fitting_shifts, key_shift, pitch_name, remove_overlaps,
                                 transpose)

START, END, STEP_END = 0, 1, 2
NEW_NOTE = 3  # + pitch
CONTINUED_NOTE = NEW_NOTE + 128  # + pitch
NUM_CLASSES = CONTINUED_NOTE + 128


class PolyphonyEncoding:
    kind = "music"
    name = "polyphony"
    num_classes = NUM_CLASSES

    def __init__(self, key: int | None = None, shift: int = 0, min_pitch: int = 0, max_pitch: int = 127):
        if key is not None and key not in range(12):
            raise ValueError(f"key {key!r} is not a pitch class 0-11 (0 = C)")
        if not 0 <= min_pitch <= max_pitch <= 127:
            raise ValueError(f"pitch range {min_pitch}-{max_pitch} must lie within 0-127, low to high")
        self.key = key  # the key training pieces were moved to (as --to-key); None: left where they were
        self.shift = shift  # a view's: ids name pitches `shift` semitones above the notes (see view_for)
        # the pitches the training data held (transpositions included): all 128 have ids, but the
        # grammar lets a model strike only these, not the ones it never learned anything about
        self.min_pitch, self.max_pitch = min_pitch, max_pitch

    def __repr__(self) -> str:
        args = ([f"key={self.key}"] if self.key is not None else []) + ([f"shift={self.shift}"] if self.shift else [])
        if (self.min_pitch, self.max_pitch) != (0, 127):
            args.append(f"min_pitch={self.min_pitch}, max_pitch={self.max_pitch}")
        return f"PolyphonyEncoding({', '.join(args)})"

    # -- tokens -------------------------------------------------------------------------------
    def token_label(self, i: int) -> str:
        i = int(i)
        if i == START:
            return "start"
        if i == END:
            return "end"
        if i == STEP_END:
            return "next step"
        if i < CONTINUED_NOTE:
            return pitch_name(i - NEW_NOTE - self.shift)
        return pitch_name(i - CONTINUED_NOTE - self.shift) + " held"

    def ends_step(self, i: int) -> bool:
        return int(i) == STEP_END

    def count_steps(self, ids) -> int:
        return int(np.count_nonzero(np.asarray(ids) == STEP_END))

    # -- notes <-> ids --------------------------------------------------------------------------
    def encode(self, notes: list[Note], num_steps: int | None = None, end: bool = True) -> np.ndarray:
        """START, the steps up to the last note's end (or num_steps if later), then END."""
        total = max(max((n.end for n in notes), default=0), num_steps or 0)
        sounding: list[list[int]] = [[] for _ in range(total)]  # per step: signed pitches, -1-p for new
        last_end: dict[int, int] = {}
        if self.shift:
            notes = transpose(notes, self.shift)
        for n in sorted(notes):
            if not 0 <= n.pitch <= 127:
                raise ValueError(f"pitch {n.pitch} is not a MIDI pitch")
            if n.end <= n.start or n.start < 0:
                raise ValueError(f"note {n} has no length")
            if last_end.get(n.pitch, 0) > n.start:
                raise ValueError(f"two {pitch_name(n.pitch)} notes overlap at step {n.start}")
            last_end[n.pitch] = n.end
            sounding[n.start].append(-1 - n.pitch)
            for s in range(n.start + 1, n.end):
                sounding[s].append(n.pitch)
        ids = [START]
        for step in sounding:
            for p in sorted(step, key=lambda p: -(p if p >= 0 else -1 - p)):  # highest first
                ids.append(CONTINUED_NOTE + p if p >= 0 else NEW_NOTE - 1 - p)
            ids.append(STEP_END)
        if end:
            ids.append(END)
        return np.asarray(ids, dtype=np.int64)

    def decode(self, ids, velocity: int = DEFAULT_VELOCITY) -> list[Note]:
        """Notes of any id sequence (never fails), up to the first END.

        Lenient as Magenta's decoder must be with sampled events: a repeated pitch within a step
        counts once, CONTINUED_NOTE of a silent pitch starts it, a stray START is ignored.
        """
        notes: list[Note] = []
        active: dict[int, int] = {}  # pitch -> start step
        in_step: dict[int, bool] = {}  # pitch -> is a new note
        step = 0

        def close_step():
            for p in [p for p in active if p not in in_step or in_step[p]]:
                notes.append(Note(active.pop(p), step, p, velocity))
            for p, new in in_step.items():
                if p not in active:
                    active[p] = step
            in_step.clear()

        for i in np.asarray(ids, dtype=np.int64).reshape(-1):
            if i == END:
                break
            if i == STEP_END:
                close_step()
                step += 1
            elif i >= NEW_NOTE:
                p = int(i - NEW_NOTE) if i < CONTINUED_NOTE else int(i - CONTINUED_NOTE)
                in_step.setdefault(p, i < CONTINUED_NOTE)
        if in_step:  # an unfinished last step counts as a step
            close_step()
            step += 1
        in_step.clear()
        close_step()  # everything still sounding ends here
        if self.shift:
            notes = [n for n in transpose(notes, -self.shift) if 0 <= n.pitch <= 127]
        return sorted(notes)

    def pitch_blocks(self) -> list[tuple[int, int]]:
        """(first id, count) of each run of ids that are one pitch each, low to high (for transposing ids)."""
        return [(NEW_NOTE, 128), (CONTINUED_NOTE, 128)]

    def grammar(self, batch: int) -> PolyphonyGrammar:
        """What may come next in each of `batch` event streams (see PolyphonyGrammar)."""
        return PolyphonyGrammar(batch, self.min_pitch, self.max_pitch)

    def primer(self, notes: list[Note]) -> np.ndarray:
        """Ids to feed before generating: START and the primer's steps, no END."""
        return self.encode(notes, end=False)

    # -- real-world notes -> pieces --------------------------------------------------------------
    def fit(self, notes: list[Note]) -> tuple[list[Note] | None, dict[str, int]]:
        """Pitched notes as this encoding holds them: unisons merged, same-pitch overlaps cut."""
        notes, fixed = remove_overlaps(notes)
        return (notes or None), ({"overlapping notes of one pitch cut or merged": fixed} if fixed else {})

    # -- one key ----------------------------------------------------------------------------------
    def key_shift(self, notes: list[Note], primer: bool = False) -> int:
        return key_shift(notes, self.key, primer=primer)

    def to_key(self, notes: list[Note]) -> list[Note]:
        """A training piece moved to the model's key."""
        return [n for n in transpose(notes, self.key_shift(notes)) if 0 <= n.pitch <= 127]

    def view_for(self, notes: list[Note]) -> PolyphonyEncoding:
        """The encoding for a primer and its continuation: a model trained in one key plays in it,
        the listener hears the primer's key. Ids are the model's; pitches are shifted."""
        shift = self.key_shift(notes, primer=True)
        return PolyphonyEncoding(None, shift, self.min_pitch, self.max_pitch) if shift else self

    def transpositions(self, notes: list[Note], shifts) -> list[int]:
        if self.key is not None:
            return [0]
        return fitting_shifts(notes, shifts, self.min_pitch, self.max_pitch)

    # -- model files ------------------------------------------------------------------------------
    def to_meta(self) -> dict:
        meta = {"kind": "music", "encoding": self.name, "min_pitch": self.min_pitch, "max_pitch": self.max_pitch,
                "steps_per_quarter": 4}
        if self.key is not None:
            meta["transpose_to_key"] = self.key
        return meta

    @classmethod
    def from_meta(cls, meta: dict) -> PolyphonyEncoding:
        key = meta.get("transpose_to_key")
        return cls(None if key is None else int(key), 0, int(meta.get("min_pitch", 0)), int(meta.get("max_pitch", 127)))


class PolyphonyGrammar:
    """Which events can follow, per stream: the rules every encoded piece obeys.

    Within a step, notes come highest first, so a note must lie below the last one listed (and
    within the pitches the model was trained on);
    CONTINUED_NOTE(p) needs p sounding in the previous step; END comes only between steps;
    START only begins a piece. A sampler that masks the rest never writes a held note that
    was never struck, or a note a semitone off one that was (an LSTM's typical slips).
    Tokens fed in (a primer, a token forced by the user) are taken leniently, as decode does.
    """

    def __init__(self, batch: int, min_pitch: int = 0, max_pitch: int = 127):
        pitches = np.arange(128)
        self.in_range = (min_pitch <= pitches) & (pitches <= max_pitch)
        self.prev = np.zeros((batch, 128), dtype=bool)  # sounding in the previous step
        self.cur = np.zeros((batch, 128), dtype=bool)  # listed so far in this step
        self.low = np.full(batch, 128, dtype=np.int64)  # last (lowest) pitch listed in this step

    def advance(self, tokens) -> None:
        t = np.asarray(tokens, dtype=np.int64).reshape(-1)
        step_end = t == STEP_END
        self.prev[step_end] = self.cur[step_end]
        reset = (t == START) | (t == END)
        self.prev[reset] = False
        self.cur[step_end | reset] = False
        self.low[step_end | reset] = 128
        rows = np.flatnonzero(t >= NEW_NOTE)
        if rows.size:
            pitch = np.where(t[rows] < CONTINUED_NOTE, t[rows] - NEW_NOTE, t[rows] - CONTINUED_NOTE)
            self.cur[rows, pitch] = True
            self.low[rows] = pitch

    def allowed(self) -> np.ndarray:
        """(batch, NUM_CLASSES) bool: the events each stream may take next."""
        ok = np.zeros((len(self.low), NUM_CLASSES), dtype=bool)
        ok[:, STEP_END] = True
        ok[:, END] = ~self.cur.any(axis=1)
        below = np.arange(128)[None, :] < self.low[:, None]
        ok[:, NEW_NOTE:CONTINUED_NOTE] = below & self.in_range
        ok[:, CONTINUED_NOTE:] = below & self.prev
        return ok

    # the Generator copies, restores and reorders rows with these, as it does the LSTM state
    def snapshot(self) -> tuple:
        return self.prev.copy(), self.cur.copy(), self.low.copy()

    def restore(self, snap: tuple, rows=slice(None)) -> None:
        for mine, saved in zip((self.prev, self.cur, self.low), snap):
            mine[rows] = saved[rows]

    def reorder(self, rows) -> None:
        self.prev, self.cur, self.low = self.prev[rows], self.cur[rows], self.low[rows]
