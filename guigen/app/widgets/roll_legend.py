"""The probability legend: the colour scale that colouring by probability uses (the piano roll's
cividis fills, the text view's backgrounds), p = .001 to 1 on a log scale with labelled ticks."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont, QPainter, QPalette
from PySide6.QtWidgets import QWidget

from guigen.app.widgets.roll_notes import prob_fill

TICKS = ((1e-3, "≤.001"), (1e-2, ".01"), (1e-1, ".1"), (1.0, "1"))


class ProbabilityLegend(QWidget):
    """colour: p -> QColor, the scale to show (default: the piano roll's note fills)."""

    def __init__(self, colour=prob_fill, what: str = "note", parent=None):
        super().__init__(parent)
        self.colour = colour
        self.setFixedSize(190, 26)
        self.setAccessibleName("Probability colour scale")
        self.setToolTip(f"Colour by probability: each generated {what} is coloured by the probability it had "
                        "when it was drawn, on a log scale (dark: surprising, light: expected)")

    def paintEvent(self, _):
        p = QPainter(self)
        text = self.palette().color(QPalette.ColorRole.WindowText)
        p.setPen(text)
        font = QFont(self.font())
        font.setPointSizeF(7.5)
        p.setFont(font)
        p.drawText(QRectF(0, 0, 14, 12), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, "p")
        left, right = 16, self.width() - 10
        for x in range(left, right):
            f = (x - left) / (right - left)
            p.fillRect(x, 1, 1, 10, self.colour(10 ** (3 * f - 3)))
        for i, (value, label) in enumerate(TICKS):
            x = left + (right - left) * i / (len(TICKS) - 1)
            p.drawLine(int(x), 10, int(x), 13)
            align = Qt.AlignmentFlag.AlignHCenter if 0 < i < len(TICKS) - 1 else (
                Qt.AlignmentFlag.AlignLeft if i == 0 else Qt.AlignmentFlag.AlignRight)
            box = QRectF(x - 20, 13, 40, 13) if 0 < i < len(TICKS) - 1 else (
                QRectF(x - 6, 13, 40, 13) if i == 0 else QRectF(x - 34, 13, 40, 13))
            p.drawText(box, align | Qt.AlignmentFlag.AlignVCenter, label)
