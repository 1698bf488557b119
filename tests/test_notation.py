"""ABC and MusicXML in (guigen.music.notation, through music21): tunes of a book read on the grid,
a broken tune reported and skipped, --tune by number and title, a primer file in `guigen generate`,
a folder of .abc in `train music` and `eval`, and the one-line message without music21."""

import os
import subprocess
import sys

import pytest

pytest.importorskip("music21")

from guigen.music.dataset import encode_files, music_data  # noqa: E402
from guigen.music.melody import MelodyEncoding  # noqa: E402
from guigen.music.midi import read_midi  # noqa: E402
from guigen.music.notation import MISSING, NotationError, pick_tune, read_notation, read_score, read_tunes  # noqa: E402

# Four tunes: a jig in D with a repeat and chord symbols, a reel in A minor with first and second endings, and a
# tune whose body is not ABC music at all (an unclosed chord and an unknown decoration), which
# must be skipped with its number and title while the others are read, and a waltz with a triplet.
BOOK = """\
%abc-2.1
X:1
T:Little Jig
M:6/8
L:1/8
Q:1/4=120
K:D
|:"D"DFA dAF|"G"GBd B2A|FAd AFD|"A"E3 "D"D3:|

X:2
T:Minor Reel
M:4/4
L:1/8
K:Am
|:A2 cA B2 dB|c2 e2 A4|1 E2 G2 E4:|2 E2 ^G2 A4|]

X:3
T:Broken Tune
M:3/4
L:1/4
K:G
[GB d !nosuchthing! [[[ ]]]

X:4
T:Waltz With Triplet
M:3/4
L:1/4
K:G
G (3ABc d2|g3|d3|G3|]
"""

SCORE = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE score-partwise PUBLIC "-//Recordare//DTD MusicXML 3.1 Partwise//EN"
  "http://www.musicxml.org/dtds/partwise.dtd">
<score-partwise version="3.1">
  <work><work-title>Two Bars</work-title></work>
  <part-list><score-part id="P1"><part-name>Whistle</part-name></score-part></part-list>
  <part id="P1">
    <measure number="1">
      <attributes><divisions>2</divisions><key><fifths>1</fifths></key>
        <time><beats>2</beats><beat-type>4</beat-type></time><clef><sign>G</sign><line>2</line></clef></attributes>
      <note><pitch><step>G</step><octave>4</octave></pitch><duration>1</duration><type>eighth</type></note>
      <note><pitch><step>A</step><octave>4</octave></pitch><duration>1</duration><type>eighth</type></note>
      <note><pitch><step>B</step><octave>4</octave></pitch><duration>2</duration><type>quarter</type>
        <tie type="start"/></note>
    </measure>
    <measure number="2">
      <note><pitch><step>B</step><octave>4</octave></pitch><duration>2</duration><type>quarter</type>
        <tie type="stop"/></note>
      <note><rest/><duration>1</duration><type>eighth</type></note>
      <note><pitch><step>F</step><alter>1</alter><octave>5</octave></pitch><duration>1</duration><type>eighth</type></note>
    </measure>
  </part>
