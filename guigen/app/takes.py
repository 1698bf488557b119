"""Takes: every sample the app makes (a Generate, a variation, a harmonisation), kept on disk as it
is made, so nothing liked is lost to a model switch, a training run, a quit or a crash.

One folder per session under the user data folder (guigen/takes/<date-time>-<pid>/); each take is
its notes (.mid) or text (.txt) plus a JSON of model, temperature, top-k/p, seed and primer, both
written atomically, the JSON last: a take is there once its JSON is, so a kill -9 loses at most the
take being written. A deleted take moves to the session's deleted/ folder until undone. Plain
Python (no Qt): the app's take list (guigen.app.take_panel) is a view on it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from guigen.core.files import atomic_write_bytes, atomic_write_text

DELETED = "deleted"


def default_root() -> Path:
    from platformdirs import user_data_path

    return user_data_path("guigen") / "takes"


@dataclass
class Take:
    name: str  # model-T0.8-seed3 (-vN for a variation): what the user sees, and may rename
    kind: str  # "music" or "text"
    model: str  # the model's name
    model_ref: str = ""  # the name or path it was loaded by (to continue from the take with it)
    temperature: float | None = None
    top_k: int = 0
    top_p: float = 1.0
    seed: int | None = None
    primer: str = ""  # the primer as given: pitches, a MIDI file's path, or text
    source: str = "generate"  # generate, variation or harmonisation
    starred: bool = False
    created: float = field(default_factory=time.time)
    file: str = ""  # the notes or text, beside the JSON
    size: str = ""  # "8 bars", "500 characters": for the list
    folder: Path | None = field(default=None, compare=False)  # the session folder; not written

    @property
    def path(self) -> Path:
        return self.folder / self.file

    @property
    def json_path(self) -> Path:
        return self.folder / f"{Path(self.file).stem}.json"

    def to_json(self) -> str:
        d = asdict(self)
        d.pop("folder")
        return json.dumps(d, indent=1)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", name)[:80] or "take"


class TakeStore:
    """The takes of this session (a folder made on the first take) and of the sessions before."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root is not None else default_root()
        self.session = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"
        self._count = 0

    @property
    def folder(self) -> Path:
        return self.root / self.session

    def add(self, take: Take, data, suffix: str) -> Take:
        """Write a new take: its data, then its JSON (each atomically). Returns it with its file set."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._count += 1
        take.folder = self.folder
        take.file = f"{self._count:03d}-{_safe(take.name)}{suffix}"
        self._write_data(take, data)
        atomic_write_text(take.json_path, take.to_json())
        return take

    def replace(self, take: Take, data) -> None:
        """The take grew (more was generated, or some undone): its data and JSON anew."""
        self._write_data(take, data)
        self.save(take)

    def save(self, take: Take) -> None:
        """Its JSON anew (renamed, starred)."""
        atomic_write_text(take.json_path, take.to_json())

    @staticmethod
    def _write_data(take: Take, data) -> None:
        """data: text, bytes, or a function that writes the file at the path it is given, atomically."""
        if callable(data):
            data(take.path)
        elif isinstance(data, str):
            atomic_write_text(take.path, data)
        else:
            atomic_write_bytes(take.path, data)

    def delete(self, take: Take) -> None:
        """Into the session's deleted/ folder, from where undelete() brings it back."""
        bin_ = take.folder / DELETED
        bin_.mkdir(exist_ok=True)
        for p in (take.path, take.json_path):
            if p.exists():
                os.replace(p, bin_ / p.name)

    def undelete(self, take: Take) -> None:
        bin_ = take.folder / DELETED
        for p in (take.path, take.json_path):  # the data first: the JSON makes it a take again
            if (bin_ / p.name).exists():
                os.replace(bin_ / p.name, p)

    def sessions(self) -> list[tuple[str, list[Take]]]:
        """(session, its takes in order made) for every session on disk, newest first. A take whose
        JSON is broken or whose data is missing is left out."""
        if not self.root.is_dir():
            return []
        out = []
        for folder in sorted((p for p in self.root.iterdir() if p.is_dir()), reverse=True):
            takes = []
            for j in sorted(folder.glob("*.json")):
                try:
                    d = json.loads(j.read_text(encoding="utf-8"))
                    known = {k: d[k] for k in Take.__dataclass_fields__ if k in d and k != "folder"}
                    take = Take(**known, folder=folder)
                except (OSError, ValueError, TypeError):
                    continue
                if take.file and take.path.is_file():
                    takes.append(take)
            if takes:
                out.append((folder.name, takes))
        return out

    def copy_to(self, take: Take, dest: Path) -> Path:
        """The take's file, copied to `dest` (an export or a drag-out)."""
        data = take.path.read_bytes()
        atomic_write_bytes(dest, data)
        return Path(dest)


def purge_deleted(store: TakeStore) -> None:
    """Empty this session's deleted/ folder (at quit: undo ends with the session)."""
    shutil.rmtree(store.folder / DELETED, ignore_errors=True)
