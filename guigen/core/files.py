"""Safe file writes: checked before any work, atomic, regular files only, symlinks followed.

A file is either the old one or the complete new one, never half of each: it is written to a
hidden `.NAME.PID.XXXX.part` beside it, flushed, then renamed over it. Only regular files are
written: a device node, FIFO, socket or folder in the way is refused (even with --force), so
`-o /dev/null` can never replace /dev/null. A symlink is followed: its target is replaced and
the link kept. Part files left by killed runs are removed at the next write to the same file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
import tempfile
import time
from pathlib import Path

STALE_PART_SECONDS = 60  # a part file untouched this long, whose writer is gone, is a leftover
ABANDONED_PART_SECONDS = 24 * 3600  # untouched this long: a leftover whatever its pid says (pids get reused)
SPACE_MARGIN = 1 << 20  # keep this much free beyond the estimate
PROBE = "guigen-probe"  # check_output's test file: .guigen-probe.PID.XXXXXXXX.part, removed at once
_PART_TAIL = re.compile(r"(?:(\d+)\.)?[a-z0-9_]{8}\.part")  # after ".NAME.": "PID.XXXXXXXX.part" (mkstemp's 8)


def describe_os_error(e: OSError) -> str:
    """One line naming the path(s) and the reason: 'out.txt: Permission denied'."""
    reason = e.strerror or str(e)
    if e.filename is None:
        return reason if e.strerror else str(e)
    names = f"{e.filename} -> {e.filename2}" if e.filename2 is not None else str(e.filename)
    return f"{names}: {reason}"


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def real_target(path: str | os.PathLike) -> Path:
    """The file a write to `path` lands in: a symlink's final target (the link itself is kept)."""
    path = Path(path)
    if not path.is_symlink():
        return path
    try:
        path.stat()
    except FileNotFoundError:
        pass  # a dangling link: its target is created
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise OSError(errno.ELOOP, "symbolic link loop", str(path)) from None
        raise
    return Path(os.path.realpath(path))


def _existing_ancestor(path: Path) -> Path:
    """The nearest folder above `path` that exists; raise NotADirectoryError if a file is in the way."""
    parent = path.parent
    while True:
        try:
            st = parent.stat()
        except (FileNotFoundError, NotADirectoryError):  # the latter: a file further up, found next
            if parent == parent.parent:
                raise
            parent = parent.parent
            continue
        if not stat.S_ISDIR(st.st_mode):
            raise NotADirectoryError(errno.ENOTDIR, f"{parent} is a file, not a folder", str(path))
        return parent


