"""Files for dragging out of the window (a take, a variation, the piano roll's music) into a DAW or
a file manager: each drag gets a folder of its own, so the file keeps the take's plain name (what
the DAW shows as the clip's name) and never replaces the file of an earlier drag, which the DAW may
still be reading or refer to.

The folders live under one folder of this user's in the temporary folder; those older than a day
are removed when the app starts (not at quit: a DAW that refers to a dropped file rather than
copying it reads it after the drag, and maybe after the app has quit).
"""

from __future__ import annotations

import getpass
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

KEEP_S = 24 * 3600  # a drag's folder is removed at the first start after this long


def root() -> Path:
    """This user's folder of drag folders (per user: another user's folder in /tmp is not ours)."""
    uid = os.getuid() if hasattr(os, "getuid") else getpass.getuser()
    return Path(tempfile.gettempdir()) / f"guigen-drag-{uid}"


def new_path(name: str, suffix: str) -> Path:
    """Where to write the file of one drag: `name` + `suffix` in a new folder of its own."""
    top = root()
    top.mkdir(mode=0o700, exist_ok=True)
    folder = tempfile.mkdtemp(prefix=time.strftime("%Y%m%d-%H%M%S-"), dir=top)
    safe = re.sub(r'[\x00-\x1f/\\:*?"<>|]+', "_", name).strip(". ") or "guigen"  # a name every file system takes
    return Path(folder) / f"{safe[:120]}{suffix}"


def clean_old(now: float | None = None, keep_s: float = KEEP_S) -> int:
    """Remove the drag folders older than `keep_s` (at the app's start); how many were removed."""
    top = root()
    if not top.is_dir():
        return 0
    now = time.time() if now is None else now
    removed = 0
    for folder in top.iterdir():
        try:
            if folder.is_dir() and now - folder.stat().st_mtime > keep_s:
                shutil.rmtree(folder)
                removed += 1
        except OSError:  # in use or gone meanwhile: the next start tries again
            continue
    return removed
