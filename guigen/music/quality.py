"""Four-part writing by numbers: what a teacher of chorale harmony would count.

- four_voice_share: share of 16th-note steps (from the first to the last) with four notes sounding;
- parallels: parallel fifths and octaves (unisons included) between two voices (see parallel):
  at an onset both voices strike a new pitch, each straight from the note it sounded just
  before (a rest between breaks the line, as in music21's figured-bass checker, which compares
  consecutive sonorities), in the same direction, a perfect fifth (or octave/unison, compound
  intervals included) apart before and after. Counted per voice pair over the moves where both
  voices move ("voice-pair moves"), the denominator of the rate. harmonize's rule against
  parallels rules out what this counts (guigen.music.harmonize.voice_parallels);
- crossings: share of steps (with at least two voices sounding) where a lower voice sounds above a
  higher one;
- ranges: each voice's lowest and highest pitch;
- key_share: share of note-time whose pitch class lies in the best-fitting major scale (or its
  relative minor);
- chord_share: share of four-voice steps whose pitch classes form a triad or seventh chord
  (guigen.music.chords: at least three classes, a subset of one of the chord shapes);
- spacing: share of steps with soprano, alto and tenor sounding where soprano-alto or alto-tenor
  is wider than an octave;
- final_chord: the pitches sounding when the melody's last note starts (an ending is judged on it).
Voices are given as four lists of notes, soprano first (see guigen.music.voices).
"""

from __future__ import annotations

import numpy as np

from guigen.music.chords import is_chord, mask
from guigen.music.events import MAJOR_SCALE, Note

FIFTH, OCTAVE, UNISON = 7, 12, 0  # intervals reduced by octaves, an octave kept an octave (as music21's semiSimple)


def _reduced(a: int, b: int) -> int:
    """The interval between two pitches without its octaves: 0 (unison), 1..12 (12: octave, double octave...)."""
    d = abs(a - b)
    return 0 if d == 0 else (d - 1) % 12 + 1


def four_voice_share(notes: list[Note]) -> float:
    if not notes:
        return 0.0
    first, last = min(n.start for n in notes), max(n.end for n in notes)
    count = np.zeros(last - first, dtype=np.int64)
    for n in notes:
        count[n.start - first:n.end - first] += 1
    return float(np.mean(count == 4))


def _pitch_at(voice: list[Note], times) -> list[int | None]:
    """The pitch the voice sounds at each time, times ascending (None: resting)."""
    out, i = [], 0
    for t in times:
        while i < len(voice) and voice[i].end <= t:
            i += 1
        out.append(voice[i].pitch if i < len(voice) and voice[i].start <= t else None)
    return out


def moves(a1, a2, b1, b2) -> bool:
    """Two voices going a1 -> a2 and b1 -> b2 (None: resting) both move: each sounds before and
    after and changes pitch (a held or repeated note does not move)."""
    return None not in (a1, a2, b1, b2) and a1 != a2 and b1 != b2


def parallel(a1, a2, b1, b2) -> str | None:
    """'fifths' or 'octaves' (unisons included; unison to octave is not parallel) when two voices
    going a1 -> a2 and b1 -> b2 (the pitches each sounds just before and at an onset; None:
    resting) move in parallel: both move, the same way, the same perfect interval apart."""
    if not moves(a1, a2, b1, b2) or np.sign(a2 - a1) != np.sign(b2 - b1):
        return None
    before = _reduced(a1, b1)
    if before != _reduced(a2, b2):
        return None
    return "fifths" if before == FIFTH else "octaves" if before in (OCTAVE, UNISON) else None


