"""The live next-token histogram: the distribution sampled from as bars, the raw T = 1 overlaid.

What it says is what was sampled: the header gives the entropy of the distribution after
temperature, top-k and top-p beside the model's own, as nats and as "about e^H equally likely
choices", and how many tokens survive the cut. Sorted, it shows the top bars plus one "rest" bar,
each labelled; unsorted, every bar that has room. Labels are set in the same call as the bars,
so they never name another bar. Click a bar, or move the highlight with Left/Right and press
Enter, to choose the next token. Plot items are made once and updated in place (setOpts).
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics
from PySide6.QtWidgets import QGraphicsItem, QLabel, QSizePolicy, QVBoxLayout, QWidget

from guigen.app import theme
from guigen.app.widgets.bar_axis import BarLabelAxis
from guigen.app.widgets.histogram_labels import HistogramLabels
from guigen.core.sampling import summary

TOP_N = 24  # bars shown when sorted, before the "rest" bar
SIGNIFICANT = "0.1%"  # what summary() counts as carrying mass: p > 1e-3
LOG_FLOOR = -4  # log scale: bars start at p = 1e-4
COMPACT_BELOW = 280  # px of height below which the header is one line (the full text in its tooltip)
LEGEND_MIN_WIDTH = 420  # px of plot below which the legend would cover bars: the header's swatches stand in
Y_TOPS = [0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
# streaming, the y axis comes down only once the bars have stayed under 60% of it this long (it goes
# up at once): text's tallest bar jumps between about 0.2 and 0.9 from one character to the next, and
# an axis re-laid out every frame is hard to read and cost 2-7 ms of the GUI's time each time
SHRINK_S = 1.0
HINT = "Click a bar (or use Left/Right and Enter) to make that token the next one"


class Histogram(HistogramLabels, QWidget):
    """Shows a distribution over tokens; token_clicked(id) when a bar is clicked or chosen by key."""

    token_clicked = Signal(int)
    shown = Signal()  # after each distribution is drawn, bars, labels and header together

    def __init__(self, parent=None):
        super().__init__(parent)
        self.labels: list[str] = []
        self.sort = True
        self.show_raw = True
        self.log_y = False
        self.top_n = TOP_N
        self.probs = self.raw = None
        self.chosen: int | None = None
        self.settings = None  # the SamplingSettings the distribution was made with (for the cut's label)
        self.order = np.zeros(0, dtype=int)  # bar position -> token id; the rest bar is not in it
        self.rest = np.zeros(0, dtype=int)  # tokens the rest bar stands for
        self.highlight: int | None = None  # bar position picked with the keyboard
        self.ticks: list[tuple[int, str]] | None = None  # (bar position, label) as last given to the axis
        self._y_top = None
        self._live = False  # the distribution shown is one of a stream (see SHRINK_S)
        self._low_since: float | None = None  # streaming: when the bars fell under 60% of the y axis
        self._rest_tall = False  # the rest bar nearly the tallest: its label beside it, room above it
        self._shown_ranges = None
        self._title = ""
        self._texts = (None, None)  # the header in full, and in one line (see _apply_header)
        self.header = QLabel("No distribution yet: load a model and press Generate or Step")
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setWordWrap(True)
        # the header wraps inside whatever width the window has; it never asks for more
        self.header.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.header.setMinimumWidth(50)
        self.plot = pg.PlotWidget(axisItems={"bottom": BarLabelAxis()})
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setLabel("left", "probability")
        self.plot.setToolTip(HINT)
        self.plot.setMinimumWidth(50)
        font = QFont()
        font.setPointSize(9)
        self.metrics = QFontMetrics(font)
        self.axis = self.plot.getAxis("bottom")
        self.axis.setStyle(tickFont=font, tickTextOffset=2, hideOverlappingLabels=False)
        self.left_axis = self.plot.getAxis("left")
        self.left_axis.enableAutoSIPrefix(False)
        for axis in (self.axis, self.left_axis):  # repainting the bars blits the axes (and grid) from a cache
            axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8)
        self.raw_bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush=None)
        self.cut = pg.InfiniteLine(angle=90, label="", labelOpts={"position": 0.9, "anchors": [(1, 0), (1, 0)]})
        self.cut.hide()
        self.rest_text = pg.TextItem(anchor=(1.0, 1.0))  # right-aligned on the last bar: never clipped
        self.rest_text.hide()
        self.empty_text = pg.TextItem("no distribution yet", anchor=(0.5, 0.5))
        # the y grid: one path of line pairs at the left axis's ticks, redrawn when the range changes
        # (pyqtgraph's own grid is repainted by the axis at every update: two thirds of a frame's cost)
        self.grid = pg.PlotCurveItem(connect="pairs")
        self.grid.setZValue(-10)
        self._grid_key = None
        for item in (self.grid, self.bars, self.raw_bars, self.cut, self.rest_text, self.empty_text):
            self.plot.addItem(item)
        self.empty_text.setPos(0.5, 0.25)  # under the legend (top right), in a short plot too
        self.legend = self.plot.addLegend(offset=(-10, 5))
        self.legend.addItem(self.bars, "sampled from")
        self.legend.addItem(self.raw_bars, "model at T = 1")
        self.plot.getViewBox().sigResized.connect(lambda *_: self.probs is not None and self._fit_labels())
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self.plot.scene().sigMouseMoved.connect(self._hover)
        self.lump = ("rest", "tokens")  # the lumped bar's name and what it counts (music: "other", "events")
        self.warning = ""  # what set_warning says (the cut leaving one token step after step)
        self.warning_label = QLabel()
        self.warning_label.setWordWrap(True)
        self.warning_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.warning_label.setAccessibleName("Sampling warning")
        self.warning_label.hide()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(3, 3, 3, 3)  # room for the focus ring (paintEvent)
        lay.addWidget(self.header)
        lay.addWidget(self.warning_label)
        lay.addWidget(self.plot, 1)
        self.setMinimumHeight(160)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName("Next-token histogram")
        self.setAccessibleDescription("Probability of each possible next token; Left and Right move the "
                                      "highlight, Enter makes the highlighted token the next one")
        self._restyle()
        self._set_ticks([])  # no numbers under an empty plot: the x axis counts bars, not values
        self.plot.setXRange(-0.6, 1.0, padding=0)
        self.plot.setYRange(0, 1.03, padding=0)  # room over the 1.0 tick, so that its label is not cut

    # -- data -------------------------------------------------------------------------------
    def set_labels(self, labels: list[str]) -> None:
        self.labels = list(labels)
        self.probs = self.raw = None
        self.chosen = self.highlight = None
        self._texts = (None, None)
        self.header.setText("No distribution yet: press Generate or Step")
        self.header.setToolTip("")
        self.order = self.rest = np.zeros(0, dtype=int)
        self.bars.setOpts(x=[], height=[])
        self.raw_bars.setOpts(x=[], height=[])
        self.cut.hide()
        self.rest_text.hide()
        self.empty_text.show()
        self._set_ticks([])
        self._y_top = self._low_since = self._shown_ranges = self._grid_key = None  # axes as at the start
        self.grid.setData([], [])
        self.left_axis.setTicks(None)
        self.plot.setXRange(-0.6, 1.0, padding=0)
        self.plot.setYRange(0, 1.03, padding=0)

    def set_lump(self, name: str, unit: str) -> None:
        """Name the bar that lumps the tokens left out: music's "other N events", which no one reads as
        a musical rest."""
        self.lump = (name, unit)
        if self.probs is not None:
            self._draw()

    def set_warning(self, text: str) -> None:
        """A line in bold over the bars (the cut leaving one token, step after step); "" takes it off."""
        self.warning = text
        self.warning_label.setText(f"<b>⚠ {_html(text)}</b>" if text else "")
        self.warning_label.setVisible(bool(text))

    def set_options(self, sort: bool | None = None, show_raw: bool | None = None, log_y: bool | None = None,
                    top_n: int | None = None) -> None:
        if sort is not None:
            self.sort = sort
        if show_raw is not None:
            self.show_raw = show_raw
        if log_y is not None:
            self.log_y = log_y
            self._y_top = None
        if top_n is not None:
            self.top_n = max(1, int(top_n))
        self.highlight = None
        if self.probs is not None:
            self._draw()

    def show_distribution(self, probs, raw, chosen: int | None, entropy: float, title: str, live: bool = False,
                          settings=None) -> None:
        """probs: sampled from; raw: the model's T = 1 distribution, of entropy `entropy` nats.
        live: one of a stream, whose y axis comes down only slowly (SHRINK_S)."""
        self.probs, self.raw, self.chosen = np.asarray(probs), np.asarray(raw), chosen
        self.settings = settings
        self._title = title
        self._live = live
        self._entropy = float(entropy)
        self._header(self._entropy)
        self._draw()
        self.shown.emit()

    def retitle(self, title: str) -> None:
        """The same distribution under another title (what it was part of has ended: say so)."""
        if self.probs is not None and self._texts[0] is not None:
            self._title = title
            self._header(self._entropy)

    def label(self, token: int) -> str:
        return self.labels[token] if 0 <= token < len(self.labels) else str(token)

    def _header(self, raw_entropy: float) -> None:
        h, kept, significant = summary(self.probs)
        allowed = int((self.raw > 0).sum())  # a music encoding's rules give the others probability 0
        text = f"<b>{_html(self._title)}</b>"
        if self.chosen is not None:
            text += (f" &nbsp; chose <b>{_html(self.label(self.chosen))}</b> "
                     f"(p = {self.probs[self.chosen]:.3f})")
        title = text
        c = self._colours  # each line's swatch: the legend's, in words' reach when the legend is hidden
        text += (f"<br><span style='color:{c['bar'].name()}'>&#9632;</span> "
                 f"sampled from: entropy {nats(h)} nats, about {math.exp(h):.1f} equally likely choices; "
                 f"{kept} of {allowed} tokens kept, {significant} above {SIGNIFICANT}")
        if allowed < len(self.raw):
            text += f" ({len(self.raw) - allowed} ruled out by the encoding)"
        text += (f"<br><span style='color:{c['raw'].name()}'>&#9633;</span> "
                 f"model's own (T = 1): entropy {nats(raw_entropy)} nats, "
                 f"about {math.exp(raw_entropy):.1f} equally likely choices")
        # short of room (a small window, the piano roll taking most of it): one line, the rest in the tooltip
        short = (f"{title} &nbsp; <span style='color:{c['bar'].name()}'>&#9632;</span> "
                 f"{nats(h)} nats (about {math.exp(h):.1f} choices), {kept} of {allowed} kept"
                 + (f" ({len(self.raw) - allowed} ruled out by the encoding)" if allowed < len(self.raw) else "")
                 + " &nbsp; "
                 f"<span style='color:{c['raw'].name()}'>&#9633;</span> T = 1: {nats(raw_entropy)} nats")
        self._texts = (text, short)
        self._apply_header()

    def _apply_header(self) -> None:
        full, short = self._texts
        if full is None:
            return
        compact = self.height() < COMPACT_BELOW
        self.header.setText(short if compact else full)
        self.header.setToolTip(full if compact else "")

    # -- drawing ----------------------------------------------------------------------------
    def _draw(self) -> None:
        c = self._colours
        allowed = np.flatnonzero(self.raw > 0)
        if len(allowed) == 0:
            allowed = np.arange(len(self.raw))
        if self.sort:
            key = np.lexsort((-self.raw[allowed], -self.probs[allowed]))  # sampled mass first, then raw
            ranked = allowed[key]
            n = min(len(ranked), self._fit_bars(ranked))
            order = ranked[:n]
            if self.chosen is not None and n and self.chosen not in order:  # the orange bar is always shown
                order = np.append(order[:-1], self.chosen)
            self.order = order
            self.rest = np.setdiff1d(ranked, order, assume_unique=True)
        else:
            self.order = np.arange(len(self.probs))
            self.rest = np.zeros(0, dtype=int)
        if self.highlight is not None and self.highlight >= len(self.order):
            self.highlight = None
        n = len(self.order)
        heights = list(self.probs[self.order])
        raw_heights = list(self.raw[self.order])
        brushes = [pg.mkBrush(c["chosen"] if t == self.chosen else c["bar"]) for t in self.order]
        if len(self.rest):
            heights.append(float(self.probs[self.rest].sum()))
            raw_heights.append(float(self.raw[self.rest].sum()))
            brushes.append(pg.mkBrush(c["rest"]))
        pens = [pg.mkPen(None)] * len(heights)
        if self.highlight is not None:
            pens[self.highlight] = pg.mkPen(c["highlight"], width=3)
        x = np.arange(len(heights))
        y0, top = self._y(np.array(heights)), self._y(np.array(raw_heights))
        self.bars.setOpts(x=x, y0=y0[0], height=y0[1], brushes=brushes, pens=pens)
        if self.show_raw:
            self.raw_bars.setOpts(x=x, y0=top[0], height=top[1])
            self.raw_bars.show()
        else:
            self.raw_bars.hide()
        self.empty_text.hide()
        self._rest_label(n, heights)
        self._cut_line()
        shown = max(heights + (raw_heights if self.show_raw else []))
        self._ranges(len(heights), shown)
        self._set_ticks(self._tick_labels())
        self._fit_labels()

    def _y(self, heights: np.ndarray):
        """(bottom, height) of bars for probabilities, on the linear or the log scale."""
        if not self.log_y:
            return 0.0, heights
        logs = np.log10(np.maximum(heights, 10.0 ** LOG_FLOOR))
        return float(LOG_FLOOR), logs - LOG_FLOOR

    def _fit_bars(self, ranked) -> int:
        """How many sorted bars fit with every one labelled (at most top_n), leaving a slot for the rest."""
        width = max(self.plot.width() - 70, 120)
        names = [self.label(t) for t in ranked[: self.top_n]]
        widest = max((self._label_width(s) for s in names), default=10)
        fit = max(4, int(width // (widest + 6)) - 1)
        n = min(self.top_n, fit)
        return len(ranked) if len(ranked) <= n + 1 else n  # a rest of one token is just its bar

    def _label_width(self, s: str) -> int:
        return max(self.metrics.horizontalAdvance(line) for line in _wrap(s).split("\n"))

    def _tick_labels(self) -> list[tuple[int, str]]:
        names = [self.label(t) for t in self.order]
        if self.sort:
            ticks = [(i, _wrap(s)) for i, s in enumerate(names)]
            if len(self.rest):
                ticks.append((len(self.order), self.lump[0]))
            return ticks
        # unsorted: likeliest first, each where it does not overlap a label already placed
        px = max(self.plot.width() - 70, 120) / max(len(self.order), 1)
        taken: list[tuple[float, float]] = []
        ticks = []
        first = [] if self.chosen is None else [self.chosen]
        for t in first + list(np.argsort(-self.probs, kind="stable")):
            if self.probs[t] <= 0 and self.raw[t] <= 0:
                break
            half = (self._label_width(names[t]) + 4) / 2 / px
            lo, hi = t - half, t + half
            if all(hi <= a or lo >= b for a, b in taken):
                taken.append((lo, hi))
                ticks.append((int(t), _wrap(names[t])))
        return sorted(set(ticks))

    def _set_ticks(self, ticks) -> None:
        if ticks != self.ticks:  # re-laying out an axis costs more than drawing the bars
            self.ticks = ticks
            self.axis.setTicks([ticks, []])
            lines = max((label.count("\n") + 1 for _, label in ticks), default=1)
            height = lines * self.metrics.height() + 10  # two-line labels ("A4 / held") need the room
            if self.axis.height() != height:
                self.axis.setHeight(height)

    def _ranges(self, bars: int, shown: float) -> None:
        if self.log_y:
            y_range = (LOG_FLOOR, 0.05)
        else:
            # a tall rest bar stands at the right, under the legend: give it the legend's room above it
            top = shown * 1.08
            box = self.plot.getViewBox().sceneBoundingRect()
            if self._rest_tall and box.height() > 0 and self.legend.isVisible():  # it ends below the legend
                below = (self.legend.sceneBoundingRect().bottom() + 6 - box.top()) / box.height()
                top = max(top, shown / max(1.0 - below, 0.3))
            y, fit = self._y_top, next((v for v in Y_TOPS if top <= v), 1.0)
            if y is None or top > y:  # the axis fits the data, with a little hysteresis
                y, self._low_since = fit, None
            elif top >= 0.6 * y:
                self._low_since = None
            elif not self._live:
                y = fit
            elif self._low_since is None:
                self._low_since = time.monotonic()
            elif time.monotonic() - self._low_since >= SHRINK_S:
                y, self._low_since = fit, None
            self._y_top = y
            y_range = (0.0, y * 1.03)  # a little room over the top tick, so that its label is not cut
        ranges = (y_range, bars, self.log_y)
        shown = self._shown_ranges or (None, None, None)
        self._shown_ranges = ranges
        # each axis re-laid out only when its own range moves (the bars' count changes most steps; the
        # left axis's picture, redrawn for it, cost 2-7 ms a frame)
        if (y_range, self.log_y) != (shown[0], shown[2]):
            self.left_axis.setTicks([[(v, f"{10.0 ** v:g}") for v in range(LOG_FLOOR, 1)], []] if self.log_y else None)
            self.plot.setYRange(*y_range, padding=0)
        if bars != shown[1]:
            self.plot.setXRange(-0.6, bars - 0.4, padding=0)
        self._grid(y_range, bars)

    def _grid(self, y_range, bars: int) -> None:
        """Horizontal lines at the left axis's major ticks, across the bars."""
        pixels = max(int(self.plot.getViewBox().height()), 50)  # the axis picks its ticks by its length
        key = (y_range, bars, self.log_y, pixels)
        if key == self._grid_key:
            return
        self._grid_key = key
        if self.log_y:
            values = list(range(LOG_FLOOR, 1))
        else:
            levels = self.left_axis.tickValues(y_range[0], y_range[1], pixels)
            values = list(levels[0][1]) if levels else []
        values = [v for v in values if y_range[0] < v <= y_range[1]]
        x = np.repeat([[-0.6, bars - 0.4]], len(values), axis=0).ravel()
        self.grid.setData(x, np.repeat(values, 2))

    # -- palette ----------------------------------------------------------------------------
    def _restyle(self) -> None:
        c = self._colours = theme.plot_colours(self.palette())
        theme.style_plot(self.plot, c, (self.axis, self.left_axis), self.legend)
        self.bars.setOpts(brush=pg.mkBrush(c["bar"]))  # what the legend's swatch shows
        self.raw_bars.setOpts(pen=pg.mkPen(c["raw"], width=1.5, style=Qt.PenStyle.DashLine))
        self.cut.setPen(pg.mkPen(c["cut"], width=1.5, style=Qt.PenStyle.DashLine))
        grid = QColor(c["text"])
        grid.setAlphaF(0.25)  # as faint as pyqtgraph's own grid
        self.grid.setPen(pg.mkPen(grid, width=1))
        self.cut.label.setColor(c["cut"])
        self.rest_text.setColor(c["text"])
        self.empty_text.setColor(c["text"])
        self.legend.setBrush(pg.mkBrush(c["background"]))
        if self.probs is not None:
            self._draw()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._restyle()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.legend.setVisible(self.plot.width() >= LEGEND_MIN_WIDTH)
        self._apply_header()  # (the labels are fitted again as the bars are drawn anew below)
        if self.probs is not None:
            self._draw()  # how many bars fit depends on the width

    # -- keyboard ---------------------------------------------------------------------------
    def focusInEvent(self, event) -> None:
        super().focusInEvent(event)
        self.update()

    def focusOutEvent(self, event) -> None:
        super().focusOutEvent(event)
        self.update()

    def paintEvent(self, event) -> None:
        """A ring in the palette's highlight colour while it has the keyboard's focus."""
        super().paintEvent(event)
        if self.hasFocus():
            from PySide6.QtGui import QPainter, QPalette, QPen

            p = QPainter(self)
            p.setPen(QPen(self.palette().color(QPalette.ColorRole.Highlight), 2))
            p.drawRect(self.rect().adjusted(1, 1, -1, -1))

    def keyPressEvent(self, event) -> None:
        key = event.key()
        if self.probs is not None and len(self.order) and key in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            step = -1 if key == Qt.Key.Key_Left else 1
            start = -1 if self.highlight is None and step > 0 else (len(self.order) if self.highlight is None
                                                                   else self.highlight)
            self.highlight = min(max(start + step, 0), len(self.order) - 1)
            self._draw()
            t = int(self.order[self.highlight])
            msg = f"{self.label(t)}: p = {self.probs[t]:.4f}; Enter makes it the next token"
            self.plot.setToolTip(msg)
            self.setAccessibleDescription(msg)
            self.highlighted_text = msg
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.highlight is not None:
            self.token_clicked.emit(int(self.order[self.highlight]))
            return
        super().keyPressEvent(event)

    # -- clicks -----------------------------------------------------------------------------
    def token_at(self, scene_pos) -> int | None:
        """The token whose bar column lies under a scene position, or None (also for the rest bar)."""
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
        lo, hi = vb.viewRange()[1]
        return vb.mapViewToScene(pg.Point(i, (lo + hi) * 0.5))

    def _hover(self, scene_pos) -> None:
        """Name the bar under the mouse, with both probabilities."""
        token = self.token_at(scene_pos) if self.probs is not None else None
        if token is None:
            self.plot.setToolTip(HINT)
            return
        self.plot.setToolTip(f"{self.label(token)}: p = {self.probs[token]:.4f} (model at T = 1: "
                             f"{self.raw[token]:.4f}). Click to make it the next token.")

    def _clicked(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or self.probs is None:
            return
        self.setFocus()
        token = self.token_at(ev.scenePos())
        if token is not None:
            self.token_clicked.emit(token)


def nats(h: float) -> str:
    """An entropy to two decimals, never "-0.00" (a sum of rounding errors below zero is zero)."""
    return f"{max(h, 0.0) + 0.0:.2f}"


def _wrap(label: str) -> str:
    """Two short lines instead of one long one under a bar ("A4 held" -> "A4\\nheld")."""
    return label.replace(" ", "\n", 1) if len(label) > 4 and " " in label.strip() else label


def _html(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
