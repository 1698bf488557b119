"""Training beyond one process: devices, signals, the run lock, and DDP with two gloo processes.

Models here are tiny (1x24 LSTM) so each run takes a second or two; the subprocess tests pay
mostly for importing torch.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from guigen.cli import main

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--hidden", "24", "--layers", "1", "--embed", "8", "--dropout", "0", "--batch", "4", "--seq-len", "32",
        "--quiet"]


@pytest.fixture(scope="module")
def small_text(alice_slice, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("text") / "small.txt"
    path.write_text(alice_slice.read_text(encoding="utf-8")[:12_000], encoding="utf-8")
    return path


def _env():
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def _weights(path):
    from guigen.core.modelfile import load_model

    return load_model(path).weights


def test_a_device_that_is_not_there_is_one_line(small_text, tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    out = tmp_path / "m.safetensors"
    for device, says in (("cuda", "no CUDA GPU here"), ("cuda:3", "no CUDA GPU here"), ("tpu", "must be one of")):
        assert main(["train", "text", str(small_text), "-o", str(out), "--device", device, *TINY]) == 2
        err = capsys.readouterr().err
        assert says in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def test_resolve_device_and_the_devices_found():
    import torch

    from guigen.core.devices import available_devices, resolve_device

    assert available_devices()[0] == "cpu"
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto") == (torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu"))


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
def test_a_signal_saves_a_resumable_checkpoint(small_text, tmp_path, signame):
    out = tmp_path / "m.safetensors"
    cmd = [sys.executable, "-m", "guigen", "train", "text", str(small_text), "-o", str(out), "--epochs", "500",
           *[a for a in TINY if a != "--quiet"]]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=_env(), cwd=tmp_path)
    err = ""
    while "model:" not in err:  # the line printed just before the first step
        line = proc.stderr.readline()
        assert line, f"training ended early: {err}"
        err += line
    time.sleep(1.0)  # a few steps
    proc.send_signal(getattr(signal, signame))
    rest = proc.communicate(timeout=60)[1]
    assert proc.returncode == 130, err + rest
    ckpt = tmp_path / "m.ckpt.safetensors"
    assert f"checkpoint saved to {ckpt}" in rest and "--resume" in rest
    from guigen.core.train import Trainer

    meta = Trainer.read_checkpoint_meta(ckpt)
    assert meta["step"] > 0 and meta["epoch"] < 500
    # it resumes: one epoch more than the checkpoint holds
    assert main(["train", "text", str(small_text), "-o", str(out), "--resume", str(ckpt),
                 "--epochs", str(meta["epoch"] + 1), *TINY]) == 0
    assert out.exists() and not (tmp_path / "m.safetensors.lock").exists()


def test_a_second_run_on_the_same_output_is_refused(small_text, tmp_path, capsys):
    from guigen.core.runlock import RunLock, lock_path_for

    out = tmp_path / "m.safetensors"
    with RunLock(out):  # this process plays the other run
        assert lock_path_for(out).read_text().strip() == str(os.getpid())
        assert main(["train", "text", str(small_text), "-o", str(out), "--epochs", "1", *TINY]) == 2
        err = capsys.readouterr().err
        assert f"pid {os.getpid()}" in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists() and not lock_path_for(out).exists()
    # a lock file left by a dead run (not locked) is taken over
    lock_path_for(out).write_text("999999\n")
    assert main(["train", "text", str(small_text), "-o", str(out), "--epochs", "1", *TINY]) == 0
    assert out.exists() and not lock_path_for(out).exists()


def test_resume_messages_say_what_to_do(small_text, tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    assert main(["train", "text", str(small_text), "-o", str(out), "--epochs", "1", *TINY]) == 0
    ckpt = str(tmp_path / "m.ckpt.safetensors")
    capsys.readouterr()
    assert main(["train", "text", str(small_text), "-o", str(out), "--resume", ckpt, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "already finished its 1 epoch" in err and "--epochs N with N > 1" in err
    assert main(["train", "text", str(small_text), "-o", str(out), "--resume", ckpt, "--hidden", "64"]) == 2
    err = capsys.readouterr().err
    assert "--hidden 64 (the checkpoint's is 24)" in err and "{" not in err, err


def test_two_gloo_processes_train_the_weights_of_one(small_text, tmp_path):
    """torchrun with 2 CPU processes, each half of the batch's streams, gives one process's weights (in
    float32: bf16 products of half the streams round differently from those of all of them)."""
    one, two = tmp_path / "one.safetensors", tmp_path / "two.safetensors"
    args = ["train", "text", str(small_text), "--epochs", "1", "--device", "cpu", "--precision", "fp32", *TINY]
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
                          "--master-port", str(29500 + os.getpid() % 1000), "-m", "guigen", *args, "-o", str(two)],
                         capture_output=True, text=True, env=_env(), cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "2 processes of 2 streams each" in run.stderr
    assert main([*args, "-o", str(one)]) == 0
    assert main(["generate", "-m", str(two), "-n", "40", "--seed", "1", "-o", str(tmp_path / "two.txt")]) == 0
    assert len((tmp_path / "two.txt").read_text(encoding="utf-8")) >= 40  # the DDP run's model generates
    w1, w2 = _weights(one), _weights(two)
    assert w1.keys() == w2.keys()
    for k in w1:
        np.testing.assert_allclose(w1[k], w2[k], atol=1e-5, rtol=0, err_msg=k)
    # the checkpoint holds the global state: one process carries on what two began
    assert main([*args, "-o", str(two), "--resume", str(tmp_path / "two.ckpt.safetensors"), "--epochs", "2"]) == 0
    from guigen.core.modelfile import read_metadata

    assert read_metadata(two)["training"]["epochs"] == 2


def test_stream_windows_match_batch_streams_and_split_by_rows():
    from guigen.core.data import batch_streams, stream_windows

    tokens = np.arange(1000)
    whole = list(batch_streams(tokens, 8, 16, offset=5))
    mine = list(stream_windows(tokens, 8, 16, offset=5))
    assert len(whole) == len(mine)
    for (x, y), (x2, y2, at) in zip(whole, mine):
        assert (x == x2).all() and (y == y2).all() and (at == x).all()
    halves = [list(stream_windows(tokens, 8, 16, 5, rows=range(r * 4, r * 4 + 4))) for r in (0, 1)]
    for k, (x, _y) in enumerate(whole):
        assert (np.concatenate([halves[0][k][0], halves[1][k][0]]) == x).all()
    skipped = list(stream_windows(tokens, 8, 16, 5, first=3))
    assert len(skipped) == len(whole) - 3 and (skipped[0][0] == whole[3][0]).all()


def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return sorted(kids)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds torchrun's processes in /proc")
def test_sigterm_to_one_of_two_processes_saves_once_and_stops_both(small_text, tmp_path):
    out = tmp_path / "m.safetensors"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
           "--master-port", str(30500 + os.getpid() % 1000), "-m", "guigen", "train", "text", str(small_text),
           "-o", str(out), "--epochs", "500", "--device", "cpu", *TINY]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=_env(), cwd=tmp_path)
    err = ""
    while "model:" not in err:
        line = proc.stderr.readline()
        assert line, f"training ended early: {err}"
        err += line
    time.sleep(1.0)
    workers = _children(proc.pid)
    assert len(workers) == 2, workers
    os.kill(workers[1], signal.SIGTERM)  # the second process only
    err += proc.communicate(timeout=60)[1]
    assert err.count("checkpoint saved to") == 1, err
    from guigen.core.train import Trainer

    assert Trainer.read_checkpoint_meta(tmp_path / "m.ckpt.safetensors")["step"] > 0
    assert not _children(proc.pid)


def test_eval_on_a_device_that_is_not_there_is_one_line(tiny_model_path, small_text, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    assert main(["eval", "-m", str(tiny_model_path), str(small_text), "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert "no CUDA GPU here" in err and len(err.strip().splitlines()) == 1
    assert main(["eval", "-m", str(tiny_model_path), str(small_text), "--device", "cpu"]) == 0


def test_precision_auto_follows_the_cpu_and_is_recorded(small_text, tmp_path, capsys):
    """--precision auto trains in bf16 on a CPU with AMX, else float32; the header says which, the model
    file records it and holds float32 weights; a precision the device can't do is one line."""
    import torch

    from guigen.core.devices import autocast_dtype, cpu_has_fast_bf16
    from guigen.core.modelfile import read_metadata

    cpu = torch.device("cpu")
    assert autocast_dtype(cpu, "auto") == (torch.bfloat16 if cpu_has_fast_bf16() else None)
    assert autocast_dtype(cpu, "fp32") is None and autocast_dtype(cpu, "bf16") == torch.bfloat16
    expected = "bf16" if cpu_has_fast_bf16() else "fp32"
    for precision, name in (("auto", expected), ("fp32", "fp32"), ("bf16", "bf16")):
        out = tmp_path / f"{precision}.safetensors"
        assert main(["train", "text", str(small_text), "-o", str(out), "--epochs", "1", "--device", "cpu",
                     "--precision", precision, *TINY]) == 0
        err = capsys.readouterr().err
        assert ("bf16 mixed precision" in err) == (name == "bf16") and ("float32)" in err) == (name == "fp32"), err
        assert read_metadata(out)["training"]["precision"] == name
        assert all(w.dtype == np.float32 for w in _weights(out).values())
        assert main(["info", "-m", str(out)]) == 0
        assert ("bf16 mixed precision" in capsys.readouterr().out) == (name == "bf16")
    assert main(["train", "text", str(small_text), "-o", str(tmp_path / "x.safetensors"), "--device", "cpu",
                 "--precision", "fp16", *TINY]) == 2
    err = capsys.readouterr().err
    assert "fp16 is for GPUs" in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "x.safetensors").exists()


