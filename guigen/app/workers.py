"""Workers: the model runs here, in threads, never in the GUI thread.

GenerationWorker owns the Generator. The GUI sends it commands through one queued signal
(`Generation.command`), so they arrive in order; it streams steps back in batches no more
often than a display frame, so a fast model cannot flood the event loop. TrainWorker wraps
the Trainer's cancellable event generator; torch is imported only when training starts.
"""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot

FRAME_S = 1 / 30  # coalesce steps into batches at most this often
SLICE_S = 0.008  # model time per timer tick, so commands get in between
DECODE_S = 0.25  # variations: notes decoded for drawing at most this often (each decode reads them all)
YIELD_MAX_S = 0.1  # the longest the worker waits for a GUI frame to end (a safety net, not a pace)


@dataclass
class StepBatch:
    """Tokens streamed since the last batch, and the full distribution of the last one."""

    tokens: list[int] = field(default_factory=list)
    probs: list[float] = field(default_factory=list)  # probability each token had when chosen
    forced: list[bool] = field(default_factory=list)
    last_probs: np.ndarray | None = None  # distribution the last token was drawn from
    last_raw: np.ndarray | None = None  # the model's T = 1 distribution for it
    entropy: float = 0.0  # of last_raw, nats
    temperature: float = 1.0  # the temperature the last token was drawn at
    count: int = 0  # tokens generated in this sample so far


@dataclass
class VariationsJob:
    """N continuations of one primer, made as one batch (the rows of one Generator)."""

    primer: list[int]
    count: int  # N, the batch
    length: int  # tokens each
    seed: int
    settings: object  # SamplingSettings
    codec: object = None  # music: decodes each variation's notes for drawing (here, off the GUI thread)


@dataclass
class VariationsBatch:
    """Tokens each variation gained since the last batch; `done` once they are complete."""

    job: VariationsJob
    tokens: np.ndarray  # (count, k) token ids
    probs: np.ndarray  # (count, k) the probability each had in the distribution it was drawn from
    done: bool = False
    notes: list | None = None  # music, now and then: each variation's notes so far (primer included)
    voices: list | None = None  # polyphony, when done: each note's voice (guigen.music.voices) or None


@dataclass
class Preview:
    """The next token's distribution under the current settings (paused, or after undo)."""

    probs: np.ndarray
    raw: np.ndarray
    entropy: float
    count: int


