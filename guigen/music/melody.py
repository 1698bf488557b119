"""Monophonic melody encoding, as Magenta's melody_rnn: one event per 16th-note step.

Events: NO_EVENT (the current note holds, or the rest goes on), NOTE_OFF (the note stops),
NOTE_ON(pitch) for pitches min_pitch..max_pitch. basic_rnn's 48-83 gives 38 classes. A note
that starts where another ends needs no NOTE_OFF: the new NOTE_ON ends the old note.

With `key` set (Magenta's transpose_to_key; 0 = C major / A minor), every training melody is
moved to that key first, so the model learns one key well instead of twelve badly; a primer is
moved the same way for the model, and the continuation moved back (see view_for).

With `metres` set (a model conditioned on metre and mode, see guigen.music.conditions), one
token per (metre, mode) follows the pitches: a tune's ids start with it, and a sampler never
draws it (the encoding's grammar rules it out).
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import numpy as np

from guigen.music.conditions import MODES, metre_name, mode_of, parse_metre
from guigen.music.events import DEFAULT_VELOCITY, Note, key_shift, pitch_name, remove_overlaps, transpose

NO_EVENT, NOTE_OFF = 0, 1  # ids; NOTE_ON(pitch) is 2 + pitch - min_pitch
FIRST_PITCH_ID = 2
EXTRA = "notes under a higher one (extra voices)"  # report line


def top_line(notes: list[Note]) -> tuple[list[Note], dict[str, int]]:
    """The highest note at each onset, a new note ending the one held (Magenta's
    ignore_polyphonic_notes), and how many notes under a higher one were left out."""
    dropped: dict[str, int] = {}
    line: list[Note] = []
    for n in sorted(notes, key=lambda n: (n.start, -n.pitch)):
        if line and line[-1].start == n.start:
            dropped[EXTRA] = dropped.get(EXTRA, 0) + 1
            continue
        if line and line[-1].end > n.start:
            line[-1] = replace(line[-1], end=n.start)  # the new note ends the held one
        line.append(n)
    return line, dropped


def _conditioned_grammar(num_classes: int, first_condition_id: int, batch: int):
    return MelodyGrammar(batch, num_classes, first_condition_id)


class MelodyEncoding:
    kind = "music"
    name = "melody"
    grammar = None  # unconditioned: every event may follow any other

    def __init__(self, min_pitch: int = 48, max_pitch: int = 83, key: int | None = None, metres=()):
        if not (isinstance(min_pitch, int) and isinstance(max_pitch, int) and 0 <= min_pitch <= max_pitch <= 127):
            raise ValueError(f"melody pitch range {min_pitch}-{max_pitch} must lie within 0-127, low to high")
        if key is not None and key not in range(12):
            raise ValueError(f"key {key!r} is not a pitch class 0-11 (0 = C)")
        self.min_pitch, self.max_pitch = min_pitch, max_pitch
        self.key = key  # the key training melodies were moved to; None: left where they were
        self.metres = tuple(tuple(int(x) for x in m) for m in metres)  # conditions: metres known, (num, den)
        if self.metres:
            # a partial of a module function, not a lambda: the app's generation process is sent the model pickled
            self.grammar = partial(_conditioned_grammar, self.num_classes, self.first_condition_id)

    @property
    def first_condition_id(self) -> int:
        return FIRST_PITCH_ID + self.max_pitch - self.min_pitch + 1

    @property
    def num_classes(self) -> int:
        return self.first_condition_id + len(self.metres) * len(MODES)

    def condition_id(self, metre, mode: str) -> int:
        """The token that names a tune's metre and mode (ValueError for one the model does not know)."""
        metre = tuple(metre)
        if metre not in self.metres:
            known = ", ".join(map(metre_name, self.metres)) or "none"
            raise ValueError(f"the model knows no metre {metre_name(metre)} (it knows {known})")
        return self.first_condition_id + self.metres.index(metre) * len(MODES) + MODES.index(mode)

    def head(self, notes: list[Note], metre) -> np.ndarray:
        """What a training or test tune's ids start with: its condition token (none when unconditioned)."""
        if not self.metres:
            return np.zeros(0, dtype=np.int64)
        return np.asarray([self.condition_id(metre, mode_of(notes, self.key or 0))], dtype=np.int64)

    def __repr__(self) -> str:
        key = f", key={self.key}" if self.key is not None else ""
        return f"MelodyEncoding({self.min_pitch}, {self.max_pitch}{key})"

    # -- tokens -------------------------------------------------------------------------------
    def note_on(self, pitch: int) -> int:
        if not self.min_pitch <= pitch <= self.max_pitch:
            raise ValueError(f"pitch {pitch_name(pitch)} ({pitch}) is outside the melody range "
                             f"{pitch_name(self.min_pitch)}-{pitch_name(self.max_pitch)}")
        return FIRST_PITCH_ID + pitch - self.min_pitch

    def token_label(self, i: int) -> str:
        i = int(i)
        if i >= self.first_condition_id:
            k = i - self.first_condition_id
            return f"{metre_name(self.metres[k // len(MODES)])} {MODES[k % len(MODES)]}"
        if i == NO_EVENT:
            return "rest/hold"
        if i == NOTE_OFF:
            return "note off"
        return pitch_name(self.min_pitch + i - FIRST_PITCH_ID)

    def pitch_blocks(self) -> list[tuple[int, int]]:
        """(first id, count) of each run of ids that are one pitch each, low to high (for transposing ids)."""
        return [(FIRST_PITCH_ID, self.first_condition_id - FIRST_PITCH_ID)]

    def ends_step(self, i: int) -> bool:
        """Every melody event is one step."""
        return True

    def count_steps(self, ids) -> int:
        return len(ids)

    # -- notes <-> ids --------------------------------------------------------------------------
    def encode(self, notes: list[Note], num_steps: int | None = None) -> np.ndarray:
        """Ids for a melody: one per step up to and including the last note's NOTE_OFF.

        num_steps, when larger, pads with NO_EVENT (a trailing rest). Notes must not overlap.
        """
        notes = sorted(notes)
        end = max((n.end for n in notes), default=0)
        length = max(end + 1 if notes else 0, num_steps or 0)
        ids = np.full(length, NO_EVENT, dtype=np.int64)
        previous_end = 0
        for n in notes:
            if n.start < previous_end:
                raise ValueError(f"melody notes overlap at step {n.start}: a melody has one note at a time")
            if n.end <= n.start or n.start < 0:
                raise ValueError(f"note {n} has no length")
            ids[n.start] = self.note_on(n.pitch)  # may replace the previous note's NOTE_OFF
            if ids[n.end] == NO_EVENT:
                ids[n.end] = NOTE_OFF  # replaced if the next note starts right here
            previous_end = n.end
        return ids

    def decode(self, ids, velocity: int = DEFAULT_VELOCITY) -> list[Note]:
        """Notes of any id sequence (never fails): a note lasts until the next NOTE_ON or NOTE_OFF."""
        notes, pitch, start = [], None, 0
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        ids = ids[ids < self.first_condition_id]  # a condition token is not a step
        for step, i in enumerate(ids):
            if i == NO_EVENT:
                continue
            if pitch is not None:
                notes.append(Note(start, step, pitch, velocity))
                pitch = None
            if i >= FIRST_PITCH_ID:
                pitch, start = self.min_pitch + int(i) - FIRST_PITCH_ID, step
        if pitch is not None:
            notes.append(Note(start, len(ids), pitch, velocity))
        return notes

    def primer(self, notes: list[Note]) -> np.ndarray:
        """Ids to feed before generating: the melody without its closing NOTE_OFF, so the model
        decides whether the last note goes on."""
        ids = self.encode(notes)
        return ids[:-1] if len(ids) and ids[-1] == NOTE_OFF else ids

    # -- real-world notes -> melodies ----------------------------------------------------------
    def fit(self, notes: list[Note]) -> tuple[list[Note] | None, dict[str, int]]:
        """One voice's notes as a melody this encoding can hold, and what was dropped.

        Where notes sound together the highest is kept (Magenta's ignore_polyphonic_notes); a
        melody out of range moves by whole octaves, and notes still outside are dropped. None when
        nothing is left.
        """
        line, dropped = top_line(notes)
        if not line:
            return None, dropped
        # move by the whole octaves that keep the most notes in range (the nearest such shift)
        shifts = sorted(range(-48, 49, 12), key=abs)
        shift = max(shifts, key=lambda k: sum(self.min_pitch <= n.pitch + k <= self.max_pitch for n in line))
        if shift:
            dropped["melodies moved by octaves into range"] = 1
            line = transpose(line, shift)
        kept = [n for n in line if self.min_pitch <= n.pitch <= self.max_pitch]
        if len(kept) < len(line):
            dropped["notes out of the melody range dropped"] = len(line) - len(kept)
        if not kept:
            return None, dropped
        line = kept
        return remove_overlaps(line)[0], dropped

    def fit_primer(self, notes: list[Note], name: str = "the primer") -> list[Note]:
        """A primer file's notes as a melody for this model, at the pitches the listener hears.

        The top line is moved to the model's key first (as view_for does), by the octave that keeps
        the most notes in range and the smallest move of those, so never by an octave it does not
        need; notes still outside are left out. A model without a key moves it by whole octaves only
        (as fit). ValueError naming the primer's own range when no note can be fitted.
        """
        line, _ = top_line(notes)
        if self.key is None:
            fitted, _ = self.fit(line)
        else:
            fitted = line
            for _ in range(4):  # leaving notes out may change the key found; settle it
                view = self.view_for(fitted)
                kept = [n for n in fitted if view.min_pitch <= n.pitch <= view.max_pitch]
                if len(kept) == len(fitted):
                    break
                fitted = kept
            view = self.view_for(fitted) if fitted else self
            fitted = remove_overlaps([n for n in fitted if view.min_pitch <= n.pitch <= view.max_pitch])[0]
        if not fitted:
            low, high = min(n.pitch for n in line), max(n.pitch for n in line)
            raise ValueError(f"{name}: its melody ({pitch_name(low)}-{pitch_name(high)}) cannot be fitted to the "
                             f"model's range {pitch_name(self.min_pitch)}-{pitch_name(self.max_pitch)}, "
                             "even moved to its key and by octaves")
        return fitted

    # -- one key ----------------------------------------------------------------------------------
    def key_shift(self, notes: list[Note], primer: bool = False) -> int:
        """Semitones that move these notes to the model's key, by the octave that keeps the most
        in range (the smallest such move); 0 for a model without a key or no notes."""
        return key_shift(notes, self.key, self.min_pitch, self.max_pitch, primer)

    def to_key(self, notes: list[Note]) -> list[Note]:
        """A training melody moved to the model's key (notes still out of range are dropped)."""
        return [n for n in transpose(notes, self.key_shift(notes)) if self.min_pitch <= n.pitch <= self.max_pitch]

    def view_for(self, notes: list[Note]) -> MelodyEncoding:
        """The encoding to encode this primer with and decode its continuation: the model plays
        in its key, the listener hears the primer's. Ids are the model's; pitches are shifted."""
        shift = self.key_shift(notes, primer=True)
        if not shift:
            return self
        low, high = self.min_pitch - shift, self.max_pitch - shift
        if low < 0 or high > 127:  # the moved range leaves MIDI: stay in the model's key
            return self
        return MelodyEncoding(low, high, None, self.metres)

    def view_shifted(self, shift: int) -> MelodyEncoding:
        """The encoding that plays the model's pitches `shift` semitones higher (in a requested key)."""
        low, high = self.min_pitch + shift, self.max_pitch + shift
        if low < 0 or high > 127:
            raise ValueError("that key moves the model's range out of MIDI's 0-127")
        return MelodyEncoding(low, high, None, self.metres)

    def transpositions(self, notes: list[Note], shifts) -> list[int]:
        """The shifts (semitones) that keep these notes inside the range (none when the key is fixed)."""
        if not notes or self.key is not None:
            return [0]
        low, high = min(n.pitch for n in notes), max(n.pitch for n in notes)
        return [s for s in shifts if self.min_pitch <= low + s and high + s <= self.max_pitch] or [0]

    # -- model files ------------------------------------------------------------------------------
    def to_meta(self) -> dict:
        meta = {"kind": "music", "encoding": self.name, "min_pitch": self.min_pitch, "max_pitch": self.max_pitch,
                "steps_per_quarter": 4}
        if self.key is not None:
            meta["transpose_to_key"] = self.key
        if self.metres:
            meta["conditions"] = {"metres": [metre_name(m) for m in self.metres], "modes": list(MODES)}
        return meta

    @classmethod
    def from_meta(cls, meta: dict) -> MelodyEncoding:
        key = meta.get("transpose_to_key")
        conditions = meta.get("conditions") or {}
        if conditions and list(conditions.get("modes", [])) != list(MODES):
            raise ValueError(f"unknown mode conditions {conditions.get('modes')!r} (known: {', '.join(MODES)})")
        metres = [parse_metre(m) for m in conditions.get("metres", [])]
        return cls(int(meta.get("min_pitch", 48)), int(meta.get("max_pitch", 83)), None if key is None else int(key),
                   metres)


class MelodyGrammar:
    """A conditioned melody's rule: condition tokens begin a tune, so a sampler never draws one."""

    def __init__(self, batch: int, num_classes: int, first_condition_id: int):
        self.ok = np.ones((batch, num_classes), dtype=bool)
        self.ok[:, first_condition_id:] = False

    def advance(self, tokens) -> None:
        pass

    def allowed(self) -> np.ndarray:
        return self.ok

    def snapshot(self) -> tuple:
        return ()

    def restore(self, snap: tuple, rows=slice(None)) -> None:
        pass

    def reorder(self, rows) -> None:
        self.ok = self.ok[rows]
