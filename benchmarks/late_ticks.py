"""Why a GUI timer tick came late: the GUI thread's own CPU time in the gap (busy, or waiting for a
CPU?) and what Python it was running meanwhile (its stack sampled from another thread every
millisecond). Used by app_speed.py's --why-late."""

from __future__ import annotations

import collections
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
