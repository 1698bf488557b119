"""The histogram's labels on the plot, mixed into Histogram: the lumped bar's ("other N events" in
music, "rest: N tokens" in text, with its probability) and the cut's line ("top-p 0.9: 12 kept"),
each shown only where it fits whole inside the plot, clear of the legend, the bars and each other
(the header and the ticks say the same, so nothing is lost when one is left out)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg


class HistogramLabels:
    def bar_rects(self, x_range=None) -> list:
        """Each drawn bar (sampled, and the raw outline when shown) as a scene rectangle; only those
        within x_range (view coordinates: bar positions), when given."""
        from PySide6.QtCore import QRectF

        vb = self.plot.getViewBox()
        out = []
        for item in (self.bars, self.raw_bars):
            if not item.isVisible():
                continue
            o = item.opts
            x, h = o.get("x"), o.get("height")
            if x is None or h is None or len(x) == 0:
                continue
            y0 = o.get("y0")
            y0 = np.zeros(len(x)) + (0.0 if y0 is None else np.asarray(y0, dtype=float))
            for xi, yi, hi in zip(np.asarray(x, dtype=float), y0, np.asarray(h, dtype=float)):
                if x_range is not None and not (x_range[0] - 0.4 <= xi <= x_range[1] + 0.4):
                    continue
                if hi > 0:
                    out.append(vb.mapViewToScene(QRectF(xi - 0.4, yi, 0.8, hi)).boundingRect())
        return out

    def _fit_labels(self) -> None:
        """The rest bar's and the cut's labels only where they fit whole inside the plot, clear of the
        legend and of each other; where they do not (a small plot), they are left out, never cut off:
        the header and the ticks say the same."""
        vb = self.plot.getViewBox()
        vb.updateMatrix()  # the ranges just set: measure in them
        box = vb.sceneBoundingRect().adjusted(-1, -1, 1, 1)
        legend = self.legend.sceneBoundingRect() if self.legend.isVisible() else None
        self.cut.label.setVisible(self.cut.isVisible())
        placed = []
        for item, shown in ((self.cut.label, self.cut.isVisible()), (self.rest_text, self.rest_text.isVisible())):
            if not shown:
                continue
            if isinstance(item, pg.InfLineLabel):
                item.updatePosition()
            r = item.sceneBoundingRect()
            span = vb.mapSceneToView(r).boundingRect()
            under = self.bar_rects((span.left(), span.right()))  # labels never cover a bar
            fits = box.contains(r) and (legend is None or not r.intersects(legend)) and not any(
                r.intersects(o) for o in placed + under)
            item.setVisible(fits)
            if fits:
                placed.append(r)

    def _rest_label(self, n: int, heights) -> None:
        if len(self.rest):
            p = float(self.probs[self.rest].sum())
            self.rest_text.setText(f"{self.lump[0]}{':' if self.lump[0] == 'rest' else ''} {len(self.rest)} "
                                   f"{self.lump[1]}\np = {p:.3g}")
            rest_top = max(heights[n], self.raw[self.rest].sum() if self.show_raw else 0)
            tallest = max(max(heights), max(self.raw[self.order], default=0) if self.show_raw else 0)
            self._rest_tall = rest_top >= 0.75 * tallest
            if self._rest_tall:  # no room above it (the axis ends just over the tallest bar):
                bottom, height = self._y(np.array([rest_top / 2]))  # beside it, halfway up, over the small bars
                self.rest_text.setAnchor((1.0, 0.5))
                self.rest_text.setPos(n - 0.5, float(bottom + height[0]))
            else:
                bottom, height = self._y(np.array([rest_top]))
                self.rest_text.setAnchor((1.0, 1.0))
                self.rest_text.setPos(n + 0.45, float(bottom + height[0]))
            self.rest_text.show()
        else:
            self._rest_tall = False
            self.rest_text.hide()

    def _cut_line(self) -> None:
        """Sorted: a line after the last kept bar, saying which filter cut and how many it kept."""
        kept = int((self.probs > 0).sum())
        s = self.settings
        filters = []
        if s is not None and s.temperature > 0:
            if 0 < s.top_k < len(self.probs):
                filters.append(f"top-k {s.top_k}")
            if s.top_p < 1:
                filters.append(f"top-p {s.top_p:g}")
        name = ", ".join(filters) or ("greedy" if s is not None and s.temperature == 0 else "cut")
        cut_at = int((self.probs[self.order] > 0).sum())
        if self.sort and kept < int((self.raw > 0).sum()) and cut_at <= len(self.order):
            # every kept token is among the bars (sorted by sampled mass), so the line sits after them
            self.cut.setValue(cut_at - 0.5)
            self.cut.label.setFormat(f"{name}: {kept} kept")
            self.cut.show()
        else:
            self.cut.hide()
