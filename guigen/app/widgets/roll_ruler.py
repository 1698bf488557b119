"""The piano roll's ruler: the top axis in bars and beats (bar numbers right of each bar line),
and the metre arithmetic the roll shares (steps per beat and bar, 'bar.beat' positions).

A click on the ruler sets where playback starts (the roll's play marker); a drag marks a loop."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPen

from guigen.music.events import STEPS_PER_QUARTER

def metre_steps(time_signature: tuple[int, int]) -> tuple[int, int]:
    """(steps per beat, steps per bar) on the 16th-note grid: 4/4 -> (4, 16), 6/8 -> (2, 12), 3/2 -> (8, 24)."""
    num, den = time_signature
    beat = max(1, STEPS_PER_QUARTER * 4 // den)
    return beat, beat * num


def bar_beat(step: float, time_signature: tuple[int, int]) -> str:
    """'bar.beat' (both from 1) of a step, as a DAW's position display."""
    beat, bar = metre_steps(time_signature)
    step = int(step)
    return f"{step // bar + 1}.{step % bar // beat + 1}"


class RulerAxis(pg.AxisItem):
    """The top axis as a ruler: bar numbers right of each bar line, ticks on the beats."""

    def __init__(self):
        super().__init__("top")
        self.setStyle(tickLength=0)  # its bounding rect stays out of the notes' area
        self.time_signature = (4, 4)
        self.text = QColor(0, 0, 0)
        self.setHeight(22)

    def marks(self, x0: float, x1: float, width_px: float) -> tuple[int, list[int], list[int]]:
        """(bars per number, the steps of numbered bars, the steps of other bar and beat lines in view)."""
        beat, bar = metre_steps(self.time_signature)
        px = width_px / max(x1 - x0, 1e-9)  # pixels per step
        every = 1
        while every * bar * px < 30:  # room for a bar number
            every *= 2
        numbered = [s for s in range(max(0, math.floor(x0 / bar)) * bar, int(x1) + 1, bar) if (s // bar) % every == 0]
        step = beat if beat * px >= 6 else bar
        other = [s for s in range(max(0, math.floor(x0 / step)) * step, int(x1) + 1, step) if s not in numbered]
        return every, numbered, other

    def paint(self, p, opt, widget):
        view = self.linkedView()
        if view is None:
            return
        (x0, x1), _ = view.viewRange()
        rect = self.boundingRect()
        px0 = self.mapFromScene(view.mapViewToScene(QPointF(x0, 0))).x()  # linear: map two points only
        scale = (self.mapFromScene(view.mapViewToScene(QPointF(x1, 0))).x() - px0) / max(x1 - x0, 1e-9)
        xpx = lambda x: px0 + (x - x0) * scale  # noqa: E731
        _, numbered, other = self.marks(x0, x1, view.width())
        _, bar = metre_steps(self.time_signature)
        font = QFont(p.font())
        font.setPointSizeF(8.5)
        p.setFont(font)
        pen = QPen(self.text)
        pen.setCosmetic(True)
        p.setPen(pen)
        bottom = rect.bottom()
        p.drawLine(QPointF(rect.left(), bottom), QPointF(rect.right(), bottom))
        for s in other:
            x = xpx(s)
            if rect.left() <= x <= rect.right():
                p.drawLine(QPointF(x, bottom - (6 if s % bar == 0 else 3)), QPointF(x, bottom))
        align = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        lines, labels = self.bar_numbers(numbered, x0, xpx, rect.left(), rect.right(), p.fontMetrics().horizontalAdvance)
        for x in lines:
            p.drawLine(QPointF(x, rect.top() + 2), QPointF(x, bottom))
        for x, label in labels:
            p.drawText(QRectF(x + 3, rect.top(), 40, rect.height() - 2), align, label)

    def bar_numbers(self, numbered, x0, xpx, left, right, text_width):
        """(x of each numbered bar line in view, [(x, number)] to draw). The bar at the left edge keeps
        its number there when its line has scrolled out of view (as DAWs do), where it fits."""
        _, bar = metre_steps(self.time_signature)
        lines = [xpx(s) for s in numbered if left - 1 <= xpx(s) <= right]
        labels = [(xpx(s), str(s // bar + 1)) for s in numbered if left - 1 <= xpx(s) <= right]
        first = max(0, math.floor(x0 / bar)) * bar
        label = str(first // bar + 1)
        if not left - 1 <= xpx(first) <= right and (not lines or lines[0] - left >= text_width(label) + 8):
            labels.insert(0, (left, label))
        return lines, labels

