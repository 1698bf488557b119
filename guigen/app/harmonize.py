"""The app's Harmonize action: the loaded polyphony model (bach-chorales) writes alto, tenor and
bass under a melody file. A dialog asks for the melody, the temperature, the beam size, strict or
free rules (parallel fifths and octaves) and complete chords, and an ending on the tonic where the
harmoniser offers one. The melody is outlined in the piano roll from the start, fixed, and the
harmonisation grows under it while the histogram and the entropy curve follow each step's
distribution (guigen.music.harmonize, in a worker thread: the GUI thread never runs the model)."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal

MELODY_FILTER = "Melodies (*.mid *.midi *.abc *.musicxml *.mxl *.xml);;All files (*)"
FLUSH_S = 0.05  # tokens are handed to the GUI at most this often


class Cancelled(Exception):
    pass


class HarmonizeWorker(QObject):
    """Runs one harmonisation in its thread, streaming (tokens, probabilities) as they come."""

    progressed = Signal(object, object)  # token ids, the probability each had when chosen
    distribution = Signal(object, object, float)  # the last step's: sampled from, the model's own, entropy
    finished = Signal(object)  # Harmonisation
    failed = Signal(str)

    def __init__(self, model, melody, settings, seed, options=None):
        super().__init__()
        self.model, self.melody, self.settings, self.seed = model, melody, settings, seed
        self.options = dict(options or {})  # beam_size, strict, four (and ending, where offered)
        self.cancelled = False
        self._tokens: list[int] = []
        self._probs: list[float] = []
        self._last_step = None
        self._last = time.monotonic()

    def _on_step(self, step) -> None:
        if self.cancelled:
            raise Cancelled
        self._tokens.append(step.token)
        self._probs.append(float(step.probs[0, step.token]))
        self._last_step = step
        if time.monotonic() - self._last >= FLUSH_S:
            self._flush()

    def _flush(self) -> None:
        if self._tokens:
            self.progressed.emit(self._tokens, self._probs)
            self._tokens, self._probs = [], []
        step, self._last_step = self._last_step, None
        if step is not None:
            self.distribution.emit(step.probs[0].copy(), step.raw_probs[0].copy(), float(step.entropy[0]))
        self._last = time.monotonic()

    def run(self) -> None:
        from guigen.music.harmonize import harmonize

        try:
            result = harmonize(self.model, self.melody, self.settings, self.seed, on_step=self._on_step,
                               **self.options)
        except Cancelled:
            return
        except (ValueError, RuntimeError) as e:
            self.failed.emit(str(e))
            return
        self._flush()
        self.finished.emit(result)


def ask(window) -> None:
    """Harmonize…: a dialog for the melody and how to harmonise it, then harmonise."""
    if window.model is None or getattr(window.model.codec, "name", "") != "polyphony":
        window.show_error("Harmonize needs a chorale model",
                          "Load a polyphony model such as bach-chorales first: it writes the lower voices.")
        return
    from guigen.app.harmonize_dialog import HarmonizeDialog

    dialog = HarmonizeDialog(window)
    window.harmonize_box = dialog
    if dialog.exec():
        window.dial.set_temperature(dialog.temperature.value())
        start_harmony(window, dialog.path.text(), dialog.options())


class Harmonizer(QObject):
    """The GUI side of one harmonisation: its slots run in the GUI thread (queued from the worker)."""

    def __init__(self, window, melody, path, options=None):
        super().__init__(window)
        self.window, self.path = window, Path(path)
        self.worker = HarmonizeWorker(window.model, melody, window.sampling_settings(), window.used_seed, options)
        self.thread = QThread(self)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.progressed.connect(self.progressed)
        self.worker.distribution.connect(self.distribution)
        self.worker.finished.connect(self.finished)
        self.worker.failed.connect(self.failed)

    def progressed(self, tokens, probs) -> None:
        if self.worker.options.get("beam_size", 1) <= 1:  # a beam reorders its rows: its end is drawn at the end
            self.window.piano_roll.append_tokens(tokens, probs)

    def distribution(self, probs, raw, entropy: float) -> None:
        """The step just made: the histogram and the curve follow the harmonisation as it is written."""
        w = self.window
        settings = w.sampling_settings()
        w.histogram.show_distribution(probs, raw, None, entropy, "Harmonizing: the last event's distribution",
                                      live=True, settings=settings)
        w.curve.set_distribution(raw, settings.top_k, settings.top_p)

    def finished(self, result) -> None:
        self.thread.quit()
        w = self.window
        if self.worker.options.get("beam_size", 1) > 1:  # the beam's best, as a whole
            from guigen.music.polyphony import START

            ids = [int(t) for t in w.codec.primer(result.notes)]
            ids = ids[1:] if ids and ids[0] == START else ids
            roll = w.piano_roll
            roll.reset(w.codec, [START], roll.time_signature)
            roll.append_tokens(ids, [None] * len(ids))  # probabilities of a ranked whole: not one draw's
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


def start_harmony(window, path, options=None) -> bool:
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
    window.harmony = Harmonizer(window, melody, path, options)
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
