"""The piano roll's notes layer: voice and probability colours, and the backdrop behind the notes
(black-key rows, the primer's span, beat and bar lines).

Colours are chosen for colour-blind viewers too: the voices are four Okabe-Ito colours that stay
apart in every kind of colour blindness (blue, orange, bluish green, reddish purple: soprano and alto
never both orange-ish), and probabilities run along cividis, a scale made to read the same with
and without red-green colour blindness, dark blue (surprising) to yellow (expected)."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QPainter

from guigen.app.widgets.roll_keys import BLACK_KEYS
from guigen.app.widgets.roll_ruler import metre_steps

VOICE_NAMES = ("Soprano", "Alto", "Tenor", "Bass")
# Okabe-Ito: blue, orange, bluish green, reddish purple
VOICE_COLOURS = (QColor(0, 114, 178), QColor(230, 159, 0), QColor(0, 158, 115), QColor(204, 121, 167))
ONE_COLOUR = QColor(0, 114, 178)  # a melody, or chords that are not four-voice texture
_CIVIDIS = pg.colormap.get("cividis")
_CIVIDIS_LUT = _CIVIDIS.getLookupTable(0.0, 1.0, 256, alpha=False)


def prob_position(p: float) -> float:
    """Where probability p sits on the scale, 0 (p <= 0.001) to 1 (p = 1): a log scale."""
    return min(max((math.log10(max(p, 1e-9)) + 3) / 3, 0.0), 1.0)


def prob_fill(p: float) -> QColor:
    """A note's fill for the probability p its event had, on cividis: dark blue surprising
    (p <= 0.001) to yellow (p = 1), readable with any colour vision."""
    r, g, b = (int(v) for v in _CIVIDIS_LUT[int(round(prob_position(p) * 255))])
    return QColor(r, g, b)


class Backdrop(pg.GraphicsObject):
    """Behind the notes: black-key rows shaded, the primer's span, and lines on beats and bars."""

    def __init__(self, roll):  # the PianoRoll it draws behind
        super().__init__()
        self.roll = roll
        self.setZValue(-10)

    def boundingRect(self):
        return QRectF(-1e6, -1, 2e6, 130)

    def paint(self, p, *args):
        vb = self.getViewBox()
        if vb is None:
            return
        (x0, x1), (y0, y1) = vb.viewRange()
        roll = self.roll
        c = roll.colours
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for pitch in range(max(0, math.floor(y0)), min(127, math.ceil(y1)) + 1):
            if pitch % 12 in BLACK_KEYS:
                p.fillRect(QRectF(x0, pitch - 0.5, x1 - x0, 1), c["black_row"])
        if roll.primer_steps:
            p.fillRect(QRectF(0, y0, roll.primer_steps, y1 - y0), c["primer"])
        beat, bar = metre_steps(roll.time_signature)
        px = vb.width() / max(x1 - x0, 1e-9)
        for step, pen in ((beat, c["beat_pen"]), (bar, c["bar_pen"])):
            if step * px < 5:
                continue
            p.setPen(pen)
            for s in range(max(0, math.floor(x0 / step)) * step, int(x1) + 1, step):
                if step == bar or s % bar:
                    p.drawLine(QPointF(s, y0), QPointF(s, y1))
        p.setPen(c["octave_pen"])
        for pitch in range(max(0, math.floor(y0)), min(127, math.ceil(y1)) + 1):
            if pitch % 12 == 0:
                p.drawLine(QPointF(x0, pitch - 0.5), QPointF(x1, pitch - 0.5))

