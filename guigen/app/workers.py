"""Workers: what runs beside the GUI thread. Training runs in a thread here (TrainWorker wraps the
Trainer's cancellable event generator; torch is imported only when training starts). Generation
runs in a process of its own: guigen.app.generation (the window's handle on it) and
guigen.app.engine (the process); their names are here too, where the window has always found them.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal, Slot

from guigen.app.generation import Generation, RemoteWorker  # noqa: F401  (the window's imports)
from guigen.app.jobs import Preview, StepBatch, VariationsBatch, VariationsJob  # noqa: F401


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
