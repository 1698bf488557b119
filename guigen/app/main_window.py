"""The main window: it wires the workspaces together and holds the generation's state.

The controls panel (guigen.app.panel), the output over the distribution (guigen.app.workspace),
the transport, variations, takes, settings per model, the cut's warning, music length and the
writer's view each live in their own module and are attached here; the display clock
(guigen.app.display_clock) and the file side (guigen.app.window_files) are mixed in.

It never runs the model: commands go to the generation process (guigen.app.generation) and
results come back as signals. Text models show a text view; music models a piano roll.
"""

from __future__ import annotations

import gc
import os
import random
import time
from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMainWindow, QWidget

from guigen.app import qtfix, window_layout
from guigen.app.actions import MENUS, build_actions
from guigen.app.display_clock import FRAME_S, TURNS, DisplayClock  # noqa: F401 (TURNS: tests read it here)
from guigen.app.length import describe as describe_length
from guigen.app.music import is_midi_primer
from guigen.app.panel import ControlsPanel, model_card
from guigen.app.window_files import WindowFiles
from guigen.app.settings import Settings
from guigen.app.sound_menu import SoundMenu
from guigen.app.workers import Generation
from guigen.app.workspace import Workspace, make_dock

qtfix.apply()  # before any painting: see qtfix for the PySide6 6.12 / Python 3.11 None leak


def _freeze_startup_objects() -> None:
    """Once, when the first model is in: move the ~70,000 objects made by then (modules, widgets)
    out of the garbage collector's reach. A full collection scanned them all, 15-25 ms holding the
    GIL from whichever thread triggered it, a stall the GUI felt while the model streamed."""
    if not getattr(_freeze_startup_objects, "done", False):
        gc.freeze()
        _freeze_startup_objects.done = True


