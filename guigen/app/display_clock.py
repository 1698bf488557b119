"""The main window's display clock, mixed into MainWindow: while a sample streams in, frames take
three turns (the output; the distribution's update, held unpainted; their paint), so the GUI thread
is never busy with more than one at a time; and the newest distribution (a step's, or the next
token's preview when paused) is shown once, the newest of several."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QTimer
from PySide6.QtWidgets import QApplication

from guigen.app.length import describe as describe_length

# Each turn is redrawn 15 times a second (FRAME_S * len(TURNS)), and the GUI thread is never busy
# with more than one turn at a time, so its other work (a click, a timer) waits at most one turn.
FRAME_S = 1 / 45
TURNS = ("output", "update", "paint")


class DisplayClock:
    def _frame(self) -> None:
        """A tick of the display clock (see TURNS); the model goes on in its own process meanwhile."""
        self._phase = (self._phase + 1) % len(TURNS)
        turn = TURNS[self._phase]
        if turn == "output":
            if self.model is not None and self.model.kind == "music" and self.piano_roll is not None:
                if self.piano_roll.pace():
                    self._paint_now(self.piano_roll.plot)
            elif self.text_view.pace():
                self._paint_now()
        elif turn == "update":
            if self._latest is not None:
                self._hold_distribution(True)
                self._show_latest()
        else:
            self._release_distribution()

    def _soon(self, slot) -> QTimer:
        """A zero-delay single-shot timer of this window's for `slot`: it runs once the events already
        queued are handled, and never after the window is gone."""
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(0)
        timer.timeout.connect(slot)
        return timer

    def _hold_distribution(self, on: bool) -> None:
        """Keep the histogram and the curve, their words with their plots, from painting (their
        update's turn) or let them: what shows on screen is always one step's, all of it."""
        for widget in (self.histogram, self.curve):
            widget.setUpdatesEnabled(not on)
        self._held = on

    def _release_distribution(self) -> None:
        """Paint what the update's turn drew, once (its paint's turn)."""
        if self._held:
            self._hold_distribution(False)
            self._paint_now(self.histogram.plot, self.curve.plot)

    def _paint_now(self, *plots) -> None:
        """Paint the window's changes now, each plot once. pyqtgraph settles its views' transforms at
        the start of a paint, which dirties the items again and asks for a second, identical paint:
        settling them first (prepareForPaint) and passing on the scenes' pending updates leaves one."""
        app = QApplication.instance()
        for plot in plots:
            plot.scene().prepareForPaint()
            app.sendPostedEvents(plot.scene(), QEvent.Type.MetaCall)  # the scene's queued dirty-item pass
        app.sendPostedEvents(self, QEvent.Type.UpdateRequest)

    def _show_latest(self) -> None:
        batch, self._latest = self._latest, None
        if batch is None or batch.last_probs is None:
            return
        settings = self.sampling_settings()
        settings.temperature = batch.temperature
        self.histogram.show_distribution(batch.last_probs, batch.last_raw, batch.tokens[-1], batch.entropy,
                                         f"Token {batch.count} at T = {batch.temperature:g}",
                                         live=self.state == "running", settings=settings)
        self.curve.set_distribution(batch.last_raw, settings.top_k, settings.top_p, live=self.state == "running")

    def _previewed(self, p) -> None:
        """The next token's distribution (paused, stopped, the dial turned): shown once the events
        already queued are handled, the newest of several, so a stop's drawing comes in two parts
        (the output at the state change, then this) with the GUI's timers free between them."""
        if self._stale:
            return
        self._latest = None  # a step's distribution still waiting is older than this one
        self._preview = p
        self._preview_timer.start()

    def _show_preview(self) -> None:
        p, self._preview = self._preview, None
        if p is None:
            return
        t = self.dial.temperature()
        what = "greedy" if t == 0 else f"T = {t:g}"
        settings = self.sampling_settings()
        self.histogram.show_distribution(p.probs, p.raw, None, p.entropy,
                                         f"Next token ({self.state}) at {what}: click a bar to choose it",
                                         settings=settings)
        self.curve.set_distribution(p.raw, settings.top_k, settings.top_p)
        self.count_label.setText(describe_length(self, p.count))
        self._paint_now(self.histogram.plot, self.curve.plot)
        self.previewed.emit(p)
