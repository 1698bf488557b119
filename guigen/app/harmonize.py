"""The app's Harmonize action: the loaded polyphony model (bach-chorales) writes alto, tenor and
bass under a melody file. The melody is outlined in the piano roll from the start, fixed, and the
harmonisation grows under it, sampled at the dial's temperature (guigen.music.harmonize, in a
worker thread: the GUI thread never runs the model)."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal
from PySide6.QtWidgets import QFileDialog

MELODY_FILTER = "Melodies (*.mid *.midi *.abc *.musicxml *.mxl *.xml);;All files (*)"
FLUSH_S = 0.05  # tokens are handed to the GUI at most this often


class Cancelled(Exception):
    pass


class HarmonizeWorker(QObject):
    """Runs one harmonisation in its thread, streaming (tokens, probabilities) as they come."""

    progressed = Signal(object, object)  # token ids, the probability each had when chosen
    finished = Signal(object)  # Harmonisation
    failed = Signal(str)

    def __init__(self, model, melody, settings, seed):
        super().__init__()
        self.model, self.melody, self.settings, self.seed = model, melody, settings, seed
        self.cancelled = False
        self._tokens: list[int] = []
        self._probs: list[float] = []
        self._last = time.monotonic()

    def _on_step(self, step) -> None:
        if self.cancelled:
            raise Cancelled
        self._tokens.append(step.token)
        self._probs.append(float(step.probs[0, step.token]))
        if time.monotonic() - self._last >= FLUSH_S:
            self._flush()

    def _flush(self) -> None:
        if self._tokens:
            self.progressed.emit(self._tokens, self._probs)
            self._tokens, self._probs = [], []
        self._last = time.monotonic()

    def run(self) -> None:
        from guigen.music.harmonize import harmonize

        try:
            result = harmonize(self.model, self.melody, self.settings, self.seed, on_step=self._on_step)
        except Cancelled:
            return
        except (ValueError, RuntimeError) as e:
            self.failed.emit(str(e))
            return
        self._flush()
        self.finished.emit(result)


def ask(window) -> None:
    """Harmonize…: pick a melody file, then harmonise it."""
    if window.model is None or getattr(window.model.codec, "name", "") != "polyphony":
        window.show_error("Harmonize needs a chorale model",
                          "Load a polyphony model such as bach-chorales first: it writes the lower voices.")
        return
    start = str(window.settings.get("last_dir") or Path.home())
    path, _ = QFileDialog.getOpenFileName(window, "Harmonize a melody", start, MELODY_FILTER)
    if path:
        start_harmony(window, path)


class Harmonizer(QObject):
    """The GUI side of one harmonisation: its slots run in the GUI thread (queued from the worker)."""

    def __init__(self, window, melody, path):
        super().__init__(window)
        self.window, self.path = window, Path(path)
        self.worker = HarmonizeWorker(window.model, melody, window.sampling_settings(), window.used_seed)
        self.thread = QThread(self)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.progressed.connect(self.progressed)
        self.worker.finished.connect(self.finished)
        self.worker.failed.connect(self.failed)

    def progressed(self, tokens, probs) -> None:
        self.window.piano_roll.append_tokens(tokens, probs)

    def finished(self, result) -> None:
        self.thread.quit()
        w = self.window
        w.piano_roll.set_guide([])
        w.piano_roll.set_top_line(result.melody)
        w._set_state("stopped")  # export and play see it as a finished sample
        w.statusBar().showMessage(f"Harmonized {self.path.name}: {len(result.melody)} melody notes, "
                                  f"{len(result.notes) - len(result.melody)} notes below", 8000)

    def failed(self, message: str) -> None:
        self.thread.quit()
        self.window.piano_roll.set_guide([])
        self.window.show_error("Harmonizing failed", message)

    def stop(self) -> None:
        self.worker.cancelled = True
        self.thread.quit()
        self.thread.wait()


def start_harmony(window, path) -> bool:
    """Read the melody, show it fixed in the piano roll, and start harmonising it; False on bad input."""
    from guigen.music.harmonize import model_shift, read_melody
    from guigen.music.polyphony import START, STEP_END, PolyphonyEncoding

    if window.state == "running":  # its last tokens would land in the harmonisation's piano roll
        window.show_error("Still generating", "Stop or pause generating first (Esc or F6), then harmonize.")
        return False
    stop(window)
    codec = window.model.codec
    try:
        melody, source = read_melody(path)
        shift = model_shift(codec, melody)
    except (OSError, ValueError) as e:  # MidiError and NotationError are ValueErrors
        window.show_error("Cannot harmonize this melody", str(e))
        return False
    window.generation.send("stop")
    window.codec = PolyphonyEncoding(None, shift, codec.min_pitch, codec.max_pitch)  # the melody's key
    window.primer_source = source  # its tempo and metre, for playing and export
    window.harmony_melody = melody
    window.used_seed = window.seed.value() if window.seed.value() >= 0 else None
    window.used_temperatures = {window.dial.temperature()}
    window._ensure_piano_roll()
    # leading rests or a pickup: empty steps before the first chord keep every bar line in place
    window.piano_roll.reset(window.codec, [START] + [STEP_END] * melody[0].start, source.time_signature)
    window.piano_roll.set_guide(melody)
    window.harmony = Harmonizer(window, melody, path)
    window.statusBar().showMessage(f"Harmonizing {Path(path).name}…")
    window.state_label.setText("harmonizing")
    window.harmony.thread.start()
    return True


def stop(window) -> None:
    """Cancel a harmonisation under way, and wait for its thread."""
    running = getattr(window, "harmony", None)
    if running is not None:
        running.stop()
        window.harmony = None


def melody_of_window(window):
    """The melody the piano roll's music was harmonised under, while it is still there; else None."""
    melody = getattr(window, "harmony_melody", None)
    roll = window.piano_roll
    if not melody or roll is None:
        return None
    keys = {n.key for n in roll.notes}
    return melody if all(n.key in keys for n in melody) else None
