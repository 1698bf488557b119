"""The app's Harmonize action: the loaded polyphony model (bach-chorales) writes alto, tenor and
bass under a melody file. A dialog asks for the melody, the temperature, the beam size, strict or
free rules (parallel fifths and octaves) and complete chords, and an ending on the tonic where the
harmoniser offers one. The melody is outlined in the piano roll from the start, fixed, and the
harmonisation grows under it while the histogram and the entropy curve follow each step's
distribution (guigen.music.harmonize, run in the generation process as a job: guigen.app.engine)."""

from __future__ import annotations

import random
from pathlib import Path

from PySide6.QtCore import QObject

from guigen.app.jobs import HarmonizeJob

LAST = "the last event's distribution"  # the histogram's title while harmonising, after how it is going
MELODY_FILTER = "Melodies (*.mid *.midi *.abc *.musicxml *.mxl *.xml);;All files (*)"


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
    """The GUI side of one harmonisation: the job sent to the generation process, and its batches
    as they come back (RemoteWorker.harmonized, in the GUI thread)."""

    def __init__(self, window, melody, path, options=None):
        super().__init__(window)
        self.window, self.path = window, Path(path)
        self.job = HarmonizeJob(melody, window.sampling_settings(), window.used_seed, dict(options or {}))
        self.options = self.job.options
        self.ended = False
        window.generation.worker.harmonized.connect(self._harmonized)
        window.actions["stop"].triggered.connect(self._cancel)  # Esc
        window.state_changed.connect(self._hold)
        window.sample_started.connect(self._forget)

    def start(self) -> None:
        self.window.generation.send("harmonize", self.job)
        self._hold()

    def _hold(self, _state=None) -> None:
        """While it runs: Stop (Esc) cancels it, and Generate and Step wait (their sample would land
        in its piano roll), whatever state the model's process reports meanwhile."""
        if not self.ended:
            a = self.window.actions
            a["stop"].setEnabled(True)
            a["generate"].setEnabled(False)
            a["step"].setEnabled(False)

    def _forget(self) -> None:
        """A new sample began: the music on screen is no longer this harmonisation (its take is kept)."""
        if self.ended and getattr(self.window, "harmony", None) is self:
            self.window.harmony = None
        if self.ended:
            self.window.sample_started.disconnect(self._forget)

    def _harmonized(self, batch) -> None:
        if batch.job is not self.job or self.ended:
            return
        if batch.tokens:
            self.progressed(batch.tokens, batch.probs)
        if batch.last_probs is not None:
            self.distribution(batch.last_probs, batch.last_raw, batch.entropy)
        if batch.done:
            self._end()
            if batch.error is not None:
                self.failed(batch.error)
            elif batch.result is not None:
                self.finished(batch.result)
            else:  # the process ended under it: the window says so (RemoteWorker.failed)
                self.said_ended("Harmonizing ended")

    def progressed(self, tokens, probs) -> None:
        if self.options.get("beam_size", 1) <= 1:  # a beam reorders its rows: its end is drawn at the end
            self.window.piano_roll.append_tokens(tokens, probs)

    def distribution(self, probs, raw, entropy: float) -> None:
        """The step just made: the histogram and the curve follow the harmonisation as it is written."""
        w = self.window
        settings = w.sampling_settings()
        w.histogram.show_distribution(probs, raw, None, entropy, f"Harmonizing: {LAST}", live=True, settings=settings)
        w.curve.set_distribution(raw, settings.top_k, settings.top_p, live=True)

    def finished(self, result) -> None:
        w = self.window
        if self.options.get("beam_size", 1) > 1:  # the beam's best, as a whole
            from guigen.music.polyphony import START

            ids = [int(t) for t in w.codec.primer(result.notes)]
            ids = ids[1:] if ids and ids[0] == START else ids
            roll = w.piano_roll
            roll.reset(w.codec, [START], roll.time_signature)
            roll.append_tokens(ids, [None] * len(ids))  # probabilities of a ranked whole: not one draw's
        w.piano_roll.set_top_line(result.melody)
        self.said_ended("Harmonized")  # stopped: export and play see it as a finished sample
        w.statusBar().showMessage(f"Harmonized {self.path.name}: {len(result.melody)} melody notes, "
                                  f"{len(result.notes) - len(result.melody)} notes below", 8000)

    def failed(self, message: str) -> None:
        self.said_ended("Harmonizing failed")
        self.window.statusBar().showMessage(f"Harmonizing {self.path.name} failed: {message}", 10000)
        self.window.show_error("Harmonizing failed", message)

    def said_ended(self, how: str) -> None:
        """Ended (finished, stopped, failed): the outline gives way, and no label says it goes on:
        the histogram's header says how it ended, the state is stopped."""
        w = self.window
        w.piano_roll.set_guide([])
        w.histogram.retitle(f"{how}: {LAST}")
        w._set_state("stopped")

    def stop(self) -> None:
        """Cancel it: the process stops at its next step, and what it still sends is not shown."""
        if not self.ended:
            self._end()
            self.window.generation.send("stop_harmonize")

    def _cancel(self) -> None:
        cancel(self.window)

    def _end(self) -> None:
        self.ended = True
        w = self.window
        w.generation.worker.harmonized.disconnect(self._harmonized)
        w.actions["stop"].triggered.disconnect(self._cancel)
        w.state_changed.disconnect(self._hold)
        ready = w.model is not None and w.state in ("idle", "paused", "stopped")
        for name in ("generate", "step"):  # as the state has them (see MainWindow._set_state)
            w.actions[name].setEnabled(ready)


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
    window.takes.new_sample()  # its own take: a second harmonisation wrote over the first one's
    window.codec = PolyphonyEncoding(None, shift, codec.min_pitch, codec.max_pitch)  # the melody's key
    window.primer_source = source  # its tempo and metre, for playing and export
    window.harmony_melody = melody
    # a random seed is drawn here, as Generate draws one: the take is named by it and can be made again
    window.used_seed = window.seed.value() if window.seed.value() >= 0 else random.randrange(2**31 - 1)
    window.used_temperatures = {window.dial.temperature()}
    window._ensure_piano_roll()
    # leading rests or a pickup: empty steps before the first chord keep every bar line in place
    window.piano_roll.reset(window.codec, [START] + [STEP_END] * melody[0].start, source.time_signature)
    window.piano_roll.set_guide(melody)
    window.harmony = Harmonizer(window, melody, path, options)
    window.statusBar().showMessage(f"Harmonizing {Path(path).name}…")
    window.state_label.setText("harmonizing")
    window.harmony.start()
    window.actions["stop"].setEnabled(True)  # Esc cancels it (cancel)
    return True


def cancel(window) -> None:
    """Stop (Esc) while harmonising: the harmonisation ends where it is, the outline gives way."""
    running = getattr(window, "harmony", None)
    if running is None or running.ended:
        return
    stop(window)
    running.said_ended("Harmonizing stopped")
    window.statusBar().showMessage("Harmonizing stopped", 5000)


def stop(window) -> None:
    """Cancel a harmonisation under way."""
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