def test_precision_on_a_cpu_without_amx(small_text, tmp_path, capsys, monkeypatch):
    """Without bfloat16 hardware, auto is float32, and an explicit bf16 trains with a note that it is emulated."""
    import torch

    from guigen.core import devices

    monkeypatch.setattr(devices, "cpu_has_fast_bf16", lambda: False)
    assert devices.autocast_dtype(torch.device("cpu"), "auto") is None
    for precision, note in (("auto", False), ("bf16", True)):
        out = tmp_path / f"{precision}.safetensors"
        assert main(["train", "text", str(small_text), "-o", str(out), "--epochs", "1", "--device", "cpu",
                     "--precision", precision, *TINY]) == 0
        err = capsys.readouterr().err
        assert ("float32)" in err) == (precision == "auto") and ("bf16 is emulated here" in err) == note, err


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_mixed_precision_path_trains_saves_float32_and_resumes(alice_slice, tmp_path, monkeypatch, dtype):
    """Mixed precision: bfloat16 as the CPU trains it (--precision bf16), and the GPU's float16 code (a grad
    scaler) run on the CPU's autocast."""
    import torch

    from guigen.core import train as train_module
    from guigen.core.config import ModelConfig
    from guigen.core.data import text_data
    from guigen.core.modelfile import load_model
    from guigen.core.train import EpochEnd, Trainer, TrainConfig

    if dtype == "float16":
        monkeypatch.setattr(train_module, "autocast_dtype", lambda device, precision: torch.float16)  # the CPU's LSTM has no float16 kernel: forward in bfloat16, the grad scaler as on a GPU
        monkeypatch.setattr(train_module, "autocast", lambda device, _dtype: torch.autocast("cpu", torch.bfloat16))
    data = text_data([alice_slice], val_frac=0.1)
    cfg = ModelConfig(data.codec.num_classes, embed=8, hidden=24, layers=1, dropout=0.0)
    out = tmp_path / "m.safetensors"
    precision = "bf16" if dtype == "bfloat16" else "auto"
    t = Trainer(data, cfg, TrainConfig(seq_len=32, batch=8, epochs=1, lr=1e-2, warmup=5), out, precision=precision)
    assert t.amp == getattr(torch, dtype) and (t.scaler is not None) == (dtype == "float16")
    ends = [ev for ev in t.run() if isinstance(ev, EpochEnd)]
    assert np.isfinite(ends[0].val_loss) and ends[0].val_loss < np.log(data.codec.num_classes)
    model = load_model(out)
    assert all(w.dtype == np.float32 for w in model.weights.values())
    t2 = Trainer(data, cfg, TrainConfig(seq_len=32, batch=8, epochs=2, lr=1e-2, warmup=5), out, precision=precision)
    t2.load_checkpoint(t.ckpt)
    if dtype == "float16":
        assert t2.scaler.get_scale() == t.scaler.get_scale()
    assert [ev.epoch for ev in t2.run() if isinstance(ev, EpochEnd)] == [2]