def parallels(parts: list[list[Note]]) -> tuple[int, int, int]:
    """(parallel fifths, parallel octaves or unisons, voice-pair moves) over every pair of voices."""
    fifths = octaves = count = 0
    parts = [sorted(p) for p in parts]
    for a in range(len(parts)):
        for b in range(a + 1, len(parts)):
            times = sorted({n.start for n in parts[a]} | {n.start for n in parts[b]} - {0})
            before = [t - 1 for t in times]  # the note each voice sounds just before the onset
            pa, pb = _pitch_at(parts[a], times), _pitch_at(parts[b], times)
            qa, qb = _pitch_at(parts[a], before), _pitch_at(parts[b], before)
            for a1, a2, b1, b2 in zip(qa, pa, qb, pb):
                count += moves(a1, a2, b1, b2)
                kind = parallel(a1, a2, b1, b2)
                fifths += kind == "fifths"
                octaves += kind == "octaves"
    return fifths, octaves, count


def crossings(parts: list[list[Note]]) -> float:
    """Share of steps (with two or more voices sounding) where a lower voice is above a higher one."""
    last = max((n.end for p in parts for n in p), default=0)
    pitch = np.full((len(parts), last), -1)
    for v, p in enumerate(parts):
        for n in p:
            pitch[v, n.start:n.end] = n.pitch
    crossed = np.zeros(last, dtype=bool)
    for a in range(len(parts)):
        for b in range(a + 1, len(parts)):
            crossed |= (pitch[a] >= 0) & (pitch[b] >= 0) & (pitch[b] > pitch[a])
    several = (pitch >= 0).sum(axis=0) >= 2
    return float(crossed[several].mean()) if several.any() else 0.0


def ranges(parts: list[list[Note]]) -> list[tuple[int, int] | None]:
    return [(min(n.pitch for n in p), max(n.pitch for n in p)) if p else None for p in parts]


def key_share(notes: list[Note]) -> float:
    weight = np.zeros(12)
    for n in notes:
        weight[n.pitch % 12] += n.end - n.start
    if not weight.sum():
        return 0.0
    return float(max(sum(weight[(t + d) % 12] for d in MAJOR_SCALE) for t in range(12)) / weight.sum())


def _sounding(notes: list[Note]) -> list[list[int]]:
    """The pitches sounding in each step, from step 0 to the last note's end."""
    last = max((n.end for n in notes), default=0)
    steps: list[list[int]] = [[] for _ in range(last)]
    for n in notes:
        for s in range(n.start, n.end):
            steps[s].append(n.pitch)
    return steps


def chord_share(notes: list[Note]) -> tuple[int, int]:
    """(four-voice steps whose pitch classes form a triad or seventh chord, four-voice steps)."""
    four = [p for p in _sounding(notes) if len(p) == 4]
    return sum(is_chord(mask(p)) for p in four), len(four)


def spacing(parts: list[list[Note]]) -> tuple[int, int]:
    """(steps where soprano-alto or alto-tenor is wider than an octave, steps where S, A and T sound)."""
    last = max((n.end for p in parts for n in p), default=0)
    pitch = np.full((3, last), -1)
    for v, p in enumerate(parts[:3]):
        for n in p:
            pitch[v, n.start:n.end] = n.pitch
    three = (pitch >= 0).all(axis=0)
    wide = ((pitch[0] - pitch[1]) > 12) | ((pitch[1] - pitch[2]) > 12)
    return int((wide & three).sum()), int(three.sum())


def final_chord(notes: list[Note], melody: list[Note]) -> list[int]:
    """The pitches sounding at the start of the melody's last note."""
    t = max(n.start for n in melody)
    return sorted(n.pitch for n in notes if n.start <= t < n.end)


def measure(notes: list[Note], parts: list[list[Note]] | None) -> dict:
    """All measures of one piece; the voice-leading ones need its four voices (parts)."""
    out = {"four_voices": four_voice_share(notes), "key_share": key_share(notes)}
    out["chords"], out["four_steps"] = chord_share(notes)
    if parts is not None:
        out["wide"], out["three_steps"] = spacing(parts)
        out["fifths"], out["octaves"], out["moves"] = parallels(parts)
        out["crossings"] = crossings(parts)
        out["ranges"] = ranges(parts)
        out["pitches"] = [[n.pitch for n in p] for p in parts]
    return out
