"""The temperature curve: entropy of the next token's distribution as a function of T, this step.

A small plot under the dial: H(T) for T from 0.05 to 5 on a log axis (guigen.core.sampling's
entropy_curve, top-k and top-p applied as the sampler does), a marker at the dial's T and one at
the model's own T = 1. It is redrawn with each step and, paused, as the dial turns.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QGraphicsItem, QLabel, QSizePolicy, QVBoxLayout, QWidget

from guigen.app import theme
from guigen.app.widgets.histogram import SHRINK_S, nats
from guigen.core.sampling import CURVE_TEMPERATURES, entropy_curve


TICKS = (0.05, 0.1, 0.2, 0.5, 1, 2, 5)
FEW_TICKS = (0.1, 0.3, 1, 3)  # when the plot is narrow: labels that never run into each other
NARROW = 240  # px


class TemperatureCurve(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.logits = None  # log of the raw distribution: logits up to a constant
        self.top_k, self.top_p = 0, 1.0
        self.temperature = 1.0
        self.curve_h = np.zeros(0)
        self.marker_h = float("nan")  # entropy at the dial's T
        self.raw_h = float("nan")  # entropy at T = 1
        self._y_top: float | None = None  # the y axis's top, nats
        self._low_since: float | None = None  # streaming: when the curve's top fell under 60% of it
        self.caption = QLabel("Entropy against temperature: shown once there is a distribution")
        self.caption.setWordWrap(True)
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.caption.setMinimumWidth(50)
        self.caption.setStyleSheet("font-size: 8pt;")
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setLogMode(x=True, y=False)
        self.plot.setLabel("left", "nats")
        self.plot.setMinimumHeight(90)
        self.plot.setMaximumHeight(130)
        self.plot.setXRange(math.log10(CURVE_TEMPERATURES[0]), math.log10(CURVE_TEMPERATURES[-1]), padding=0.02)
        self._ticks = None
        self._set_ticks(TICKS)
        self.plot.setToolTip("Entropy of the next token's distribution at each temperature (this step, "
                             "top-k and top-p applied); the filled dot is the dial's T, the ring T = 1")
        for name in ("bottom", "left"):  # the axes rarely change: repaints blit them from a cache
            self.plot.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.line = self.plot.plot([], [])
        # PlotDataItems, not bare scatter items: they follow the plot's log x axis
        self.raw_marker = self.plot.plot([], [], pen=None, symbol="o", symbolSize=10)
        self.dial_marker = self.plot.plot([], [], pen=None, symbol="o", symbolSize=10)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(1)
        lay.addWidget(self.plot)
        lay.addWidget(self.caption)
        self.setAccessibleName("Temperature curve")
        self._restyle()
        self.plot.setYRange(0, 1.05, padding=0)  # empty: room over the 1.0 tick, so that its label is not cut

    def set_distribution(self, raw: np.ndarray, top_k: int = 0, top_p: float = 1.0, live: bool = False) -> None:
        """A new step's raw (T = 1) distribution, and the filters the sampler applies; live: one of a
        stream, whose y axis comes down only slowly (as the histogram's, SHRINK_S)."""
        with np.errstate(divide="ignore"):
            self.logits = np.log(np.asarray(raw, dtype=np.float64))  # -inf where ruled out: weight 0
        self.top_k, self.top_p = top_k, top_p
        self.curve_h = entropy_curve(self.logits, CURVE_TEMPERATURES, top_k, top_p)
        self.raw_h = float(entropy_curve(self.logits, [1.0], top_k, top_p)[0])
        self.line.setData(CURVE_TEMPERATURES, self.curve_h)
        self.raw_marker.setData([1.0], [self.raw_h])
        # the y axis ends at log(tokens possible), re-laid out only when that moves: at once upwards, and
        # while streaming downwards only after it has stayed under 60% of the axis for SHRINK_S (music's
        # rules change the count every step: the axis was re-laid out 10 times a second, 2-6 ms each)
        top = math.log(max(int(np.isfinite(self.logits).sum()), 2)) * 1.05
        y = self._y_top
        if y is None or top > y or (top < y and not live):
            y, self._low_since = top, None
        elif top >= 0.6 * y:
            self._low_since = None
        elif self._low_since is None:
            self._low_since = time.monotonic()
        elif time.monotonic() - self._low_since >= SHRINK_S:
            y, self._low_since = top, None
        if y != self._y_top:
            self._y_top = y
            self.plot.setYRange(0, y, padding=0)
        self._marker()

    def clear(self) -> None:
        """No distribution (another model, or a new one trained): nothing of the last model's shows."""
        self.logits = None
        self.curve_h = np.zeros(0)
        self.marker_h = self.raw_h = float("nan")
        self._y_top = None
        for item in (self.line, self.raw_marker, self.dial_marker):
            item.setData([], [])
        self.caption.setText("Entropy against temperature: shown once there is a distribution")
        self.plot.setYRange(0, 1.05, padding=0)  # empty: room over the 1.0 tick, so that its label is not cut

    def set_temperature(self, t: float) -> None:
        self.temperature = float(t)
        if self.logits is not None:
            self._marker()

    def _marker(self) -> None:
        t = self.temperature
        if t <= 0:  # greedy: one token, no uncertainty
            self.marker_h, shown_t = 0.0, CURVE_TEMPERATURES[0]
        else:
            self.marker_h = float(entropy_curve(self.logits, [t], self.top_k, self.top_p)[0])
            shown_t = min(max(t, CURVE_TEMPERATURES[0]), CURVE_TEMPERATURES[-1])
        self.dial_marker.setData([shown_t], [self.marker_h])
        what = "greedy" if t == 0 else f"T = {t:g}"
        self.caption.setText(f"Entropy at {what}: {nats(self.marker_h)} nats (about {math.exp(self.marker_h):.1f} "
                             f"choices); at T = 1: {nats(self.raw_h)}")

    def _restyle(self) -> None:
        c = theme.plot_colours(self.palette())
        theme.style_plot(self.plot, c, (self.plot.getAxis("bottom"), self.plot.getAxis("left")))
        self.line.setPen(pg.mkPen(c["bar"], width=2))
        self.dial_marker.setSymbolBrush(pg.mkBrush(c["marker"]))
        self.dial_marker.setSymbolPen(pg.mkPen(c["marker"]))
        self.raw_marker.setSymbolPen(pg.mkPen(c["text"], width=1.5))
        self.raw_marker.setSymbolBrush(pg.mkBrush(None))

    def _set_ticks(self, ticks) -> None:
        if ticks != self._ticks:
            self._ticks = ticks
            self.plot.getAxis("bottom").setTicks([[(math.log10(t), f"{t:g}") for t in ticks], []])

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._set_ticks(FEW_TICKS if self.width() < NARROW else TICKS)

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._restyle()
