"""Settings per model and controls that only move when meant to (issue 21 item 3), on real widgets
offscreen: sampling settings remembered per model, the wheel over unfocused controls (real
QWheelEvents), the dial dragged relatively (Shift finer, double-click T = 1), the typed value and
the header at the same precision, and a warning when the cut leaves one token step after step."""

from __future__ import annotations

import pytest
from app_helpers import TIMEOUT, make_model, make_music_model, open_window
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication


@pytest.fixture()
def window(qtbot, tmp_path):
    yield from open_window(qtbot, tmp_path, make_model(tmp_path / "words.safetensors"))


def load(qtbot, w, path) -> None:
    with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT):
        w.load_model(str(path))


def test_sampling_settings_are_remembered_per_model(qtbot, window, tmp_path):
    w = window
    words = tmp_path / "words.safetensors"
    notes = make_music_model(tmp_path / "notes.safetensors", "polyphony")
    w.dial.set_temperature(0.7)
    w.top_k.setValue(10)
    w.top_p.setValue(0.9)
    w.length.setValue(300)
    load(qtbot, w, notes)  # a model met for the first time: the defaults, nothing of the text model's
    assert (w.dial.temperature(), w.top_k.value(), w.top_p.value(), w.length.value()) == (1.0, 0, 1.0, 128)
    assert w.curve.temperature == 1.0  # the curve's marker at the T in force
    w.dial.set_temperature(1.3)
    load(qtbot, w, words)
    assert (w.dial.temperature(), w.top_k.value(), w.top_p.value(), w.length.value()) == (0.7, 10, 0.9, 300)
    assert w.curve.temperature == 0.7
    load(qtbot, w, notes)
    assert w.dial.temperature() == 1.3 and w.top_k.value() == 0


def wheel(widget, steps: int = 1) -> None:
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    ev = QWheelEvent(pos, widget.mapToGlobal(pos), QPoint(0, 0), QPoint(0, 120 * steps), Qt.MouseButton.NoButton,
                     Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, ev)


def test_the_wheel_never_turns_an_unfocused_control(qtbot, window):
    w = window
    w.resize(1024, 640)  # the panel scrolls
    qtbot.waitUntil(lambda: w.panel.scroll.verticalScrollBar().maximum() > 0, timeout=TIMEOUT)
    w.top_p.setValue(1.0)
    w.top_k.setValue(0)
    w.length.setValue(500)
    w.dial.set_temperature(0.88)
    w.histogram.setFocus()
    bar = w.panel.scroll.verticalScrollBar()
    bar.setValue(bar.maximum())
    for widget in (w.top_p, w.top_k, w.length, w.dial.dial, w.dial.spin, w.model_combo, w.seed):
        assert not widget.hasFocus()
        wheel(widget, -1)
        wheel(widget, 1)
    assert (w.top_p.value(), w.top_k.value(), w.length.value(), w.dial.temperature()) == (1.0, 0, 500, 0.88)
    wheel(w.top_k, 1)
    wheel(w.top_k, 1)
    assert w.top_k.value() == 0 and bar.value() < bar.maximum()  # the wheel scrolled the panel instead
    w.top_p.setFocus()  # focused, the wheel does turn it
    qtbot.waitUntil(w.top_p.hasFocus, timeout=TIMEOUT)
    wheel(w.top_p, -1)
    assert w.top_p.value() == pytest.approx(0.95)


