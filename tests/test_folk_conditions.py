"""A melody model conditioned on metre and mode: a token before each tune, learnt in training,
asked for with `generate --metre --key` (the primer's own by default), listed by `guigen info`.

Fixtures: eight tiny tunes on C major's white keys, four in 6/8 ending on A (minor) and four in
4/4 ending on C (major), written as MIDI files; a 1x32 model trained on them in seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from guigen.cli import main
from guigen.core.modelfile import load_model
from guigen.music.conditions import MODES, condition, mode_of, parse_key, parse_metre, shift_to, with_conditions
from guigen.music.events import Note, NoteSequence, Voice
from guigen.music.midi import read_midi, write_midi

JIG = [69, 72, 71, 69, 65, 64, 65, 67, 69]  # ends on A: minor on the white keys (F: C major's notes only)
MARCH = [60, 62, 64, 65, 67, 65, 64, 62, 60]  # ends on C: major


def tunes_folder(folder, copies=4):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(copies):
        for name, pitches, metre, length in (("jig", JIG, (6, 8), 2), ("march", MARCH, (4, 4), 4)):
            notes = [Note(k * length, (k + 1) * length, p + (12 if i % 2 else 0)) for k, p in enumerate(pitches * 3)]
            write_midi(NoteSequence(notes, [(0, 120.0)], metre, [Voice(name)]), folder / f"{name}{i}.mid")
    return folder


@pytest.fixture(scope="module")
def conditioned(tmp_path_factory):
    root = tmp_path_factory.mktemp("folk")
    train, valid = tunes_folder(root / "train"), tunes_folder(root / "valid", 1)
    out = root / "cond.safetensors"
    assert main(["train", "music", str(train), "--valid", str(valid), "--encoding", "melody", "--to-key", "C",
                 "--conditions", "--layers", "1", "--hidden", "32", "--embed", "8", "--epochs", "8", "--batch", "4",
                 "--seq-len", "32", "-o", str(out), "--quiet"]) == 0
    return out, train


def test_parsing_keys_and_metres():
    assert parse_key("D") == (2, "major") and parse_key("Dm") == (2, "minor") and parse_key("d minor") == (2, "minor")
    assert parse_key("D dorian") == (2, "dorian") and parse_key("Bb mix") == (10, "mixolydian")
    assert parse_key("F# Dorian") == (6, "dorian")
    assert parse_metre("6/8") == (6, 8)
    for bad in ("H", "D lydian", "Dmaj7"):
        with pytest.raises(ValueError, match="a key is a tonic and a mode"):
            parse_key(bad)
    with pytest.raises(ValueError, match="time signature"):
        parse_metre("6-8")
    # D dorian is the white keys from D: no move; D major moves C up 2; E minor moves A by -5 (the nearer)
    assert shift_to(2, "dorian") == 0 and shift_to(2, "major") == 2 and shift_to(4, "minor") == -5
    assert mode_of([Note(0, 4, 69)]) == "minor" and mode_of([Note(0, 4, 67), Note(4, 8, 74)]) == "dorian"


def test_the_model_file_knows_its_conditions(conditioned, capsys):
    path, _ = conditioned
    model = load_model(path)
    assert model.codec.metres == ((4, 4), (6, 8))
    assert model.config.vocab_size == model.codec.first_condition_id + 2 * len(MODES)
    assert model.codec.to_meta()["conditions"] == {"metres": ["4/4", "6/8"], "modes": list(MODES)}
    assert main(["info", "-m", str(path)]) == 0
    assert "conditions (--metre, --key): metres 4/4, 6/8, modes major, minor, dorian, mixolydian" in capsys.readouterr().out


def test_generate_in_a_metre_and_key_asked_for(conditioned, tmp_path, capsys):
    pretty_midi = pytest.importorskip("pretty_midi")
    path, train = conditioned
    out = tmp_path / "jig.mid"
    # the march's opening (C major) as the primer, asked for in 6/8 and D major: moved up a tone
    assert main(["generate", "-m", str(path), "--primer-file", str(train / "march0.mid"), "--metre", "6/8",
                 "--key", "D", "-n", "24", "--seed", "3", "-o", str(out)]) == 0
    assert "metre 6/8, key D major" in capsys.readouterr().err
    pm = pretty_midi.PrettyMIDI(str(out))
    assert [(t.numerator, t.denominator) for t in pm.time_signature_changes] == [(6, 8)]
    primer = sorted(read_midi(train / "march0.mid").pitched())
    played = sorted(read_midi(out).pitched())
    assert [n.pitch for n in played[:len(primer)]] == [n.pitch + 2 for n in primer]
    # the sampler never draws a condition token: every generated event is a note or a hold
    assert len(played) > len(primer)


def test_the_primers_own_metre_and_mode_by_default(conditioned, tmp_path, capsys):
    path, train = conditioned
    assert main(["generate", "-m", str(path), "--primer-file", str(train / "jig1.mid"), "-n", "8", "--seed", "1",
                 "-o", str(tmp_path / "a.mid")]) == 0
    assert "metre 6/8, key A minor (the primer's)" in capsys.readouterr().err
    model = load_model(path)
    notes = sorted(read_midi(train / "jig1.mid").pitched())
    codec, moved, head, metre, key = condition(model, notes, None, None, (6, 8))
    assert metre == (6, 8) and key == "A minor" and [n.pitch for n in moved] == [n.pitch for n in notes]
    assert codec.token_label(int(head[0])) == "6/8 minor"


def test_refusals_and_old_models(conditioned, tmp_path, capsys):
    path, _ = conditioned
    assert main(["generate", "-m", str(path), "--metre", "9/8", "-n", "8", "-o", str(tmp_path / "x.mid")]) == 2
    assert "knows no metre 9/8 (it knows 4/4, 6/8)" in capsys.readouterr().err
    # an unconditioned model plays as before, and refuses the options with a pointer
    assert main(["generate", "-m", "bach-melody", "-n", "8", "--seed", "1", "-o", str(tmp_path / "old.mid")]) == 0
    assert main(["generate", "-m", "bach-melody", "--key", "D", "-n", "8", "-o", str(tmp_path / "y.mid")]) == 2
    assert "was not trained with metre and key conditions" in capsys.readouterr().err
    assert not (tmp_path / "y.mid").exists()


def test_eval_scores_each_tune_after_its_condition(conditioned, tmp_path, capsys):
    path, train = conditioned
    other = tunes_folder(tmp_path / "more", 1)
    write_midi(NoteSequence([Note(0, 3, 60), Note(3, 6, 62)], [(0, 120.0)], (3, 4), [Voice("waltz")]), other / "w.mid")
    assert main(["eval", "-m", str(path), str(other), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    # each tune's events are scored after its condition token: as many events as steps, the first note too
    model = load_model(path)
    assert report["files"] == 2 and report["events_scored"] == report["steps"] == sum(
        len(model.codec.encode(sorted(read_midi(other / f).pitched()))) for f in ("jig0.mid", "march0.mid"))
    assert main(["eval", "-m", str(path), str(other)]) == 0
    assert "pieces in a metre the model does not know, left out: 1" in capsys.readouterr().out  # the 3/4 tune


def test_the_shipped_folk_model_plays_a_jig_in_d(tmp_path, capsys):
    pretty_midi = pytest.importorskip("pretty_midi")
    model = load_model(__import__("guigen.core.registry", fromlist=["x"]).shipped_dir() / "folk.safetensors")
    if not getattr(model.codec, "metres", ()):
        pytest.skip("the shipped folk model has no conditions")
    out = tmp_path / "jig.mid"
    assert main(["generate", "-m", "folk", "--metre", "6/8", "--key", "D", "-n", "96", "--seed", "1", "-o", str(out)]) == 0
    assert "metre 6/8, key D major" in capsys.readouterr().err
    pm = pretty_midi.PrettyMIDI(str(out))
    assert [(t.numerator, t.denominator) for t in pm.time_signature_changes] == [(6, 8)]
    pitches = [n.pitch for n in pm.instruments[0].notes]
    d_major = {2, 4, 6, 7, 9, 11, 1}
    assert len(pitches) >= 12 and sum(p % 12 in d_major for p in pitches) >= 0.85 * len(pitches)


def test_growing_a_model_keeps_its_weights(conditioned, tmp_path):
    path, train = conditioned
    plain = tmp_path / "plain.safetensors"
    assert main(["train", "music", str(train), "--valid", str(train), "--encoding", "melody", "--to-key", "C",
                 "--layers", "1", "--hidden", "16", "--embed", "8", "--epochs", "1", "--batch", "4", "--seq-len", "32",
                 "-o", str(plain), "--quiet"]) == 0
    old = load_model(plain)
    grown = with_conditions(old, load_model(path).codec.__class__(old.codec.min_pitch, old.codec.max_pitch, 0,
                                                                  [(4, 4), (6, 8)]))
    n = old.config.vocab_size
    for name in ("embed.weight", "head.weight", "head.bias"):
        np.testing.assert_array_equal(grown.weights[name][:n], old.weights[name])
    assert grown.weights["head.bias"][n:].max() == old.weights["head.bias"].min()
    # and `train --init plain --conditions` fine-tunes from it
    out = tmp_path / "ft.safetensors"
    assert main(["train", "music", str(train), "--valid", str(train), "--init", str(plain), "--conditions",
                 "--epochs", "1", "--batch", "4", "--seq-len", "32", "-o", str(out), "--quiet"]) == 0
    assert load_model(out).codec.metres == ((4, 4), (6, 8))
