"""Melody and polyphony encodings: round trips (hypothesis), Magenta's event layout, labels, metadata."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guigen.core.codec import codec_from_meta
from guigen.music import melody, polyphony
from guigen.music.encodings import encoding_from_meta, make_encoding, names
from guigen.music.events import Note, pitch_name, remove_overlaps
from guigen.music.melody import MelodyEncoding
from guigen.music.polyphony import PolyphonyEncoding


@st.composite
def melodies(draw, low=48, high=83):
    """Non-overlapping notes on the grid: (rest, length, pitch) triples laid end to end."""
    parts = draw(st.lists(st.tuples(st.integers(0, 6), st.integers(1, 8), st.integers(low, high)), max_size=30))
    notes, t = [], 0
    for rest, length, pitch in parts:
        t += rest
        notes.append(Note(t, t + length, pitch))
        t += length
    return notes


@st.composite
def polyphonic(draw):
    """Any notes on the grid, then same-pitch overlaps removed (one key sounds once at a time)."""
    raw = draw(st.lists(st.tuples(st.integers(0, 40), st.integers(1, 12), st.integers(0, 127)), max_size=40))
    notes, _ = remove_overlaps([Note(s, s + d, p) for s, d, p in raw])
    return notes


def keys(notes):
    return sorted(n.key for n in notes)


@settings(max_examples=300, deadline=None)
@given(melodies())
def test_melody_round_trip(notes):
    enc = MelodyEncoding()
    ids = enc.encode(notes)
    assert ids.dtype == np.int64 and (ids >= 0).all() and (ids < enc.num_classes).all()
    assert keys(enc.decode(ids)) == keys(notes)


@settings(max_examples=100, deadline=None)
@given(melodies(low=0, high=127), st.integers(0, 127), st.integers(0, 127))
def test_melody_round_trip_any_range(notes, a, b):
    enc = MelodyEncoding(min(a, b), max(a, b))
    notes = [n for n in notes if enc.min_pitch <= n.pitch <= enc.max_pitch]
    assert keys(enc.decode(enc.encode(notes))) == keys(notes)


@settings(max_examples=300, deadline=None)
@given(polyphonic())
def test_polyphony_round_trip(notes):
    enc = PolyphonyEncoding()
    ids = enc.encode(notes)
    assert ids[0] == polyphony.START and ids[-1] == polyphony.END
    assert enc.count_steps(ids) == max((n.end for n in notes), default=0)
    assert keys(enc.decode(ids)) == keys(notes)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, polyphony.NUM_CLASSES - 1), max_size=200))
def test_polyphony_decodes_any_events(ids):
    """Sampled events can be anything: decoding never fails and gives notes with length."""
    notes = PolyphonyEncoding().decode(ids)
    assert all(n.end > n.start >= 0 and 0 <= n.pitch <= 127 for n in notes)
    # and what it decodes to encodes and decodes to itself
    enc = PolyphonyEncoding()
    assert keys(enc.decode(enc.encode(notes))) == keys(notes)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 37), max_size=200))
def test_melody_decodes_any_events(ids):
    notes = MelodyEncoding().decode(ids)
    assert all(n.end > n.start for n in notes)
    assert all(a.end <= b.start for a, b in zip(notes, notes[1:]))


def test_melody_events_as_magenta():
    # C4 for a quarter, a 16th rest, then E4 and G4 back to back, G4 held for an eighth
    enc = MelodyEncoding(48, 83)
    notes = [Note(0, 4, 60), Note(5, 7, 64), Note(7, 9, 67)]
    c4, e4, g4 = (2 + p - 48 for p in (60, 64, 67))
    assert enc.encode(notes).tolist() == [c4, 0, 0, 0, melody.NOTE_OFF, e4, 0, g4, 0, melody.NOTE_OFF]
    assert enc.num_classes == 38  # basic_rnn's 48-83: 36 pitches + NO_EVENT + NOTE_OFF
    # repeated pitch: the second NOTE_ON re-strikes it
    assert keys(enc.decode(enc.encode([Note(0, 2, 60), Note(2, 4, 60)]))) == [(0, 2, 60), (2, 4, 60)]


def test_polyphony_events_as_magenta():
    enc = PolyphonyEncoding()
    notes = [Note(0, 2, 60), Note(0, 1, 64), Note(1, 2, 67)]
    new, cont = polyphony.NEW_NOTE, polyphony.CONTINUED_NOTE
    assert enc.encode(notes).tolist() == [
        polyphony.START,
        new + 64, new + 60, polyphony.STEP_END,  # highest first
        new + 67, cont + 60, polyphony.STEP_END,
        polyphony.END,
    ]
    assert enc.num_classes == 259


def test_encoders_reject_what_they_cannot_hold():
    with pytest.raises(ValueError, match="overlap"):
        MelodyEncoding().encode([Note(0, 4, 60), Note(2, 6, 64)])
    with pytest.raises(ValueError, match="outside the melody range"):
        MelodyEncoding().encode([Note(0, 4, 30)])
    with pytest.raises(ValueError, match="overlap"):
        PolyphonyEncoding().encode([Note(0, 4, 60), Note(2, 6, 60)])


def test_labels_speak_music():
    m = MelodyEncoding()
    assert [m.token_label(i) for i in range(3)] == ["rest/hold", "note off", "C3"]
    assert m.token_label(m.note_on(66)) == "F#4"
    p = PolyphonyEncoding()
    assert [p.token_label(i) for i in range(3)] == ["start", "end", "next step"]
    assert p.token_label(polyphony.NEW_NOTE + 60) == "C4"
    assert p.token_label(polyphony.CONTINUED_NOTE + 78) == "F#5 held"
    assert pitch_name(21) == "A0" and pitch_name(127) == "G9"
    for enc in (m, p):  # every class has a distinct label
        labels = [enc.token_label(i) for i in range(enc.num_classes)]
        assert len(set(labels)) == enc.num_classes


def test_meta_round_trip_through_the_core():
    for enc in (MelodyEncoding(36, 81), PolyphonyEncoding()):
        meta = enc.to_meta()
        assert meta["kind"] == "music" and meta["encoding"] == enc.name
        back = codec_from_meta(meta)
        assert type(back) is type(enc) and back.to_meta() == meta and back.num_classes == enc.num_classes
    assert names() == ["melody", "polyphony"]
    with pytest.raises(ValueError, match="unknown music encoding"):
        encoding_from_meta({"kind": "music", "encoding": "drums"})
    with pytest.raises(ValueError, match="pitch range"):
        make_encoding("melody", 80, 40)


def test_melody_fit_keeps_the_top_line_and_moves_octaves():
    enc = MelodyEncoding(48, 83)
    chordal = [Note(0, 4, 60), Note(0, 4, 64), Note(2, 6, 62)]
    line, dropped = enc.fit(chordal)
    assert keys(line) == [(0, 2, 64), (2, 6, 62)]
    assert sum(dropped.values()) == 1
    bass, dropped = enc.fit([Note(0, 4, 36), Note(4, 8, 43)])
    assert keys(bass) == [(0, 4, 48), (4, 8, 55)] and "melodies moved by octaves into range" in dropped
    wide, dropped = enc.fit([Note(0, 4, 20), Note(4, 8, 60), Note(8, 12, 90)])  # spans more than the range
    assert keys(wide) == [(4, 8, 48), (8, 12, 78)] and dropped["notes out of the melody range dropped"] == 1
    assert MelodyEncoding(60, 60).fit([Note(0, 4, 61)])[0] is None  # nothing left


def test_primers_leave_the_last_step_open():
    m = MelodyEncoding()
    assert m.primer([Note(0, 4, 60)]).tolist() == [m.note_on(60), 0, 0, 0]
    p = PolyphonyEncoding()
    ids = p.primer([Note(0, 1, 60)])
    assert ids.tolist() == [polyphony.START, polyphony.NEW_NOTE + 60, polyphony.STEP_END]
    # the model may continue the note in the next step
    more = np.append(ids, [polyphony.CONTINUED_NOTE + 60, polyphony.STEP_END, polyphony.END])
    assert keys(p.decode(more)) == [(0, 2, 60)]
    assert p.primer([]).tolist() == [polyphony.START]
