"""Chords and keys by pitch class: four-part writing's chord vocabulary, a melody's key, and the
triads an ending lands on.

A set of pitch classes is a 12-bit mask (bit 0 = C). It is "in the vocabulary" when it is a
subset of a major, minor, diminished or augmented triad, or of a dominant, minor, major,
half-diminished or diminished seventh chord, on any root; a chord needs at least three classes.

A melody's key is found with the Krumhansl-Kessler key profiles (Krumhansl 1990): the profile
of each of the 24 major and minor keys is correlated with the melody's pitch classes weighted
by duration, and the best correlation wins (the Krumhansl-Schmuckler algorithm).
"""

from __future__ import annotations

import numpy as np

TRIADS = ((0, 4, 7), (0, 3, 7), (0, 3, 6), (0, 4, 8))
SEVENTHS = ((0, 4, 7, 10), (0, 3, 7, 10), (0, 4, 7, 11), (0, 3, 6, 10), (0, 3, 6, 9))
MIN_CLASSES = 3  # fewer pitch classes are an interval, not a chord

KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
MODES = ("major", "minor")
KEY_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def mask(pitch_classes) -> int:
    out = 0
    for pc in pitch_classes:
        out |= 1 << (int(pc) % 12)
    return out


def _chord_masks() -> list[int]:
    return sorted({mask((root + i) % 12 for i in shape) for shape in TRIADS + SEVENTHS for root in range(12)})


CHORD_MASKS = _chord_masks()
# IN_VOCABULARY[m]: the classes of mask m are a subset of some chord (so a chord can still be completed)
IN_VOCABULARY = np.zeros(4096, dtype=bool)
for _m in range(4096):
    IN_VOCABULARY[_m] = any(_m & ~c == 0 for c in CHORD_MASKS)
CLASSES = np.array([bin(m).count("1") for m in range(4096)])


def rotate(m: int, shift: int) -> int:
    """A mask moved up by `shift` semitones (a transposition of its pitch classes)."""
    shift %= 12
    return ((m << shift) | (m >> (12 - shift))) & 0xFFF


def is_chord(m: int) -> bool:
    """A triad or seventh chord (or a subset of one with at least three classes)."""
    return bool(IN_VOCABULARY[m] and CLASSES[m] >= MIN_CLASSES)


def melody_key(notes, ending: str = "tonic") -> tuple[int, str]:
    """(tonic pitch class, 'major' or 'minor') of a melody, by the Krumhansl-Kessler profiles,
    among the keys whose ending triad ('tonic' or 'half': the dominant) holds the melody's last
    note (tunes end on their tonic chord, or on the dominant for a half cadence); all 24 keys
    when ending is 'none' or no key qualifies."""
    weight = np.zeros(12)
    for n in notes:
        weight[n.pitch % 12] += n.end - n.start
    if not weight.any():
        return 0, "major"
    last = max(notes, key=lambda n: n.start).pitch % 12
    best, key = -2.0, (0, "major")
    keys = [(tonic, mode) for mode in MODES for tonic in range(12)]
    if ending in ("tonic", "half"):
        keys = [k for k in keys if any(t >> last & 1 for t in ending_triads(k, ending)[1])] or keys
    for mode, profile in zip(MODES, (KK_MAJOR, KK_MINOR)):
        for tonic in range(12):
            if (tonic, mode) not in keys:
                continue
            r = np.corrcoef(weight, np.roll(profile, tonic))[0, 1]
            if r > best:
                best, key = r, (tonic, mode)
    return key


def key_name(key: tuple[int, str]) -> str:
    return f"{KEY_NAMES[key[0]]} {key[1]}"


def ending_triads(key: tuple[int, str], ending: str) -> tuple[int, list[int]]:
    """(the bass's pitch class, the masks the chord's classes must lie within) for an ending:
    'tonic' is the tonic triad in root position (in minor, the major third of a Picardy third
    too), 'half' the dominant triad (major in both modes) in root position."""
    tonic, mode = key
    if ending == "tonic":
        thirds = (3, 4) if mode == "minor" else (4,)
        return tonic, [mask((tonic + i) % 12 for i in (0, third, 7)) for third in thirds]
    if ending == "half":
        root = (tonic + 7) % 12
        return root, [mask((root + i) % 12 for i in (0, 4, 7))]
    raise ValueError(f"unknown ending {ending!r}: tonic, half or none")


def is_ending(pitches, key: tuple[int, str], ending: str = "tonic") -> bool:
    """Whether the sounding pitches are the ending's triad with its root in the bass."""
    if not pitches:
        return False
    bass, triads = ending_triads(key, ending)
    m = mask(pitches)
    return min(pitches) % 12 == bass and any(m & ~t == 0 for t in triads)
