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
        tabs = w.splitter.bottom.tabBar()  # the variations and the distribution: a tab each, under the roll
        seen = tab_through(qtbot, w)
        order = [w.model_combo, w.dial.dial, w.top_k, w.music_length.bars, w.primer, w.transport.tempo,
                 w.variations.count, w.variations.button, w.panel.buttons["generate"], w.piano_roll.follow_button,
                 tabs, w.variations.view.cards[0].buttons["use"], w.takes.list.tree,
                 w.takes.list.buttons["continue_from"]]
        where = [seen.index(x) for x in order]  # each is reached...
        assert where == sorted(where)  # ...in reading order
        # on the tab bar, Left shows the distribution: Tab goes on to the histogram
        tabs.setFocus()
        qtbot.waitUntil(tabs.hasFocus, timeout=TIMEOUT)
        qtbot.keyClick(tabs, Qt.Key.Key_Left)
        assert w.splitter.bottom.currentWidget() is w.splitter.distribution
        qtbot.keyClick(tabs, Qt.Key.Key_Tab)
        assert QApplication.focusWidget() is w.histogram
        seen += tab_through(qtbot, w)
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


def test_tab_leaves_the_editable_text_and_text_boxes_show_focus(qtbot, tmp_path):
    """Once the text stops streaming it is editable; Tab still moves on (it typed tab characters into
    the text, and the keyboard never got out, under Xvfb). The primer, the text and the take list,
    which Fusion draws no focus for, show a ring in the highlight colour when they have the focus."""
    from app_helpers import generate_text, make_model

    for w in open_window(qtbot, tmp_path, make_model(tmp_path / "t.safetensors")):
        generate_text(qtbot, w, 40)
        assert not w.text_view.isReadOnly()
        before = w.text_view.toPlainText()
        w.activateWindow()
        w.text_view.setFocus()
        qtbot.waitUntil(w.text_view.hasFocus, timeout=TIMEOUT)
        qtbot.keyClick(w.text_view, Qt.Key.Key_Tab)
        assert not w.text_view.hasFocus() and w.text_view.toPlainText() == before
        for box in (w.primer, w.text_view, w.takes.list.tree):
            ring = box.palette().color(box.palette().ColorRole.Highlight).rgb()
            w.panel.buttons["clear"].setFocus()
            qtbot.waitUntil(lambda: not box.hasFocus(), timeout=TIMEOUT)
            off = box.grab().toImage()
            box.setFocus()
            qtbot.waitUntil(box.hasFocus, timeout=TIMEOUT)
            on = box.grab().toImage()
            y = box.height() // 2
            assert on.pixel(0, y) == ring and on.pixel(1, y) == ring and off.pixel(1, y) != ring
            # and what is inside is painted as before (the ring is drawn over it, not instead of it)
            inside = [(x, yy) for x in range(6, box.width() - 6, 3) for yy in range(6, box.height() - 6, 3)]
            changed = sum(on.pixel(x, yy) != off.pixel(x, yy) for x, yy in inside)
            assert changed <= 0.02 * len(inside)


def test_tab_comes_round_to_the_model_after_the_last_take_button(qtbot, tmp_path):
    """Under Xvfb with variations open, Tab after the take list's last button went to the bottom
    panel's tab bar (the tab widget was its focus proxy) and round the cards and takes for ever: the
    left panel was never reached again. Now once round is once round."""
    from app_helpers import generate_music

    for w in open_window(qtbot, tmp_path, make_music_model(tmp_path / "p.safetensors", "polyphony")):
        generate_music(qtbot, w, 16)
        w.variations.count.setValue(2)
        w.variations.button.click()
        qtbot.waitUntil(lambda: w.variations.current.done, timeout=TIMEOUT)
        w.takes.dock.show()
        seen = tab_through(qtbot, w, 150)
        assert QApplication.focusWidget() is w.model_combo, [type(f).__name__ for f in seen[-5:]]
        assert seen[-1] is w.takes.list.buttons["delete"]  # Undo is off: nothing deleted
        assert len(seen) == len(set(seen))  # every stop once