class GenerationWorker(QObject):
    """Lives in a worker thread; every slot runs there."""

    loaded = Signal(object)  # LoadedModel
    stepped = Signal(object)  # StepBatch
    previewed = Signal(object)  # Preview
    undone = Signal(int)  # tokens left in this sample
    state_changed = Signal(str)  # "idle", "running", "paused", "stopped"
    failed = Signal(str, str)  # (what failed, message)
    cells = Signal(int, object)  # the Cells view's: (position of the first token, activations (n, layers, 2, H) or None)
    varied = Signal(object)  # VariationsBatch
    cleared = Signal()  # after a clear: nothing sent before it belongs to what comes next

    def __init__(self):
        super().__init__()
        self.model = None
        self.generator = None
        self.settings = None
        self.seed = None
        self.primer: list[int] = []
        self.sample: list[int] = []  # the tokens after the primer, as the generator holds them
        self.remaining = 0
        self.force: int | None = None
        self.state = "idle"
        self.batch = StepBatch()
        self.last_emit = 0.0
        self.timer = None
        self.end_token = None
        self.record_cells = False  # the Cells view is open: the generator keeps its state after each token
        self.variations = None  # (job, Generator, tokens so far, their probs, tokens already sent)
        self.variations_timer = None
        # cleared while the GUI thread draws a frame (Generation.drawing): the worker steps aside. Both
        # threads share the GIL, and a frame drawn while the model runs hands it back and forth at every
        # Qt call, costing 1.3-1.7x its time alone (benchmarks/app_speed.py, part d)
        self.gui_free = threading.Event()
        self.gui_free.set()
        self.yield_max_s = YIELD_MAX_S

    # -- commands ---------------------------------------------------------------------------
    @Slot(str, object)
    def handle(self, cmd: str, arg) -> None:
        try:
            getattr(self, "do_" + cmd)(arg)
        except Exception as e:  # reach the user as a message; the thread lives on
            if cmd in ("generate", "step"):
                self._set_state("stopped" if self.generator and self.generator.ready else "idle")
            self.failed.emit(cmd, str(e) or type(e).__name__)
            if not isinstance(e, (ValueError, OSError)) and type(e).__name__ != "ModelFileError":
                traceback.print_exc()

    def do_load(self, path) -> None:
        from guigen.core.modelfile import load_model

        self._stop_timer()
        model = load_model(path[0], name=path[1]) if isinstance(path, tuple) else load_model(path)
        from guigen.core.fastlstm import prepared

        prepared(model.config, model.weights)  # here, while the window says "Loading", not at the first Generate
        self.model, self.generator = model, None
        self.end_token = None  # a token that ends a piece: polyphony's END
        if getattr(model.codec, "name", "") == "polyphony":
            from guigen.music.polyphony import END

            self.end_token = END
        self._set_state("idle")
        self.loaded.emit(model)

    def do_settings(self, settings) -> None:
        """New sampling settings: the next token uses them; paused, the histogram re-draws now."""
        self.settings = settings
        if self.generator is not None:
            self.generator.settings = settings
            if self.state != "running" and self.generator.ready:
                self._preview()

    def do_seed(self, seed) -> None:
        self.seed = seed

    def do_primer(self, tokens) -> None:
        self.primer = list(tokens)

    def do_generate(self, length) -> None:
        """Resume when paused; otherwise start a new sample of `length` tokens from the primer."""
        if self.state == "paused" and self.generator is not None and self.generator.ready:
            if self.remaining <= 0:
                self.remaining = int(length)
            self._reopen_ended()
            self._run()
            return
        self._restart()
        self.remaining = int(length)
        self._run()

    def do_pause(self, _=None) -> None:
        if self.state == "running":
            self._stop_timer()
            self._flush()
            self._set_state("paused")
            self._preview()

    def do_stop(self, _=None) -> None:
        if self.state in ("running", "paused"):
            self._stop_timer()
            self._flush()
            self.remaining = 0
            self._set_state("stopped")
            self._preview()

    def do_step(self, _=None) -> None:
        """One token (the forced one if a bar was clicked), then pause."""
        if self.model is None:
            raise RuntimeError("no model loaded")
        self._stop_timer()
        if self.generator is None or not self.generator.ready:
            force = self.force  # a bar clicked before the first token: keep it across the restart
            self._restart()
            self.force = force
        self._reopen_ended()
        self._step_once()
        self._flush()
        self.remaining = max(self.remaining - 1, 0)
        self._set_state("paused")
        self._preview()

    def do_force(self, token) -> None:
        """Make `token` the next one: at once when paused or stopped, else at the next step."""
        if self.state == "running":
            self.force = int(token)
        else:
            self.force = int(token)
            self.do_step()

    def do_undo(self, _=None) -> None:
        if self.state == "running":
            self.do_pause()
        if self.generator is not None and self.generator.count > 0 and self.generator.undo():
            del self.sample[self.generator.count:]
            self.remaining += 1 if self.remaining else 0
            self.undone.emit(self.generator.count)
            if self.state == "idle":
                self._set_state("paused")
            self._preview()

    def do_shutdown(self, _=None) -> None:
        """Stop, and hand this object (and its timer) back to the GUI thread, where it will be freed."""
        from PySide6.QtCore import QCoreApplication

        self.do_stop_variations()
        self.do_clear()
        self.moveToThread(QCoreApplication.instance().thread())

    def do_cells(self, on) -> None:
        """The Cells view opened (True) or closed: activations are kept only while it is open."""
        self.record_cells = bool(on)
        gen = self.generator
        if gen is None:
            return
        if not on:
            gen.cells = None
        elif gen.cells is None:
            gen.cells = []
            if gen.ready:  # where recording begins; the view works out the activations before it
                self.cells.emit(len(self.primer) + gen.count, None)

    def do_clear(self, _=None) -> None:
        self._stop_timer()
        self.generator, self.remaining, self.force = None, 0, None
        self._set_state("idle")
        self.cleared.emit()

    # -- variations: N continuations of the primer at once, beside the sample ---------------------
    def do_variations(self, job: VariationsJob) -> None:
        """Start `job`: one Generator with batch = N, fed the primer once; stepped in timer slices
        as the sample is, so commands (and the sample itself) go on meanwhile."""
        from guigen.core.generate import Generator

        if self.model is None:
            raise RuntimeError("no model loaded")
        if not job.primer:
            raise ValueError("the primer is empty")
        if not 1 <= job.count <= 16 or job.length < 1:
            raise ValueError("variations: 1 to 16 of them, each at least one token long")
        self.do_stop_variations()
        gen = Generator(self.model, job.settings, seed=job.seed, batch=job.count, undo_depth=0)
        gen.feed(job.primer)
        self.variations = {"job": job, "gen": gen, "tokens": [], "probs": [], "sent": 0,
                           "in_step": np.zeros(job.count, dtype=np.int64)}
        if self.variations_timer is None:
            self.variations_timer = QTimer(self)
            self.variations_timer.setInterval(0)
            self.variations_timer.timeout.connect(self._vary)
        self.last_varied = time.monotonic()
        self.variations_timer.start()

    def do_stop_variations(self, _=None) -> None:
        if self.variations_timer is not None:
            self.variations_timer.stop()
        self.variations = None

    def _vary(self) -> None:
        from guigen.core.sampling import draw

        v = self.variations
        job, gen, tokens, probs = v["job"], v["gen"], v["tokens"], v["probs"]
        rows = np.arange(job.count)
        end = time.monotonic() + SLICE_S
        while len(tokens) < job.length and time.monotonic() < end:
            self.gui_free.wait(self.yield_max_s)
            p = gen.preview()[0]
            if self.end_token is not None:  # polyphony: each runs its full length (as guigen generate)
                from guigen.music.generate import MAX_NOTES_PER_STEP
                from guigen.music.polyphony import STEP_END

                p = p.copy()
                p[:, self.end_token] = 0.0
                p[v["in_step"] >= MAX_NOTES_PER_STEP] = 0.0
                p[p.sum(axis=1) <= 0, STEP_END] = 1.0
                p /= p.sum(axis=1, keepdims=True)
            t = draw(p, gen.rng)
            gen.step(force=t)
            ends = np.array([self.model.codec.ends_step(x) for x in t]) if self.end_token is not None else None
            if ends is not None:
                v["in_step"] = np.where(ends, 0, v["in_step"] + 1)
            tokens.append(t)
            probs.append(p[rows, t])
        done = len(tokens) >= job.length
        now = time.monotonic()
        if done or now - self.last_varied >= FRAME_S:
            sent = v["sent"]
            batch = VariationsBatch(job, np.array(tokens[sent:], dtype=np.int64).T.reshape(job.count, -1),
                                    np.array(probs[sent:], dtype=float).T.reshape(job.count, -1), done)
            v["sent"] = len(tokens)
            self.last_varied = now
            if job.codec is not None and (done or now - v.get("decoded", 0.0) >= DECODE_S):
                self._decode(batch, np.array(tokens, dtype=np.int64).T.reshape(job.count, -1))
                v["decoded"] = time.monotonic()
            if done:
                self.do_stop_variations()
            self.varied.emit(batch)

    @staticmethod
    def _decode(batch: VariationsBatch, rows: np.ndarray) -> None:
        """Notes (and, once done, voices) of each variation: decoding is the costly part of drawing."""
        job = batch.job
        batch.notes = [job.codec.decode(list(job.primer) + row.tolist()) for row in rows]
        if batch.done and job.codec.name == "polyphony":
            from guigen.music.voices import assign_voices

            batch.voices = [assign_voices(n) if n else None for n in batch.notes]

    def do_adopt(self, arg) -> None:
        """(primer, tokens): make this the sample to continue from: fed and stepped (forced) here, so
        Resume goes on from its end and Undo steps back through it; paused."""
        primer, tokens = arg
        self._stop_timer()
        self.primer = list(primer)
        self._restart()
        for t in tokens:
            self.generator.step(int(t))
            self.sample.append(int(t))
        self.remaining = 0
        self.state = "stopped"  # so that paused is announced
        self._set_state("paused")
        self._preview()

    # -- the loop ---------------------------------------------------------------------------
    def _restart(self) -> None:
        from guigen.core.generate import Generator
        from guigen.core.sampling import SamplingSettings

        if self.model is None:
            raise RuntimeError("no model loaded")
        if not self.primer:
            raise ValueError("the primer is empty")
        self.generator = Generator(self.model, self.settings or SamplingSettings(), seed=self.seed)
        self.sample = []
        if self.record_cells:
            self.generator.cells = []
        self.generator.feed(self.primer)
        self.force = None
        self.batch = StepBatch()

    def _run(self) -> None:
        if self.timer is None:
            self.timer = QTimer(self)
            self.timer.setInterval(0)
            self.timer.timeout.connect(self._tick)
        self._set_state("running")
        self.last_emit = time.monotonic()
        self.timer.start()

    def _tick(self) -> None:
        end = time.monotonic() + SLICE_S
        while self.remaining > 0 and time.monotonic() < end:
            self.gui_free.wait(self.yield_max_s)
            token = self._step_once()
            self.remaining -= 1
            if token == self.end_token:  # the model ended the piece
                self.remaining = 0
        now = time.monotonic()
        if self.remaining <= 0:
            self._stop_timer()
            self._flush()
            self._set_state("stopped")
            self._preview()
        elif now - self.last_emit >= FRAME_S:
            self._flush()

    def _reopen_ended(self) -> None:
        """Going on from a piece the model ended (polyphony's END): the END is taken back first, so
        what follows joins the piece (the piano roll and the exports stop reading at an END)."""
        gen = self.generator
        if (self.end_token is not None and gen is not None and self.sample and self.sample[-1] == self.end_token
                and gen.undo()):
            del self.sample[gen.count:]
            self.undone.emit(gen.count)

    def _step_once(self) -> None:
        force, self.force = self.force, None
        step = self.generator.step(force)
        b = self.batch
        t = step.token
        self.sample.append(t)
        b.tokens.append(t)
        b.probs.append(float(step.probs[0, t]) if not step.forced else float(step.raw_probs[0, t]))
        b.forced.append(step.forced)
        b.last_probs, b.last_raw = step.probs[0], step.raw_probs[0]
        b.entropy = float(step.entropy[0])
        b.temperature = self.generator.settings.temperature
        b.count = self.generator.count
        return t

    def _flush(self) -> None:
        if self.batch.tokens:
            batch, self.batch = self.batch, StepBatch()
            self.stepped.emit(batch)
        self._emit_cells()
        self.last_emit = time.monotonic()

    def _emit_cells(self) -> None:
        """The activations of the tokens fed since the last batch, sent after the batch itself."""
        gen = self.generator
        if gen is not None and gen.cells:
            from guigen.core.cells import from_states

            kept, gen.cells = gen.cells, []
            self.cells.emit(len(self.primer) + gen.count - len(kept), from_states(kept))

    def _preview(self) -> None:
        if self.generator is not None and self.generator.ready:
            probs, raw, entropy = self.generator.preview()
            self.previewed.emit(Preview(probs[0], raw[0], float(entropy[0]), self.generator.count))

    def _stop_timer(self) -> None:
        if self.timer is not None:
            self.timer.stop()

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)


