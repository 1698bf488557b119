"""Harmonising a melody with the shipped bach-chorales model (guigen/music/harmonize.py and
`guigen harmonize`): the melody comes out exactly, on top, in its own key; the files written
are read back by pretty_midi and music21."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from guigen.core import registry
from guigen.core.sampling import SamplingSettings
from guigen.music.events import Note, NoteSequence, Voice, major_key
from guigen.music.harmonize import harmonize, melody_of, parse_pitches
from guigen.music.midi import read_midi, write_midi
from guigen.music.quality import key_share
from guigen.music.voices import split_voices

TEST = Path(__file__).resolve().parents[1] / "data/midi/jsb_chorales/test"
# a hymn-like tune in D major: repeated notes, held notes, a rest, a leading note
TUNE = "62:4,62:4,64:4,66:4,67:8,66:4,r:4,64:4,62:2,61:2,62:12"


@pytest.fixture(scope="module")
def model():
    return registry.load("bach-chorales")


def sounding(notes, step):
    return [n for n in notes if n.start <= step < n.end]


def test_parse_pitches():
    assert parse_pitches("67:4,67,69:8,r:2,72:1") == [Note(0, 4, 67), Note(4, 8, 67), Note(8, 16, 69), Note(18, 19, 72)]
    for bad in ("67:0", "x:4", "128", "r:4", ""):
        with pytest.raises(ValueError):
            parse_pitches(bad)


def test_the_melody_comes_out_exactly_on_top_in_its_key(model):
    melody = parse_pitches(TUNE)
    h = harmonize(model, melody, SamplingSettings(1.0), seed=3)
    parts = split_voices(h.notes, h.melody)
    assert parts is not None and parts[0] == melody  # every note's pitch, onset and duration
    lower = [n for n in h.notes if n not in melody]
    assert len(lower) >= 2 * len(melody)
    for step in range(melody[-1].end):
        top = [n.pitch for n in sounding(melody, step)]
        others = [n.pitch for n in sounding(lower, step)]
        assert len(others) <= 3
        if top:
            assert all(p < top[0] for p in others)
        else:  # the rest: below the notes around it (F#4 before, E4 after)
            assert all(p < 64 for p in others)
    # moved to C for the model and back: the harmony is in D major too
    assert major_key(lower) == 2 and key_share(lower) >= 0.85


def test_beam_search_finds_likelier_harmonisations(model):
    melody = parse_pitches(TUNE)
    plain = harmonize(model, melody, SamplingSettings(1.0), seed=4)
    beam = harmonize(model, melody, SamplingSettings(1.0), seed=4, beam_size=3, branch_factor=2)
    assert split_voices(beam.notes, beam.melody)[0] == melody
    assert beam.logprob / beam.events > plain.logprob / plain.events
    same = harmonize(model, melody, SamplingSettings(1.0), seed=4, beam_size=1, branch_factor=1)
    assert same.notes == plain.notes  # a beam of one, unbranched, is plain sampling


def test_what_cannot_be_harmonised_says_why(model):
    with pytest.raises(ValueError, match="G2-D6"):
        harmonize(model, parse_pitches("30:4,100:4"))  # wider than the model's range in any octave
    with pytest.raises(ValueError, match="one line"):
        harmonize(model, [Note(0, 8, 67), Note(4, 8, 64)])
    with pytest.raises(ValueError, match="polyphony model"):
        harmonize(registry.load("bach-melody"), parse_pitches("67"))


def guigen(*args):
    r = subprocess.run([sys.executable, "-m", "guigen", *map(str, args)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r


def test_cli_harmonizes_a_midi_melody_into_four_tracks_and_four_parts(tmp_path):
    pretty_midi = pytest.importorskip("pretty_midi")
    music21 = pytest.importorskip("music21")
    chorale = read_midi(TEST / "chorale_test_005.mid")
    soprano = [n for n in melody_of(chorale) if n.end <= 48]  # three bars of a held-out chorale's tune
    write_midi(NoteSequence(soprano, [(0, 90.0)], (4, 4), [Voice("tune")]), tmp_path / "tune.mid")
    guigen("harmonize", tmp_path / "tune.mid", "-o", tmp_path / "h.mid", "--seed", 2, "--program", "52,52,52,32")
    guigen("harmonize", tmp_path / "tune.mid", "-o", tmp_path / "h.musicxml", "--seed", 2)
    pm = pretty_midi.PrettyMIDI(str(tmp_path / "h.mid"))
    assert [(i.name, i.program) for i in pm.instruments] == [("Soprano", 52), ("Alto", 52), ("Tenor", 52), ("Bass", 32)]
    step = 60 / 90 / 4  # the tune's tempo is kept
    top = [(round(n.start / step), round(n.end / step), n.pitch) for n in pm.instruments[0].notes]
    assert top == [n.key for n in soprano]
    score = music21.converter.parse(str(tmp_path / "h.musicxml"))
    assert [p.partName for p in score.parts] == ["Soprano", "Alto", "Tenor", "Bass"]
    sung = [(int(n.offset * 4), int((n.offset + n.quarterLength) * 4), n.pitch.midi)
            for n in score.parts[0].stripTies().flatten().notes]
    assert sung == [n.key for n in soprano]
    # the same seed: the score holds the same harmonisation as the MIDI file
    in_midi = sorted((round(n.start / step), round(n.end / step), n.pitch) for i in pm.instruments for n in i.notes)
    in_score = sorted((int(n.offset * 4), int((n.offset + n.quarterLength) * 4), n.pitch.midi)
                      for p in score.parts for n in p.stripTies().flatten().notes)
    assert in_midi == in_score


def test_cli_harmonizes_an_abc_tune(tmp_path):
    pytest.importorskip("music21")
    (tmp_path / "tunes.abc").write_text("X:1\nT:Hymn\nM:3/4\nL:1/4\nK:G\nG G A | B2 c | B A G | A3 |]\n"
                                        "X:2\nT:Other\nM:4/4\nL:1/4\nK:C\nc d e f | g4 |]\n")
    r = guigen("harmonize", tmp_path / "tunes.abc", "--tune", "Hymn", "-o", tmp_path / "h.mid", "--seed", 1,
               "--show")
    assert r.stdout.splitlines()[0] == "S: G4:4 G4:4 A4:4 B4:8 C5:4 B4:4 A4:4 G4:4 A4:12"
    seq = read_midi(tmp_path / "h.mid")
    assert seq.time_signature == (3, 4)
    assert [n.key for n in seq.notes if n.voice == 0] == [(s, s + d, p) for s, d, p in [
        (0, 4, 67), (4, 4, 67), (8, 4, 69), (12, 8, 71), (20, 4, 72), (24, 4, 71), (28, 4, 69), (32, 4, 67),
        (36, 12, 69)]]


def test_strict_harmonisations_have_fewer_parallels(model):
    from guigen.music.quality import parallels

    melody = [n for n in melody_of(read_midi(TEST / "chorale_test_001.mid")) if n.end <= 96]
    counts = {}
    for strict in (False, True):
        h = harmonize(model, melody, SamplingSettings(1.0), seed=0, strict=strict)
        f, o, moves = parallels(split_voices(h.notes, h.melody))
        counts[strict] = f + o
    assert counts[True] < counts[False] and counts[True] <= 1


def test_harmonizing_imports_neither_torch_nor_qt_nor_music21_for_midi(tmp_path):
    code = ("import sys\n"
            "from guigen.core import registry\n"
            "from guigen.music.harmonize import harmonize, parse_pitches\n"
            "from guigen.music.export import write_piece\n"
            "from guigen.music.events import NoteSequence\n"
            "h = harmonize(registry.load('bach-chorales'), parse_pitches('67:4,69:4,71:8'), seed=0)\n"
            f"write_piece(NoteSequence(h.notes), {str(tmp_path / 'h.mid')!r}, True, melody=h.melody)\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'PySide6', 'pyqtgraph', 'music21')]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_cli_harmonize_names_a_folder_in_the_way(tmp_path, capsys):
    from guigen.cli import main

    (tmp_path / "h.mid").mkdir()
    assert main(["harmonize", "--pitches", "60:4,62:4", "-o", str(tmp_path / "h.mid")]) == 1
    assert "is a folder" in capsys.readouterr().err


def test_the_rule_reads_parallels_as_the_counter_counts_them():
    """voice_parallels, for every pitch at once, agrees with quality.parallel, the counter's own
    judgement, over random voices (a voice that rested in the step before does not move)."""
    import random

    from guigen.music.harmonize import voice_parallels
    from guigen.music.quality import parallel

    rng = random.Random(3)
    found = 0
    for _ in range(400):
        before = [rng.choice([None] + list(range(40, 80))) for _ in range(4)]
        first = rng.choice([0, 1])
        cur = sorted(rng.sample(range(40, 80), rng.randint(1, 3 - first)), reverse=True)
        bad = voice_parallels(before, np.array(cur), first)
        j = first + len(cur)
        for x in range(128):
            want = any(parallel(before[first + i], cur[i], before[j], x) for i in range(len(cur)))
            assert bad[x] == want, (before, cur, first, x)
            found += want
    assert found > 50


def test_the_voices_read_step_by_step_are_the_counters():
    """next_voicing gives a step's notes the voices assign_voices gives them, where the two agree
    on the step before (assign_voices reads the whole piece: the future may decide the past):
    four voices or fewer, held notes keeping theirs, crossings avoided."""
    import random

    from guigen.music.voices import START_PITCH, assign_voices, next_voicing

    rng = random.Random(5)
    checked = 0
    for _ in range(400):
        first = sorted(rng.sample(range(45, 72), rng.randint(1, 3)), reverse=True)
        held = [p for p in first if rng.random() < 0.3]
        struck = [p for p in rng.sample(range(45, 72), rng.randint(0, 3 - len(held))) if p not in first]
        second = sorted(held + struck, reverse=True)
        top = [rng.randint(72, 84), rng.randint(72, 84)]
        notes = [Note(0, 4, top[0]), Note(4, 8, top[1])] + [Note(0, 8 if p in held else 4, p) for p in first]
        notes += [Note(4, 8, p) for p in struck]
        labels = assign_voices(notes, notes[:2])
        if labels is None:
            continue
        want = [[None] * 4, [None] * 4]
        for n, v in zip(notes, labels):
            for k, t in enumerate((0, 4)):
                if n.start <= t < n.end:
                    want[k][v] = n.pitch
        _, now1, last = next_voicing([None] * 4, list(START_PITCH), [top[0]] + first, [False] * (1 + len(first)), True)
        sung = [p for p in want[1] if p is not None]
        if now1 != want[0] or sung != sorted(sung, reverse=True):
            continue  # the future decided the first step, or a crossing (now or earlier alike) was taken
        _, now2, _ = next_voicing(now1, last, [top[1]] + second, [False] + [p in held for p in second], True)
        assert now2 == want[1], (first, second, held)
        checked += 1
    assert checked > 100


def test_harmonisations_hold_no_parallels_as_the_rule_reads_them(model):
    """Bach's validation sopranos harmonised with the defaults: no step moves two voices in
    parallel as the rule reads the voices (step by step), and the counter, reading them over the
    whole piece, finds none either."""
    from guigen.music.harmonize import moved_in_parallel
    from guigen.music.quality import parallels
    from guigen.music.voices import START_PITCH, next_voicing

    valid = TEST.parent / "valid"
    for i, name in enumerate(["chorale_valid_039.mid", "chorale_valid_057.mid", "chorale_valid_069.mid"]):
        melody = melody_of(read_midi(valid / name))[:24]
        h = harmonize(model, melody, SamplingSettings(0.8), seed=i)
        before, last = [None] * 4, list(START_PITCH)
        mel = {s: n.pitch for n in h.melody for s in range(n.start, n.end)}
        for s in range(h.melody[0].start, max(n.end for n in h.melody)):
            here = sorted((n for n in h.notes if n.start <= s < n.end), key=lambda n: -n.pitch)
            prior, now, last = next_voicing(before, last, [n.pitch for n in here], [n.start < s for n in here],
                                            s in mel)
            assert not moved_in_parallel(prior, now), (name, s, prior, now)
            before = now
        f, o, _ = parallels(split_voices(h.notes, h.melody))
        assert f + o == 0, name
