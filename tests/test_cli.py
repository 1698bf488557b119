"""The `guigen` command run as a user runs it: a subprocess, its output, its exit status."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import ALICE

from guigen.core.generate import Generator
from guigen.core.modelfile import load_model
from guigen.core.sampling import SamplingSettings

ENV = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "PYTHONUNBUFFERED": "1"}


def guigen(*args, check=True, **kw):
    r = subprocess.run([sys.executable, "-m", "guigen", *map(str, args)], capture_output=True, text=True, env=ENV,
                       timeout=600, **kw)
    if check:
        assert r.returncode == 0, r.stderr
    return r


def test_generate_matches_the_api_for_the_same_seed(tiny_model_path):
    out = guigen("generate", "-m", tiny_model_path, "-n", 200, "-t", 0.9, "--top-k", 20, "--seed", 42,
                 "--primer", "Alice").stdout
    model = load_model(tiny_model_path)
    gen = Generator(model, SamplingSettings(0.9, top_k=20), seed=42)
    gen.feed(model.codec.encode("Alice"))
    expected = "Alice" + model.codec.decode(s.token for s in gen.stream(200))
    assert out == expected + "\n"
    assert guigen("generate", "-m", tiny_model_path, "-n", 200, "-t", 0.9, "--top-k", 20, "--seed", 42,
                  "--primer", "Alice").stdout == out


def test_greedy_ignores_the_seed(tiny_model_path):
    a = guigen("generate", "-m", tiny_model_path, "-n", 80, "-t", 0, "--seed", 1).stdout
    b = guigen("generate", "-m", tiny_model_path, "-n", 80, "-t", 0, "--seed", 2).stdout
    assert a == b and len(a) > 60


@pytest.mark.parametrize("t", ["-1", "nan", "inf", "hot"])
def test_bad_temperature_is_a_clear_error(tiny_model_path, t):
    r = guigen("generate", "-m", tiny_model_path, f"--temperature={t}", check=False)
    assert r.returncode == 2 and "temperature" in r.stderr and "Traceback" not in r.stderr


def test_unknown_primer_characters(tiny_model_path):
    r = guigen("generate", "-m", tiny_model_path, "--primer", "Alice ☃", check=False)
    assert r.returncode == 2 and "'☃'" in r.stderr and "--drop-unknown" in r.stderr
    r = guigen("generate", "-m", tiny_model_path, "--primer", "Alice ☃", "--drop-unknown", "-n", 20)
    assert r.stdout.startswith("Alice ") and "dropped" in r.stderr


def test_output_files_are_written_and_never_overwritten_silently(tiny_model_path, tmp_path):
    out = tmp_path / "sample.txt"
    guigen("generate", "-m", tiny_model_path, "-n", 50, "--seed", 1, "-o", out)
    first = out.read_text()
    assert len(first) >= 50
    r = guigen("generate", "-m", tiny_model_path, "-n", 50, "--seed", 2, "-o", out, check=False)
    assert r.returncode == 2 and "exists" in r.stderr and out.read_text() == first
    guigen("generate", "-m", tiny_model_path, "-n", 50, "--seed", 2, "-o", out, "--force")
    assert out.read_text() != first
    guigen("generate", "-m", tiny_model_path, "-n", 30, "--outputs", 3, "-o", tmp_path / "many.txt")
    texts = [(tmp_path / f"many_{i}.txt").read_text() for i in (1, 2, 3)]
    assert len(set(texts)) == 3


def test_beam_search_from_the_cli(tiny_model_path):
    r = guigen("generate", "-m", tiny_model_path, "-n", 40, "--beam-size", 3, "--branch-factor", 2, "--seed", 0,
               "--primer", "The ")
    assert r.stdout.startswith("The ") and len(r.stdout) >= 44


def test_bad_model_files_give_one_clear_line(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x80\x04K\x01." + bytes(100))
    r = guigen("generate", "-m", bad, check=False)
    assert r.returncode == 2 and str(bad) in r.stderr and "Traceback" not in r.stderr
    r = guigen("generate", "-m", "no-such-model", check=False)
    assert r.returncode == 2 and "no model named" in r.stderr


def test_info_and_eval(tiny_model_path, alice_slice):
    card = guigen("info", "-m", tiny_model_path).stdout
    assert "1x128 LSTM" in card and "alice.txt" in card and "validation" in card
    meta = json.loads(guigen("info", "-m", tiny_model_path, "--json").stdout)
    assert meta["kind"] == "text" and meta["parameters"] > 10_000
    ev = json.loads(guigen("eval", "-m", tiny_model_path, alice_slice, "--slice", "0.9:1", "--json").stdout)
    # the validation part of the fixture's data: eval must agree with the trainer's validation loss
    assert ev["nats_per_char"] == pytest.approx(load_model(tiny_model_path).training["val_loss"], abs=0.05)
    assert ev["bits_per_char"] == pytest.approx(ev["nats_per_char"] / np.log(2))
    text = guigen("eval", "-m", tiny_model_path, alice_slice).stdout
    assert "nats/char" in text and "bits/char" in text


def test_train_ctrl_c_saves_and_resume_finishes(alice_slice, tmp_path):
    out = tmp_path / "m.safetensors"
    args = ["train", "text", alice_slice, "-o", out, "--layers", 1, "--hidden", 32, "--embed", 8,
            "--epochs", 3, "--batch", 4, "--seq-len", 16, "--checkpoint-minutes", 60]
    proc = subprocess.Popen([sys.executable, "-m", "guigen", *map(str, args)], stderr=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=ENV)
    deadline = time.monotonic() + 120
    while not out.exists() and time.monotonic() < deadline:  # first epoch done, mid-second epoch soon
        time.sleep(0.2)
    assert out.exists(), "no model written after the first epoch"
    proc.send_signal(signal.SIGINT)  # now: two epochs are left, so the run is surely still training
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    ckpt = tmp_path / "m.ckpt.safetensors"
    assert ckpt.exists() and "--resume" in err
    r = guigen("train", *map(str, args[1:]), check=False)
    assert r.returncode == 2 and "exists" in r.stderr  # not overwritten without --resume/--force
    out.rename(tmp_path / "moved.safetensors")
    r = guigen(*args, check=False)
    assert r.returncode == 2 and "--resume" in r.stderr  # nor is the checkpoint of an earlier run
    (tmp_path / "moved.safetensors").rename(out)
    r = guigen(*args, "--resume", ckpt)
    assert "epoch 3:" in r.stderr and "done" in r.stderr
    meta = load_model(out).training
    assert meta["epochs"] == 3 and len(meta["history"]) == 3 and meta["command"].startswith("guigen train text")


def test_fine_tuning_starts_from_the_model(tiny_model_path, tmp_path):
    text = tmp_path / "more.txt"  # the part of Alice after the model's training slice, in its characters
    known = load_model(tiny_model_path).codec.index
    text.write_text("".join(c for c in ALICE.read_text(encoding="utf-8-sig")[60_000:100_000] if c in known),
                    encoding="utf-8")
    common = ["--seq-len", "32", "--batch", "8", "--epochs", "2", "--quiet"]
    # with a vanishing learning rate the result is the model it started from
    still = tmp_path / "still.safetensors"
    guigen("train", "text", text, "--init", tiny_model_path, "--lr", "1e-12", *common, "-o", still)
    base = json.loads(guigen("eval", "-m", tiny_model_path, text, "--json").stdout)["nats_per_char"]
    same = json.loads(guigen("eval", "-m", still, text, "--json").stdout)["nats_per_char"]
    assert same == pytest.approx(base, abs=1e-3)
    tuned = tmp_path / "tuned.safetensors"
    r = guigen("train", "text", text, "--init", tiny_model_path, "--dropout", "0.3", "--lr", "1e-2", *common, "-o", tuned)
    assert "fine-tuning" in r.stderr
    model, original = load_model(tuned), load_model(tiny_model_path)
    assert model.codec.chars == original.codec.chars and model.config.dropout == 0.3
    assert model.training["fine_tuned_from"] == str(tiny_model_path)
    val = ["--slice", "0.95:1", "--json"]  # the part the fine-tuning validated on, not trained on
    after = json.loads(guigen("eval", "-m", tuned, text, *val).stdout)["nats_per_char"]
    before = json.loads(guigen("eval", "-m", tiny_model_path, text, *val).stdout)["nats_per_char"]
    assert after < before


def test_fine_tuning_errors(tiny_model_path, alice_slice, tmp_path):
    text = tmp_path / "euro.txt"
    text.write_text(alice_slice.read_text(encoding="utf-8")[:20_000].replace("e", "€", 50), encoding="utf-8")
    args = ["train", "text", text, "--init", tiny_model_path, "--seq-len", "32", "--batch", "8", "--epochs", "1",
            "--quiet"]
    r = guigen(*args, "-o", tmp_path / "a.safetensors", check=False)
    assert r.returncode != 0 and "'€'" in r.stderr and "--drop-unknown" in r.stderr and "Traceback" not in r.stderr
    r = guigen(*args, "--drop-unknown", "-o", tmp_path / "b.safetensors")
    assert "left out 50 characters" in r.stderr
    r = guigen(*args, "--drop-unknown", "--hidden", "64", "-o", tmp_path / "c.safetensors", check=False)
    assert r.returncode != 0 and "can't change" in r.stderr
    assert "fine-tuned  from" in guigen("info", "-m", tmp_path / "b.safetensors").stdout
    r = guigen("info", "-m", tmp_path / "b.ckpt.safetensors", check=False)  # a checkpoint is not a model
    assert r.returncode != 0 and "checkpoint" in r.stderr and "--resume" in r.stderr
    r = guigen("train", "text", text, "--init", tmp_path / "missing.safetensors", "-o", tmp_path / "d.safetensors",
               check=False)
    assert r.returncode != 0 and "missing.safetensors" in r.stderr and "Traceback" not in r.stderr


def test_distillation_from_the_command_line(tiny_model_path, alice_slice, tmp_path):
    small = ["--layers", "1", "--hidden", "32", "--embed", "8", "--seq-len", "32", "--batch", "8", "--quiet"]
    out = tmp_path / "student.safetensors"
    r = guigen("train", "text", alice_slice, *small, "--epochs", "1", "--teacher", tiny_model_path,
               "--teacher", tiny_model_path, "--teacher-weight", "0.7", "-o", out)
    student, teacher = load_model(out), load_model(tiny_model_path)
    assert student.codec.chars == teacher.codec.chars  # it predicts over its teachers' characters
    assert student.training["distilled_from"] == [str(tiny_model_path)] * 2
    assert student.training["train_config"]["teacher_weight"] == 0.7
    assert "distilled   from" in guigen("info", "-m", out).stdout
    # resumed, the run goes on with the teachers it began with
    r = guigen("train", "text", alice_slice, *small, "--epochs", "2", "-o", out,
               "--resume", tmp_path / "student.ckpt.safetensors")
    assert "epoch 2:" in r.stderr
    assert load_model(out).training["distilled_from"] == [str(tiny_model_path)] * 2
    # eval scores an ensemble as the mean of its models' distributions, character by character
    import torch

    from guigen.core.data import read_text, take_slice
    from guigen.core.model import LSTMModel

    text = take_slice(read_text([alice_slice]), 0.9, 1.0)
    ev = json.loads(guigen("eval", "-m", tiny_model_path, "-m", out, alice_slice, "--slice", "0.9:1", "--json").stdout)
    ids = torch.as_tensor(teacher.codec.encode(text))[None]
    with torch.no_grad():
        probs = [torch.softmax(LSTMModel.from_loaded(m)(ids[:, :-1])[0][0], -1) for m in (teacher, load_model(out))]
    want = -torch.log(((probs[0] + probs[1]) / 2).gather(1, ids[0, 1:, None])).mean()
    assert ev["model"].startswith("ensemble of 2") and ev["chars_scored"] == len(text) - 1
    assert ev["nats_per_char"] == pytest.approx(float(want), rel=1e-4)
    r = guigen("eval", "-m", tiny_model_path, "-m", "bach-melody", alice_slice, check=False)
    assert r.returncode == 2 and "another vocabulary or encoding" in r.stderr and "Traceback" not in r.stderr
    for bad, said in ((["--teacher-weight", "0.5"], "needs --teacher"),
                      (["--teacher", tiny_model_path, "--teacher-weight", "2"], "between 0 and 1"),
                      (["--teacher", tmp_path / "nope.safetensors"], "nope.safetensors")):
        r = guigen("train", "text", alice_slice, *small, *bad, "-o", tmp_path / "x.safetensors", check=False)
        assert r.returncode == 2 and said in r.stderr and "Traceback" not in r.stderr, r.stderr
