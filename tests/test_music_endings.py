"""Endings (harmonize --ending, generate --ending) and Bach's chord vocabulary in harmonize
(issue 24), with the shipped bach-chorales and folk models, on a few validation sopranos (the 77
test sopranos are benchmarks/music_quality.py's)."""

import re
from pathlib import Path

import pytest

from guigen.cli import main
from guigen.core import registry
from guigen.music import quality
from guigen.music.chords import KEY_NAMES, is_chord, is_ending, mask, melody_key
from guigen.music.events import Note
from guigen.music.harmonize import harmonize, melody_of, parse_pitches
from guigen.music.midi import read_midi
from guigen.music.voices import split_voices

VALID = Path(__file__).resolve().parents[1] / "data/midi/jsb_chorales/valid"


@pytest.fixture(scope="module")
def model():
    return registry.load("bach-chorales")


def test_chord_vocabulary_and_keys():
    assert is_chord(mask([60, 64, 67])) and is_chord(mask([62, 65, 69, 72])) and is_chord(mask([59, 62, 65, 68]))
    assert is_chord(mask([60, 64, 70]))  # a dominant seventh without its fifth
    assert not is_chord(mask([60, 62, 64])) and not is_chord(mask([60, 67]))  # a cluster; two classes
    g_major = [Note(i * 4, i * 4 + 4, p) for i, p in enumerate([67, 71, 74, 72, 71, 69, 66, 67])]
    assert melody_key(g_major) == (7, "major")
    assert is_ending([43, 59, 62, 67], (7, "major")) and not is_ending([47, 55, 62, 67], (7, "major"))
    assert is_ending([45, 61, 64, 69], (9, "minor"))  # a Picardy third ends a minor chorale too
    assert is_ending([50, 57, 66, 74], (7, "major"), "half")


def test_valid_sopranos_end_on_the_tonic_in_bach_vocabulary(model):
    chords = steps = 0
    for i, path in enumerate(sorted(VALID.glob("*.mid"))[:4]):
        melody = melody_of(read_midi(path))
        h = harmonize(model, melody, seed=i)
        assert {n.key for n in melody} <= {n.key for n in h.notes}  # the melody exactly
        assert h.ending == "tonic" and not h.ending_note
        assert is_ending(quality.final_chord(h.notes, melody), h.key)
        assert h.ending_logprob <= h.ending_mass <= 0  # the chosen events are among those the ending allowed
        c, s = quality.chord_share(h.notes)
        chords, steps = chords + c, steps + s
        parts = split_voices(h.notes, h.melody)
        wide, three = quality.spacing(parts)
        assert wide / three < 0.05
    assert chords / steps >= 0.84  # Bach's test chorales: 0.859


def test_half_cadence_and_none(model):
    melody = parse_pitches("67:4,67:4,69:4,71:4,72:8,71:8,69:4,71:4,72:4,74:12")  # G major, ends on D
    h = harmonize(model, melody, seed=4, ending="half", key=(7, "major"))
    final = quality.final_chord(h.notes, melody)
    assert is_ending(final, (7, "major"), "half") and min(final) % 12 == 2  # D in the bass
    free = harmonize(model, melody, seed=4, ending="none")
    assert free.ending == "none" and free.ending_logprob is None


def test_cli_prints_the_ending(tmp_path, capsys):
    out = tmp_path / "hymn.mid"
    assert main(["harmonize", "--pitches", "67:4,67:4,69:4,71:4,72:8,71:8,69:4,67:4,66:4,67:12",
                 "-o", str(out), "--seed", "1"]) == 0
    err = capsys.readouterr().err
    assert "ending: the tonic triad of G major in root position" in err and "probability" in err
    assert main(["harmonize", "--pitches", "67:4,69:4,67:8", "-o", str(tmp_path / "x.mid"), "--ending", "none"]) == 0
    assert "left to the model" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["harmonize", "--pitches", "67:4", "--ending", "plagal"])
    assert e.value.code == 2


@pytest.mark.parametrize("name,primer", [("bach-chorales", ["--primer-pitches", "62,66,69"]), ("folk", [])])
def test_generate_ends_on_a_bar_line(name, primer, tmp_path, capsys):
    out = tmp_path / "piece.mid"
    assert main(["generate", "-m", name, "-n", "30", "--seed", "5", "--ending", "tonic", "-o", str(out)] + primer) == 0
    err = capsys.readouterr().err
    assert "ending:" in err and "probability" in err
    seq = read_midi(out)
    last = max(n.start for n in seq.notes)
    assert last % 16 == 0 and last >= 30  # on a bar line of 4/4, after the steps asked for
    final = sorted(n.pitch for n in seq.notes if n.start == last)
    tonic, mode = re.search(r"of ([A-G][b#]?) (major|minor)", err).groups()  # the piece's key, as said
    key = (KEY_NAMES.index(tonic), mode)
    if name == "bach-chorales":
        assert is_ending(final, key) and len(final) >= 3
    else:
        assert len(final) == 1 and final[0] % 12 == key[0]
