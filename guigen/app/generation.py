"""The window's handle on the generation process (guigen.app.engine): it starts the process,
sends it commands, and turns what comes back into Qt signals, all without ever waiting on it.

The model runs in a process of its own (a fresh interpreter, as multiprocessing's spawn makes, but
importing only the engine), so the GUI's interpreter lock is never the model's: a frame painted
while the model streams costs what it costs alone. Commands go down one pipe (a thread in the
process is always reading it); messages come back on another, and a QSocketNotifier on its file
descriptor wakes the GUI thread when there is something to read. Both ends are non-blocking: the
bytes that have come are read into an inbox and only whole messages handled, and commands the pipe
cannot take at once wait in an outbox until it has room. Nothing polls, nothing waits: the process
starts (its imports, about half a second) while the window comes up.

If the process dies (killed, or a crash in native code), the window gets one message and its state
goes to idle; the next command that needs the model starts a fresh process, which loads the last
model again first (silently: the window has it already) and takes the last settings, seed and primer.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import time
from multiprocessing.reduction import ForkingPickler
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QSocketNotifier, QTimer, Signal

import guigen
from guigen.app.jobs import HarmonizeBatch, VariationsBatch

PIPE_BYTES = 1 << 20  # each pipe's buffer: a batch of steps is ~6 kB, 30 a second at most
READ_S = 0.01  # the longest one wake-up spends on messages before letting the GUI's other events in
SHUTDOWN_S = 3.0  # a process that has not ended this long after being told to is terminated
REPLAYED = ("settings", "seed", "primer", "roll", "cells")  # commands a fresh process is given again
IDLE = ("pause", "stop", "undo", "clear", "stop_variations", "stop_harmonize")  # mean nothing to a fresh process: none is started
CHILD = "import sys; from guigen.app.engine import main; main(int(sys.argv[1]), int(sys.argv[2]))"


class RemoteWorker(QObject):
    """The generation process as the GUI thread sees it: its messages as signals, and a mirror of
    its state as it last reported it (read by the Cells view and the tests; never sent back)."""

    loaded = Signal(object)  # LoadedModel
    stepped = Signal(object)  # StepBatch
    previewed = Signal(object)  # Preview
    undone = Signal(int, object)  # tokens left in this sample, and the piano roll's NotesUpdate for them (music)
    state_changed = Signal(str)  # "idle", "running", "paused", "stopped"
    failed = Signal(str, str)  # (what failed, message)
    cells = Signal(int, object)  # the Cells view's: (position of the first token, activations (n, layers, 2, H) or None)
    varied = Signal(object)  # VariationsBatch
    harmonized = Signal(object)  # HarmonizeBatch
    history = Signal(int, object)  # the Cells view's: (epoch, activations of the tokens it sent, or None)
    cleared = Signal()  # after a clear: nothing sent before it belongs to what comes next

    def __init__(self, parent=None):
        super().__init__(parent)
        self.primer: list[int] = []  # the primer last sent
        self.pid: int | None = None  # the process's, once it said it is ready
        self.state = "idle"  # the process's, as last reported (the window keeps its own)
        self.count = 0  # tokens in the process's sample
        self.settings = None  # the SamplingSettings it has taken in
        self.record_cells = False  # it keeps cell activations (the Cells view is open)
        self.cells_kept = False  # its current Generator is recording them
        self.harmonizing = False  # a harmonisation is under way in it


class Generation(QObject):
    """The GUI thread's handle on the generation process."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.worker = RemoteWorker(self)
        self.process = None
        self.commands = self.messages = self.notifier = self.writable = None
        self.outbox = bytearray()  # commands framed for the pipe and not yet taken by it (see _write)
        self.closed = False  # shut down: commands are dropped, no process is started again
        self.model_arg = None  # the last model loaded, loaded again by a fresh process
        self.loading = None  # a load sent and not answered yet
        self.reloading = False  # a fresh process is loading model_arg: its "loaded" is not news
        self.sent: dict = {}  # the last of each REPLAYED command
        self.job = None  # the variations job under way (its batches come back naming its id)
        self.job_ids = 0
        self.harmony = None  # the harmonisation under way (a HarmonizeJob), its batches named as the job's
        self.history_epoch: int | None = None  # the Cells view's history asked for and not answered
        self.started_at = 0.0
        self.start_s = 0.0  # GUI time spent starting the process
        self.ready_s: float | None = None  # from the start to its first message (imports done)
        self._start()

    # -- the process ------------------------------------------------------------------------
    def _start(self) -> None:
        """Launch the process: a fresh interpreter (as multiprocessing's spawn makes, but importing
        only guigen.app.engine, never the app's main module again) given its ends of the two pipes.
        In a session of its own: Linux shares CPU between sessions first (autogroup), so in one
        session with the window the model got what the window's painting left of one share, 18%
        of a core at load 9 (0.13-0.28x the CLI beside two busy processes); on its own it competes
        as the CLI does. Ctrl-C and hang-ups are the window's: the process ends with the pipe."""
        cmd_read, cmd_write = os.pipe()
        msg_read, msg_write = os.pipe()
        for fd in (cmd_write, msg_write):  # room for seconds of batches, so a GUI held up never holds up the model
            with contextlib.suppress(AttributeError, OSError):  # Linux only; its limit may be lower
                fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        root = str(Path(guigen.__file__).resolve().parents[1])  # the same guigen as this process's
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
        t0 = time.perf_counter()
        try:
            self.process = subprocess.Popen([sys.executable, "-c", CHILD, str(cmd_read), str(msg_write)],
                                            pass_fds=(cmd_read, msg_write), env=env, start_new_session=True)
        finally:
            os.close(cmd_read)  # the process's ends: closed here, so its death reads as the end of the pipe
            os.close(msg_write)
        self.start_s = time.perf_counter() - t0
        self.started_at, self.ready_s = t0, None
        os.set_blocking(cmd_write, False)
        self.commands, self.outbox = cmd_write, bytearray()
        os.set_blocking(msg_read, False)
        self.messages, self.inbox = msg_read, bytearray()
        self.notifier = QSocketNotifier(msg_read, QSocketNotifier.Type.Read, self)
        self.notifier.activated.connect(self._readable)
        self.writable = QSocketNotifier(cmd_write, QSocketNotifier.Type.Write, self)
        self.writable.setEnabled(False)
        self.writable.activated.connect(self._flush)

    def _restart(self) -> None:
        """A fresh process, given the last model and settings again before the command that needs it."""
        self._start()
        if self.model_arg is not None:
            self.reloading = True
            self._write(("load", self.model_arg))
        for cmd in REPLAYED:
            if cmd in self.sent:
                self._write((cmd, self.sent[cmd]))

    def _close_pipes(self) -> None:
        for notifier in (self.notifier, self.writable):
            if notifier is not None:
                notifier.setEnabled(False)
                notifier.deleteLater()
        if self.commands is not None:
            os.close(self.commands)
        if self.messages is not None:
            os.close(self.messages)
        self.commands = self.messages = self.notifier = self.writable = None
        self.outbox = bytearray()
        self.inbox = bytearray()

    def _died(self) -> None:
        """The process ended without being told to: say so once, and be ready to start another."""
        process = self.process
        self._close_pipes()
        self.process = None
        try:
            code = process.wait(1.0)  # it has closed its end: it is ending
        except subprocess.TimeoutExpired:
            code = None
        if code is None:
            process.kill()
            process.wait()
            how = "it stopped answering"
        elif code < 0:
            how = f"killed by {signal.Signals(-code).name}"
        else:
            how = f"exit status {code}"
        what = "load" if self.loading is not None or self.reloading else "harmonize" if self.harmony else "generate"
        self.loading, self.reloading = None, False
        w = self.worker
        if self.job is not None:  # the strip's cards keep what they got
            job, self.job = self.job, None
            w.varied.emit(VariationsBatch(job, np.zeros((job.count, 0), np.int64), np.zeros((job.count, 0)), done=True))
        if self.harmony is not None:  # ended with neither result nor error: the message below says why
            job, self.harmony = self.harmony, None
            w.harmonized.emit(HarmonizeBatch(job, done=True))
        w.count, w.cells_kept, w.harmonizing, w.pid = 0, False, False, None
        if self.history_epoch is not None:  # the Cells view stops waiting for it (and shows what it can)
            epoch, self.history_epoch = self.history_epoch, None
            w.history.emit(epoch, None)
        w.failed.emit(what, f"the model's process ended unexpectedly ({how}). What is shown stays; the model "
                            "is loaded again in a new process at the next command")
        if w.state != "idle":
            w.state = "idle"
            w.state_changed.emit("idle")
        w.cleared.emit()  # nothing more comes from it: a clear the window waits on is done

    # -- commands down ----------------------------------------------------------------------
    def send(self, cmd: str, arg=None) -> None:
        if self.closed:
            return
        if cmd in REPLAYED:
            self.sent[cmd] = arg
        if cmd == "primer":
            self.worker.primer = list(arg)
        elif cmd == "adopt":
            self.worker.primer = list(arg[0])
        elif cmd == "load":
            self.loading = arg
        elif cmd == "variations":
            self.job_ids += 1
            arg.id, self.job = self.job_ids, arg
        elif cmd == "stop_variations":
            self.job = None
        elif cmd == "harmonize":
            self.job_ids += 1
            arg.id, self.harmony = self.job_ids, arg
        elif cmd == "stop_harmonize":
            self.harmony = None
        elif cmd == "history":
            self.history_epoch = arg[0]
        if self.process is None:  # it died: a fresh one, but only for a command that needs a model
            if cmd in REPLAYED or cmd in IDLE:
                if cmd == "clear":
                    QTimer.singleShot(0, self, self.worker.cleared.emit)  # nothing of the old one can come
                return
            self._restart()
        self._write((cmd, arg))

    def _write(self, msg) -> None:
        """Frame `msg` as multiprocessing's Connection does (a 4-byte length, then the pickle), and
        hand the pipe what it takes now: the rest waits in the outbox for the pipe to have room,
        so a process that is slow to read (or stopped) never stalls the window."""
        data = ForkingPickler.dumps(msg)
        self.outbox += struct.pack("!i", len(data)) + data
        self._flush()

    def _flush(self) -> None:
        try:
            while self.outbox:
                del self.outbox[:os.write(self.commands, self.outbox)]
        except BlockingIOError:
            pass
        except OSError:  # BrokenPipeError: it is gone, and its pipe says so (_readable)
            self.outbox.clear()
        self.writable.setEnabled(bool(self.outbox))

    # -- messages up ------------------------------------------------------------------------
    def _readable(self) -> None:
        """The notifier's wake-up: take the bytes there are (never waiting for the rest of a message
        the process is still writing), then handle the whole messages among them."""
        ended = False
        try:
            while chunk := os.read(self.messages, 1 << 20):
                self.inbox += chunk
            ended = True  # the end of the pipe: the process has gone
        except BlockingIOError:
            pass
        except OSError:
            return
        self._handle_inbox(everything=ended)
        if ended and self.process is not None and not self.closed:
            self._died()

    def _handle_inbox(self, everything: bool = False) -> None:
        """Handle the whole messages in the inbox, for at most READ_S (or all of them: the process
        has gone); the rest soon after, once the GUI's other events have had their turn."""
        end = time.monotonic() + READ_S
        inbox = self.inbox
        while len(inbox) >= 4:
            n = struct.unpack("!i", inbox[:4])[0]  # multiprocessing's Connection framing
            if len(inbox) < 4 + n:
                return  # the rest is on its way: the notifier wakes us for it
            msgs = ForkingPickler.loads(inbox[4:4 + n])
            del inbox[:4 + n]
            for msg in msgs:  # what one command or slice of work said
                self._dispatch(*msg)
            if self.inbox is not inbox:  # a crash or shutdown while handling it
                return
            if time.monotonic() > end and len(inbox) >= 4 and not everything:
                QTimer.singleShot(0, self, self._handle_inbox)
                return

    def _dispatch(self, kind: str, *args) -> None:
        w = self.worker
        if kind == "status":
            s = args[0]
            w.state, w.count, w.settings = s["state"], s["count"], s["settings"]
            w.record_cells, w.cells_kept, w.harmonizing = s["record_cells"], s["cells_kept"], s["harmonizing"]
            return
        if kind == "ready":
            w.pid, self.ready_s = args[0], time.perf_counter() - self.started_at
            return
        if kind == "loaded":
            if self.reloading:  # the model the window already has, in a fresh process
                self.reloading = False
                return
            self.model_arg, self.loading = self.loading, None
        elif kind == "failed" and args[0] == "load":
            self.loading, self.reloading = None, False  # answered
        elif kind == "varied":
            batch = args[0]
            job = self.job if self.job is not None and batch.job == self.job.id else None
            batch.job = job  # the window's own job object, or None for a run it replaced
            if job is not None and batch.done:
                self.job = None
        elif kind == "harmonized":
            batch = args[0]
            job = self.harmony if self.harmony is not None and batch.job == self.harmony.id else None
            if job is None:
                return  # a cancelled one's last steps
            batch.job = job
            if batch.done:
                self.harmony = None
        elif kind == "history":
            self.history_epoch = None
        elif kind == "state":
            w.state = args[0]
        {"state": w.state_changed}.get(kind, getattr(w, kind, None)).emit(*args)

    def shutdown(self) -> None:
        """End the process (told, then terminated if it must be) and wait for it: no process outlives
        the window."""
        self.closed = True
        process, self.process = self.process, None
        if process is None:
            self._close_pipes()
            return
        self._write(("shutdown", None))
        end = time.monotonic() + SHUTDOWN_S
        try:  # read what it still sends, so it is never stuck writing to a full pipe
            while process.poll() is None and time.monotonic() < end:
                self._flush()
                if select.select([self.messages], [], [], 0.02)[0] and not os.read(self.messages, 1 << 20):
                    break  # it has closed its end
        except OSError:
            pass
        for stop in (lambda: None, process.terminate, process.kill):
            stop()
            try:
                process.wait(max(end - time.monotonic(), 1.0))
                break
            except subprocess.TimeoutExpired:
                continue
        self._close_pipes()
