"""Several training processes with torch.distributed: who this process is, and the few collectives.

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; without them a run is one process and every
function here is a cheap no-op, so the trainer calls them unconditionally.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class World:
    rank: int = 0  # this process among all of them
    size: int = 1  # processes in all
    local_rank: int | None = None  # this process on its machine (torchrun only): its GPU

    @property
    def main(self) -> bool:
        """The process that writes files and talks to the user."""
        return self.rank == 0


def launched() -> World:
    """What torchrun (or another launcher setting its variables) asked of this process."""
    if "WORLD_SIZE" not in os.environ or "RANK" not in os.environ:
        return World()
    return World(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", 0)))


def start(world: World, device) -> None:
    """Join the process group: NCCL between GPUs, gloo between CPUs."""
    import torch.distributed as dist

    if world.size > 1 and not dist.is_initialized():
        if device.type == "cuda":
            import torch

            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")


def stop() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def current() -> World:
    """The world of an initialised process group, else one process."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))
    return World()


def all_agree(flag: bool, device=None, any_: bool = False) -> bool:
    """True when every process's flag is true (or, any_=True, when one is): the same answer everywhere."""
    import torch
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX if any_ else dist.ReduceOp.MIN)
    return bool(t.item() > 0.5)


def sum_all(values: list[float], device=None) -> list[float]:
    """Element-wise sums over all processes, in float64."""
    import torch
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()
