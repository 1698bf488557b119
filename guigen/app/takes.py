"""Takes: every sample the app makes (a Generate, a variation, a harmonisation), kept on disk as it
is made, so nothing liked is lost to a model switch, a training run, a quit or a crash.

One folder per session under the user data folder (guigen/takes/<date-time>-<pid>/); each take is
its notes (.mid) or text (.txt) plus a JSON of model, temperature, top-k/p, seed and primer, both
written atomically, the JSON last: a take is there once its JSON is. A deleted take moves to the
session's deleted/ folder until undone. Plain Python (no Qt): the app's take list
(guigen.app.take_panel) is a view on it.

Writing a long piece (its voices split into tracks, each file flushed to disk) takes the GUI tens
of milliseconds, so the app hands the window's takes to a writer thread (`pending`): at once it
writes only the take's JSON holding what the take is (its notes or text), without waiting on the
disk, which a kill -9 cannot undo; the thread then writes the file and the JSON without it, each
atomically and flushed. A take whose JSON still holds its content when the session is read again
(the app was killed in between) gets its file written from it then.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import sys
import threading
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
    unfinished: bool = False  # saved while still being generated: cut short if the app ended then
    folder: Path | None = field(default=None, compare=False)  # the session folder; not written

    @property
    def path(self) -> Path:
        return self.folder / self.file

    @property
    def json_path(self) -> Path:
        return self.folder / f"{Path(self.file).stem}.json"

    def to_json(self, pending: dict | None = None) -> str:
        d = asdict(self)
        d.pop("folder")
        if pending is not None:  # what the take holds, until its file is written (see TakeStore.add)
            d["pending"] = pending
            return json.dumps(d, separators=(",", ":"))  # one line: json's C encoder (indent is its slow one)
        return json.dumps(d, indent=1)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", name)[:80] or "take"


class TakeStore:
    """The takes of this session (a folder made on the first take) and of the sessions before."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root is not None else default_root()
        self.session = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"
        self._count = 0
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()  # writes the writer thread has still to do
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # a take's JSON: the window's quick write or the thread's last one
        self._latest: dict[str, int] = {}  # per take file: the newest write asked for
        self._writes = 0

    @property
    def folder(self) -> Path:
        return self.root / self.session

    def add(self, take: Take, data, suffix: str, pending: dict | None = None, later: bool = False) -> Take:
        """Write a new take: its data, then its JSON (each atomically). Returns it with its file set.
        pending: what the take holds, as JSON (see write_pending): the writing is left to the writer
        thread, and the call returns once the JSON holding it is written. later: all of it left to
        the writer thread, this thread writing nothing (a take saved now and then while it is
        generated: a kill loses what came since the last save)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._count += 1
        take.folder = self.folder
        take.file = f"{self._count:03d}-{_safe(take.name)}{suffix}"
        self._write(take, data, pending, later)
        return take

    def replace(self, take: Take, data, pending: dict | None = None, later: bool = False) -> None:
        """The take grew (more was generated, or some undone): its data and JSON anew."""
        self._write(take, data, pending, later)

    def save(self, take: Take) -> None:
        """Its JSON anew (renamed, starred)."""
        self.flush()
        atomic_write_text(take.json_path, take.to_json())

    def _write(self, take: Take, data, pending, later: bool) -> None:
        if later:
            self._enqueue(take, data)
            return
        if pending is None:
            self._write_data(take, data)
            atomic_write_text(take.json_path, take.to_json())
            return
        self._enqueue(take, data, take.to_json(pending))

    def _enqueue(self, take: Take, data, quick: str | None = None) -> None:
        """The writer thread writes the take's file, then its JSON (as it is now); `quick`, a JSON
        holding the take's content, is written here first (one lock with the count, so the thread's
        write of an older version never replaces it)."""
        with self._lock:
            self._writes += 1
            n = self._latest[take.file] = self._writes
            if quick is not None:
                # a kill -9 cannot undo a write() that returned, nor the rename: the take is there from now on
                tmp = take.json_path.with_name(f".{take.json_path.name}.quick")
                tmp.write_text(quick, encoding="utf-8")
                os.replace(tmp, take.json_path)
        self._jobs.put((take, data, n, take.to_json()))
        if self._thread is None:
            self._thread = threading.Thread(target=self._writer, name="guigen-takes", daemon=True)
            self._thread.start()

    def _writer(self) -> None:
        """The writer thread: each take's file, then its JSON without the content, unless a newer
        write of the same take came meanwhile (its JSON holds the newer content: it stays)."""
        while True:
            job = self._jobs.get()
            if isinstance(job, threading.Semaphore):  # flush(): everything before it is written
                job.release()
                continue
            take, data, n, text = job
            try:
                if self._latest.get(take.file) == n:
                    self._write_data(take, data)
                    _replace_json(take.json_path, text, lambda: self._latest.get(take.file) == n, self._lock)
            except (OSError, ValueError) as e:  # its JSON still holds it: written at the next start
                print(f"guigen: could not write the take {take.path}: {e}", file=sys.stderr)

    def flush(self) -> None:
        """Wait until the writer thread has written every take asked for (deleting, copying, quitting)."""
        if self._thread is not None:
            done = threading.Semaphore(0)
            self._jobs.put(done)
            done.acquire()

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
        self.flush()
        bin_ = take.folder / DELETED
        bin_.mkdir(exist_ok=True)
        for p in (take.path, take.json_path):
            if p.exists():
                os.replace(p, bin_ / p.name)

    def undelete(self, take: Take) -> None:
        self.flush()
        bin_ = take.folder / DELETED
        for p in (take.path, take.json_path):  # the data first: the JSON makes it a take again
            if (bin_ / p.name).exists():
                os.replace(bin_ / p.name, p)

    def sessions(self) -> list[tuple[str, list[Take]]]:
        """(session, its takes in order made) for every session on disk, newest first. A take whose
        JSON is broken or whose data is missing is left out."""
        self.flush()  # what this session asked to write is on disk
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
                    if "pending" in d and folder.name != self.session:  # killed before its file was written
                        write_pending(take.path, d["pending"])
                        atomic_write_text(j, take.to_json())
                except (OSError, ValueError, TypeError, KeyError):
                    continue
                if take.file and take.path.is_file():
                    takes.append(take)
            if takes:
                out.append((folder.name, takes))
        return out

    def copy_to(self, take: Take, dest: Path) -> Path:
        """The take's file, copied to `dest` (an export or a drag-out)."""
        self.flush()
        data = take.path.read_bytes()
        atomic_write_bytes(dest, data)
        return Path(dest)


