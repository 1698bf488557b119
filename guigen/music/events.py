"""Notes on a grid of steps (4 per quarter note by default), and a small sequence around them.

A NoteSequence is what MIDI files are read into and written from, and what the encodings turn
into tokens. Times are whole steps, so encodings never meet a fraction of a step.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

STEPS_PER_QUARTER = 4  # the 16th-note grid of Magenta's melody_rnn and polyphony_rnn
DEFAULT_QPM = 120.0
DEFAULT_VELOCITY = 80
NOTE_NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]


def pitch_name(pitch: int) -> str:
    """MIDI pitch -> scientific pitch name: 60 -> 'C4', 66 -> 'F#4', 21 -> 'A0'."""
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


@dataclass(frozen=True, order=True, slots=True)  # slots: a 200,000-note file fits in memory
class Note:
    start: int  # first step the note sounds in
    end: int  # first step it no longer sounds in (end > start)
    pitch: int  # MIDI pitch 0-127
    velocity: int = DEFAULT_VELOCITY
    voice: int = 0  # index into NoteSequence.voices: a track/channel of the file it came from
    drum: bool = False  # General MIDI channel 10: unpitched, left out of pitched encodings

    @property
    def key(self) -> tuple[int, int, int]:
        """What the encodings keep of a note: (start, end, pitch)."""
        return self.start, self.end, self.pitch


@dataclass
class Voice:
    name: str = ""  # the track name, for people
    program: int = 0  # General MIDI program 0-127
    drum: bool = False


@dataclass
class NoteSequence:
    notes: list[Note] = field(default_factory=list)
    tempos: list[tuple[int, float]] = field(default_factory=lambda: [(0, DEFAULT_QPM)])  # (step, qpm), first at 0
    time_signature: tuple[int, int] = (4, 4)
    voices: list[Voice] = field(default_factory=lambda: [Voice()])
    steps_per_quarter: int = STEPS_PER_QUARTER
    name: str = ""
    time_signature_changes: list[tuple[int, int, int]] = field(default_factory=list)  # (step, num, den) after 0
    end: int = 0  # the step the piece ends at when rests follow its last note (0: where its last note ends)
    key_changes: list[tuple[int, int]] = field(default_factory=list)  # (step, sharps; flats < 0), for scores

    @property
    def qpm(self) -> float:
        """The opening tempo in quarter notes per minute."""
        return self.tempos[0][1]

    @property
    def total_steps(self) -> int:
        return max(max((n.end for n in self.notes), default=0), self.end)

    def pitched(self) -> list[Note]:
        return [n for n in self.notes if not n.drum]

    def seconds(self, step: float) -> float:
        """Time in seconds of a step, following the tempo map."""
        t, last_step, last_qpm = 0.0, 0, self.tempos[0][1]
        for s, qpm in self.tempos[1:]:
            if s >= step:
                break
            t += (s - last_step) * 60.0 / (last_qpm * self.steps_per_quarter)
            last_step, last_qpm = s, qpm
        return t + (step - last_step) * 60.0 / (last_qpm * self.steps_per_quarter)

    def seconds_array(self, steps) -> np.ndarray:
        """seconds() of many steps at once: O(log tempo changes) each, for long tempo maps."""
        steps = np.asarray(steps, dtype=np.float64)
        at = np.array([s for s, _ in self.tempos], dtype=np.float64)
        per_step = 60.0 / (np.array([q for _, q in self.tempos], dtype=np.float64) * self.steps_per_quarter)
        begins = np.concatenate([[0.0], np.cumsum(np.diff(at) * per_step[:-1])])  # seconds at each change
        k = np.maximum(np.searchsorted(at, steps, side="left") - 1, 0)  # the change in force (as seconds())
        return begins[k] + (steps - at[k]) * per_step[k]


def with_notes(seq: NoteSequence, notes: list[Note]) -> NoteSequence:
    """The same tempo, metre and voices with other notes."""
    return replace(seq, notes=sorted(notes))


def remove_overlaps(notes: list[Note]) -> tuple[list[Note], int]:
    """Make notes of the same pitch never overlap, as one key can only sound once.

    An earlier note is cut where the later one starts; of two notes starting together the
    longer is kept. Returns the notes (sorted) and how many were cut or dropped.
    """
    out: list[Note] = []
    fixed = 0
    last: dict[int, int] = {}  # pitch -> index in out of the latest note of that pitch
    for n in sorted(notes, key=lambda n: (n.start, -n.end, n.pitch)):
        i = last.get(n.pitch)
        if i is not None and out[i].end > n.start:
            fixed += 1
            if out[i].start == n.start:
                continue  # the longer one, sorted first, stays
            out[i] = replace(out[i], end=n.start)
        last[n.pitch] = len(out)
        out.append(n)
    return sorted(out), fixed


def transpose(notes: list[Note], semitones: int) -> list[Note]:
    return [replace(n, pitch=n.pitch + semitones) for n in notes]


def fitting_shifts(notes: list[Note], shifts, low: int, high: int) -> list[int]:
    """The shifts (semitones) that keep every note inside low..high; [0] when none does or no notes."""
    if not notes:
        return [0]
    lowest, highest = min(n.pitch for n in notes), max(n.pitch for n in notes)
    return [s for s in shifts if low <= lowest + s and highest + s <= high] or [0]


# -- keys (for models trained in one key, as Magenta's transpose_to_key) ---------------------------
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
KEY_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
MAJOR_SHARPS = {0: 0, 7: 1, 2: 2, 9: 3, 4: 4, 11: 5, 6: 6, 5: -1, 10: -2, 3: -3, 8: -4, 1: -5}  # tonic -> key signature


def major_key(notes: list[Note], bass_breaks_ties: bool = False) -> int:
    """Tonic pitch class of the major scale holding the most note-time (as Magenta's
    get_major_key, weighted by duration); ties go to the lowest tonic, as there. With
    bass_breaks_ties (for short primers, where ties are common: G-B-D fits C, G and D major)
    they go first to the key whose tonic is the lowest note."""
    weight = np.zeros(12)
    for n in notes:
        weight[n.pitch % 12] += n.end - n.start
    bass = min(n.pitch for n in notes) % 12 if notes and bass_breaks_ties else -1
    fit = [(round(sum(weight[(t + d) % 12] for d in MAJOR_SCALE), 9), t == bass, -t) for t in range(12)]
    return max(range(12), key=lambda t: fit[t])


def key_shift(notes: list[Note], key: int | None, low: int = 0, high: int = 127, primer: bool = False) -> int:
    """Semitones that move these notes to `key` (major, or its relative minor), by the octave
    that keeps the most within low..high (the smallest such move); 0 without a key or notes.
    A primer's key ties are broken by its lowest note (see major_key)."""
    if key is None or not notes:
        return 0
    d = (key - major_key(notes, bass_breaks_ties=primer)) % 12
    moves = sorted((d + 12 * k for k in range(-11, 11)), key=abs)
    return max(moves, key=lambda m: sum(low <= n.pitch + m <= high for n in notes))
