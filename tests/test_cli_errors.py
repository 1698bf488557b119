"""Errors that name the mistake, and one exit-status rule for every command (docs/command-line.md):
0 done, 2 a wrong option, model or input, 1 a file the system could not read or write, 130 Ctrl-C.
Run as a user runs them: the real `guigen` in a subprocess, from a folder of its own."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# (arguments, exit status, what the one line must say)
BAD = [
    # misspelled options: named, with the closest real one, not blamed on the value after them
    ("generate --temprature 0.5", 2, "guigen generate: error: unknown option --temprature; did you mean --temperature?"),
    ("generate --top_k 5", 2, "unknown option --top_k; did you mean --top-k?"),
    ("generate --seeds 1", 2, "unknown option --seeds; did you mean --seed?"),
    ("generate --lenght 20", 2, "unknown option --lenght; did you mean --length?"),
    ("generate -m shakespeare --top-k=5 --outptus=2", 2, "unknown option --outptus; did you mean --outputs?"),
    ("cells --feture line_position", 2, "guigen cells: error: unknown option --feture; did you mean --feature?"),
    ("eval --slcie 0.9:1", 2, "guigen eval: error: unknown option --slcie; did you mean --slice?"),
    ("train text my.txt -o m.safetensors --epohcs 2", 2, "guigen train text: error: unknown option --epohcs; did you mean --epochs?"),
    ("train music midi --encodng melody", 2, "unknown option --encodng; did you mean --encoding?"),
    ("prepare text my.txt --val-fraction 0.1", 2, "guigen prepare text: error: unknown option --val-fraction"),
    ("info --modle shakespeare", 2, "guigen info: error: unknown option --modle; did you mean --model?"),
    ("render in.mid out.wav --soundfnt x.sf2", 2, "guigen render: error: unknown option --soundfnt; did you mean --soundfont?"),
    ("app --screenshoot x.png", 2, "guigen app: error: unknown option --screenshoot; did you mean --screenshot?"),
    ("--screenshoot x.png", 2, "unknown option --screenshoot; did you mean --screenshot?"),  # bare guigen: the app
    ("install-desktop --unistall", 2, "guigen install-desktop: error: unknown option --unistall; did you mean --uninstall?"),
    ("harmonize --pitchs 60:4", 2, "guigen harmonize: error: unknown option --pitchs; did you mean --pitches?"),
    ("generate -q", 2, "guigen generate: error: unknown option -q (see guigen generate --help)"),
    # missing or malformed: the option named, no usage block
    ("cells my.txt", 2, "guigen cells: error: -m/--model is required"),
    ("train text my.txt", 2, "guigen train text: error: -o/--output is required"),
    ("train", 2, "guigen train: error: KIND is required"),
    ("generate -m", 2, "argument -m/--model: expected one argument"),
    ("generate -m shakespeare -n many", 2, "argument -n/--length: invalid"),
    ("generate -m shakespeare -t -1", 2, "-t/--temperature"),
    ("generate frobnicate", 2, "unexpected argument 'frobnicate'"),
    ("frobnicate.txt", 2, "guigen: error: argument COMMAND: invalid choice: 'frobnicate.txt'"),
    ("genrate -m shakespeare", 2, "guigen: error: unknown command genrate; did you mean generate?"),
    # a wrong model or input
    ("generate -m nosuchmodel", 2, "no model named 'nosuchmodel'"),
    ("info -m nosuchmodel", 2, "no model named 'nosuchmodel'"),
    ("eval -m shakespeare nosuch.txt", 2, "nosuch.txt: no such file"),
    ("render nosuch.mid out.wav", 2, "nosuch.mid: no such MIDI file"),
    ("generate -m shakespeare -n 5 -o exists.txt", 2, "exists.txt exists"),
    ("app --screenshot exists.png", 2, "exists.png exists"),
    # the system refused: exit 1, the path named
    ("generate -m shakespeare -n 5 -o /sys/guigen-test.txt", 1, "/sys"),
]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Every bad invocation run at once (they are independent), each in the same small folder."""
    home = tmp_path_factory.mktemp("user")
    (home / "exists.txt").write_text("mine\n")
    (home / "exists.png").write_bytes(b"\x89PNG mine")
    (home / "my.txt").write_text("a little text to train on\n" * 20)
    env = {**os.environ, "XDG_DATA_HOME": str(home / "data"), "XDG_CONFIG_HOME": str(home / "config"),
           "QT_QPA_PLATFORM": "offscreen"}
    env.pop("GUIGEN_MODELS", None)
    procs = [subprocess.Popen([sys.executable, "-m", "guigen", *args.split()], cwd=home, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for args, _, _ in BAD]
    out = {args: (p.wait(timeout=300), *p.communicate()) for (args, _, _), p in zip(BAD, procs)}
    assert (home / "exists.txt").read_text() == "mine\n" and (home / "exists.png").read_bytes() == b"\x89PNG mine"
    return out


@pytest.mark.parametrize("args, status, said", BAD, ids=[b[0] for b in BAD])
def test_a_bad_invocation_is_one_line_naming_it_with_the_rule_s_exit_status(results, args, status, said):
    rc, out, err = results[args]
    lines = err.strip().splitlines()
    assert rc == status, err
    assert len(lines) == 1 and said in lines[0], err  # one line: no usage block, no traceback
    assert "usage:" not in err and out == ""


def test_help_keeps_the_full_usage():
    r = subprocess.run([sys.executable, "-m", "guigen", "generate", "--help"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and r.stdout.startswith("usage: guigen generate")
    assert "--temperature" in r.stdout and "--top-k" in r.stdout and r.stdout.count("\n") > 20
