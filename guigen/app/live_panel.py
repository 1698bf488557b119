"""The live panel: play a MIDI keyboard with the model (answer, harmonize, record) from the app.

A thin Qt view over guigen.music.live.LiveSession, which does all the work on its own threads
(the MIDI input's, a scheduler, a model thread), never on the GUI's. A timer redraws the
session's notes as they arrive (the player's grey, the model's coloured by the probability its
event had, as in the piano roll) and shows the model's latest distribution in the main
window's histogram; the temperature dial changes the session's temperature while it plays.
Ports are the Sound menu's MIDI Input and MIDI Output, or GuiGen's own virtual ports.
`take()` returns the session as a NoteSequence (for the takes list, or export).
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDockWidget, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel,
                               QPushButton, QSpinBox, QVBoxLayout, QWidget)

from guigen.app.widgets.pianoroll import prob_fill

PLAYER_FILL = QColor(150, 150, 160)


class LiveRoll(QWidget):
    """The session's notes, the last few bars, drawn as they arrive."""

    BEATS = 16.0

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumHeight(140)
        self.notes, self.probs, self.now = [], [], 0.0
        self.steps_per_quarter = 96

    def show_notes(self, seq, probs: dict) -> None:
        self.notes, self.probs = seq.notes, probs
        self.steps_per_quarter = seq.steps_per_quarter
        self.now = max((n.end for n in seq.notes), default=0) / seq.steps_per_quarter
        self.update()

    def paintEvent(self, _) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().base())
        if not self.notes:
            p.setPen(self.palette().text().color())
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Notes appear here as you play")
            return
        low = min(n.pitch for n in self.notes) - 2
        high = max(n.pitch for n in self.notes) + 2
        left = max(self.now - self.BEATS, 0.0)
        w, h = self.width(), self.height()
        row = h / max(high - low, 1)
        q = self.steps_per_quarter
        for n in self.notes:
            start, end = n.start / q, n.end / q
            if end < left:
                continue
            x0 = (start - left) / self.BEATS * w
            x1 = (end - left) / self.BEATS * w
            y = (high - n.pitch) * row
            fill = PLAYER_FILL if n.voice == 0 else prob_fill(self.probs.get((n.start, n.pitch), 1.0))
            p.fillRect(QRectF(x0, y, max(x1 - x0, 2.0), max(row - 1, 1.0)), fill)


class LivePanel(QDockWidget):
    def __init__(self, window):
        super().__init__("Live", window)
        self.setObjectName("live_panel")
        self.window = window
        self.session = None
        self.last_take = None
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
        self.roll = LiveRoll()
        top = QHBoxLayout()
        top.addWidget(self.start_button)
        top.addWidget(self.status, 1)
        layout = QVBoxLayout(body)
        layout.addLayout(form)
        layout.addLayout(top)
        layout.addWidget(self.roll, 1)
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
        self.timer.start()
        return True

    def stop(self) -> None:
        """Every note off, the session kept as the last take."""
        if self.session is None:
            return
        self.session.stop()
        self.last_take = self.session.sequence()
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
        seq = s.sequence(probs=probs)
        dist = s.last_distribution
        self.roll.show_notes(seq, probs)
        if getattr(self, "_line", None):
            self.status.setText(self._line)
            self._line = None
        if dist is not None and s.model is not None:
            probs_, raw, token, entropy = dist
            self.window.histogram.show_distribution(probs_, raw, token, entropy, "Live: the model's last event")

    def closeEvent(self, event) -> None:
        self.stop()
        super().closeEvent(event)
