"""Scores and four-track MIDI out (guigen/music/export.py, notation.py's writer), read back by
music21 and pretty_midi, libraries others wrote: the notes must be exactly those written."""

import random
import shlex
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from guigen.music.events import Note, NoteSequence, Voice, remove_overlaps
from guigen.music.export import parse_programs, write_piece
from guigen.music.midi import read_midi

music21 = pytest.importorskip("music21")
pretty_midi = pytest.importorskip("pretty_midi")

CHORALE = Path(__file__).resolve().parents[1] / "data/midi/jsb_chorales/test/chorale_test_000.mid"


def read_score(path):
    """{part name: sorted (start, end, pitch) in 16th-note steps}, ties joined, every layer read; a
    pickup measure (measure 0, short by its paddingLeft) puts step 0 on the bar line before it."""
    score = music21.converter.parse(str(path), forceSource=True)
    out = {}
    for part in score.parts:
        layered = any(m.hasVoices() for m in part.getElementsByClass("Measure"))
        pad = Fraction(part.getElementsByClass("Measure")[0].paddingLeft)
        notes = []
        for layer in (part.voicesToParts().parts if layered else [part]):
            for n in layer.stripTies().flatten().notes:
                start, length = (Fraction(n.offset) + pad) * 4, Fraction(n.quarterLength) * 4
                assert start.denominator == 1 and length.denominator == 1
                notes += [(int(start), int(start + length), p.midi) for p in n.pitches]
        out[part.partName] = sorted(notes)
    return score, out


def merged_chorale():
    seq = read_midi(CHORALE)
    return NoteSequence(sorted({n.key: n for n in seq.notes}.values()), seq.tempos, seq.time_signature,
                        [Voice("chorale")], name="chorale")


def test_four_voice_chorale_is_four_parts_with_every_note(tmp_path):
    seq = merged_chorale()
    assert write_piece(seq, tmp_path / "c.musicxml", polyphony=True).startswith("four parts")
    score, parts = read_score(tmp_path / "c.musicxml")
    assert list(parts) == ["Soprano", "Alto", "Tenor", "Bass"]
    assert sorted(n for p in parts.values() for n in p) == sorted(n.key for n in seq.notes)
    # each part is one line, highest on top at the first chord
    firsts = [p[0][2] for p in parts.values()]
    assert firsts == sorted(firsts, reverse=True)
    clefs = [p.getElementsByClass("Measure")[0].clef.name for p in score.parts]
    assert clefs == ["treble", "treble", "treble8vb", "bass"]


def test_other_textures_are_one_part_with_chords(tmp_path):
    rng = random.Random(3)
    notes = [Note(s, s + rng.randrange(1, 23), rng.randrange(40, 90)) for s in (rng.randrange(0, 100) for _ in range(60))]
    notes += [Note(100, 106, p) for p in (48, 55, 60, 64, 67)]  # one five-note chord: not four voices
    notes, _ = remove_overlaps(notes)
    seq = NoteSequence(notes, [(0, 90.0)], (6, 8), [Voice("Piano")], name="texture")
    for suffix in (".musicxml", ".mxl"):  # .mxl: the compressed archive MuseScore also reads
        assert write_piece(seq, tmp_path / f"t{suffix}", polyphony=True) == "one part with chords"
        score, parts = read_score(tmp_path / f"t{suffix}")
        assert list(parts.values()) == [sorted(n.key for n in notes)]
        assert score.recurse().getElementsByClass("TimeSignature")[0].ratioString == "6/8"
        assert any(isinstance(c, music21.chord.Chord) for c in score.recurse().notes)