def _replace_json(path: Path, text: str, current, lock) -> None:
    """Write `text` at `path` atomically and flushed, unless current() turns false (checked under
    `lock` with the rename itself, so a newer quick write of the JSON is never replaced)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    with lock:
        if not current():
            os.unlink(tmp)
            return
        os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def music_pending(seq, polyphony: bool | None) -> dict:
    """A take's music as its JSON holds it until its .mid is written (see TakeStore.add): every note
    with its voice, and the voices. polyphony: the file laid out as write_piece does for a sample
    (a chorale's voices split into tracks); None: the sequence's own voices as they are (write_midi:
    a live session's player and model)."""
    return {"notes": [[n.start, n.end, n.pitch, n.velocity, n.voice, n.drum] for n in seq.notes],
            "tempos": seq.tempos, "time_signature": list(seq.time_signature),
            "voices": [[v.name, v.program, v.drum] for v in seq.voices], "steps_per_quarter": seq.steps_per_quarter,
            "end": seq.end, "name": seq.name, "polyphony": polyphony}


def write_pending(path: Path, pending: dict) -> None:
    """The take's file from what its JSON holds: its text, or its notes as a .mid."""
    if "text" in pending:
        atomic_write_text(path, pending["text"])
        return
    from guigen.music.events import Note, NoteSequence, Voice
    from guigen.music.export import write_piece
    from guigen.music.midi import write_midi

    voices = ([Voice(*v) for v in pending["voices"]] if "voices" in pending
              else [Voice(pending["track"], pending["program"])])  # a take written before voices were kept
    seq = NoteSequence([Note(*n) for n in pending["notes"]], [tuple(t) for t in pending["tempos"]],
                       tuple(pending["time_signature"]), voices, pending.get("steps_per_quarter", 4),
                       name=pending["name"], end=pending.get("end", 0))
    if pending["polyphony"] is None:
        write_midi(seq, path, overwrite=True)
    else:
        write_piece(seq, path, pending["polyphony"], overwrite=True)


def purge_deleted(store: TakeStore) -> None:
    """Empty this session's deleted/ folder (at quit: undo ends with the session)."""
    shutil.rmtree(store.folder / DELETED, ignore_errors=True)
