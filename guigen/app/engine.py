"""The generation process: it owns the Generator, so the window's interpreter never runs the model.

`serve(commands, messages)` is the process's whole life (`main`, started by guigen.app.generation
as a fresh interpreter; the pipes are multiprocessing Connections): a reader thread queues the window's commands as they arrive; the main
loop handles them in order and, between them, steps the sample and any variations in slices of
SLICE_S, streaming batches back no more often than FRAME_S. When the window goes (its end of the
pipe closes, whatever the reason) the process ends. No Qt here: the process imports only NumPy and
guigen's engine (guigen.app itself imports no Qt).

Messages sent back are lists of tuples (kind, *args), one list per command or slice of work, kind
one of the window's signals: loaded, stepped,
previewed, undone, state, failed, cells, varied, cleared; and ready (pid) once, status (a dict
mirroring the engine's state) after every command and batch.
"""

from __future__ import annotations

import os
import queue
import signal
import threading
import time
import traceback

import numpy as np

from guigen.app.jobs import Preview, StepBatch, VariationsBatch, VariationsJob

FRAME_S = 1 / 30  # coalesce steps into batches at most this often
SLICE_S = 0.008  # model time between looks at the commands waiting, so a stop takes effect at once
DECODE_S = 0.25  # variations: notes decoded for drawing at most this often (each decode reads them all)
# the process's niceness: where the kernel does not share the CPU between sessions first (autogroup
# off), this lets the window, woken by a timer or a click, run before the model's time slice is out.
# With autogroup on, the process is alone in its session (guigen.app.generation starts it so), and
# this changes nothing. Measured with the process still in the window's session, at load 11-15,
# three interleaved runs each (benchmarks/app_speed.py: timer p95; app/CLI): nice 0: 56-95 ms,
# 0.32-0.43; nice 5: 13-41 ms, 0.18-1.02 (median 0.64); nice 10: 30-40 ms, 0.14-0.33
NICE = 5


