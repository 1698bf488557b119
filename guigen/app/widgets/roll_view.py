"""The piano roll's view over the piece: what steps show (scroll, zoom, show all), follow mode
(the newest notes kept in view), the pitches fitted, the scroll bar kept in step, and a margin left
of bar 1 so its number and the primer mark stand clear of the keyboard. Mixed into PianoRoll."""

from __future__ import annotations

FOLLOW_MARGIN = 8  # steps kept free right of the next-step marker in follow mode
MIN_SPAN, MAX_SPAN = 16, 100_000


class RollView:
    def total_steps(self) -> int:
        """Steps the scroll bar covers: the piece, its notes' ends and the next step included."""
        self._flush()
        return max(self._steps, self._ends[-1] if self._ends else 0)

    def _place_now_label(self) -> None:
        """The next-step label left of its line (in follow mode the line is near the right edge), or
        right of it when there is no room on the left: it is never cut by the view's edge. The
        playhead's label likewise, right of its line by preference."""
        x0, x1 = self.view_range()
        width = self.view.width()
        if x1 <= x0 or width <= 0:
            return
        room = (self.now.value() - x0) / (x1 - x0) * width  # pixels left of the line
        side = [(1, 0), (1, 0)] if room >= self.now.label.boundingRect().width() + 4 else [(0, 0), (0, 0)]
        if side != self.now.label.anchors:
            self.now.label.anchors = side
            self.now.label.updatePosition()
        # the playhead's right of its line (what plays next), left of it where the right has no room
        room = (x1 - self.playhead.value()) / (x1 - x0) * width
        side = [(0, 0), (0, 0)] if room >= self.playhead.label.boundingRect().width() + 4 else [(1, 0), (1, 0)]
        if side != self.playhead.label.anchors:
            self.playhead.label.anchors = side
            self.playhead.label.updatePosition()

    def view_range(self) -> tuple[float, float]:
        return tuple(self.view.viewRange()[0])

    def set_follow(self, on: bool) -> None:
        on = bool(on)
        changed = on != self.follow
        self.follow = on
        if self.follow_button.isChecked() != on:
            self.follow_button.setChecked(on)
        if on:
            self._show_range()
        if changed:
            self.follow_changed.emit(on)

    def zoom(self, factor: float, anchor: float | None = None) -> None:
        """Show `factor` times as many steps, keeping `anchor` (a step; default the middle) in place."""
        x0, x1 = self.view_range()
        anchor = (x0 + x1) / 2 if anchor is None else anchor
        span = min(max(self.span * factor, MIN_SPAN), MAX_SPAN)
        left = anchor - (anchor - x0) * span / max(x1 - x0, 1e-9)
        self.span = span
        self._show_range(None if self.follow else left)

    def show_all(self) -> None:
        self.span = min(max(self.total_steps() + FOLLOW_MARGIN, MIN_SPAN), MAX_SPAN)
        self._show_range(-self.lead())

    def scroll_to(self, left: float) -> None:
        """Show from step `left` on (as the user scrolling): leaves follow mode unless at the end."""
        self.set_follow(False)
        self._show_range(left)
        if self._at_end():
            self.set_follow(True)

    def _at_end(self) -> bool:
        return self.scrollbar.value() >= self.scrollbar.maximum()

    def lead(self) -> float:
        """Steps shown left of step 0 when the view is at the start (about 8 px)."""
        return self.span * 8 / max(self.view.width(), 100)

    def _show_range(self, left: float | None = None) -> None:
        """Set the visible steps: the end in follow mode, else from `left` (default: where it is)."""
        end = self.total_steps() + FOLLOW_MARGIN
        if self.follow:
            left = end - self.span
        elif left is None:
            left = self.view_range()[0]
        # at the start, a margin left of bar 1: its line, number and the primer mark stand clear of the keys
        lead = self.lead()
        left = min(max(-lead, left), end - self.span if end - self.span > 0 else -lead)
        self.view.setXRange(left, left + self.span, padding=0)
        self._fit_pitches()
        self._sync_scrollbar()

    def _fit_pitches(self) -> None:
        """All the piece's pitches in view (an octave at least), so nothing is ever hidden vertically."""
        pitches = ([self._low[-1], self._high[-1]] if self._low else []) + getattr(self, "guide_pitches", [])
        if pitches:
            low, high = min(pitches), max(pitches)
        else:
            low, high = 60, 72
        height = self.view.height()
        if (self._pitch_range is not None and self._pitch_range[0] <= low and high <= self._pitch_range[1]
                and self._pitch_range[2] == height):
            return
        # a band over the highest note's top edge as tall as the next-step label, which sits in it
        label = self.now.label.boundingRect().height() + 2
        top = 2.5 if height <= 2 * label else max(2.5, (label * (high - low + 2.5) + 0.5 * height) / (height - label))
        bottom = low - 2.5
        grow = max(0.0, 15 - (high + top - bottom)) / 2  # an octave and more in view
        self._pitch_range = (low, high, height)
        self.view.setYRange(bottom - grow, high + top + grow, padding=0)
        self.primer_text.setPos(0, bottom - grow)

    def _sync_scrollbar(self) -> None:
        x0, x1 = self.view_range()
        span = max(1, int(round(x1 - x0)))
        end = self.total_steps() + FOLLOW_MARGIN
        self._scrolling = True
        self.scrollbar.setRange(0, max(0, end - span))
        self.scrollbar.setPageStep(span)
        self.scrollbar.setSingleStep(max(1, span // 16))
        self.scrollbar.setValue(int(round(x0)))
        self._scrolling = False

    def _scrolled(self, value: int) -> None:
        if not self._scrolling:
            self.scroll_to(value)