def test_melody_is_one_staff_with_key_and_time_signature(tmp_path):
    g_major = [67, 69, 71, 72, 74, 76, 78, 79, 78, 74, 71, 67]
    notes, t = [], 2
    for i, p in enumerate(g_major):  # a pickup, dotted and tied values, across barlines
        length = (3, 1, 2, 6, 4, 5)[i % 6]
        notes.append(Note(t, t + length, p))
        t += length
    seq = NoteSequence(notes, [(0, 100.0)], (3, 4), [Voice("Tune", 73)], name="tune")
    assert write_piece(seq, tmp_path / "m.musicxml", polyphony=False) == "one staff"
    score, parts = read_score(tmp_path / "m.musicxml")
    assert list(parts.values()) == [[n.key for n in notes]]
    first = score.parts[0].getElementsByClass("Measure")[0]
    assert first.number == 0 and first.paddingLeft == 0.5  # the pickup: a short measure 0
    assert score.recurse().getElementsByClass("KeySignature")[0].sharps == 1
    assert score.recurse().getElementsByClass("TimeSignature")[0].ratioString == "3/4"
    assert score.recurse().getElementsByClass("MetronomeMark")[0].number == 100
    assert {n.pitch.name for n in score.recurse().notes if n.pitch.midi == 78} == {"F#"}  # spelled in the key


def test_four_tracks_named_with_a_program_each(tmp_path):
    seq = merged_chorale()
    assert write_piece(seq, tmp_path / "c.mid", True, parse_programs("0,0,42,42")).startswith("four tracks")
    pm = pretty_midi.PrettyMIDI(str(tmp_path / "c.mid"))
    assert [(i.name, i.program) for i in pm.instruments] == [("Soprano", 0), ("Alto", 0), ("Tenor", 42), ("Bass", 42)]
    assert sum(len(i.notes) for i in pm.instruments) == len(seq.notes)
    soprano = [round(n.start * 2 * 4) for n in pm.instruments[0].notes]  # 100 qpm: a step is 0.15 s
    assert len(soprano) == len(set(soprano))  # one line: never two notes at once
    write_piece(seq, tmp_path / "one.mid", True, [52])
    assert {i.program for i in pretty_midi.PrettyMIDI(str(tmp_path / "one.mid")).instruments} == {52}
    five = NoteSequence([Note(0, 4, p) for p in (48, 55, 60, 64, 67)])
    assert write_piece(five, tmp_path / "five.mid", True, [0, 0, 42, 42]) == "one track"
    assert [i.program for i in pretty_midi.PrettyMIDI(str(tmp_path / "five.mid")).instruments] == [0]


@pytest.mark.parametrize("spec", ["128", "0,0,42", "a", "-1"])
def test_bad_programs_are_refused(spec):
    with pytest.raises(ValueError, match="General MIDI program"):
        parse_programs(spec)


def guigen(*args):
    return subprocess.run([sys.executable, "-m", "guigen", *map(str, args)], capture_output=True, text=True, timeout=300)


def test_generate_writes_the_score_of_what_it_generated(tmp_path):
    common = ["generate", "-m", "bach-chorales", "--steps", 48, "--seed", 5]
    for out in ("g.mid", "g.musicxml"):
        r = guigen(*common, "-o", tmp_path / out, "--program", "0,0,42,42")
        assert r.returncode == 0, r.stderr
    generated = read_midi(tmp_path / "g.mid")  # the same seed: the same chorale
    names = [v.name for v in generated.voices]
    _, parts = read_score(tmp_path / "g.musicxml")
    assert names == ["Soprano", "Alto", "Tenor", "Bass"]  # this seed's chorale never sounds five notes
    assert list(parts) == names
    for v, name in enumerate(names):
        assert parts[name] == sorted(n.key for n in generated.notes if n.voice == v)
    assert sorted(n for p in parts.values() for n in p) == sorted(n.key for n in generated.notes)


def test_without_music21_a_score_is_one_line_saying_what_to_install(tmp_path):
    code = ("import sys; sys.modules['music21'] = None; from guigen.cli import main; "
            f"sys.exit(main(['generate', '-m', 'bach-chorales', '--steps', '8', '-o', {str(tmp_path / 'x.musicxml')!r}]))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    # the command that installs it for this Python, wherever GuiGen was installed (not 'guigen[notation]',
    # which outside a clone means some other project on PyPI)
    assert r.stderr.strip().splitlines() == ["guigen generate: error: writing MusicXML needs music21: "
                                             f"{shlex.quote(sys.executable)} -m pip install music21"]
    assert not (tmp_path / "x.musicxml").exists()
