"""Why a GUI timer tick came late: the GUI thread's own CPU time in the gap (busy, or waiting for a
CPU?) and what Python it was running meanwhile (its stack sampled from another thread every
millisecond). Used by app_speed.py's --why-late. And the thread's time slice (--gui-slice): Linux's
fair scheduler (EEVDF) lets a task ask for its own slice since 6.12 (sched_setattr's sched_runtime,
no privilege needed); a waking task with a shorter one preempts sooner."""

from __future__ import annotations

import collections
import ctypes
import os
import platform
import sys
import threading
import time

OURS = ("guigen", "pyqtgraph", "benchmarks")  # frames worth naming in a stack


class StackSampler(threading.Thread):
    """Samples the main thread's Python stack every `period_s` (it needs the GIL, so a stretch of
    C++ that holds it is seen at the Python frame that called it, when it returns)."""

    def __init__(self, period_s: float = 0.001):
        super().__init__(name="late-ticks-sampler", daemon=True)
        self.period_s = period_s
        self.main = threading.main_thread().ident
        self.samples: list[tuple[float, tuple]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(self.period_s):
            frame = sys._current_frames().get(self.main)
            stack = []
            while frame is not None and len(stack) < 4:
                path = frame.f_code.co_filename
                if any(part in path for part in OURS):
                    stack.append(f"{path.rsplit('/', 1)[-1]}:{frame.f_code.co_name}")
                frame = frame.f_back
            self.samples.append((time.perf_counter(), tuple(stack)))

    def stop(self) -> None:
        self.halt.set()
        self.join()


def explain(ticks: list[float], cpu: list[float], samples, over_ms: float, limit: int = 8) -> list[str]:
    """A line for each gap between ticks more than `over_ms` late (the worst `limit`): its lateness,
    the GUI thread's CPU in it, and the innermost frames of ours sampled in it, commonest first."""
    gaps = [(b - a - 0.010, i) for i, (a, b) in enumerate(zip(ticks, ticks[1:])) if (b - a - 0.010) * 1e3 > over_ms]
    lines = []
    for late, i in sorted(gaps, reverse=True)[:limit]:
        t0, t1 = ticks[i], ticks[i + 1]
        busy = (cpu[i + 1] - cpu[i]) * 1e3
        seen = collections.Counter(s for t, s in samples if t0 <= t <= t1)
        total = sum(seen.values())
        where = "; ".join(f"{n}x {' < '.join(s) if s else '(outside our code: Qt event loop)'}"
                          for s, n in seen.most_common(3))
        lines.append(f"      {late * 1e3:6.1f} ms late at +{t0 - ticks[0]:5.2f} s: GUI thread CPU {busy:5.1f} ms; "
                     f"{total} samples: {where or 'none (the sampler got no turn)'}")
    return lines


SYSCALLS = {"x86_64": (314, 315), "aarch64": (274, 275)}  # sched_setattr, sched_getattr


class _Attr(ctypes.Structure):
    _fields_ = [("size", ctypes.c_uint32), ("policy", ctypes.c_uint32), ("flags", ctypes.c_uint64),
                ("nice", ctypes.c_int32), ("priority", ctypes.c_uint32), ("runtime", ctypes.c_uint64),
                ("deadline", ctypes.c_uint64), ("period", ctypes.c_uint64)]


def _libc():
    if not sys.platform.startswith("linux") or platform.machine() not in SYSCALLS:
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def slice_s() -> float | None:
    """The calling thread's time slice in seconds, or None where it cannot be read."""
    libc = _libc()
    if libc is None:
        return None
    attr = _Attr()
    if libc.syscall(SYSCALLS[platform.machine()][1], 0, ctypes.byref(attr), ctypes.sizeof(attr), 0) != 0:
        return None
    return attr.runtime / 1e9 if attr.policy == 0 else None


def set_slice(seconds: float) -> bool:
    """Ask for this time slice for the calling thread (0: the kernel's default); True if taken.
    Only a thread of the normal policy is changed (a real-time one is left as it is)."""
    libc = _libc()
    if libc is None or slice_s() is None:
        return False
    attr = _Attr(size=ctypes.sizeof(_Attr), policy=0, nice=os.getpriority(os.PRIO_PROCESS, 0),
                 runtime=int(seconds * 1e9))
    return libc.syscall(SYSCALLS[platform.machine()][0], 0, ctypes.byref(attr), 0) == 0