def check_output(path: str | os.PathLike, overwrite: bool = False, size_estimate: int = 0) -> Path:
    """Check that `path` can be written, before any work is done; return the file to write.

    Refuses (OSError / FileExistsError, one line each) a path whose target is a folder, device,
    FIFO or socket, an existing file without `overwrite`, a parent that is a file, a folder that
    can't be written, and a disk with less free space than `size_estimate` bytes. Missing folders
    are fine: the write creates them.
    """
    target = real_target(path)
    try:
        st = target.stat()
    except (FileNotFoundError, NotADirectoryError):
        st = None  # NotADirectoryError: a file in the way, named below
    if st is not None:
        if not stat.S_ISREG(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", str(path)) if stat.S_ISDIR(st.st_mode) \
                else OSError(errno.EINVAL, f"is {_kind(st.st_mode)}; GuiGen writes regular files only", str(path))
        refuse_overwrite(path, overwrite)
    folder = _existing_ancestor(target)
    _probe(folder)
    if size_estimate:
        free = shutil.disk_usage(folder).free + (st.st_size if st is not None else 0)
        if size_estimate + SPACE_MARGIN > free:
            raise OSError(errno.ENOSPC, f"needs about {_mb(size_estimate + SPACE_MARGIN)} (the file and 1 MB to "
                          f"spare) but {folder} has {_mb(free)} free", str(path))
    return target


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _probe(folder: Path) -> None:
    """Create and remove a part file in `folder`: proves it can be written (read-only disks, permissions)."""
    fd, tmp = _mkstemp(f".{PROBE}.{os.getpid()}.", folder)
    os.close(fd)
    os.unlink(tmp)


def _mkstemp(prefix: str, folder: Path) -> tuple[int, str]:
    """mkstemp, whose errors name the folder (the user's) rather than the random part file's name."""
    try:
        return tempfile.mkstemp(prefix=prefix, suffix=".part", dir=folder)
    except OSError as e:
        raise OSError(e.errno, f"can't create a file in this folder ({e.strerror})", str(folder)) from None


# -- reading -------------------------------------------------------------------------------------
def open_regular(path: str | os.PathLike, what: str = "file"):
    """Open a regular file for reading (binary); never wait on a FIFO. OSError naming what is there otherwise."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))  # a FIFO would block here
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise OSError(errno.EISDIR if stat.S_ISDIR(mode) else errno.EINVAL, f"is {_kind(mode)}, not a {what}", str(path))
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def why_not_a_file(path: str | os.PathLike, what: str = "file") -> str:
    """Why `path` can't be read as a `what`, in a few words: 'no such file', 'a folder, not a text file'..."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        missing = "no such file or folder" if "folder" in what else "no such file"
        return "a broken symbolic link" if os.path.islink(path) else missing
    except OSError as e:
        return "a symbolic link loop" if e.errno == errno.ELOOP else (e.strerror or str(e))
    return "a regular file" if stat.S_ISREG(mode) else f"{_kind(mode)}, not a {what}"


def refuse_overwrite(path: str | os.PathLike, overwrite: bool) -> None:
    """Raise FileExistsError unless the path is free or the caller said it may be replaced."""
    if not overwrite and Path(path).exists():
        raise FileExistsError(f"{path} exists; not overwriting it (use --force to replace it)")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def remove_stale_parts(path: str | os.PathLike) -> list[Path]:
    """Remove `.NAME.*.part` files a killed write to `path` left behind; return those removed.

    A part file goes when it has not been touched for a minute and the process named in it is
    gone (or a day has passed: pids are reused). A write in progress keeps touching its file,
    and its process lives, so a concurrent writer's part file is never taken.
    """
    path = Path(path)
    removed, now = [], time.time()
    try:
        candidates = [(p, path.name) for p in path.parent.glob(f".{_glob_escape(path.name)}.*.part")]
        candidates += [(p, PROBE) for p in path.parent.glob(f".{PROBE}.*.part")]  # check_output's, if killed
    except OSError:
        return removed
    for part, name in candidates:
        match = _PART_TAIL.match(part.name[len(name) + 2:])
        if match is None:
            continue  # the part file of another name that starts like this one
        try:
            age = now - part.lstat().st_mtime
        except OSError:
            continue
        pid = int(match[1]) if match[1] else None  # None: written before part files named their pid
        gone = pid is None or not _pid_alive(pid)
        if (gone and age > STALE_PART_SECONDS) or age > ABANDONED_PART_SECONDS:
            with contextlib.suppress(OSError):
                part.unlink()
                removed.append(part)
    return removed


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside `path`'s target; on success it replaces the target in one rename."""
    target = real_target(path)
    with contextlib.suppress(FileNotFoundError):
        st = target.stat()
        if not stat.S_ISREG(st.st_mode):  # never replace a device node, FIFO, socket or folder
            raise OSError(errno.EINVAL, f"is {_kind(st.st_mode)}; GuiGen writes regular files only", str(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(target)
    fd, tmp = _mkstemp(f".{target.name}.{os.getpid()}.", target.parent)
    os.close(fd)
    try:
        mode = stat.S_IMODE(target.stat().st_mode)  # a replaced file keeps its permissions
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask  # mkstemp makes 0600; a saved file should look like any other
    os.chmod(tmp, mode)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as f:  # flush to disk before the rename makes it visible
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(e, OSError) and e.errno and e.filename in (None, tmp, str(tmp)):
            # a full disk or an I/O error while writing: name the user's file, not the hidden part file
            raise OSError(e.errno, e.strerror or str(e), str(path)) from e
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def output_paths(output: Path, count: int) -> list[Path]:
    """out.txt, or out_1.txt ... out_N.txt when there are several outputs."""
    output = Path(output)
    if count == 1:
        return [output]
    return [output.with_name(f"{output.stem}_{i}{output.suffix}") for i in range(1, count + 1)]


def free_name(stem: str, suffix: str, count: int = 1, folder: Path = Path(".")) -> Path:
    """`stem.mid`, else `stem-2.mid`, `stem-3.mid`...: the first whose output file(s) all are free."""
    n = 1
    while True:
        base = folder / (f"{stem}{suffix}" if n == 1 else f"{stem}-{n}{suffix}")
        if not any(os.path.lexists(p) for p in output_paths(base, count)):
            return base
        n += 1


# -- outputs never replace inputs -------------------------------------------------------------------
def _identity(path) -> tuple[str, tuple[int, int] | None]:
    """(resolved path, (st_dev, st_ino) of the file there or None): what two names of one file share."""
    real = os.path.realpath(path)
    try:
        st = os.stat(path)
        return real, (st.st_dev, st.st_ino)
    except OSError:
        return real, None


def refuse_inputs(outputs, inputs) -> None:
    """Raise ValueError when an output names an input file, by any path, hard link or symlink.

    outputs and inputs: (option, path) pairs; a path None or '-' (stdout/stdin) is left out. Checked
    with and without --force alike: an output never replaces what the run reads.
    """
    named = [(opt, p, *_identity(p)) for opt, p in inputs if p is not None and str(p) != "-"]
    for out_opt, out in outputs:
        if out is None or str(out) == "-":
            continue
        real, ident = _identity(out)
        for in_opt, path, in_real, in_ident in named:
            if real == in_real or (ident is not None and ident == in_ident):
                same = "is" if real == in_real else "is a link to"
                raise ValueError(f"{out_opt} {out} {same} the input {in_opt} {path}; an output never replaces "
                                 "an input (give another name)")


def folder_inputs(folder) -> list[Path]:
    """The files a prepared folder's readers use: manifest.json and its shards (for refuse_inputs)."""
    folder = Path(folder)
    try:
        return [folder / "manifest.json", *sorted(folder.glob("shard-*.npy"))]
    except OSError:
        return []


STDOUT = "standard output"  # the name an OSError on stdout carries


@contextlib.contextmanager
def stdout_errors():
    """Name standard output in the OSErrors raised while writing it (a full disk, a closed pipe)."""
    try:
        yield
    except OSError as e:
        if e.filename is None:
            e.filename = STDOUT
        raise
