"""The live next-token histogram: sampled distribution as bars, raw T = 1 overlaid, click to force.

The plot items are made once and updated in place (setOpts), as pyqtgraph's examples do.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

BAR = QColor(70, 130, 200)
CHOSEN = QColor(230, 120, 20)
RAW = QColor(120, 120, 120)
MAX_SORTED = 60  # bars shown when sorted by probability
LABEL_PX = 13  # narrowest spacing at which every tick gets a label
TICKS_S = 0.25  # while streaming, re-label the axis at most this often
Y_TOPS = [0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0]  # the probability axis snaps to these


class Histogram(QWidget):
    """Shows a distribution over tokens; token_clicked(id) when a bar is clicked."""

    token_clicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.labels: list[str] = []
        self.sort = True
        self.show_raw = True
        self.probs = self.raw = None
        self.chosen: int | None = None
        self.order = np.zeros(0, dtype=int)  # bar position -> token id
        self._shown_ticks = None
        self._ranges = None
        self._ticks_at = 0.0
        self.live = False
        self.tick_timer = QTimer(self)
        self.tick_timer.setSingleShot(True)
        self.tick_timer.timeout.connect(self._late_ticks)
        self.header = QLabel("No distribution yet: load a model and press Generate or Step")
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.plot = pg.PlotWidget(background="w")
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setLabel("left", "probability")
        self.plot.showGrid(y=True, alpha=0.25)
        self.plot.setToolTip("Click a bar to make that token the next one")
        font = QFont()
        font.setPointSize(10)
        self.axis = self.plot.getAxis("bottom")
        self.axis.setStyle(tickFont=font, tickTextOffset=2, hideOverlappingLabels=False)
        self.metrics = QFontMetrics(font)
        self.axis.setPen(pg.mkPen("k"))
        self.axis.setTextPen(pg.mkPen("k"))
        left = self.plot.getAxis("left")
        left.enableAutoSIPrefix(False)
        left.setPen(pg.mkPen("k"))
        left.setTextPen(pg.mkPen("k"))
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush=BAR, pen=None)
        self.raw_bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush=None,
                                        pen=pg.mkPen(RAW, width=1.5, style=Qt.PenStyle.DashLine))
        self.cut = pg.InfiniteLine(angle=90, pen=pg.mkPen((200, 40, 40), width=1.5, style=Qt.PenStyle.DotLine),
                                   label="cut", labelOpts={"position": 0.92, "color": (200, 40, 40)})
        self.cut.hide()
        self.plot.addItem(self.bars)
        self.plot.addItem(self.raw_bars)
        self.plot.addItem(self.cut)
        self.legend = self.plot.addLegend(offset=(-10, 5), labelTextColor="k")
        self.legend.addItem(self.bars, "sampled from")
        self.legend.addItem(self.raw_bars, "model at T = 1")
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self.plot.scene().sigMouseMoved.connect(self._hover)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.header)
        lay.addWidget(self.plot, 1)
        self.setMinimumHeight(180)

    # -- data -------------------------------------------------------------------------------
    def set_labels(self, labels: list[str]) -> None:
        self.labels = list(labels)
        self.probs = self.raw = None
        self.header.setText("No distribution yet: press Generate or Step")
        self.bars.setOpts(x=[], height=[])
        self.raw_bars.setOpts(x=[], height=[])
        self.cut.hide()

    def set_options(self, sort: bool | None = None, show_raw: bool | None = None) -> None:
        if sort is not None:
            self.sort = sort
        if show_raw is not None:
            self.show_raw = show_raw
        if self.probs is not None:
            self._draw()

    def show_distribution(self, probs, raw, chosen: int | None, entropy: float, title: str, live: bool = False) -> None:
        """live: tokens are streaming; the axis labels then change at most a few times a second."""
        self.probs, self.raw, self.chosen, self.live = np.asarray(probs), np.asarray(raw), chosen, live
        bits = entropy / math.log(2)
        kept = int((self.probs > 0).sum())
        allowed = int((self.raw > 0).sum())  # a music encoding's rules give the others probability 0
        text = (f"<b>{title}</b> &nbsp; entropy {entropy:.2f} nats ({bits:.2f} bits) &nbsp; "
                f"{kept} of {allowed} tokens possible")
        if allowed < len(self.raw):
            text += f" ({len(self.raw) - allowed} ruled out by the encoding)"
        if chosen is not None and chosen < len(self.labels):
            text += f" &nbsp; chose <b>{_html(self.labels[chosen])}</b> (p = {self.probs[chosen]:.3f})"
        self.header.setText(text)
        self._draw()

    def _draw(self) -> None:
        n = len(self.probs)
        if self.sort:
            key = np.lexsort((-self.raw, -self.probs))  # sampled mass first, then the cut tokens by raw
            allowed = max(int((self.raw > 0).sum()), 1)  # tokens the encoding rules out are left off
            self.order = key[: min(allowed, MAX_SORTED)]
        else:
            self.order = np.arange(n)
        x = np.arange(len(self.order))
        brushes = [pg.mkBrush(CHOSEN if t == self.chosen else BAR) for t in self.order]
        self.bars.setOpts(x=x, height=self.probs[self.order], brushes=brushes)
        if self.show_raw:
            self.raw_bars.setOpts(x=x, height=self.raw[self.order])
            self.raw_bars.show()
        else:
            self.raw_bars.hide()
        kept = int((self.probs[self.order] > 0).sum())
        if self.sort and kept < len(self.order):
            self.cut.setValue(kept - 0.5)
            self.cut.label.setFormat(f"top-k/top-p cut: {kept} kept")
            self.cut.show()
        else:
            self.cut.hide()
        top = max(float(self.probs.max()), float(self.raw[self.order].max()) if self.show_raw else 0.0)
        # few distinct ranges, with hysteresis: the axis rarely re-lays out, and bars visibly grow and shrink
        y_top = self._ranges[0] if self._ranges else 0.0
        if not 0.35 * y_top < top * 1.05 <= y_top:
            y_top = next((y for y in Y_TOPS if top * 1.05 <= y), 1.0)
        # leave room on the left for half the first bar's label: it is the likeliest token when sorted
        first = self.labels[self.order[0]] if len(self.order) and self.order[0] < len(self.labels) else ""
        px_per_bar = max(self.plot.width() - 60, 100) / max(len(self.order), 1)
        left = max(0.6, 0.5 * (self.metrics.horizontalAdvance(first) + 6) / px_per_bar)
        x_range = (-round(left, 1), len(self.order) - 0.4)
        if (y_top, x_range) != self._ranges:  # unchanged ranges: leave the axes' cached pictures alone
            self._ranges = (y_top, x_range)
            self.plot.setYRange(0, y_top, padding=0)
            self.plot.setXRange(*x_range, padding=0)
        self._ticks()

    def _ticks(self) -> None:
        """Label as many bars as fit: every one for characters, every few for long music labels."""
        now = time.monotonic()
        if self.live and now - self._ticks_at < TICKS_S:  # unreadable faster, and costly to lay out
            if not self.tick_timer.isActive():
                self.tick_timer.start(int(TICKS_S * 1000))
            return
        self._ticks_at = now
        width = max(self.plot.width() - 60, 100)
        names = [self.labels[t] if t < len(self.labels) else str(t) for t in self.order]
        widest = max((self.metrics.horizontalAdvance(s) for s in names), default=0)
        stride = max(1, math.ceil(len(self.order) * max(LABEL_PX, widest + 5) / width))
        ticks = [(i, name) for i, name in enumerate(names) if i % stride == 0]
        if ticks != self._shown_ticks:  # re-laying out an axis costs more than drawing the bars
            self._shown_ticks = ticks
            self.axis.setTicks([ticks, []])

    def _late_ticks(self) -> None:
        if self.probs is not None:
            self._ticks_at = 0.0
            self._ticks()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.probs is not None:
            self._ticks()

    # -- clicks -----------------------------------------------------------------------------
    def token_at(self, scene_pos) -> int | None:
        """The token whose bar column lies under a scene position, or None."""
        vb = self.plot.getPlotItem().vb
        if not vb.sceneBoundingRect().contains(scene_pos):
            return None
        x = vb.mapSceneToView(scene_pos).x()
        i = int(round(x))
        if 0 <= i < len(self.order) and abs(x - i) <= 0.45:
            return int(self.order[i])
        return None

    def bar_scene_pos(self, token: int):
        """Scene position of the middle of a token's bar column (for tests and accessibility)."""
        i = int(np.flatnonzero(self.order == token)[0])
        vb = self.plot.getPlotItem().vb
        return vb.mapViewToScene(pg.Point(i, vb.viewRange()[1][1] * 0.5))

    def _hover(self, scene_pos) -> None:
        """Name the bar under the mouse, with both probabilities: not every bar has room for a label."""
        token = self.token_at(scene_pos) if self.probs is not None else None
        if token is None:
            self.plot.setToolTip("Click a bar to make that token the next one")
            return
        name = self.labels[token] if token < len(self.labels) else str(token)
        self.plot.setToolTip(f"{name}: p = {self.probs[token]:.4f} (model at T = 1: {self.raw[token]:.4f}). "
                             "Click to make it the next token.")

    def _clicked(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or self.probs is None:
            return
        token = self.token_at(ev.scenePos())
        if token is not None:
            self.token_clicked.emit(token)


def _html(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
