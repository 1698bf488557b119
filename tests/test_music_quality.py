"""Voice-leading counts (guigen/music/quality.py), checked against music21's voiceLeading module."""

import random

import pytest

from guigen.music.events import Note
from guigen.music.quality import crossings, four_voice_share, key_share, parallels, ranges


def line(pitches, length=4, start=0):
    return [Note(start + i * length, start + (i + 1) * length, p) for i, p in enumerate(pitches)]


def test_parallels_by_hand():
    soprano = line([67, 69, 71, 72, 74, 72])  # G4 A4 B4 C5 D5 C5
    bass = line([60, 62, 59, 60, 67, 65])  # C4 D4 B3 C4 G4 F4
    # G/C -> A/D fifths (parallel); A/D -> B/B contrary; B/B -> C/C octaves (parallel);
    # C/C -> D/G octave to fifth; D/G -> C/F fifths (parallel, both falling)
    assert parallels([soprano, bass]) == (2, 1, 5)
    tenor = line([55, 57, 59, 59, 55, 53])  # G3 A3 B3 B3 G3 F3
    # G/G -> A/A and A/A -> B/B octaves; the tenor repeats B (not moving); C/B -> D/G contrary;
    # D5/G3 -> C5/F3 a twelfth to a twelfth: a compound fifth
    assert parallels([soprano, tenor]) == (1, 2, 4)


def test_parallels_agree_with_music21_voice_leading():
    """Random homophonic pairs of lines on white keys (music21 spells MIDI pitches, and an E-flat
    against a G-sharp is a diminished sixth to it, a fifth to our semitone count): every
    consecutive pair of chords judged by music21's VoiceLeadingQuartet and by our counter.
    music21 also counts octaves and fifths reached by contrary motion (antiparallel); ours, as
    the rule is taught for chorales here, only the same direction."""
    music21 = pytest.importorskip("music21")
    from music21 import voiceLeading

    white = [p for p in range(36, 84) if p % 12 in (0, 2, 4, 5, 7, 9, 11)]
    rng = random.Random(7)
    totals = [0, 0]
    for _ in range(100):
        top = [rng.choice(white[14:]) for _ in range(12)]
        low = [t - rng.choice([0, 3, 4, 5, 7, 7, 8, 9, 12, 12, 19, 24]) for t in top]
        low = [p if p in white else p - 1 for p in low]
        want_f = want_o = 0
        for k in range(1, len(top)):
            q = voiceLeading.VoiceLeadingQuartet(*(music21.note.Note(midi=p) for p in
                                                   (top[k - 1], top[k], low[k - 1], low[k])))
            same_way = not q.antiParallelMotion()
            want_f += q.parallelFifth() and same_way
            want_o += q.parallelUnisonOrOctave() and same_way
        fifths, octaves, _ = parallels([line(top), line(low)])
        assert (fifths, octaves) == (want_f, want_o)
        totals[0] += fifths
        totals[1] += octaves
    assert min(totals) >= 20  # the example holds enough of both to mean something


def test_rests_and_rhythm_are_followed():
    # the lower voice moves at half speed: only onsets where both are sounding and both move count
    top = line([67, 69, 71, 72], length=2)
    low = line([60, 62], length=4)  # C->D while G->B... at step 4 the top is at B (71): 71/62 not a fifth
    assert parallels([top, low]) == (0, 0, 1)
    low = [Note(0, 2, 60), Note(4, 8, 62)]  # a rest at step 2: the move from C to D spans it
    assert parallels([top, low])[2] == 0


def test_crossings_four_voices_ranges_key():
    s, a = line([72, 71]), line([64, 74])  # the alto goes above the soprano in the second chord
    t, b = line([55, 55]), line([48, 43])
    assert crossings([s, a, t, b]) == 0.5
    assert four_voice_share(s + a + t + b) == 1.0
    assert four_voice_share(s + a + t + [Note(0, 4, 48)]) == 0.5
    assert ranges([s, a, t, b, []]) == [(71, 72), (64, 74), (55, 55), (43, 48), None]
    assert key_share(line([60, 61, 62, 63])) == 0.75  # no major scale holds three semitones in a row


def test_a_rest_breaks_the_line():
    """A rest between two notes of a voice: no move from the one to the other (as music21's
    figured-bass checker compares consecutive sonorities), even where neither voice strikes in it."""
    top = [Note(0, 4, 67), Note(4, 8, 69)]
    assert parallels([top, [Note(0, 4, 60), Note(4, 8, 62)]]) == (1, 0, 1)  # fifths, straight on
    assert parallels([top, [Note(0, 2, 60), Note(4, 8, 62)]]) == (0, 0, 0)  # the bass rests before D
    assert parallels([[Note(0, 3, 67), Note(4, 8, 69)], [Note(0, 4, 60), Note(4, 8, 62)]]) == (0, 0, 0)
