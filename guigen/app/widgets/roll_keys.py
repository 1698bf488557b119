"""The piano roll's keyboard strip: the left axis drawn as piano keys, one row per pitch,
each C named (C4 = middle C). A click on a key auditions it (the roll's key_clicked signal)."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen

from guigen.music.events import pitch_name

BLACK_KEYS = {1, 3, 6, 8, 10}  # pitch classes of the black keys
KEYS_WIDTH = 46  # px: the keyboard strip

class KeyboardAxis(pg.AxisItem):
    """The left axis drawn as piano keys, one row per pitch: every C labelled (C4 = middle C)."""

    def __init__(self):
        super().__init__("left")
        self.setWidth(KEYS_WIDTH)
        self.setStyle(tickLength=0)  # else the bounding rect, which paint fills, reaches 5 px into the notes

    @staticmethod
    def keys(low: float, high: float) -> list[tuple[int, bool, str]]:
        """(pitch, is a black key, its label: the note name of every C, else "") for the rows shown."""
        return [(p, p % 12 in BLACK_KEYS, pitch_name(p) if p % 12 == 0 else "")
                for p in range(max(0, math.ceil(low - 0.5)), min(127, math.floor(high + 0.5)) + 1)]

    def paint(self, p, opt, widget):
        view = self.linkedView()
        if view is None:
            return
        low, high = view.viewRange()[1]
        rect = self.boundingRect()
        y0 = self.mapFromScene(view.mapViewToScene(QPointF(0, low))).y()  # linear: map two points only
        scale = (self.mapFromScene(view.mapViewToScene(QPointF(0, high))).y() - y0) / max(high - low, 1e-9)
        ypx = lambda y: y0 + (y - low) * scale  # noqa: E731
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.fillRect(rect, QColor(250, 250, 250))
        font = QFont(p.font())
        font.setPointSizeF(7.5)
        p.setFont(font)
        line = QPen(QColor(120, 120, 120))
        line.setCosmetic(True)
        for pitch, black, label in self.keys(low, high):
            top, bottom = ypx(pitch + 0.5), ypx(pitch - 0.5)
            if black:
                p.fillRect(QRectF(rect.left(), top, rect.width() * 0.62, bottom - top), QColor(25, 25, 25))
            elif (pitch + 1) % 12 in (0, 5):  # a white key with no black key above it: draw its top edge
                p.setPen(line)
                p.drawLine(QPointF(rect.left(), top), QPointF(rect.right(), top))
            if label:  # black on the white key: the keys look the same in any palette
                p.setPen(QColor(0, 0, 0))
                h = max(bottom - top, 10)
                p.drawText(QRectF(rect.left(), bottom - h, rect.width() - 3, h),
                           Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label)
                p.setPen(line)
                p.drawLine(QPointF(rect.left(), bottom), QPointF(rect.right(), bottom))
        p.setPen(QPen(QColor(90, 90, 90)))
        p.drawLine(rect.topRight(), rect.bottomRight())

