"""One training run per output: an exclusive lock on a file beside the model (OUT.lock, holding the pid).

flock() locks go away with the process that held them, however it ended, so a lock file left
by a killed run is not a lock: the next run takes it over. The lock covers the model and its
checkpoint, whose path is derived from the model's.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock; runs are not locked there
    fcntl = None


class LockedError(Exception):
    """Another run holds the lock; the message names it."""


def lock_path_for(out: Path) -> Path:
    return Path(out).with_name(Path(out).name + ".lock")


class RunLock:
    """Hold with `with RunLock(out):` or acquire()/release(); raises LockedError if another run has it."""

    def __init__(self, out: Path):
        self.out, self.path = Path(out), lock_path_for(out)
        self.fd: int | None = None

    def acquire(self) -> RunLock:
        if fcntl is None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 64).decode("ascii", "replace").strip() or "unknown"
                os.close(fd)
                raise LockedError(f"{self.out} is being trained by another run (pid {holder}); wait for it to "
                                  f"finish or stop it (its lock: {self.path})") from None
            # the holder before us may have removed the file after we opened it: lock the file that is there
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)  # while still held, so no one locks a file about to vanish
        os.close(self.fd)  # closing releases the lock
        self.fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
