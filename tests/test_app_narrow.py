"""A narrow window (800x600 with the Cells view open leaves the middle ~220 px): nothing is cut by a
view's edge and nothing covers the bars (issue 12 item 6)."""

from __future__ import annotations

import re

import pytest
from app_helpers import TIMEOUT, make_model, open_window

from guigen.app.widgets.histogram import LEGEND_MIN_WIDTH  # noqa: E402  (app_helpers sets QT_QPA_PLATFORM first)
from guigen.core import registry  # noqa: E402


@pytest.fixture(scope="module")
def text_model(tmp_path_factory):
    return make_model(tmp_path_factory.mktemp("models") / "text.safetensors")


@pytest.fixture()
def text_window(qtbot, tmp_path, text_model):
    yield from open_window(qtbot, tmp_path, text_model)


@pytest.fixture()
def chorales(qtbot, tmp_path):
    yield from open_window(qtbot, tmp_path, registry.resolve("bach-chorales"))


def test_legend_gives_way_to_the_headers_swatches_when_narrow(qtbot, text_window):
    w = text_window
    w.actions["step"].trigger()
    qtbot.waitUntil(lambda: w.state == "paused" and w.histogram.probs is not None, timeout=TIMEOUT)
    h = w.histogram
    text = h.header.text()
    c = h._colours
    # each line of numbers starts with its series' swatch, in the colours the bars are drawn in
    assert re.search(rf"color:{c['bar'].name()}'>&#9632;</span> sampled from", text), text
    assert re.search(rf"color:{c['raw'].name()}'>&#9633;</span> model's own", text), text
    assert h.plot.width() >= LEGEND_MIN_WIDTH and h.legend.isVisible()  # 1280 px wide: room for both
    w.resize(800, 600)
    w.cells_dock.show()  # the Cells view takes its share of the width
    qtbot.waitUntil(lambda: h.plot.width() < LEGEND_MIN_WIDTH, timeout=TIMEOUT)
    assert not h.legend.isVisible()  # it would cover the tallest bars
    w.resize(1280, 800)
    qtbot.waitUntil(lambda: h.plot.width() >= LEGEND_MIN_WIDTH, timeout=TIMEOUT)
    assert h.legend.isVisible()


def test_next_step_label_is_never_cut(qtbot, chorales):
    w = chorales
    w.primer.setText("60,64,67")
    w.seed.setValue(2)
    w.length.setValue(120)
    w.generate()
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=TIMEOUT)
    roll = w.piano_roll
    view = roll.view

    def inside() -> bool:
        label = roll.now.label.sceneBoundingRect()
        box = view.sceneBoundingRect()
        return box.left() - 1 <= label.left() and label.right() <= box.right() + 1

    for size in ((1280, 800), (800, 600)):
        w.resize(*size)
        qtbot.wait(50)
        for span_steps in (16, 64, 256):  # zoomed in to out: the line's room on its left changes
            roll.span = span_steps
            roll._show_range(0.0)
            qtbot.wait(20)
            assert inside(), (size, span_steps, roll.now.label.anchors)
    # with room on the left it stays there, by its line as in follow mode
    w.resize(1280, 800)
    roll.set_follow(True)
    qtbot.wait(50)
    assert inside() and roll.now.label.anchors == [(1, 0), (1, 0)]


def test_a_narrow_distribution_panel_keeps_the_histogram_and_lets_the_curve_step_aside(qtbot, text_window):
    """800x600 with the Takes dock open leaves the distribution panel ~270 px: the entropy curve steps
    aside and the histogram keeps the room (beside the curve it was 50 px wide, its header cut, under
    Xvfb); with room again both are there."""
    from guigen.app.workspace import NARROW_PANEL

    w = text_window
    panel = w.splitter.distribution
    w.takes.dock.show()
    w.resize(800, 600)
    qtbot.waitUntil(lambda: panel.width() < NARROW_PANEL, timeout=TIMEOUT)
    assert not w.curve.isVisible()
    qtbot.waitUntil(lambda: w.histogram.width() >= panel.width() - 10, timeout=TIMEOUT)  # once laid out again
    w.takes.dock.hide()
    w.resize(1280, 800)
    qtbot.waitUntil(lambda: panel.width() >= NARROW_PANEL and w.curve.isVisible(), timeout=TIMEOUT)
    assert w.histogram.width() >= 2 * w.curve.width()


def test_next_step_label_sits_over_the_notes_not_on_them(qtbot, chorales):
    """At 800x600 the label was drawn over the highest notes (seen under Xvfb): the roll keeps a band
    over the highest note as tall as the label, at every window size, and the label sits in it."""
    from PySide6.QtCore import QRectF

    w = chorales
    w.primer.setText("60,64,67")
    w.seed.setValue(2)
    w.dial.set_temperature(0.9)  # as seen: the chorale ends at 4.4, its soprano high under the label
    w.generate()
    qtbot.waitUntil(lambda: w.state == "stopped" and bool(w.piano_roll.notes), timeout=TIMEOUT)
    roll = w.piano_roll
    view = roll.view
    for size in ((1920, 1080), (1024, 640), (800, 600), (800, 450)):
        before = view.height()
        w.resize(*size)
        # the view has its new height, and the label is placed in it
        qtbot.waitUntil(lambda: view.height() != before
                        and view.sceneBoundingRect().contains(roll.now.label.sceneBoundingRect()), timeout=TIMEOUT)
        label = roll.now.label.sceneBoundingRect()
        hit = [n for n in roll.notes
               if view.mapViewToScene(QRectF(n.start, n.pitch - 0.42, n.end - n.start, 0.84)).boundingRect().intersects(label)]
        assert not hit, (size, hit[:3], label)


def test_the_playhead_label_sits_over_the_notes_not_on_them(qtbot, chorales):
    """The playhead's label was drawn at 80% of the roll's height, on the notes (seen under Xvfb while
    playing): it is in the band over the highest note, inside the view at either edge, and the
    next-step label gives it the band while it plays."""
    from PySide6.QtCore import QRectF

    w = chorales
    w.primer.setText("60,64,67")
    w.seed.setValue(2)
    w.dial.set_temperature(0.9)
    w.generate()
    qtbot.waitUntil(lambda: w.state == "stopped" and bool(w.piano_roll.notes), timeout=TIMEOUT)
    w.resize(800, 600)
    roll = w.piano_roll
    view = roll.view
    qtbot.waitUntil(lambda: roll._pitch_range[2] == view.height(), timeout=TIMEOUT)
    x0, x1 = roll.view_range()
    for step in (0.5, (x0 + x1) / 2, min(roll.steps, x1) - 0.5):
        roll.set_playhead(step)
        assert roll.playhead.isVisible() and not roll.now.label.isVisible()
        # (a text item's place is worked out when it is painted)
        qtbot.waitUntil(lambda: view.sceneBoundingRect().contains(roll.playhead.label.sceneBoundingRect()),
                        timeout=TIMEOUT)
        label = roll.playhead.label.sceneBoundingRect()
        hit = [n for n in roll.notes
               if view.mapViewToScene(QRectF(n.start, n.pitch - 0.42, n.end - n.start, 0.84)).boundingRect().intersects(label)]
        assert not hit, (step, hit[:3])
    roll.set_playhead(None)
    assert not roll.playhead.isVisible() and roll.now.label.isVisible()