def test_a_gpu_trains_the_same_kind_of_model_file(small_text, tmp_path):
    """Runs only where there is a CUDA GPU: mixed precision, cuDNN's LSTM, and a float32 CPU model file."""
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU here")
    from guigen.core.modelfile import read_metadata

    cpu, gpu = tmp_path / "cpu.safetensors", tmp_path / "gpu.safetensors"
    assert main(["train", "text", str(small_text), "-o", str(cpu), "--epochs", "2", "--device", "cpu", *TINY]) == 0
    assert main(["train", "text", str(small_text), "-o", str(gpu), "--epochs", "2", "--device", "cuda", *TINY]) == 0
    wc, wg = _weights(cpu), _weights(gpu)
    assert {k: (v.dtype, v.shape) for k, v in wc.items()} == {k: (v.dtype, v.shape) for k, v in wg.items()}
    mc, mg = read_metadata(cpu), read_metadata(gpu)
    assert mc["config"] == mg["config"] and mc["codec"] == mg["codec"]
    assert abs(mc["training"]["val_loss"] - mg["training"]["val_loss"]) < 0.1  # bf16/fp16 rounding, not another model
    assert main(["generate", "-m", str(gpu), "-n", "20", "--seed", "1", "-o", str(tmp_path / "g.txt")]) == 0