class Generation(QObject):
    """The GUI thread's handle on a GenerationWorker in its own thread."""

    command = Signal(str, object)
    command_and_wait = Signal(str, object)  # returns once the worker has handled it

    def __init__(self, parent=None):
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("guigen-generation")
        self.worker = GenerationWorker()
        self.worker.moveToThread(self.thread)
        self.command.connect(self.worker.handle)
        self.command_and_wait.connect(self.worker.handle, Qt.ConnectionType.BlockingQueuedConnection)
        self.thread.start()

    def send(self, cmd: str, arg=None) -> None:
        self.command.emit(cmd, arg)

    @contextlib.contextmanager
    def drawing(self):
        """`with generation.drawing():` the worker pauses between tokens while the GUI draws a frame."""
        self.worker.gui_free.clear()
        try:
            yield
        finally:
            self.worker.gui_free.set()

    def shutdown(self) -> None:
        if not self.thread.isRunning():
            return
        # wait for the worker to stop its timer and move back to this thread: a quit() queued behind a
        # busy tick could end the thread's loop first, leaving a live timer to be destroyed from here
        # ("QObject::killTimer: Timers cannot be stopped from another thread")
        self.command_and_wait.emit("shutdown", None)
        self.thread.quit()
        self.thread.wait(5000)


