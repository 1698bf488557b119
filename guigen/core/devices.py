"""Which torch device training and evaluation run on, and the mixed precision that suits it.

Only training and `guigen eval` use these; generation stays on the NumPy path whatever the
device, and a model file is the same whichever device trained it (float32 CPU tensors).
"""

from __future__ import annotations

import contextlib
import re

DEVICE_CHOICES = "auto|cpu|cuda|cuda:N|mps"


# How long an OpenMP thread spins before it sleeps, between the small parallel products of a CPU
# training step (benchmarks/openmp_wait.py). libgomp's default spin (300,000) makes training ten
# times slower when another program wants a core; never spinning (OMP_WAIT_POLICY=PASSIVE) wakes a
# sleeping thread for every product, 1.4-1.6x slower on an idle machine. A short spin is near the
# best of both.
SPIN_COUNT = 1000


def set_openmp_waiting() -> None:
    """A short OpenMP spin before sleeping, unless the user chose a policy. Call before torch loads."""
    import os

    if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
        os.environ["GOMP_SPINCOUNT"] = str(SPIN_COUNT)


class DeviceError(ValueError):
    """A device that was asked for is not there; the message says which ones are."""


def available_devices() -> list[str]:
    """The devices torch can use on this machine, CPU first: ["cpu", "cuda:0", ..., "mps"]."""
    import torch

    found = ["cpu"]
    if torch.cuda.is_available():
        found += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return found


def resolve_device(spec: str | None = "auto", local_rank: int | None = None):
    """A torch.device for auto|cpu|cuda|cuda:N|mps, or DeviceError naming what this machine has.

    auto is CUDA when present, else the CPU (MPS is used only when asked for: its LSTM is slower
    than the CPU's on many Macs). Under torchrun, `cuda` and `auto` mean this process's GPU,
    cuda:LOCAL_RANK.
    """
    import torch

    spec = (spec or "auto").strip().lower()
    if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", spec):
        raise DeviceError(f"--device must be one of {DEVICE_CHOICES}, not {spec!r}")
    have = ", ".join(available_devices())
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise DeviceError(f"--device mps: no Apple GPU (MPS) here; this machine has: {have}")
        return torch.device("mps")
    if not torch.cuda.is_available():
        raise DeviceError(f"--device {spec}: no CUDA GPU here (torch {torch.__version__}, "
                          f"built {'with' if torch.version.cuda else 'without'} CUDA); this machine has: {have}")
    count = torch.cuda.device_count()
    if spec == "cuda":
        index = local_rank or 0
    else:
        index = int(spec.split(":")[1])
        if local_rank is not None:
            raise DeviceError(f"--device {spec}: with several processes each takes its own GPU (cuda:LOCAL_RANK); "
                              "pass --device cuda")
    if index >= count:
        raise DeviceError(f"--device {spec}: this machine has {count} CUDA GPU(s): {have}"
                          + (f" (process {local_rank} of torchrun needs cuda:{index})" if local_rank else ""))
    return torch.device("cuda", index)


PRECISION_CHOICES = ("auto", "fp32", "bf16", "fp16")


def cpu_has_fast_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 matrices in hardware (Intel AMX): there bf16 training is
    about twice as fast as float32 (benchmarks/training_speed.py). Elsewhere bf16 is emulated, slower."""
    import torch

    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)  # private, so looked up with care
    try:
        return bool(probe()) if probe is not None else False
    except Exception:  # noqa: BLE001 - an unknown CPU is not a fast one
        return False


def autocast_dtype(device, precision: str = "auto"):
    """The mixed precision of a training step: torch.bfloat16, torch.float16 or None (float32).

    auto: bfloat16 on GPUs that have it, else float16 (with a grad scaler); bfloat16 on CPUs that
    multiply it in hardware (AMX), else float32; float32 on MPS. An explicit choice the device
    can't do is a DeviceError.
    """
    import torch

    if precision not in PRECISION_CHOICES:
        raise DeviceError(f"--precision must be one of {'|'.join(PRECISION_CHOICES)}, not {precision!r}")
    kind = device.type
    if precision == "fp32":
        return None
    if precision == "auto":
        if kind == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.bfloat16 if kind == "cpu" and cpu_has_fast_bf16() else None
    if kind == "mps":
        raise DeviceError(f"--precision {precision}: GuiGen trains in float32 on MPS; use --precision fp32")
    if kind == "cuda" and precision == "bf16" and not torch.cuda.is_bf16_supported():
        raise DeviceError(f"--precision bf16: {torch.cuda.get_device_name(device)} has no bfloat16; use fp16 or fp32")
    if kind == "cpu" and precision == "fp16":
        raise DeviceError("--precision fp16 is for GPUs; on the CPU use bf16 (fast on CPUs with AMX) or fp32")
    return torch.bfloat16 if precision == "bf16" else torch.float16


def precision_name(dtype) -> str:
    """fp32, bf16 or fp16: what the --precision option calls a dtype from autocast_dtype."""
    import torch

    return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[dtype]


def autocast(device, dtype):
    """The autocast context for a forward pass: lower precision matmuls (cuDNN's LSTM included)."""
    import torch

    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def describe(device, dtype, threads: int | None = None) -> str:
    """Where and how a run trains, in words: 'cpu (2 threads, bf16 mixed precision)'."""
    import torch

    parts = []
    if device.type == "cuda":
        parts.append(torch.cuda.get_device_name(device))
    if threads:
        parts.append(f"{threads} thread{'' if threads == 1 else 's'}")
    parts.append(f"{precision_name(dtype)} mixed precision" if dtype is not None else "float32")
    return f"{device} ({', '.join(parts)})"