</score-partwise>
"""


@pytest.fixture()
def book(tmp_path):
    path = tmp_path / "book.abc"
    path.write_text(BOOK)
    return path


def test_book_tunes_on_the_grid_with_repeats_written_out(book):
    tunes = read_tunes(book)
    assert [t.number for t in tunes] == [1, 2, 3, 4]
    jig, reel, broken, waltz = tunes
    # D F A d A F | G B d B2 A | F A d A F D | E3 D3, played twice: eighth notes are 2 steps in 6/8
    once = [62, 66, 69, 74, 69, 66, 67, 71, 74, 71, 69, 66, 69, 74, 69, 66, 62, 64, 62]
    assert [n.pitch for n in jig.seq.notes] == once + once
    assert [(n.start, n.end) for n in jig.seq.notes[:3]] == [(0, 2), (2, 4), (4, 6)]
    assert jig.seq.notes[9].end - jig.seq.notes[9].start == 4  # B2: a quarter
    assert jig.seq.notes[len(once)].start == 48  # the repeat starts after four bars of 6/8 (12 steps each)
    assert jig.seq.time_signature == (6, 8) and jig.seq.qpm == 120 and jig.key == "D major"
    assert jig.changes["chord symbols left out"] == 8  # "D" "G" "A" "D" over the tune, twice: not melody
    # two bars and the first ending, then the two bars again and the second ending
    body = [69, 72, 69, 71, 74, 71, 72, 76, 69]
    assert [n.pitch for n in reel.seq.notes] == body + [64, 67, 64] + body + [64, 68, 69]
    assert reel.seq.time_signature == (4, 4) and reel.key == "A minor"
    assert broken.seq is None and broken.error and broken.label == "X:3 'Broken Tune'"
    # a triplet of quarter-note thirds lands on the grid, rounded, and is counted
    assert waltz.changes["notes off the 16th-note grid, rounded"] >= 1
    starts = [n.start for n in waltz.seq.notes]
    assert starts == sorted(starts) and len(waltz.seq.notes) == 8 and waltz.seq.time_signature == (3, 4)


def test_pick_a_tune_by_number_or_title(book):
    assert read_notation(book, "2").name == "Minor Reel"
    assert read_notation(book, "minor reel").notes[0].pitch == 69
    assert read_notation(book, "Little").name == "Little Jig"  # a unique start of a title
    assert read_notation(book).name == "Little Jig"  # the first readable tune
    with pytest.raises(NotationError, match=r"no tune '9' \(the file has 4: X:1 'Little Jig'"):
        read_notation(book, 9)
    with pytest.raises(NotationError, match="X:3 'Broken Tune' cannot be read"):
        read_notation(book, 3)
    with pytest.raises(NotationError, match="--tune picks a tune of an ABC or MusicXML file"):
        read_score(book.with_suffix(".mid"), "2")
    assert pick_tune(read_tunes(book), "Waltz With Triplet", book).number == 4


def test_musicxml_reads_as_midi_would(tmp_path):
    path = tmp_path / "two.musicxml"
    path.write_text(SCORE)
    seq = read_score(path)
    assert [n.key for n in seq.notes] == [(0, 2, 67), (2, 4, 69), (4, 12, 71), (14, 16, 78)]  # the tie joined
    assert seq.time_signature == (2, 4) and seq.name == "Two Bars" and seq.voices[0].name == "Whistle"
    (tmp_path / "bad.xml").write_text("<score-partwise><part id='P1'>")
    with pytest.raises(NotationError, match="cannot be read"):
        read_score(tmp_path / "bad.xml")


def test_folder_with_abc_gives_a_tune_per_piece_and_reports_the_broken_one(book, tmp_path):
    folder = book.parent
    data = music_data([folder], "melody", valid=[book], min_pitch=48, max_pitch=96, log=None)
    assert len(data.pieces) == 3  # tunes 1, 2 and 4
    assert data.summary["train_files"]["rejected"] == 1
    arrays, steps, report = encode_files(MelodyEncoding(48, 96), [folder])
    assert len(arrays) == 3 and steps == sum(len(a) - 1 for a in arrays)
    assert "book.abc: tune X:3 'Broken Tune':" in str(report)


def run_cli(*args, cwd, env=None):
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", **(env or {})}
    return subprocess.run([sys.executable, "-m", "guigen", *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=cwd, env=env)


def test_train_on_abc_then_generate_from_an_abc_primer_and_eval(book, tmp_path):
    model = tmp_path / "folk.safetensors"
    tiny = ["--layers", "1", "--hidden", "16", "--embed", "8", "--epochs", "1", "--seq-len", "16", "--batch", "4",
            "--quiet"]
    r = run_cli("train", "music", book.parent, "--valid", book, "--encoding", "melody", "--min-pitch", "48",
                "--max-pitch", "96", "-o", model, *tiny, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "training data: 1 file(s) used (3 piece(s)), 1 rejected" in r.stderr
    assert "tune X:3 'Broken Tune'" in r.stderr

    out = tmp_path / "cont.mid"
    r = run_cli("generate", "-m", model, "--primer-file", book, "--tune", "Minor Reel", "--steps", "16",
                "--seed", "3", "-o", out, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    seq = read_midi(out)
    reel = read_notation(book, 2)
    primer_steps = reel.total_steps
    assert [n.key for n in seq.notes if n.end <= primer_steps - 1] == [n.key for n in reel.notes if n.end <= primer_steps - 1]
    assert seq.total_steps <= primer_steps + 16 and seq.time_signature == (4, 4)

    r = run_cli("generate", "-m", model, "--primer-file", book, "--tune", "3", "-o", tmp_path / "x.mid", cwd=tmp_path)
    assert r.returncode != 0 and "X:3 'Broken Tune' cannot be read" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1

    r = run_cli("eval", "-m", model, book, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "1 file, 3 pieces" in r.stdout and "nats/event" in r.stdout  # a book of tunes: each tune a piece


def test_without_music21_one_line_says_what_to_install(book, tmp_path):
    # music21 hidden: a None entry in sys.modules makes `import music21` fail as if it were not installed
    code = ("import sys; sys.modules['music21'] = None; from guigen.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    r = subprocess.run([sys.executable, "-c", code, "eval", "-m", "bach-melody", str(book)], capture_output=True,
                       text=True, timeout=120, cwd=tmp_path)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == [f"guigen: error: {MISSING}"] or r.stderr.strip().endswith(MISSING)
    assert len(r.stderr.strip().splitlines()) == 1


def test_a_tune_without_unit_length_reads_in_eighths_and_a_rest_only_tune_says_so(tmp_path):
    plain = tmp_path / "plain.abc"
    plain.write_text("X:1\nT:Plain\nK:G\nGABc dedB|\n")  # no L: and no M: - ABC's default unit is 1/8
    seq = read_notation(plain)
    assert [n.pitch for n in seq.notes] == [67, 69, 71, 72, 74, 76, 74, 71]
    assert all(n.end - n.start == 2 for n in seq.notes)  # an eighth is two 16th-note steps
    rests = tmp_path / "rests.abc"
    rests.write_text("X:1\nT:Rests\nK:C\nzzzz|\n")
    with pytest.raises(NotationError) as e:
        read_notation(rests)
    assert "no notes" in str(e.value) and "music21." not in str(e.value)