# -- training -------------------------------------------------------------------------------
@dataclass
class TrainJob:
    """What the Train dialog asks for."""

    kind: str  # "text", or a music encoding: "polyphony" or "melody"
    sources: list  # text files, or MIDI folders
    out: str  # model file to write
    sizes: dict  # layers, hidden, embed, dropout
    train: dict  # TrainConfig fields
    resume: bool = False  # continue from out's checkpoint if there is one
    to_key: int | None = 0  # music: the key every piece is moved to (0 = C); None: polyphony transposed instead
    device: str = "auto"  # auto|cpu|cuda:N|mps, as guigen train --device
    data: str | None = None  # a folder made by guigen prepare, instead of sources (as guigen train --data)


class TrainWorker(QObject):
    """Runs Trainer.run() in a thread, turning its events into signals; cancel() stops cleanly."""

    started = Signal(int, int)  # (step, total steps) once the data is ready
    progress = Signal(object)  # Progress
    epoch_end = Signal(object)  # EpochEnd
    finished = Signal(str, str)  # (model path, "done" | "cancelled")
    failed = Signal(str)

    def __init__(self, job: TrainJob):
        super().__init__()
        self.job = job
        self.cancelled = threading.Event()

    def cancel(self) -> None:
        self.cancelled.set()

    @Slot()
    def run(self) -> None:
        try:
            self._run()
        except Exception as e:
            self.failed.emit(str(e) or type(e).__name__)
        finally:
            if getattr(self, "lock", None) is not None:
                self.lock.release()

    def _make_data(self):
        if self.job.data is not None:  # prepared shards: kind, encoding and key were fixed by guigen prepare
            from guigen.core.shards import music_shard_data, text_shard_data

            return (text_shard_data if self.job.kind == "text" else music_shard_data)(self.job.data)
        if self.job.kind == "text":
            from guigen.core.data import text_data

            return text_data(self.job.sources)
        from guigen.music.dataset import music_data

        # in one key, or (Magenta's polyphony way) transposed by -4..+4 semitones each epoch
        shifts = (-4, 4) if self.job.kind == "polyphony" and self.job.to_key is None else (0, 0)
        return music_data(self.job.sources, encoding=self.job.kind, transpose_range=shifts, log=None,
                          key=self.job.to_key)

    def _run(self) -> None:
        from pathlib import Path

        import os

        from guigen.core.devices import set_openmp_waiting

        set_openmp_waiting()  # as guigen train: before torch loads (the app loads it only to train)
        import torch

        from guigen.core.config import ModelConfig
        from guigen.core.train import EpochEnd, Progress, Trainer, TrainConfig, checkpoint_path_for

        torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))  # leave a core to the GUI and the generator
        out = Path(self.job.out)
        from guigen.core.runlock import RunLock

        self.lock = RunLock(out).acquire()  # as guigen train holds it; released by run(), however training ends
        data = self._make_data()
        cfg = ModelConfig(vocab_size=data.codec.num_classes, **self.job.sizes)
        from guigen.core.devices import resolve_device

        trainer = Trainer(data, cfg, TrainConfig(**self.job.train), out, extra_meta={"command": "guigen app: Train"},
                          device=resolve_device(self.job.device))
        ckpt = checkpoint_path_for(out)
        if self.job.resume and ckpt.exists():
            trainer.load_checkpoint(ckpt)
        self.started.emit(trainer.step, trainer.total_steps)
        last = 0.0
        for ev in trainer.run():
            if isinstance(ev, Progress):
                now = time.monotonic()
                if now - last >= 0.1 or ev.step == ev.total_steps:  # no more than the eye can follow
                    self.progress.emit(ev)
                    last = now
            elif isinstance(ev, EpochEnd):
                self.epoch_end.emit(ev)
            if self.cancelled.is_set():
                trainer.save_checkpoint()
                if not out.exists() and trainer.history:
                    trainer.save_model()
                self.finished.emit(str(out), "cancelled")
                return
        self.finished.emit(str(out), "done")
