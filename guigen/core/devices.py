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


def autocast_dtype(device):
    """bfloat16 on GPUs that have it, else float16 (with a grad scaler); None (float32) elsewhere."""
    import torch

    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(device, dtype):
    """The autocast context for a forward pass: lower precision matmuls (cuDNN's LSTM included)."""
    import torch

    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def describe(device, dtype) -> str:
    import torch

    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        return f"{device} ({name}, {str(dtype).removeprefix('torch.')} mixed precision)"
    return str(device)
