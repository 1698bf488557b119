"""The histogram's bottom axis: a label under each bar, as given by setTicks, drawn as pyqtgraph's
AxisItem draws them but worked out without its general machinery (tick levels, crowding, a Point
per tick, each label measured by the painter every time). The labels change with nearly every step,
so this runs in every frame the histogram shows while generating: 1-4 ms of the GUI's time there,
a few tenths here. Anything it does not cover (no ticks given, a grid, an axis stopped at a tick)
goes to AxisItem's own."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPen

_FLAGS = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextDontClip
_MEASURE = QRectF(0, 0, 100, 100)  # as AxisItem measures a label


class BarLabelAxis(pg.AxisItem):
    def __init__(self, *args, **kwargs):
        super().__init__("bottom", *args, **kwargs)
        self._sizes: dict = {}  # (font, label) -> its (width, height), as AxisItem works them out

    def generateDrawSpecs(self, p):
        view = self.linkedView()
        s = self.style
        if (self._tickLevels is None or any(self._tickLevels[1:]) or view is None or self.grid is not False
                or any(s["stopAxisAtTick"]) or s["tickAlpha"] is not None or not s["showValues"]):
            return super().generateDrawSpecs(p)
        if s["tickFont"] is not None:
            p.setFont(s["tickFont"])
        bounds = self.mapRectFromParent(self.geometry())
        lo, hi = self.range
        if hi == lo or bounds.width() <= 0:
            return super().generateDrawSpecs(p)
        scale = bounds.width() / (hi - lo)
        shift = lo * scale
        top = bounds.top()
        axis_spec = (self.pen(), QPointF(bounds.left() - 1.0, top + 1.0), QPointF(bounds.right() + 1.0, top + 1.0))
        pen = QPen(self.tickPen())
        if pen.brush().style() == Qt.BrushStyle.SolidPattern:  # as AxisItem: the top level's ticks opaque
            colour = QColor(pen.color())
            colour.setAlpha(255)
            pen.setColor(colour)
        length = s["tickLength"]
        offset = max(0, length) + s["tickTextOffset"][1]
        box = self.boundingRect()
        font = p.font().key()
        ticks, texts, tallest = [], [], 0.0
        x_min, x_max = sorted((lo * scale - shift, hi * scale - shift))
        for value, label in self._tickLevels[0]:
            x = value * scale - shift
            if x < x_min or x > x_max:
                continue
            ticks.append((pen, QPointF(x, top), QPointF(x, top + length)))
            size = self._sizes.get((font, label))
            if size is None:
                br = p.boundingRect(_MEASURE, Qt.AlignmentFlag.AlignCenter, label)
                size = self._sizes[(font, label)] = (br.width(), br.height() * 0.8)  # AxisItem's 0.8
            w, h = size
            tallest = max(tallest, h)
            rect = QRectF(x - w / 2.0, top + offset, w, h)
            if box & rect == rect:
                texts.append((rect, _FLAGS, label))
        if len(self._sizes) > 4096:  # labels are a vocabulary's: bounded, but never let it grow unseen
            self._sizes.clear()
        self._updateMaxTextSize(tallest)
        return axis_spec, ticks, texts
