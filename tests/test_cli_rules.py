"""The command line's rules (issue 11): one length option, options of the other kind refused,
music without -o, hints and option names in errors. In-process main() for speed; a subprocess
where stdout being a pipe or a terminal is the point."""

import os
import pty
import subprocess
import sys

import pretty_midi
import pytest

from guigen.cli import main


def run(capsys, *args):
    rc = main(list(map(str, args)))
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    if rc:
        assert len(lines) == 1 and "Traceback" not in err, err
    return rc, out, err


@pytest.mark.parametrize("args, said", [
    (["-m", "shakespeare", "--steps", "5"], "--steps is for music models; shakespeare is a text model (-n/--length"),
    (["-m", "shakespeare", "--primer-pitches", "60"], "--primer-pitches is for music models"),
    (["-m", "shakespeare", "--qpm", "90", "--program", "3"], "--qpm and --program are for music models"),
    (["-m", "bach-melody", "--primer", "ROMEO:"], "--primer is for text models; bach-melody is a music model (give --primer-"),
    (["-m", "bach-melody", "--drop-unknown"], "--drop-unknown is for text models"),
    (["-m", "bach-melody", "-n", "8", "--steps", "8"], "-n/--length and --steps are the same option"),
    (["--seed", "-1"], "--seed must be >= 0"),
    (["--outputs", "0"], "--outputs must be >= 1"),
    (["--top-k", "-2"], "--top-k must be >= 0"),
    (["--top-p", "1.5"], "--top-p must be in (0, 1]"),
    (["--beam-size", "-1"], "--beam-size must be >= 0"),
    (["-m", "bach-melody", "--qpm", "0"], "--qpm must be"),
    (["-m", "bach-melody", "-n", "0"], "-n/--length must be >= 1 for a music model"),
])
def test_options_that_do_not_apply_or_are_out_of_range_are_named(capsys, args, said):
    rc, _, err = run(capsys, "generate", *args)
    assert rc == 2 and said in err, err


def test_one_length_option_for_both_kinds(capsys, tmp_path):
    rc, out, _ = run(capsys, "generate", "-m", "shakespeare", "-n", "7", "--seed", "1")
    assert rc == 0 and len(out) == 8  # 7 characters and a line break
    for option in ("-n", "--steps"):
        out_path = tmp_path / f"x{option}.mid"
        assert run(capsys, "generate", "-m", "bach-melody", option, "16", "--seed", "1", "-o", out_path)[0] == 0
        assert pretty_midi.PrettyMIDI(str(out_path)).get_end_time() == pytest.approx(16 * 0.125, abs=0.13)


def test_a_model_name_without_dash_m_gets_a_hint(capsys):
    for argv in (["generate", "shakespeare"], ["info", "shakespeare"], ["eval", "shakespeare", "my.txt"],
                 ["generate", "-n", "5", "shakespeare"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2 and "did you mean -m shakespeare?" in capsys.readouterr().err


def test_eval_names_the_file_it_could_not_use(capsys, tmp_path):
    text = tmp_path / "my.txt"
    text.write_text("no notes in here\n")
    rc, _, err = run(capsys, "eval", "-m", "bach-chorales", text)
    assert rc == 2 and str(text) in err and "MIDI" in err


def test_music_without_o_goes_to_a_pipe_or_to_a_new_file(tmp_path):
    cmd = [sys.executable, "-m", "guigen", "generate", "-m", "bach-chorales", "-n", "16", "--seed", "1", "-t", "0.9"]
    r = subprocess.run(cmd, capture_output=True, cwd=tmp_path, timeout=120)  # stdout a pipe: the MIDI file itself
    assert r.returncode == 0 and r.stdout[:4] == b"MThd" and b"stdout" in r.stderr
    (tmp_path / "piped.mid").write_bytes(r.stdout)
    assert pretty_midi.PrettyMIDI(str(tmp_path / "piped.mid")).instruments
    names = []
    for _ in range(2):  # stdout a terminal: a new file each time, never "exists"
        primary, replica = pty.openpty()
        r = subprocess.run(cmd, stdout=replica, stderr=subprocess.PIPE, cwd=tmp_path, timeout=120, text=True)
        os.close(replica)
        os.close(primary)
        assert r.returncode == 0, r.stderr
        names.append(r.stderr.split()[1])
    assert names == ["bach-chorales-T0.9-seed1.mid", "bach-chorales-T0.9-seed1-2.mid"]
    for name in names:
        assert pretty_midi.PrettyMIDI(str(tmp_path / name)).instruments


@pytest.mark.parametrize("option, value, said", [
    ("--epochs", "0", "--epochs must be >= 1, not 0"), ("--lr", "-1", "--lr must be > 0"),
    ("--seed", "-1", "--seed must be >= 0"), ("--dropout", "1", "--dropout must be >= 0 and < 1"),
    ("--hidden", "0", "--hidden must be >= 1"), ("--batch", "0", "--batch must be >= 1"),
])
def test_training_range_errors_name_the_option(capsys, tmp_path, option, value, said):
    text = tmp_path / "t.txt"
    text.write_text("some text to train on\n" * 20)
    rc, _, err = run(capsys, "train", "text", text, "-o", tmp_path / "m.safetensors", option, value)
    assert rc == 2 and said in err


def test_dropped_primer_characters_are_one_warning_line(capsys):
    rc, out, err = run(capsys, "generate", "-m", "shakespeare", "--primer", "R€:", "--drop-unknown", "-n", "3", "--seed", "1")
    assert rc == 0 and out.startswith("R:")
    assert err.strip().splitlines() == ["guigen generate: warning: 1 character(s) not in the model's vocabulary: "
                                        "'€' were dropped"]  # not Python's file:line and source line


def test_harmonize_with_a_text_model_says_so(capsys):
    rc, _, err = run(capsys, "harmonize", "-m", "shakespeare", "--pitches", "60:4")
    assert rc == 2 and "shakespeare is a text model; harmonising needs a polyphony model" in err


def test_text_is_not_written_under_a_music_name(capsys, tmp_path):
    rc, _, err = run(capsys, "generate", "-m", "shakespeare", "-n", "3", "-o", tmp_path / "song.mid")
    assert rc == 2 and "shakespeare is a text model; its output is text" in err
    assert not (tmp_path / "song.mid").exists()
