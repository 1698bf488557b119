"""Keyboard (issue 21 item 10), in a real window offscreen: Tab reaches every control in reading
order, the variations and the take list included, and stops only where focus shows."""

from __future__ import annotations

from app_helpers import TIMEOUT, make_music_model, open_window
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractScrollArea, QApplication

import pyqtgraph as pg


def tab_through(qtbot, w, n: int = 90) -> list:
    w.activateWindow()
    w.model_combo.setFocus()
    qtbot.waitUntil(w.model_combo.hasFocus, timeout=TIMEOUT)
    seen = []
    for _ in range(n):
        f = QApplication.focusWidget()
        if seen and f is seen[0]:
            break  # round once
        seen.append(f)
        qtbot.keyClick(f, Qt.Key.Key_Tab)
    return seen


def test_tab_reaches_every_control_in_reading_order(qtbot, tmp_path):
    from app_helpers import generate_music

    for w in open_window(qtbot, tmp_path, make_music_model(tmp_path / "p.safetensors", "polyphony")):
        generate_music(qtbot, w, 16)  # a take to select
        w.variations.count.setValue(2)
        w.variations.button.click()
        qtbot.waitUntil(lambda: w.variations.current.done, timeout=TIMEOUT)
        seen = tab_through(qtbot, w)
        order = [w.model_combo, w.dial.dial, w.top_k, w.music_length.bars, w.primer, w.transport.tempo,
                 w.variations.count, w.variations.button, w.panel.buttons["generate"], w.piano_roll.follow_button,
                 w.variations.view.cards[0].buttons["use"], w.histogram, w.takes.list.tree,
                 w.takes.list.buttons["continue_from"]]
        where = [seen.index(x) for x in order]  # each is reached...
        assert where == sorted(where)  # ...in reading order
        for f in seen:  # no stop on a plot or a bare scroll area: nothing to see there
            assert not isinstance(f, (pg.PlotWidget, pg.GraphicsView))
            assert not (isinstance(f, QAbstractScrollArea) and f is not w.takes.list.tree and f is not w.text_view
                        and f is not w.primer)


def test_the_histogram_shows_its_focus(qtbot, tmp_path):
    for w in open_window(qtbot, tmp_path, make_music_model(tmp_path / "p.safetensors", "polyphony")):
        h = w.histogram
        w.activateWindow()
        w.model_combo.setFocus()
        qtbot.waitUntil(w.model_combo.hasFocus, timeout=TIMEOUT)
        before = h.grab().toImage()
        h.setFocus()
        qtbot.waitUntil(h.hasFocus, timeout=TIMEOUT)
        after = h.grab().toImage()
        ring = h.palette().color(h.palette().ColorRole.Highlight).rgb()
        assert after.pixel(1, h.height() // 2) == ring and before.pixel(1, h.height() // 2) != ring
