"""The Train dialog: a new model from a text file, a MIDI folder or a folder made by `guigen prepare`,
with live loss curves.

Training runs in a TrainWorker thread (torch is imported there, not before). Cancel stops at
the next step and writes a checkpoint; "continue" picks it up again. The finished model opens.
The devices offered are found by a background thread (finding GPUs imports torch, seconds).
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QThread, Signal
from PySide6.QtWidgets import (QApplication, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QMessageBox, QProgressBar, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)

from guigen.app import theme, wheel
from guigen.app.workers import TrainJob, TrainWorker
from guigen.core.data import DataError
from guigen.core.shards import MANIFEST, read_manifest

# name: (layers, hidden, embed, dropout, epochs, batch, seq_len); "how long" is for ~1 MB of text on a laptop
PRESETS = {
    "Tiny (1×128, minutes)": (1, 128, 32, 0.0, 5, 32, 64),
    "Small (2×256)": (2, 256, 64, 0.1, 10, 32, 128),
    "Medium (2×512, like the shipped models)": (2, 512, 64, 0.2, 20, 32, 128),
    "Large (3×512, hours)": (3, 512, 64, 0.25, 30, 32, 128),
}


def default_output(source: str) -> Path:
    from platformdirs import user_data_path

    stem = Path(source).stem or "my-model"
    return user_data_path("guigen") / "models" / f"{stem}.safetensors"


class _DeviceProbe(QObject):
    """Finds the devices once per process in a background thread. It belongs to the application,
    not to a dialog: the thread can outlive a dialog closed before it is done, and emitting on an
    object Qt has deleted is an error. Each dialog takes the answer (`result`) or waits for it."""

    found = Signal(list, bool)  # available_devices() and cpu_has_fast_bf16(), from the background thread
    _shared = None

    def __init__(self, parent=None):
        super().__init__(parent)
        self.result: tuple[list, bool] | None = None
        self.found.connect(self._keep)

    @classmethod
    def shared(cls) -> "_DeviceProbe":
        if cls._shared is None:
            cls._shared = cls(QApplication.instance())
            cls._shared.start()
        return cls._shared

    def _keep(self, devices: list, fast_bf16: bool) -> None:
        self.result = (devices, fast_bf16)

    def start(self) -> None:
        def probe():
            try:
                from guigen.core.devices import available_devices, cpu_has_fast_bf16

                self.found.emit(available_devices(), cpu_has_fast_bf16())
            except Exception:  # no torch, a broken driver: the CPU it is
                self.found.emit(["cpu"], False)

        threading.Thread(target=probe, name="device probe", daemon=True).start()


def _device_label(device: str, fast_bf16: bool = False) -> str:
    """The device in words, with the precision training uses there (--precision auto)."""
    if device.startswith("cuda"):
        return f"GPU {device} (CUDA, mixed precision)"
    if device == "mps":
        return "Apple GPU (MPS)"
    return "CPU (bf16 mixed precision: this CPU has AMX)" if fast_bf16 else "CPU"


class TrainDialog(QDialog):
    model_ready = Signal(str)  # path of a finished model
    finished_training = Signal(str, str)  # (path, "done" | "cancelled" | "failed")

    def __init__(self, parent=None, settings=None):
        super().__init__(parent)
        self.setWindowTitle("Train a New Model")
        self.resize(720, 620)
        self.thread = self.worker = None
        self.prepared = None  # the source's manifest when it is a folder made by guigen prepare
        self.history: list[tuple[int, float]] = []  # (step, training loss)
        self.val: list[tuple[int, float]] = []
        self.kind = QComboBox()
        self.kind.addItem("Text (a character-level model)", "text")
        if _music_available():
            self.kind.addItem("Music, polyphonic (like Bach chorales), from MIDI files", "polyphony")
            self.kind.addItem("Music, melodies, from MIDI files", "melody")
        self.source = QLineEdit()
        self.source.setPlaceholderText("a UTF-8 text file")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_source)
        self.output = QLineEdit()
        browse_out = QPushButton("Browse…")
        browse_out.clicked.connect(self._browse_output)
        self.preset = QComboBox()
        self.preset.addItems(list(PRESETS))
        self.layers, self.hidden, self.embed, self.epochs = (QSpinBox() for _ in range(4))
        self.layers.setRange(1, 8)
        self.hidden.setRange(8, 4096)
        self.hidden.setSingleStep(64)
        self.embed.setRange(4, 1024)
        self.epochs.setRange(1, 1000)
        self.device = QComboBox()
        self.device.addItem("Automatic: a GPU if there is one, else the CPU (looking…)", "auto")
        self.device.addItem(_device_label("cpu"), "cpu")
        self.device.setToolTip("Where to train, as guigen train --device; the model file is the same either way")
        self._probe = _DeviceProbe.shared()
        if self._probe.result is not None:
            self._devices_found(*self._probe.result)
        else:
            self._probe.found.connect(self._devices_found)  # undone by Qt if this dialog goes first
        self.resume = QCheckBox("Continue from the last checkpoint of this model, if there is one")
        # music in one key learns harmony; transposed to all keys it learned none (see models/bach-chorales.md)
        self.one_key = QCheckBox("Music: move every piece to C major / A minor first (primers are moved back)")
        self.one_key.setChecked(True)
        self.one_key.setToolTip("As Magenta's melody_rnn and the shipped Bach models; unticked, polyphony is "
                                "transposed by -4..+4 semitones each epoch instead")
        form = QFormLayout()
        form.addRow("Kind", self.kind)
        form.addRow("Data", _row(self.source, browse))
        form.addRow("Save as", _row(self.output, browse_out))
        form.addRow("Size", self.preset)
        sizes = QHBoxLayout()
        for label, w in (("layers", self.layers), ("units", self.hidden), ("embedding", self.embed),
                         ("epochs", self.epochs)):
            sizes.addWidget(QLabel(label))
            sizes.addWidget(w)
        form.addRow("", sizes)
        form.addRow("Device", self.device)
        form.addRow("", self.one_key)
        form.addRow("", self.resume)
        self.progress = QProgressBar()
        self.progress.setFormat("%p%")
        self.eta = QLabel("Pick a text file and press Train.")
        self.eta.setWordWrap(True)  # a prepared corpus is described at length; the dialog keeps its width
        self.plot = pg.PlotWidget()
        self.plot.setLabel("left", "loss (nats per token)")  # nats, as the model cards and the histogram
        self.plot.setLabel("bottom", "step")
        self.legend = self.plot.addLegend(offset=(-10, 5))  # top right: a loss curve starts high at the left
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.train_curve = self.plot.plot([], [], name="training")
        self.val_curve = self.plot.plot([], [], symbol="o", symbolSize=7, name="validation")
        self._restyle()
        self.buttons = QDialogButtonBox()
        self.start_button = self.buttons.addButton("Train", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton("Stop && Save Checkpoint", QDialogButtonBox.ButtonRole.ActionRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.cancel_button.setEnabled(False)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.progress)
        lay.addWidget(self.eta)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.buttons)
        self.preset.currentIndexChanged.connect(self._apply_preset)
        self.source.textChanged.connect(self._source_changed)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self._kind_changed()
        self._apply_preset()
        self.wheel_guard = wheel.guard(self)  # the wheel turns only a focused spin box or list, as in the window

    def _restyle(self) -> None:
        """The loss plot in the window's palette, light or dark (pyqtgraph draws its own colours)."""
        c = theme.plot_colours(self.palette())
        theme.style_plot(self.plot, c, (self.plot.getAxis("bottom"), self.plot.getAxis("left")), self.legend)
        self.train_curve.setPen(pg.mkPen(c["bar"], width=1.5))
        self.val_curve.setPen(pg.mkPen(c["chosen"], width=2))
        self.val_curve.setSymbolBrush(pg.mkBrush(c["chosen"]))
        self.val_curve.setSymbolPen(pg.mkPen(c["chosen"]))
        self.legend.setBrush(pg.mkBrush(c["background"]))

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._restyle()

    def _devices_found(self, devices: list, fast_bf16: bool) -> None:
        gpus = [d for d in devices if d.startswith("cuda")]
        auto = (f"Automatic: {gpus[0]}" if gpus else
                "Automatic: the CPU, in bf16 (it has AMX; no CUDA GPU found)" if fast_bf16 else
                "Automatic: the CPU (no CUDA GPU found)")
        self.device.setItemText(0, auto)
        self.device.setItemText(self.device.findData("cpu"), _device_label("cpu", fast_bf16))
        for d in devices:
            if d != "cpu" and self.device.findData(d) < 0:
                self.device.addItem(_device_label(d), d)

    def _kind_changed(self) -> None:
        text = self.kind.currentData() == "text"
        self.source.setPlaceholderText(("a UTF-8 text file" if text else "a folder of MIDI files")
                                       + ", or a folder made by guigen prepare")
        self.one_key.setEnabled(not text)
        if self.eta.text().startswith("Pick "):  # before any training: say what to pick
            self.eta.setText(f"Pick {'a text file' if text else 'a folder of MIDI files'} and press Train.")

    def _apply_preset(self) -> None:
        layers, hidden, embed, _dropout, epochs, _batch, _seq = PRESETS[self.preset.currentText()]
        self.layers.setValue(layers)
        self.hidden.setValue(hidden)
        self.embed.setValue(embed)
        self.epochs.setValue(epochs)

    def _source_changed(self, text: str) -> None:
        if text and not self.output.isModified():
            self.output.setText(str(default_output(text)))
        was, self.prepared = self.prepared, _prepared(text)
        # a corpus from `guigen prepare` fixed its kind, encoding and key when it was prepared
        self.kind.setEnabled(self.prepared is None)
        if self.prepared is None:
            if was is not None:  # back to files: the choices as the user left them
                self.one_key.setChecked(self._one_key_before)
                self.eta.setText("Pick ")
            self._kind_changed()
            return
        if was is None:
            self._one_key_before = self.one_key.isChecked()
        manifest = self.prepared
        if isinstance(manifest, dict):
            kind = "text" if manifest["kind"] == "text" else manifest["codec"].get("encoding")
            if self.kind.findData(kind) < 0:  # an encoding this dialog does not offer
                self.prepared = manifest = f"it holds prepared {kind} data, which this dialog can't train"
        if isinstance(manifest, str):  # a manifest that can't be read or used
            self.eta.setText(f"Prepared data? {manifest}")
            return
        self.kind.setCurrentIndex(self.kind.findData(kind))
        self.one_key.setEnabled(False)
        self.one_key.setChecked(manifest["kind"] == "music" and manifest["codec"].get("transpose_to_key") is not None)
        counts = manifest.get("counts", {})
        files = counts.get("used", 0)
        self.eta.setText(f"Prepared by guigen prepare: {counts.get('tokens', 0):,} tokens from "
                         f"{files:,} file{'' if files == 1 else 's'}; {manifest.get('describe', '')}")

    def _browse_source(self) -> None:
        # a prepared corpus is a folder: it is picked by its manifest.json, in either dialog's way
        if self.kind.currentData() == "text":
            path, _ = QFileDialog.getOpenFileName(self, "Training Text", str(Path.home()),
                                                  "Text (*.txt);;Prepared by guigen prepare (manifest.json);;All files (*)")
            if Path(path).name == MANIFEST:
                path = str(Path(path).parent)
        else:
            path = QFileDialog.getExistingDirectory(self, "Folder of MIDI Files (or Prepared by guigen prepare)",
                                                    str(Path.home()))
        if path:
            self.source.setText(path)

    def _browse_output(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save Model As", self.output.text() or str(Path.home()),
                                              "GuiGen models (*.safetensors)")
        if path:
            self.output.setText(path if path.endswith(".safetensors") else path + ".safetensors")
            self.output.setModified(True)

    # -- running ----------------------------------------------------------------------------
    def job(self) -> TrainJob:
        _l, _h, _e, dropout, _ep, batch, seq_len = PRESETS[self.preset.currentText()]
        prepared = isinstance(self.prepared, dict)
        return TrainJob(
            kind=self.kind.currentData(), sources=[] if prepared else [self.source.text()], out=self.output.text(),
            sizes={"layers": self.layers.value(), "hidden": self.hidden.value(), "embed": self.embed.value(),
                   "dropout": dropout if self.layers.value() > 1 else 0.0},
            train={"epochs": self.epochs.value(), "batch": batch, "seq_len": seq_len},
            resume=self.resume.isChecked(), to_key=0 if self.one_key.isChecked() else None,
            device=self.device.currentData(), data=self.source.text() if prepared else None)

    def start(self, confirm: bool = True) -> bool:
        job = self.job()
        if isinstance(self.prepared, str):
            self._message(f"{self.source.text()}: {self.prepared}")
            return False
        if job.data is None and (not job.sources[0] or not Path(job.sources[0]).exists()):
            self._message("Choose the training data first: a text file, a folder of MIDI files, "
                          "or a folder made by guigen prepare.")
            return False
        if not job.out.endswith(".safetensors"):
            self._message("The model file must end in .safetensors.")
            return False
        if Path(job.out).exists() and not job.resume and confirm:
            answer = QMessageBox.question(self, "Replace Model?", f"{job.out} exists. Replace it?")
            if answer != QMessageBox.StandardButton.Yes:
                return False
        self.history.clear()
        self.val.clear()
        self.train_curve.setData([], [])
        self.val_curve.setData([], [])
        self.thread = QThread()
        self.worker = TrainWorker(job)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.started.connect(self._started)
        self.worker.progress.connect(self._progress)
        self.worker.epoch_end.connect(self._epoch_end)
        self.worker.finished.connect(self._finished)
        self.worker.failed.connect(self._failed)
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.eta.setText("Reading the data and starting (the first start imports PyTorch)…")
        self.t0 = time.monotonic()
        self.thread.start()
        return True

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.cancel_button.setEnabled(False)
            self.eta.setText("Stopping after this step and saving a checkpoint…")

    def _started(self, step: int, total: int) -> None:
        self.first_step, self.t0 = step, time.monotonic()
        self.progress.setRange(0, total)
        self.progress.setValue(step)

    def _progress(self, ev) -> None:
        self.progress.setValue(ev.step)
        self.history.append((ev.step, ev.loss))
        xs, ys = zip(*self.history)
        self.train_curve.setData(xs, _smooth(ys))
        done = ev.step - self.first_step
        rate = done / max(time.monotonic() - self.t0, 1e-6)
        left = (ev.total_steps - ev.step) / rate if rate > 0 else 0
        self.eta.setText(f"epoch {ev.epoch + 1}, step {ev.step} of {ev.total_steps}; loss {ev.loss:.3f} nats "
                         f"({ev.loss / math.log(2):.3f} bits); {ev.tokens_per_s:,.0f} tokens/s; about {_duration(left)} left")

    def _epoch_end(self, ev) -> None:
        self.val.append((ev.step, ev.val_loss))
        xs, ys = zip(*self.val)
        self.val_curve.setData(xs, ys)

    def _finished(self, path: str, how: str) -> None:
        self._cleanup()
        if how == "done":
            self.eta.setText(f"Done. The model is saved to {path} and is open in the main window.")
            self.progress.setValue(self.progress.maximum())
        else:
            self.eta.setText("Stopped; a checkpoint is saved. Tick 'Continue' and press Train to go on.")
            self.resume.setChecked(True)
        self.finished_training.emit(path, how)
        if Path(path).exists():
            self.model_ready.emit(path)

    def _failed(self, message: str) -> None:
        self._cleanup()
        self.eta.setText("Training failed.")
        self._message(message)
        self.finished_training.emit(self.output.text(), "failed")

    def _cleanup(self) -> None:
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if self.thread is not None:
            self.thread.quit()
            self.thread.wait(10000)
        self.thread = self.worker = None

    def _message(self, text: str) -> None:
        self.last_message = text
        box = QMessageBox(QMessageBox.Icon.Warning, "Training", text, QMessageBox.StandardButton.Ok, self)
        box.open()
        self.message_box = box

    def closeEvent(self, event) -> None:
        if self.worker is not None:  # stop cleanly, keeping what was learned
            self.worker.cancel()
            self.thread.quit()
            self.thread.wait(60000)
        super().closeEvent(event)


def _prepared(source: str):
    """A folder made by `guigen prepare`: its manifest (a dict), or why it can't be read (a str);
    None for anything else."""
    folder = Path(source) if source else None
    if folder is None or not (folder / MANIFEST).is_file():
        return None
    try:
        return read_manifest(folder)
    except DataError as e:
        return str(e)


def _row(*widgets) -> QWidget:
    w = QWidget()
    lay = QHBoxLayout(w)
    lay.setContentsMargins(0, 0, 0, 0)
    for x in widgets:
        lay.addWidget(x, 1 if isinstance(x, QLineEdit) else 0)
    return w


def _smooth(ys, alpha: float = 0.1):
    out, acc = [], None
    for y in ys:
        acc = y if acc is None else acc + alpha * (y - acc)
        out.append(acc)
    return out


def _duration(s: float) -> str:
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


def _music_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("guigen.music.dataset") is not None
