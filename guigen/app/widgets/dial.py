"""The temperature dial: a QDial on a log scale, greedy at the bottom end, with a typeable value.

It turns as a DAW's knob does: dragging up or down turns it from where it is (Shift: finer), never
jumping to the pointer's angle; a double-click resets T to 1. The typed value shows the temperature
exactly as the rest of the window writes it (`{t:g}`), so the box and the headers always agree.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDial, QDoubleSpinBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

DRAG_PX = 200  # a vertical drag this long turns the dial over its whole range
FINE = 0.2  # with Shift held

T_MIN, T_MAX = 0.05, 5.0  # the dial's log-scale range; position 0 below it means greedy
STEPS = 240  # dial positions above greedy


def position_to_temperature(pos: int) -> float:
    if pos <= 0:
        return 0.0
    frac = (pos - 1) / (STEPS - 1)
    return T_MIN * (T_MAX / T_MIN) ** frac


def temperature_to_position(t: float) -> int:
    if t <= 0:
        return 0
    t = min(max(t, T_MIN), T_MAX)
    return 1 + round((STEPS - 1) * math.log(t / T_MIN) / math.log(T_MAX / T_MIN))


class RelativeDial(QDial):
    """A QDial dragged vertically from where it is (Shift: five times finer); double-click: reset."""

    reset = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._drag = None  # (y where pressed, value then, accumulated fractional steps)

    def mousePressEvent(self, ev) -> None:
        if ev.button() == Qt.MouseButton.LeftButton:
            self._drag = [ev.position().y(), float(self.value())]
            self.setSliderDown(True)
            ev.accept()
        else:
            super().mousePressEvent(ev)

    def mouseMoveEvent(self, ev) -> None:
        if self._drag is None:
            return
        y0, v0 = self._drag
        scale = (self.maximum() - self.minimum()) / DRAG_PX
        if ev.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            scale *= FINE
        value = v0 + (y0 - ev.position().y()) * scale
        self._drag = [ev.position().y(), value]  # from here on: Shift can be pressed or let go mid-drag
        self.setValue(round(min(max(value, self.minimum()), self.maximum())))
        ev.accept()

    def mouseReleaseEvent(self, ev) -> None:
        if ev.button() == Qt.MouseButton.LeftButton:  # never QDial's: it sets the value at the pointer's angle
            self._drag = None  # (a double-click's last release comes with no drag: T jumped from 1 to 1.98)
            self.setSliderDown(False)
            ev.accept()
        else:
            super().mouseReleaseEvent(ev)

    def mouseDoubleClickEvent(self, ev) -> None:
        if ev.button() == Qt.MouseButton.LeftButton:
            self.reset.emit()
            ev.accept()


class TemperatureSpin(QDoubleSpinBox):
    """Shows its value as the window's headers write a temperature: 0.556, 1, 0.05."""

    def textFromValue(self, value: float) -> str:
        return f"{value:g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text.replace(",", "."))
        except ValueError:
            return self.value()


class TemperatureDial(QWidget):
    """Emits temperature_changed(T) whether the dial is turned or a value is typed."""

    temperature_changed = Signal(float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.dial = RelativeDial()
        self.dial.setRange(0, STEPS)
        self.dial.setNotchesVisible(True)
        self.dial.setNotchTarget(6.0)
        self.dial.setWrapping(False)
        self.dial.setMinimumSize(110, 110)
        self.dial.setToolTip("Temperature: drag up for wilder output, down for safer, more repetitive output "
                             "(all the way: greedy); Shift for finer steps; double-click for T = 1. "
                             "Log scale from 0.05 to 5.")
        self.dial.setAccessibleName("Temperature dial")
        self.spin = TemperatureSpin()
        self.spin.setRange(0.0, 20.0)
        self.spin.setDecimals(3)
        self.spin.setSingleStep(0.05)
        self.spin.setSpecialValueText("greedy")  # shown at 0
        self.spin.setKeyboardTracking(False)
        self.spin.setAccessibleName("Temperature")
        self.spin.setToolTip("Type a temperature; 0 means greedy (always the likeliest token)")
        self.hint = QLabel()
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)  # the palette's own text colour: readable in light and dark
        title = QLabel("<b>Temperature</b>")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        ends = QHBoxLayout()
        for text, align in (("greedy", Qt.AlignmentFlag.AlignLeft), ("wild", Qt.AlignmentFlag.AlignRight)):
            lab = QLabel(text)
            lab.setAlignment(align)
            lab.setStyleSheet("font-size: 9pt;")
            ends.addWidget(lab)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(title)
        lay.addWidget(self.dial, 1)
        lay.addLayout(ends)
        row = QHBoxLayout()
        row.addWidget(QLabel("T ="))
        row.addWidget(self.spin, 1)
        lay.addLayout(row)
        lay.addWidget(self.hint)
        self._temperature = 1.0
        self.dial.valueChanged.connect(self._from_dial)
        self.dial.reset.connect(lambda: self.set_temperature(1.0))
        self.spin.valueChanged.connect(self._from_spin)
        self.set_temperature(1.0)

    def temperature(self) -> float:
        return self._temperature

    def set_temperature(self, t: float, emit: bool = True) -> None:
        t = max(0.0, float(t))
        self._temperature = t
        for w, v in ((self.dial, temperature_to_position(t)), (self.spin, t)):
            w.blockSignals(True)
            w.setValue(v)
            w.blockSignals(False)
        text = describe(t)
        if t > T_MAX:  # typed past the dial's end: the dial stays pinned there, the value is used as typed
            text = f"T = {t:g} is past the dial's end ({T_MAX:g}); the dial stays there. " + text
        self.hint.setText(text)
        if emit:
            self.temperature_changed.emit(t)

    def _from_dial(self, pos: int) -> None:
        t = position_to_temperature(pos)
        self.set_temperature(round(t, 3) if t >= 0.1 else round(t, 4))

    def _from_spin(self, value: float) -> None:
        self.set_temperature(value)


def describe(t: float) -> str:
    if t == 0:
        return "always the likeliest token"
    if t < 0.6:
        return "sharper: safe, repetitive"
    if t < 0.95:
        return "a little sharper"
    if t <= 1.05:
        return "the model's own distribution"
    if t <= 1.6:
        return "flatter: more surprising"
    return "much flatter: wilder, more mistakes"
