"""The live panel: play a MIDI keyboard with the model (answer, harmonize, record) from the app.

A thin Qt view over guigen.music.live.LiveSession, which does all the work on its own threads
(the MIDI input's, a scheduler, a model thread), never on the GUI's. A timer draws the session's
notes in the main window's piano roll as they arrive (PianoRoll.show_notes, on the 16th-note
grid: the player's grey, the model's coloured by the probability its event had; the roll's
colouring by probability is turned on for it) and shows the model's latest distribution in the
histogram; the temperature dial changes the session's temperature while it plays.
Ports are the Sound menu's MIDI Input and MIDI Output, or GuiGen's own virtual ports. When the
session stops it becomes a take in the Takes panel, and stays in the roll; `take()` returns it
as a NoteSequence.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDockWidget, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel,
                               QPushButton, QSpinBox, QVBoxLayout, QWidget)

from guigen.music.events import STEPS_PER_QUARTER, Note

PLAYER, MODEL = 0, 1  # the voices of a session's NoteSequence (guigen.music.live)


def roll_notes(seq, probs: dict):
    """A session's notes for the piano roll, on its 16th-note grid, and per note the probability
    of the model's event (None: the player's). In harmonize mode the model sends the player's
    note again as the chord's top voice: it is drawn once, as the player's."""
    k = seq.steps_per_quarter / STEPS_PER_QUARTER
    played = {(n.start, n.pitch) for n in seq.notes if n.voice == PLAYER}
    notes, chances = [], []
    for n in seq.notes:
        if n.voice == MODEL and (n.start, n.pitch) in played:
            continue
        start = round(n.start / k)
        notes.append(Note(start, max(start + 1, round(n.end / k)), n.pitch, n.velocity, n.voice))
        chances.append(probs.get((n.start, n.pitch), 1.0) if n.voice == MODEL else None)
    return notes, chances


class LivePanel(QDockWidget):
    def __init__(self, window):
        super().__init__("Live", window)
        self.setObjectName("live_panel")
        self.window = window
        self.session = None
        self.last_take = None
        self._shown = None  # what the roll shows of the session (roll_notes), to draw only changes
        self._dist_shown = None  # the distribution the histogram shows
        body = QWidget()
        form = QFormLayout()
        self.mode = QComboBox()
        self.mode.addItems(["answer", "harmonize", "record"])
        self.mode.setToolTip("answer: the model answers your phrases; harmonize: three voices under every note you "
                             "play (a polyphony model); record: a count-in, a click, your notes on the 16th grid")
        self.bars = QSpinBox()
        self.bars.setRange(0, 64)
        self.bars.setSpecialValueText("as long as the call")
        self.silence = QDoubleSpinBox()
        self.silence.setRange(0.25, 64)
        self.silence.setValue(4)
        self.silence.setSuffix(" beats")
        self.clock = QComboBox()
        self.clock.addItems(["none", "follow", "send"])
        self.clock.setToolTip("follow: keep to the MIDI clock coming in; send: send MIDI clock as master")
        self.virtual = QCheckBox("GuiGen's own ports ('GuiGen in', 'GuiGen out')")
        for label, widget in (("Mode", self.mode), ("Answer", self.bars), ("Silence", self.silence),
                              ("Clock", self.clock), ("Ports", self.virtual)):
            form.addRow(label, widget)
        self.start_button = QPushButton("Start")
        self.start_button.clicked.connect(self.toggle)
        self.status = QLabel("Stopped")
        self.status.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.start_button)
        top.addWidget(self.status, 1)
        layout = QVBoxLayout(body)
        layout.addLayout(form)
        layout.addLayout(top)
        layout.addStretch(1)
        self.setWidget(body)
        self.timer = QTimer(self)
        self.timer.setInterval(40)
        self.timer.timeout.connect(self._refresh)
        window.dial.temperature_changed.connect(self._temperature)
        window.model_loaded.connect(self._model_switched)

    # -- session ----------------------------------------------------------------------------
    def toggle(self) -> None:
        self.stop() if self.session is not None else self.start()

    def start(self) -> bool:
        from guigen.music.live import LiveOptions, LiveSession
        from guigen.music.midi import MidiError

        w = self.window
        mode = self.mode.currentText()
        model = w.model if mode != "record" else None
        if mode != "record" and (model is None or getattr(model.codec, "name", "") not in ("melody", "polyphony")):
            self.status.setText("Load a music model first (harmonize needs a polyphony model such as bach-chorales)")
            return False
        virtual = self.virtual.isChecked()
        inport, outport = w.settings.get("midi_input"), w.settings.get("midi_port")
        if not virtual and not (inport and outport):
            self.status.setText("Choose a MIDI input and output in the Sound menu, or use GuiGen's own ports")
            return False
        options = LiveOptions(mode, self.bars.value() or None, self.silence.value(), self.clock.currentText(),
                              float(w.settings.get("qpm")))
        try:
            self.session = LiveSession(model, options, w.sampling_settings(), None if virtual else inport,
                                       None if virtual else outport, virtual, on_message=self._say)
            self.session.start()
        except (MidiError, ValueError, OSError) as e:
            self.session = None
            self.status.setText(str(e))
            return False
        self.start_button.setText("Stop")
        self.status.setText(f"Playing: {self.session.inp.name} -> {self.session.out.name}")
        roll = w.piano_roll
        if roll is not None:  # the roll shows the session from its first note
            roll.reset(w.codec, (), options.metre)
            w.actions["colour_by_prob"].setChecked(True)  # the player's notes grey, the model's by probability
            self._shown = None
        self.timer.start()
        return True

    def stop(self) -> None:
        """Every note off, the session kept as the last take."""
        if self.session is None:
            return
        self.session.stop()
        probs: dict = {}
        self.last_take = self.session.sequence(probs=probs)
        self._show(self.last_take, probs)
        error = self.session.error
        takes = getattr(self.window, "takes", None)  # the session is kept like every Generate (guigen.app.take_panel)
        if takes is not None:
            takes.keep_live(self.last_take, self.session.options.mode)
        self.session = None
        self.timer.stop()
        self.start_button.setText("Start")
        self.status.setText(error or f"Stopped: {len(self.last_take.notes)} notes in the take")

    def take(self):
        """The running session's notes so far, or the last one's: a NoteSequence (Player and model voices)."""
        return self.session.sequence() if self.session is not None else self.last_take

    def _say(self, line: str) -> None:
        self._line = line  # from the engine's threads: shown by the timer, never touching widgets here

    def _model_switched(self, *_) -> None:
        """Another model was loaded: the session goes on with it where it can, else stops (notes off)."""
        s = self.session
        if s is None or s.options.mode == "record":
            return
        try:
            s.set_model(self.window.model)
            self.status.setText(f"Now playing with {self.window.model.name}")
        except ValueError as e:
            self.stop()
            self.status.setText(f"Stopped: {e}")

    def _temperature(self, *_) -> None:
        if self.session is not None:
            self.session.set_settings(self.window.sampling_settings())

    def _refresh(self) -> None:
        s = self.session
        if s is None:
            return
        if s.done.is_set():  # a port went away: one message, every note off
            self.stop()
            return
        probs: dict = {}
        seq = s.sequence(probs=probs, heard=True)
        dist = s.distribution_now()
        self._show(seq, probs)
        if getattr(self, "_line", None):
            self.status.setText(self._line)
            self._line = None
        if dist is not None and s.model is not None and dist is not self._dist_shown:
            self._dist_shown = dist
            probs_, raw, token, entropy = dist
            self.window.histogram.show_distribution(probs_, raw, token, entropy, "Live: the model's event heard last",
                                                    live=True)

    def _show(self, seq, probs: dict) -> None:
        """The session's notes in the main piano roll, drawn again only when they changed."""
        roll = self.window.piano_roll
        shown = roll_notes(seq, probs)
        if roll is None or shown == self._shown:
            return
        self._shown = shown
        roll.show_notes(shown[0], None, shown[1])

    def closeEvent(self, event) -> None:
        self.stop()
        super().closeEvent(event)