class MainWindow(WindowFiles, DisplayClock, QMainWindow):
    # re-emitted in the GUI thread, after the window has taken each event in
    model_loaded = Signal(object)
    state_changed = Signal(str)
    failed = Signal(str, str)
    stepped = Signal(object)  # StepBatch, once shown
    previewed = Signal(object)  # Preview, once shown
    undone = Signal(int)
    sample_started = Signal()  # Generate or Step begins a new sample (its take is a new one)
    leaving = Signal()  # the sample on screen is about to go (another model, closing): keep it now

    def __init__(self, settings: Settings | None = None, save_settings: bool = True):
        super().__init__()
        self.settings = settings or Settings()
        self.save_settings = save_settings
        self.model = None  # LoadedModel, once loaded
        self.codec = None  # the model's codec, or the key-shifted view a primer chose
        self.primer_source = None  # the NoteSequence of a MIDI file primer (its tempo is kept on export)
        self.model_ref = ""  # the name or path it was loaded by
        self.state = "none"  # "none" (no model), then the worker's: idle, running, paused, stopped
        self.errors: list[str] = []  # every message shown, newest last (tests read it)
        self.quiet_errors = False  # print messages instead of showing boxes (screenshots)
        self.generation = Generation(self)
        self.actions = build_actions(self)
        self._rate = (time.monotonic(), 0)
        self.used_seed: int | None = None  # the seed of the sample shown (a random one is drawn and kept)
        self.used_temperatures: set[float] = set()  # temperatures its tokens were drawn at
        self._latest = None  # the newest batch whose distribution is not shown yet
        self._frame_timer = QTimer(self)  # the display clock, running while the worker streams
        self._frame_timer.setInterval(round(FRAME_S * 1000))
        self._frame_timer.timeout.connect(self._frame)
        self._phase = 0
        self._held = False  # the distribution is updated but not yet painted (see TURNS)
        self._stale = False  # a clear or load is on its way to the worker: what it sends before is old
        self._preview = None  # the newest next-token distribution not shown yet (see _previewed)
        self._preview_timer = self._soon(self._show_preview)
        self._latest_timer = self._soon(self._show_latest)
        self._build()
        self._connect()
        self._restore()
        self._set_state("none")

    # -- layout -----------------------------------------------------------------------------
    def _build(self) -> None:
        self.setWindowTitle("GuiGen")
        self.setAcceptDrops(True)
        self.menus = {}
        for title, names in MENUS.items():
            menu = self.menus[title] = self.menuBar().addMenu(title)
            for name in names:
                if name is None:
                    menu.addSeparator()
                else:
                    menu.addAction(self.actions[name])
                if name == "open":
                    self.recent_menu = menu.addMenu("Open &Recent")

        self.sound_menu = SoundMenu(self, self.menus["&Sound"])
        self.panel = p = ControlsPanel(self.actions)
        # the panel's widgets, under the names the rest of the window (and its tests) use
        self.model_combo, self.card, self.dial = p.model_combo, p.card, p.dial
        self.top_k, self.top_p, self.seed, self.length = p.top_k, p.top_p, p.seed, p.length
        self.primer, self.primer_label, self.primer_button = p.primer, p.primer_label, p.primer_button
        self.buttons, self.checks, self.conditions = p.buttons, p.checks, p.conditions

        self.splitter = ws = Workspace(self.settings)  # the output over the histogram and curve
        self.text_view, self.views = ws.text_view, ws.views
        self.histogram, self.curve = ws.distribution.histogram, ws.distribution.curve
        self.menus["&View"].addAction(ws.toggle)
        self.piano_roll = None  # made when a music model is loaded

        central = QWidget()
        lay = QHBoxLayout(central)
        lay.setContentsMargins(0, 0, 6, 0)
        lay.addWidget(self.panel)
        lay.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.state_label = QLabel()
        self.count_label = QLabel()
        self.statusBar().addPermanentWidget(self.count_label)
        self.statusBar().addPermanentWidget(self.state_label)
        from guigen.app.cells_view import CellsDock  # the Cells view (View > Cells), hidden at first

        self.cells_dock = make_dock(self, CellsDock(self), "cells_dock")
        self.cells_dock.hide()
        from guigen.app import transport, variations  # the music transport on the panel, the variations strip

        transport.attach(self)
        variations.attach(self)
        from guigen.app import take_panel  # the Takes dock: every sample kept on disk

        take_panel.attach(self)
        from guigen.app import model_settings, wheel  # settings per model; the wheel turns only a focused control

        model_settings.attach(self)
        from guigen.app import cut_watch, length  # the cut leaving one token said; music length in bars

        length.attach(self)

        cut_watch.attach(self)
        from guigen.app import writer  # the text editable, continued from the cursor

        writer.attach(self)
        from guigen.app import tab_order  # Tab in reading order, through every control

        tab_order.attach(self)

        self.wheel_guard = wheel.guard(self)

    def _connect(self) -> None:
        a = self.actions
        a["open"].triggered.connect(self.open_dialog)
        a["open_primer_midi"].triggered.connect(self.choose_primer_midi)
        a["harmonize"].triggered.connect(self.harmonize_dialog)
        a["export_text"].triggered.connect(lambda: self.export_dialog("text"))
        a["export_midi"].triggered.connect(lambda: self.export_dialog("midi"))
        a["export_wav"].triggered.connect(lambda: self.export_dialog("wav"))
        a["train"].triggered.connect(self.train_dialog)
        a["quit"].triggered.connect(self.close)
        a["generate"].triggered.connect(self.generate)
        a["pause"].triggered.connect(lambda: self.generation.send("pause"))
        a["step"].triggered.connect(self.step)
        a["stop"].triggered.connect(lambda: self.generation.send("stop"))
        a["undo"].triggered.connect(lambda: self.generation.send("undo"))
        a["clear"].triggered.connect(self.clear)
        a["play"].triggered.connect(self.play)
        a["stop_playback"].triggered.connect(self.stop_playback)
        a["colour_by_prob"].toggled.connect(self.text_view.set_colour)
        a["sort_by_prob"].toggled.connect(lambda on: self.histogram.set_options(sort=on))
        a["show_raw"].toggled.connect(lambda on: self.histogram.set_options(show_raw=on))
        a["log_scale"].toggled.connect(lambda on: self.histogram.set_options(log_y=on))
        a["pause_resume"].triggered.connect(self.pause_resume)
        a["temperature_up"].triggered.connect(lambda: self.dial.dial.setValue(self.dial.dial.value() + 5))
        a["temperature_down"].triggered.connect(lambda: self.dial.dial.setValue(self.dial.dial.value() - 5))
        a["about"].triggered.connect(self.about)
        self.model_combo.activated.connect(lambda i: self.load_model(self.model_combo.itemData(i)))
        self.dial.temperature_changed.connect(self.send_settings)
        self.dial.temperature_changed.connect(self.curve.set_temperature)
        self.top_k.valueChanged.connect(self.send_settings)
        self.top_p.valueChanged.connect(self.send_settings)
        self.histogram.token_clicked.connect(self.force)
        w = self.generation.worker
        w.loaded.connect(self._loaded)
        w.stepped.connect(self._stepped)
        w.previewed.connect(self._previewed)
        w.undone.connect(self._undone)
        w.state_changed.connect(self._set_state)
        w.cleared.connect(self._caught_up)
        w.failed.connect(self._failed)

    def _restore(self) -> None:
        s = self.settings
        self.dial.set_temperature(s.get("temperature"), emit=False)
        self.curve.set_temperature(self.dial.temperature())  # its marker at the T in force from the start
        self.top_k.setValue(s.get("top_k"))
        self.top_p.setValue(s.get("top_p"))
        self.seed.setValue(s.get("seed"))
        self.length.setValue(s.get("length"))
        self.primer.setText(s.get("primer"))
        for name in ("colour_by_prob", "sort_by_prob", "show_raw", "log_scale"):
            self.actions[name].setChecked(s.get(name))
            self.checks[name].setChecked(s.get(name))
        self.histogram.set_options(sort=s.get("sort_by_prob"), show_raw=s.get("show_raw"), log_y=s.get("log_scale"))
        self.text_view.set_colour(s.get("colour_by_prob"))
        window_layout.restore(self)  # the saved size and docks, else one that fits the screen
        self._fill_models()

    def _fill_models(self) -> None:
        from guigen.core import registry

        self.model_combo.clear()
        for name in registry.available():
            self.model_combo.addItem(name, name)
        for ref in self.settings.get("recent_models"):
            if self.model_combo.findData(ref) < 0 and Path(ref).exists():
                self.model_combo.addItem(Path(ref).name, ref)
        self.recent_menu.clear()
        for ref in self.settings.get("recent_models"):
            self.recent_menu.addAction(ref, lambda r=ref: self.load_model(r))
        self.recent_menu.setEnabled(bool(self.settings.get("recent_models")))

    def save_state(self) -> None:
        s = self.settings
        s.set("temperature", self.dial.temperature())
        s.set("top_k", self.top_k.value())
        s.set("top_p", self.top_p.value())
        s.set("seed", self.seed.value())
        s.set("length", self.length.value())
        s.set("primer", self.primer.text())
        for name in ("colour_by_prob", "sort_by_prob", "show_raw", "log_scale"):
            s.set(name, self.actions[name].isChecked())
        window_layout.save(self)
        self.splitter.remember()
        if self.model_ref:
            s.set("model", self.model_ref)
        s.sync()

    def closeEvent(self, event) -> None:
        self.leaving.emit()
        self.takes.close()
        if self.save_settings:
            self.save_state()
        from guigen.app.harmonize import stop as stop_harmony

        stop_harmony(self)
        self.generation.shutdown()
        super().closeEvent(event)

    # -- models -----------------------------------------------------------------------------
    def load_model(self, ref: str) -> None:
        """Load a shipped model by name, or a model file by path, in the generation process."""
        from guigen.core import registry

        if not ref:
            return
        try:
            path = registry.resolve(str(ref))
        except FileNotFoundError as e:  # a moved or deleted file too: said, never swapped for another model
            self.show_error("Could not open the model", f"{e}; pick one in the model list or File > Open Model")
            return
        self.leaving.emit()
        # a name stays a name; a file is kept by its absolute path, so the settings work from any folder
        self.model_ref = str(ref) if registry.available().get(str(ref)) == path else os.path.abspath(path)
        self.statusBar().showMessage(f"Loading {path.name}…")
        self._stale = True  # until the worker says it loaded (or failed to)
        self.generation.send("load", (str(path), path.name.removesuffix(".safetensors")))

    def _caught_up(self) -> None:
        """The worker has handled the clear or load asked for: what it sends now is current."""
        self._stale = False

    def _loaded(self, model) -> None:
        self._caught_up()
        self.model = model
        self._rate = (time.monotonic(), 0)
        self.count_label.setText("")
        self.setWindowTitle(f"GuiGen — {model.name}")
        self.statusBar().showMessage(f"Loaded {model.name}", 4000)
        if self.save_settings:
            self.settings.add_recent(self.model_ref)
            self.settings.set("model", self.model_ref)
        self._fill_models()
        i = self.model_combo.findData(self.model_ref)
        if i < 0:
            self.model_combo.addItem(model.name, self.model_ref)
            i = self.model_combo.count() - 1
        self.model_combo.setCurrentIndex(i)
        self.card.setText(model_card(model))
        self.codec = model.codec  # the primer may swap in a key-shifted view (melody models in one key)
        self.top_k.setMaximum(model.codec.num_classes)
        self.conditions.set_model(model.codec)
        self.histogram.set_labels([model.codec.token_label(i) for i in range(model.codec.num_classes)])
        self.curve.clear()  # the last model's curve is not this one's
        music = model.kind == "music"
        self.histogram.set_lump(*(("other", "events") if music else ("rest", "tokens")))
        self.splitter.set_mode(model.kind)
        self.primer_button.setVisible(music)
        self.actions["open_primer_midi"].setEnabled(music)
        self.actions["harmonize"].setEnabled(music and model.codec.name == "polyphony")
        if music:
            self._ensure_piano_roll()
            self.piano_roll.reset(model.codec)
            self.views.setCurrentWidget(self.piano_roll)
            if self.primer.text().strip(",0123456789 []") and not is_midi_primer(self.primer.text()):
                # a text primer: swap in the pitches
                self.primer.setText(self.settings.get("primer_pitches"))
            self.primer.setPlaceholderText("MIDI pitches, e.g. 60,64,67, or a .mid file")
            self.primer.setToolTip("MIDI pitches to start from (a chord for polyphony, a tune for melody), "
                                   "or the path of a MIDI file whose notes and tempo to start from")
            self.primer_label.setText("Primer pitches")
        else:
            self.views.setCurrentWidget(self.text_view)
            if self.primer.text() and (not self.primer.text().strip(",0123456789 []")
                                       or is_midi_primer(self.primer.text())):
                self.primer.setText("")  # pitches mean nothing to a text model
            self.primer.setPlaceholderText("(a line break)")
            self.primer.setToolTip("Text the model continues")
            self.primer_label.setText("Primer")
        self.text_view.reset("")
        self.send_settings()
        self._set_state("idle")
        _freeze_startup_objects()
        self.model_loaded.emit(model)

    def _failed(self, what: str, message: str) -> None:
        if what == "load":
            self._caught_up()  # the model it had stays
        self.show_error(f"Could not {what}", message)
        self.failed.emit(what, message)

    # -- generation -------------------------------------------------------------------------
    def sampling_settings(self):
        from guigen.core.sampling import SamplingSettings

        return SamplingSettings(self.dial.temperature(), self.top_k.value(), self.top_p.value())

    def send_settings(self, *_) -> None:
        try:
            self.generation.send("settings", self.sampling_settings())
        except ValueError as e:
            self.show_error("Bad sampling settings", str(e))

    def _prepare(self) -> bool:
        """Encode the primer and hand it and the seed to the worker; reset the views."""
        if self.model is None:
            self.show_error("No model", "Load a model first (File > Open Model, or pick one in the list).")
            return False
        try:
            tokens, shown = self.encode_primer(self.primer.text())
        except ValueError as e:
            self.show_error("Bad primer", str(e))
            return False
        self.sample_started.emit()
        self.text_view.reset(shown)
        if self.piano_roll is not None and self.model.kind == "music":
            source = self.primer_source  # a MIDI file primer's metre draws the ruler's bars
            self.piano_roll.reset(self.codec, tokens, source.time_signature if source else (4, 4))
        # a random seed is drawn here, so the sample can be named by it and made again
        self.used_seed = self.seed.value() if self.seed.value() >= 0 else random.randrange(2**31 - 1)
        self.used_temperatures = set()
        self.generation.send("seed", self.used_seed)
        self.generation.send("primer", tokens)
        self.generation.send("roll", self.codec if self.model.kind == "music" else None)  # it works out the notes
        self.send_settings()
        self._rate = (time.monotonic(), 0)
        return True

    def encode_primer(self, text: str):
        """(token ids, text shown) for the primer; raises ValueError with a readable message."""
        from guigen.app.primer_input import encode_primer

        return encode_primer(self, text)

    def generate(self) -> None:
        from guigen.app.length import generate_length  # characters, or steps for music

        if self.text_view.is_edited and self.state != "paused" and self.model is not None:
            self.text_view.is_edited = False  # (once: continuing makes the text the primer)
            if self.writer.continue_from_cursor(at_end=True):  # the edited text goes on from its end
                return
        if self.state == "paused":
            self.generation.send("generate", generate_length(self))
        elif self._prepare():
            self.generation.send("generate", generate_length(self))

    def step(self) -> None:
        if self.state in ("paused", "stopped") or self._prepare():
            self.generation.send("step")

    def force(self, token: int) -> None:
        """A bar was clicked: that token comes next."""
        if self.model is None:
            return
        if self.state in ("running", "paused", "stopped") or self._prepare():
            self.generation.send("force", int(token))
            self.statusBar().showMessage(f"Next token set to {self.codec.token_label(token)}", 3000)

    def clear(self) -> None:
        self._latest = self._preview = None
        self._stale = True  # batches already on their way belong to the sample cleared
        self.generation.send("clear")
        self.count_label.setText("")
        self.text_view.reset("")
        if self.model is not None:
            self.codec = self.model.codec
        if self.piano_roll is not None and self.model is not None and self.model.kind == "music":
            self.piano_roll.reset(self.codec)
        if self.model is not None:
            self.histogram.set_labels([self.codec.token_label(i) for i in range(self.codec.num_classes)])
        self.curve.clear()

    def _stepped(self, batch) -> None:
        if self._stale:
            return
        codec = self.model.codec
        if self.model.kind == "music":
            self.piano_roll.append_tokens(batch.tokens, batch.probs, batch.notes)
        else:
            self.text_view.append_tokens([codec.chars[t] for t in batch.tokens], batch.probs,
                                         getattr(batch, "alts", None) or None)
        self.used_temperatures.add(batch.temperature)
        # streaming, the display clock shows the newest distribution (see FRAME_S); a step, a pause or
        # a stop shows it at once
        self._latest = batch
        if self.state != "running":
            self._show_latest()
        t0, n0 = self._rate
        n0 += len(batch.tokens)
        dt = time.monotonic() - t0
        self._rate = (t0, n0)
        rate = f", {n0 / dt:,.0f} tokens/s" if dt > 0.5 else ""
        self.count_label.setText(f"{describe_length(self, batch.count)}{rate}")
        self.stepped.emit(batch)

    def _undone(self, count: int, notes=None) -> None:
        if self._stale:
            return
        if self.model.kind == "music":
            self.piano_roll.truncate(count, notes)
        else:
            self.text_view.truncate(count)
        self.count_label.setText(describe_length(self, count))
        self.undone.emit(count)

    def _set_state(self, state: str) -> None:
        self.state = state
        streaming = state == "running"
        was_streaming = self._frame_timer.isActive()
        if self.piano_roll is not None:
            self.piano_roll.set_paced(streaming)  # off: what came in is drawn now
        self.text_view.set_paced(streaming)
        if was_streaming and not streaming:
            self._paint_now(*([self.piano_roll.plot] if self.piano_roll is not None else []))
        if streaming:
            self._frame_timer.start()
        else:
            self._frame_timer.stop()
            if self._held:
                self._hold_distribution(False)  # painted with what comes next
            # the last batch's distribution, unless the preview the worker sends after it (most often
            # already on its way) supersedes it first: drawing both made a stop's frame twice as long
            self._latest_timer.start()
        loaded = self.model is not None
        on = {
            "none": set(),
            "idle": {"generate", "step", "clear"},
            "running": {"pause", "stop", "undo", "clear"},
            "paused": {"generate", "step", "stop", "undo", "clear"},
            "stopped": {"generate", "step", "undo", "clear"},
        }[state]
        for name in ("generate", "pause", "step", "stop", "undo", "clear"):
            self.actions[name].setEnabled(loaded and name in on)
        self.actions["pause_resume"].setEnabled(loaded and state != "none")
        self.actions["generate"].setText("&Resume" if state == "paused" else "&Generate")
        self.actions["generate"].setIconText("Resume" if state == "paused" else "Generate")
        music = loaded and self.model.kind == "music"
        have_output = loaded and state != "none"
        self.actions["export_text"].setEnabled(have_output and not music)
        for name in ("export_midi", "export_wav", "play", "stop_playback"):
            self.actions[name].setEnabled(have_output and music)
        self.state_label.setText({"none": "no model", "idle": "ready"}.get(state, state))
        self.state_changed.emit(state)

    def pause_resume(self) -> None:
        """Space: pause when generating, else resume (or start)."""
        if self.state == "running":
            self.actions["pause"].trigger()
        elif self.actions["generate"].isEnabled():
            self.actions["generate"].trigger()

    # -- dialogs ----------------------------------------------------------------------------