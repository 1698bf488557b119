"""Training data from MIDI folders (report, transposition, validation split), and a tiny
`guigen train music` run as a subprocess on a few chorales, then generate and eval on its model."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import CHORALES

from guigen.core.data import DataError
from guigen.core.modelfile import load_model
from guigen.music.dataset import encode_files, midi_files, music_data, parse_transpose
from guigen.music.events import Note, NoteSequence, Voice
from guigen.music.midi import read_midi, write_midi

needs_chorales = pytest.mark.skipif(not CHORALES.is_dir(), reason="data/midi/jsb_chorales is missing from this checkout")


def small_folder(tmp_path):
    """Three two-voice pieces, a drum-only file and a text file pretending to be MIDI."""
    folder = tmp_path / "midi"
    (folder / "sub").mkdir(parents=True)
    for i in range(3):
        notes = [Note(4 * k, 4 * k + 4, 60 + (k + i) % 7, voice=0) for k in range(8)]
        notes += [Note(8 * k, 8 * k + 8, 40 + k % 5, voice=1) for k in range(4)]
        write_midi(NoteSequence(notes, voices=[Voice("upper"), Voice("lower")]), folder / "sub" / f"p{i}.mid")
    write_midi(NoteSequence([Note(0, 1, 36, drum=True)], voices=[Voice("kit", 0, True)]), folder / "drums.mid")
    (folder / "readme.mid").write_text("not midi")
    return folder


def test_report_training_stream_and_transposition(tmp_path, capsys):
    folder = small_folder(tmp_path)
    assert len(midi_files([folder])) == 5
    log = []

    class Log:
        def write(self, s):
            log.append(s)

    data = music_data([folder / "sub"], "polyphony", valid=[folder], transpose_range=(-3, 3), log=Log())
    text = "".join(log)
    assert "training data: 3 file(s) used (3 piece(s)), 0 rejected" in text
    assert "validation data: 3 file(s) used (3 piece(s)), 2 rejected" in text
    assert "drums.mid: no pitched notes (only drums)" in text and "readme.mid: not a MIDI file" in text
    epochs = [data.train_tokens(e, np.random.default_rng(e)) for e in range(3)]
    assert all(len(t) == len(data.train) for t in epochs)  # the trainer counts on a fixed length
    assert not all(np.array_equal(epochs[0], t) for t in epochs[1:])  # reshuffled and transposed
    assert data.summary["transpose"] == [-3, 3] and data.summary["encoding"] == "polyphony"
    json.dumps(data.summary)  # goes into the model file's metadata

    melody = music_data([folder / "sub"], "melody", valid=[folder / "sub"], log=None)
    assert len(melody.pieces) == 6  # each voice its own melody; the low one moved up an octave
    assert melody.summary["train_files"]["melodies moved by octaves into range"] == 3
    for e in range(3):
        t = melody.train_tokens(e, np.random.default_rng(e))
        assert len(t) == len(melody.train) and t.max() < melody.codec.num_classes


def test_data_errors(tmp_path):
    with pytest.raises(DataError, match="no such file or folder"):
        music_data([tmp_path / "nowhere"], log=None)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no MIDI files"):
        music_data([tmp_path / "empty"], log=None)
    one = write_midi(NoteSequence([Note(0, 4, 60)]), tmp_path / "one.mid")
    with pytest.raises(DataError, match="one MIDI file"):
        music_data([one], log=None)
    assert parse_transpose("4") == (-4, 4) and parse_transpose("-2:5") == (-2, 5) and parse_transpose("-4..4") == (-4, 4)


def test_encode_files_counts_steps(tmp_path):
    from guigen.music.melody import MelodyEncoding
    from guigen.music.polyphony import PolyphonyEncoding

    folder = small_folder(tmp_path)
    arrays, steps, report = encode_files(PolyphonyEncoding(), [folder / "sub"])
    assert len(arrays) == 3 and steps == 3 * 32 and len(report.used) == 3
    arrays, steps, report = encode_files(MelodyEncoding(), [folder / "sub" / "p0.mid"])
    assert len(arrays) == 2 and steps == sum(len(a) - 1 for a in arrays)


def run_cli(*args, cwd, timeout=300):
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}  # OpenMP spinning threads crawl on a busy machine
    return subprocess.run([sys.executable, "-m", "guigen", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env=env)


@needs_chorales
def test_train_generate_eval_on_a_few_chorales(tmp_path):
    files = sorted((CHORALES / "train").glob("*.mid"))[:4]
    model = tmp_path / "bach.safetensors"
    tiny = ["--layers", "1", "--hidden", "32", "--embed", "16", "--epochs", "1", "--seq-len", "32", "--batch", "8",
            "--quiet"]
    r = run_cli("train", "music", *files, "--encoding", "polyphony", "--transpose", "2", "-o", model, *tiny, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "training data: 3 file(s) used (3 piece(s)), 0 rejected" in r.stderr
    loaded = load_model(model)
    assert loaded.codec.name == "polyphony" and loaded.config.vocab_size == 259
    assert loaded.training["transpose"] == [-2, 2] and loaded.training["train_files"]["files"] == 3

    r = run_cli("generate", "-m", model, "--steps", "16", "--primer-pitches", "60,64,67", "--outputs", "2",
                "--seed", "1", "-o", tmp_path / "gen.mid", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    for i in (1, 2):
        seq = read_midi(tmp_path / f"gen_{i}.mid")
        assert seq.total_steps <= 4 + 16
        # the primer chord opens the piece; the model may hold its notes on past the quarter
        assert {n.pitch for n in seq.notes if n.start == 0} == {60, 64, 67}
        assert all(n.end >= 4 for n in seq.notes if n.start == 0)

    r = run_cli("eval", "-m", model, CHORALES / "test" / "chorale_test_000.mid", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "nats/event" in r.stdout and "nats/step" in r.stdout

    melody = tmp_path / "tune.safetensors"
    r = run_cli("train", "music", *files[:3], "--valid", files[3], "--encoding", "melody", "--transpose=-1:1",
                "--min-pitch", "36", "--max-pitch", "84", "-o", melody, *tiny, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "training data: 3 file(s) used (12 piece(s))" in r.stderr
    codec = load_model(melody).codec
    assert (codec.name, codec.min_pitch, codec.max_pitch, codec.num_classes) == ("melody", 36, 84, 51)


def test_train_cli_reports_bad_data(tmp_path):
    r = run_cli("train", "music", tmp_path, "-o", tmp_path / "x.safetensors", cwd=tmp_path)
    assert r.returncode == 2 and "no MIDI files" in r.stderr and "Traceback" not in r.stderr
