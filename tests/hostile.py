"""Running the real `guigen` command on hostile input: its exit status, its stderr, how long it took
and the peak memory of its process tree (resource.getrusage, reported by the child itself at exit).

The time bound is a hang detector, not a timing test: generous, so a loaded machine passes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HANG_SECONDS = 45  # far above any case's real time (1-5 s); only a hang or a quadratic blow-up passes it
PEAK_MB = 400  # the bound: music21 and numpy loaded, the input read, nothing more

# The child reports its peak RSS at exit: its own VmHWM (ru_maxrss would count the pytest process it
# was forked from: Linux keeps the high-water mark across fork and exec), and ru_maxrss of the
# processes it waited for (prepare's workers, forked from it).
_WRAPPER = """
import atexit, os, resource, sys
def _peak():
    with open("/proc/self/status") as f:
        own = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    kb = max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    with open(os.environ["GUIGEN_TEST_PEAK"], "w") as f:
        f.write(str(kb))
atexit.register(_peak)
from guigen.cli import main
sys.exit(main(sys.argv[1:]))
"""


@dataclass
class Run:
    rc: int
    out: bytes
    err: str
    seconds: float
    peak_mb: float

    @property
    def lines(self) -> list[str]:
        return self.err.splitlines()


def run(args, cwd: Path, timeout: float = HANG_SECONDS, stdin=subprocess.DEVNULL) -> Run:
    peak = Path(cwd) / ".peak"
    env = {**os.environ, "GUIGEN_TEST_PEAK": str(peak), "QT_QPA_PLATFORM": "offscreen"}
    env.pop("GUIGEN_TRACEBACK", None)
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", _WRAPPER, *map(str, args)], cwd=cwd, env=env, stdin=stdin,
                       capture_output=True, timeout=timeout)
    seconds = time.perf_counter() - t0
    kb = int(peak.read_text()) if peak.exists() else 0
    peak.unlink(missing_ok=True)
    return Run(p.returncode, p.stdout, p.stderr.decode("utf-8", "replace"), seconds, kb / 1024)


def refused(r: Run, *words: str) -> str:
    """Assert the run was refused as the project promises: exit 2, one line on stderr, no traceback,
    in bounded time and memory; returns the line. `words` must appear in it."""
    assert r.rc == 2, (r.rc, r.err[-2000:])
    assert len(r.lines) == 1, r.err[-2000:]
    line = r.lines[0]
    assert "Traceback" not in r.err and "internal error" not in line, line
    assert "\x1b" not in r.err and "\x00" not in r.err and "\u202e" not in r.err, repr(line)
    for w in words:
        assert w in line, (w, line)
    assert r.peak_mb < PEAK_MB, (r.peak_mb, line)
    return line


def bounded(r: Run) -> None:
    """A run that may succeed or refuse, but within the time and memory bounds and without a traceback."""
    assert "Traceback" not in r.err and "internal error" not in r.err, r.err[-2000:]
    assert r.rc in (0, 2), (r.rc, r.err[-2000:])
    assert r.peak_mb < PEAK_MB, r.peak_mb


def snapshot(path: Path) -> tuple:
    """What a file outside the test's folder looks like: its bytes, size and times (unchanged after a run)."""
    st = path.stat()
    return path.read_bytes(), st.st_size, st.st_mtime_ns, st.st_ino