def test_the_dial_drags_relatively_and_resets_on_double_click(qtbot, window):
    w = window
    dial = w.dial.dial
    w.dial.set_temperature(0.5)
    before = dial.value()
    centre = dial.rect().center()
    # pressing at the centre and dragging up 40 px turns the dial up from where it was (no jump to an angle)
    qtbot.mousePress(dial, Qt.MouseButton.LeftButton, pos=centre)
    assert dial.value() == before
    qtbot.mouseMove(dial, centre - QPoint(0, 40))
    coarse = dial.value() - before
    qtbot.mouseRelease(dial, Qt.MouseButton.LeftButton, pos=centre - QPoint(0, 40))
    assert coarse == pytest.approx(40 * (dial.maximum() - dial.minimum()) / 200, abs=1)
    assert w.dial.temperature() > 0.5
    # with Shift five times finer
    start = dial.value()
    qtbot.mousePress(dial, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, pos=centre)
    # qtbot.mouseMove carries no modifiers: a real move event with Shift held
    ev = QMouseEvent(QEvent.Type.MouseMove, QPointF(centre + QPoint(0, 40)), QPointF(dial.mapToGlobal(centre)),
                     Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier)
    QApplication.sendEvent(dial, ev)
    qtbot.mouseRelease(dial, Qt.MouseButton.LeftButton, pos=centre + QPoint(0, 40))
    assert start - dial.value() == pytest.approx(coarse / 5, abs=1)
    # a double-click as an X server sends it: press, release, double-click, release; off the centre, where
    # QDial's own release would set the value at the pointer's angle (T went from 1 to 1.98 under Xvfb)
    at = centre + QPoint(dial.width() // 4, -dial.height() // 4)
    qtbot.mouseClick(dial, Qt.MouseButton.LeftButton, pos=at)
    qtbot.mouseDClick(dial, Qt.MouseButton.LeftButton, pos=at)
    qtbot.mouseRelease(dial, Qt.MouseButton.LeftButton, pos=at)
    assert w.dial.temperature() == 1.0 and w.dial.spin.text() == "1"


def test_the_typed_value_and_the_header_agree(qtbot, window):
    w = window
    w.dial.dial.setValue(140)  # a dial position between round values
    t = w.dial.temperature()
    assert w.dial.spin.text() == f"{t:g}" and len(f"{t:g}") > 4  # e.g. 0.556: three decimals, as the header
    w.actions["step"].trigger()
    qtbot.waitUntil(lambda: f"T = {t:g}" in w.histogram.header.text(), timeout=TIMEOUT)
    w.dial.spin.lineEdit().setText("0.88")
    w.dial.spin.interpretText()
    assert w.dial.temperature() == 0.88 and w.dial.spin.text() == "0.88"


def test_the_cut_leaving_one_token_is_said(qtbot, window):
    w = window
    w.top_k.setValue(1)
    w.length.setValue(40)
    w.seed.setValue(1)
    w.generate()
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=TIMEOUT)
    h = w.histogram
    assert "single token" in h.warning and "top-k 1" in h.warning and h.warning_label.isVisible()
    assert "characters in a row" in h.warning  # counted in the model's own unit, not "steps"
    w.top_k.setValue(0)  # the cut off: the warning goes
    assert h.warning == "" and not h.warning_label.isVisible()
    w.generate()
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=TIMEOUT)
    assert h.warning == ""


def test_the_cut_warning_counts_events_in_music(qtbot, tmp_path):
    """Music's "steps" are 16th notes ("8 bars (128 steps)"); the cut warning counts events, and says
    so (under Xvfb it said "256 steps in a row" of a 64-step piece)."""
    for w in open_window(qtbot, tmp_path, make_music_model(tmp_path / "p.safetensors", "polyphony")):
        w.top_k.setValue(1)
        w.primer.setText("60,64,67")
        w.music_length.bars.setValue(1)
        w.seed.setValue(1)
        w.generate()
        qtbot.waitUntil(lambda: w.state == "stopped", timeout=TIMEOUT)
        assert "single token" in w.histogram.warning and "events in a row" in w.histogram.warning


def test_the_wheel_never_turns_an_unfocused_control_in_dialogs_and_the_live_panel(qtbot, window):
    """The harmonize and training dialogs and the live panel are made after the window's guard: under
    Xvfb the wheel over Harmonize's unfocused beam box took it from 1 to 4 (and the focus)."""
    from PySide6.QtWidgets import QAbstractSpinBox, QComboBox

    from guigen.app.harmonize_dialog import HarmonizeDialog
    from guigen.app.train_dialog import TrainDialog

    w = window
    harmonize, train = HarmonizeDialog(w), TrainDialog(w, w.settings)
    live = w.sound_menu.show_live()
    for root in (harmonize, train, live):
        if root is not live:
            qtbot.addWidget(root)
            root.show()
            qtbot.waitExposed(root)
        controls = [c for cls in (QAbstractSpinBox, QComboBox) for c in root.findChildren(cls)]
        assert controls
        for c in controls:
            value = lambda: c.value() if isinstance(c, QAbstractSpinBox) else c.currentIndex()  # noqa: E731
            before = value()
            wheel(c, 1)
            wheel(c, -1)
            wheel(c, -1)
            assert value() == before and not c.hasFocus(), (type(root).__name__, c.toolTip())
    harmonize.activateWindow()
    harmonize.beam.setFocus()
    qtbot.waitUntil(harmonize.beam.hasFocus, timeout=TIMEOUT)  # focused, it turns
    wheel(harmonize.beam, 1)
    assert harmonize.beam.value() == 2
