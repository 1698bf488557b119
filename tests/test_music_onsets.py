"""Bar lines where the tune put them (issue 24): a melody that starts on any beat of 2/4, 3/4, 4/4
or 6/8, or after a rest, keeps every onset through harmonize, in MIDI (read back by pretty_midi)
and in MusicXML (read back by music21: a pickup is a short first measure, numbered 0); ABC
pickups are read where they fall; the MusicXML writer writes every time signature, key and tempo."""

import music21
import pretty_midi
import pytest

from guigen.cli import main
from guigen.core import registry
from guigen.music.events import Note, NoteSequence
from guigen.music.harmonize import harmonize
from guigen.music.midi import read_midi, write_midi
from guigen.music.notation import musicxml_bytes, read_notation

QPM = 96.0
# (time signature, first onset in 16th-note steps): every beat of the bar's first bar (a pickup),
# and after a rest (a whole bar and a beat, or half a beat)
CASES = ([((2, 4), s) for s in (0, 4)] + [((3, 4), s) for s in (0, 4, 8)] + [((4, 4), s) for s in (0, 4, 8, 12)]
         + [((6, 8), s) for s in (0, 2, 4, 6, 8, 10)] + [((4, 4), 20), ((3, 4), 14)])
SHAPE = [(4, 67), (2, 69), (2, 71), (4, 72), (4, 71), (2, 69), (2, 67), (8, 69), (4, 67), (12, 67)]


@pytest.fixture(scope="module")
def model():
    return registry.load("bach-chorales")


def melody_from(first: int) -> list[Note]:
    notes, t = [], first
    for length, pitch in SHAPE:
        notes.append(Note(t, t + length, pitch))
        t += length
    return notes


def soprano_onsets_midi(path) -> list[float]:
    pm = pretty_midi.PrettyMIDI(str(path))
    soprano = max(pm.instruments, key=lambda i: sum(n.pitch for n in i.notes) / max(len(i.notes), 1))
    return sorted(round(n.start, 6) for n in soprano.notes)


def soprano_places_xml(data: bytes):
    """(measure number, offset in quarters from the first bar line) of each soprano note."""
    score = music21.converter.parse(data, format="musicxml")
    part = score.parts[0]
    first = part.getElementsByClass(music21.stream.Measure)[0]
    pad = first.paddingLeft  # a pickup measure is short by this much
    tied = part.stripTies()
    return first, [(n.measureNumber, float(n.getOffsetInHierarchy(tied) + pad)) for n in tied.flatten().notes]


@pytest.mark.parametrize("meter,first", CASES)
def test_harmonize_keeps_every_onset(model, meter, first, tmp_path):
    melody = melody_from(first)
    bar = meter[0] * 16 // meter[1]
    h = harmonize(model, melody, seed=1)
    assert sorted(n.key for n in h.melody) == sorted(n.key for n in melody)
    assert {n.key for n in melody} <= {n.key for n in h.notes}
    assert min(n.start for n in h.notes) == first  # the lower voices begin with the melody, never before
    seq = NoteSequence(h.notes, [(0, QPM)], meter, name="onsets")
    from guigen.music.export import write_piece

    write_piece(seq, tmp_path / "out.mid", True, melody=h.melody)
    seconds = [round(n.start * 60 / (QPM * 4), 6) for n in melody]
    assert soprano_onsets_midi(tmp_path / "out.mid") == seconds
    write_piece(seq, tmp_path / "out.musicxml", True, melody=h.melody)
    measure0, places = soprano_places_xml((tmp_path / "out.musicxml").read_bytes())
    assert [p for _, p in places] == [n.start / 4 for n in melody]
    assert [m for m, _ in places] == [n.start // bar + (0 if 0 < first < bar else 1) for n in melody]
    if 0 < first < bar:  # a pickup: an anacrusis, the short measure 0
        assert measure0.number == 0 and measure0.paddingLeft == first / 4
        assert measure0.duration.quarterLength == (bar - first) / 4
    else:
        assert measure0.number == 1 and measure0.paddingLeft == 0


ABC = """X:1
T:Pickup Jig
M:6/8
L:1/8
Q:1/4=120
K:G
D|GAB AGE|GAB d2B|cBA BAG|A3 G2:|
"""


def test_abc_pickup_through_cli(tmp_path):
    tune = tmp_path / "jig.abc"
    tune.write_text(ABC)
    seq = read_notation(tune)
    assert seq.time_signature == (6, 8) and min(n.start for n in seq.notes) == 10  # an eighth before bar 1
    out = tmp_path / "jig.musicxml"
    assert main(["harmonize", str(tune), "-o", str(out), "--seed", "2"]) == 0
    measure0, places = soprano_places_xml(out.read_bytes())
    assert measure0.number == 0 and measure0.paddingLeft == 2.5
    assert [p for _, p in places] == [n.start / 4 for n in sorted(seq.notes)]
    mid = tmp_path / "jig.mid"
    assert main(["harmonize", str(tune), "-o", str(mid), "--seed", "2"]) == 0
    assert soprano_onsets_midi(mid) == [round(n.start * 60 / (120 * 4), 6) for n in sorted(seq.notes)]


def test_generate_primer_keeps_pickup(tmp_path):
    tune = tmp_path / "jig.abc"
    tune.write_text(ABC)
    out = tmp_path / "gen.mid"
    assert main(["generate", "-m", "bach-chorales", "--primer-file", str(tune), "-n", "16", "--seed", "1",
                 "-o", str(out)]) == 0
    seq = read_notation(tune)
    pm = pretty_midi.PrettyMIDI(str(out))
    onsets = sorted({round(n.start, 6) for i in pm.instruments for n in i.notes})
    assert onsets[0] == pytest.approx(10 * 60 / (120 * 4))
    assert {round(n.start * 60 / (120 * 4), 6) for n in seq.notes} <= set(onsets)


def test_midi_leading_rest_melody_through_cli(tmp_path):
    melody = melody_from(12)
    src = tmp_path / "tune.mid"
    write_midi(NoteSequence(melody, [(0, QPM)], (3, 4)), src)
    out = tmp_path / "tune-h.mid"
    assert main(["harmonize", str(src), "-o", str(out), "--seed", "3"]) == 0
    assert soprano_onsets_midi(out) == [round(n.start * 60 / (QPM * 4), 6) for n in melody]
    assert read_midi(out).time_signature == (3, 4)


def test_musicxml_writes_every_change():
    notes = melody_from(0) + [Note(48 + i * 4, 52 + i * 4, 60 + i) for i in range(12)]
    seq = NoteSequence(notes, [(0, 100.0), (32, 72.5)], (4, 4), time_signature_changes=[(48, 3, 4)],
                       key_changes=[(0, 2), (32, -3)])
    score = music21.converter.parse(musicxml_bytes(seq), format="musicxml")
    flat = score.parts[0].flatten()
    tempos = [(float(m.offset), m.number) for m in flat.getElementsByClass(music21.tempo.MetronomeMark)]
    assert tempos == [(0.0, 100), (8.0, 72.5)]
    meters = [(float(t.offset), t.ratioString) for t in flat.getElementsByClass(music21.meter.TimeSignature)]
    assert meters == [(0.0, "4/4"), (12.0, "3/4")]
    keys = [(float(k.offset), k.sharps) for k in flat.getElementsByClass(music21.key.KeySignature)]
    assert keys == [(0.0, 2), (8.0, -3)]
    assert [float(n.offset) * 4 for n in score.parts[0].stripTies().flatten().notes] == [n.start for n in notes]