class Engine:
    """The model's side of the app: commands in (`handle`), work in slices (`work`), messages out
    through `emit(kind, *args)`. States: idle, running, paused, stopped."""

    def __init__(self, emit):
        self.emit = emit
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
        self.end_token = None
        self.record_cells = False  # the Cells view is open: the generator keeps its state after each token
        self.variations = None  # the job under way, its Generator, tokens so far, their probs, tokens sent
        self.last_varied = 0.0
        self.closed = False  # shutdown asked for: the process ends

    @property
    def busy(self) -> bool:
        """Work to do between commands: a sample running, or variations being made."""
        return self.state == "running" or self.variations is not None

    # -- commands ---------------------------------------------------------------------------
    def handle(self, cmd: str, arg=None) -> None:
        try:
            getattr(self, "do_" + cmd)(arg)
        except Exception as e:  # reach the user as a message; the process lives on
            if cmd in ("generate", "step"):
                self._set_state("stopped" if self.generator and self.generator.ready else "idle")
            self.emit("failed", cmd, str(e) or type(e).__name__)
            if not isinstance(e, (ValueError, OSError)) and type(e).__name__ != "ModelFileError":
                traceback.print_exc()
        self._status()

    def work(self) -> None:
        """One slice of each job under way."""
        if self.state == "running":
            self._tick()
        if self.variations is not None:
            self._vary()

    def do_load(self, path) -> None:
        from guigen.core.fastlstm import prepared
        from guigen.core.modelfile import load_model

        model = load_model(path[0], name=path[1]) if isinstance(path, tuple) else load_model(path)
        prepared(model.config, model.weights)  # here, while the window says "Loading", not at the first Generate
        self.do_stop_variations()
        self.model, self.generator, self.remaining = model, None, 0
        self.end_token = None  # a token that ends a piece: polyphony's END
        if getattr(model.codec, "name", "") == "polyphony":
            from guigen.music.polyphony import END

            self.end_token = END
        self._set_state("idle")
        self.emit("loaded", model)

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
            self._flush()
            self._set_state("paused")
            self._preview()

    def do_stop(self, _=None) -> None:
        if self.state in ("running", "paused"):
            self._flush()
            self.remaining = 0
            self._set_state("stopped")
            self._preview()

    def do_step(self, _=None) -> None:
        """One token (the forced one if a bar was clicked), then pause."""
        if self.model is None:
            raise RuntimeError("no model loaded")
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
        self.force = int(token)
        if self.state != "running":
            self.do_step()

    def do_undo(self, _=None) -> None:
        if self.state == "running":
            self.do_pause()
        if self.generator is not None and self.generator.count > 0 and self.generator.undo():
            del self.sample[self.generator.count:]
            self.remaining += 1 if self.remaining else 0
            self.emit("undone", self.generator.count)
            if self.state == "idle":
                self._set_state("paused")
            self._preview()

    def do_shutdown(self, _=None) -> None:
        self.do_stop_variations()
        self.do_clear()
        self.closed = True

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
                self.emit("cells", len(self.primer) + gen.count, None)

    def do_clear(self, _=None) -> None:
        self.generator, self.remaining, self.force = None, 0, None
        self._set_state("idle")
        self.emit("cleared")

    def do_adopt(self, arg) -> None:
        """(primer, tokens): make this the sample to continue from: fed and stepped (forced) here, so
        Resume goes on from its end and Undo steps back through it; paused."""
        primer, tokens = arg
        self.primer = list(primer)
        self._restart()
        for t in tokens:
            self.generator.step(int(t))
            self.sample.append(int(t))
        self.remaining = 0
        self.state = "stopped"  # so that paused is announced
        self._set_state("paused")
        self._preview()

    # -- variations: N continuations of the primer at once, beside the sample ---------------------
    def do_variations(self, job: VariationsJob) -> None:
        """Start `job`: one Generator with batch = N, fed the primer once; stepped in slices as the
        sample is, so commands (and the sample itself) go on meanwhile."""
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
        self.last_varied = time.monotonic()

    def do_stop_variations(self, _=None) -> None:
        self.variations = None

    def _vary(self) -> None:
        from guigen.core.sampling import draw

        v = self.variations
        job, gen, tokens, probs = v["job"], v["gen"], v["tokens"], v["probs"]
        rows = np.arange(job.count)
        end = time.monotonic() + SLICE_S
        while len(tokens) < job.length and time.monotonic() < end:
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
            if self.end_token is not None:
                ends = np.array([self.model.codec.ends_step(x) for x in t])
                v["in_step"] = np.where(ends, 0, v["in_step"] + 1)
            tokens.append(t)
            probs.append(p[rows, t])
        done = len(tokens) >= job.length
        now = time.monotonic()
        if done or now - self.last_varied >= FRAME_S:
            sent = v["sent"]
            batch = VariationsBatch(job.id, np.array(tokens[sent:], dtype=np.int64).T.reshape(job.count, -1),
                                    np.array(probs[sent:], dtype=float).T.reshape(job.count, -1), done)
            v["sent"] = len(tokens)
            self.last_varied = now
            if job.codec is not None and (done or now - v.get("decoded", 0.0) >= DECODE_S):
                _decode(job, batch, np.array(tokens, dtype=np.int64).T.reshape(job.count, -1))
                v["decoded"] = time.monotonic()
            if done:
                self.do_stop_variations()
            self.emit("varied", batch)

    # -- the sample -------------------------------------------------------------------------
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
        self._set_state("running")
        self.last_emit = time.monotonic()

    def _tick(self) -> None:
        end = time.monotonic() + SLICE_S
        while self.remaining > 0 and time.monotonic() < end:
            token = self._step_once()
            self.remaining -= 1
            if token == self.end_token:  # the model ended the piece
                self.remaining = 0
        if self.remaining <= 0:
            self._flush()
            self._set_state("stopped")
            self._preview()
        elif time.monotonic() - self.last_emit >= FRAME_S:
            self._flush()

    def _reopen_ended(self) -> None:
        """Going on from a piece the model ended (polyphony's END): the END is taken back first, so
        what follows joins the piece (the piano roll and the exports stop reading at an END)."""
        gen = self.generator
        if (self.end_token is not None and gen is not None and self.sample and self.sample[-1] == self.end_token
                and gen.undo()):
            del self.sample[gen.count:]
            self.emit("undone", gen.count)

    def _step_once(self) -> int:
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
            self.emit("stepped", batch)
        self._emit_cells()
        self.last_emit = time.monotonic()
        self._status()

    def _emit_cells(self) -> None:
        """The activations of the tokens fed since the last batch, sent after the batch itself."""
        gen = self.generator
        if gen is not None and gen.cells:
            from guigen.core.cells import from_states

            kept, gen.cells = gen.cells, []
            self.emit("cells", len(self.primer) + gen.count - len(kept), from_states(kept))

    def _preview(self) -> None:
        if self.generator is not None and self.generator.ready:
            probs, raw, entropy = self.generator.preview()
            self.emit("previewed", Preview(probs[0], raw[0], float(entropy[0]), self.generator.count))

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.emit("state", state)

    def _status(self) -> None:
        gen = self.generator
        self.emit("status", {"state": self.state, "count": gen.count if gen is not None else 0,
                             "settings": self.settings, "record_cells": self.record_cells,
                             "cells_kept": gen is not None and gen.cells is not None})


def _decode(job: VariationsJob, batch: VariationsBatch, rows: np.ndarray) -> None:
    """Notes (and, once done, voices) of each variation: decoding is the costly part of drawing."""
    batch.notes = [job.codec.decode(list(job.primer) + row.tolist()) for row in rows]
    if batch.done and job.codec.name == "polyphony":
        from guigen.music.voices import assign_voices

        batch.voices = [assign_voices(n) if n else None for n in batch.notes]


def serve(commands, messages) -> None:
    """The generation process's main: commands (cmd, arg) in on one pipe, messages out on the other,
    until a shutdown or the window's end of the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the app's to handle; it closes the pipe
    inbox: queue.SimpleQueue = queue.SimpleQueue()

    def read() -> None:  # always reading, so the window's sends never wait on the model
        try:
            while True:
                inbox.put(commands.recv())
        except (EOFError, OSError):
            inbox.put(None)  # the window is gone

    threading.Thread(target=read, name="guigen-commands", daemon=True).start()
    outgoing: list = []  # what one command or slice of work said, sent as one message: the window takes it in whole
    engine = Engine(lambda *msg: outgoing.append(msg))
    try:
        engine.emit("ready", os.getpid())
        while not engine.closed:
            if outgoing:
                messages.send(outgoing)
                outgoing.clear()
            if engine.busy:
                try:
                    msg = inbox.get_nowait()
                except queue.Empty:
                    engine.work()
                    continue
            else:
                msg = inbox.get()
            if msg is None:
                break
            engine.handle(*msg)
        if outgoing:
            messages.send(outgoing)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the window is gone


def main(cmd_fd: int, msg_fd: int) -> None:
    """The process's entry: the two pipe ends it was given, as multiprocessing Connections."""
    from multiprocessing.connection import Connection

    os.nice(NICE)
    serve(Connection(cmd_fd, writable=False), Connection(msg_fd, readable=False))
