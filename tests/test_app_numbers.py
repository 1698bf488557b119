"""Numbers true at every moment (issue 21 item 7), on real widgets offscreen: the curve's marker at
the T in force (restored, typed, dialled), nothing of the last model's after a switch, no negative
zero, labels inside the plot and clear of the legend and of each other, music's lumped bar named so
no one reads it as a rest, nats everywhere (bits only beside them)."""

from __future__ import annotations

import pytest
from app_helpers import TIMEOUT, make_model, make_music_model, open_window

from guigen.app.widgets.histogram import nats


@pytest.fixture()
def window(qtbot, tmp_path):
    yield from open_window(qtbot, tmp_path, make_model(tmp_path / "w.safetensors"))


def test_the_curve_marker_follows_the_temperature_in_force(qtbot, tmp_path):
    from guigen.app.main_window import MainWindow
    from guigen.app.settings import Settings

    settings = Settings(str(tmp_path / "s.ini"))
    settings.set("temperature", 0.88)
    w = MainWindow(settings, save_settings=False)
    qtbot.addWidget(w)
    assert w.dial.temperature() == 0.88 and w.curve.temperature == 0.88  # restored, before any model
    w.show()
    model = make_model(tmp_path / "m.safetensors")
    settings.set("model", str(model))  # the model it was closed with: its T is the one restored
    w2 = MainWindow(settings, save_settings=False)
    qtbot.addWidget(w2)
    with qtbot.waitSignal(w2.model_loaded, timeout=TIMEOUT):
        w2.load_model(str(model))
    w2.actions["step"].trigger()
    qtbot.waitUntil(lambda: w2.curve.logits is not None, timeout=TIMEOUT)
    assert "Entropy at T = 0.88" in w2.curve.caption.text()
    w2.dial.spin.lineEdit().setText("1.7")  # typed
    w2.dial.spin.interpretText()
    assert w2.curve.temperature == 1.7 and "T = 1.7:" in w2.curve.caption.text()
    w2.dial.dial.setValue(60)  # dialled
    assert w2.curve.temperature == w2.dial.temperature() and f"T = {w2.dial.temperature():g}:" in w2.curve.caption.text()
    w2.generation.shutdown()
    w.generation.shutdown()


def test_a_model_switch_leaves_nothing_of_the_last_model(qtbot, window, tmp_path):
    w = window
    w.actions["step"].trigger()
    qtbot.waitUntil(lambda: w.curve.logits is not None and w.histogram.probs is not None, timeout=TIMEOUT)
    with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT):
        w.load_model(str(make_music_model(tmp_path / "m.safetensors")))
    assert w.histogram.probs is None and "No distribution yet" in w.histogram.header.text()
    assert w.curve.logits is None and len(w.curve.line.getData()[0] or []) == 0
    assert "shown once there is a distribution" in w.curve.caption.text()


def test_no_negative_zero():
    assert nats(-0.0) == "0.00" and nats(-1e-12) == "0.00" and nats(0.004) == "0.00" and nats(1.234) == "1.23"


def test_greedy_shows_zero_not_minus_zero(qtbot, window):
    w = window
    w.dial.set_temperature(0.0)
    w.actions["step"].trigger()
    qtbot.waitUntil(lambda: w.histogram.probs is not None, timeout=TIMEOUT)
    assert "-0.00" not in w.histogram.header.text() and "-0.00" not in w.curve.caption.text()


def _inside(inner, outer, slack: float = 1.0) -> bool:
    return (inner.left() >= outer.left() - slack and inner.right() <= outer.right() + slack
            and inner.top() >= outer.top() - slack and inner.bottom() <= outer.bottom() + slack)


@pytest.mark.parametrize("size", [(1920, 1080), (1024, 640), (800, 600)])
def test_labels_stay_inside_the_plot_and_clear_of_the_legend(qtbot, window, size):
    w, h = window, window.histogram
    w.resize(*size)
    w.top_p.setValue(0.9)
    w.top_k.setValue(10)
    for t in (0.5, 1.0, 3.0):
        w.dial.set_temperature(t)
        w.actions["step"].trigger()
        qtbot.waitUntil(lambda: h.probs is not None and w.state == "paused", timeout=TIMEOUT)
        qtbot.wait(20)
        box = h.plot.getViewBox().sceneBoundingRect()
        legend = h.legend.sceneBoundingRect() if h.legend.isVisible() else None
        for item in (h.rest_text, h.cut.label):
            if not item.isVisible():
                continue
            r = item.sceneBoundingRect()
            assert _inside(r, box), (t, size, item, r, box)  # never clipped
            assert legend is None or not r.intersects(legend), (t, size, r, legend)
            assert not any(r.intersects(b) for b in h.bar_rects()), (t, size, r)  # never over a bar
        if h.rest_text.isVisible() and h.cut.isVisible():
            assert not h.rest_text.sceneBoundingRect().intersects(h.cut.label.sceneBoundingRect())


def test_musics_lumped_bar_is_not_a_rest(qtbot, tmp_path):
    for w in open_window(qtbot, tmp_path, make_music_model(tmp_path / "p.safetensors", "polyphony")):
        w.dial.set_temperature(3.0)
        w.primer.setText("60,64,67")
        w.actions["step"].trigger()
        h = w.histogram
        qtbot.waitUntil(lambda: h.probs is not None and len(h.rest) > 0, timeout=TIMEOUT)
        text = h.rest_text.textItem.toPlainText()
        assert text.startswith(f"other {len(h.rest)} events") and "rest" not in text
        assert (len(h.order), "other") in h.ticks


def test_training_plots_nats(qtbot, window):
    from guigen.app.train_dialog import TrainDialog

    d = TrainDialog(window, window.settings)
    qtbot.addWidget(d)
    assert "nats" in d.plot.getAxis("left").labelText and "bits" not in d.plot.getAxis("left").labelText


def test_empty_plots_leave_room_over_the_top_tick(qtbot, window, tmp_path):
    """No distribution yet (a new window, another model): the y axes end a little over 1.0, so the
    "1.0" label is drawn whole, not cut in half at the plot's top edge (seen under Xvfb)."""
    w = window
    for plot in (w.histogram.plot, w.curve.plot):
        top = plot.getViewBox().viewRange()[1][1]
        assert 1.02 <= top <= 1.1
    w.actions["step"].trigger()
    qtbot.waitUntil(lambda: w.curve.logits is not None, timeout=TIMEOUT)
    with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT):
        w.load_model(str(make_music_model(tmp_path / "m.safetensors")))
    assert 1.02 <= w.curve.plot.getViewBox().viewRange()[1][1] <= 1.1


def test_after_a_model_switch_the_empty_histogram_is_drawn_whole(qtbot, window, tmp_path):
    """Under Xvfb, shakespeare then bach-chorales: the empty histogram kept the old axes (bars' x range,
    y to 0.6), so "no distribution yet" sat at its left edge cut to "tribution yet". Now its axes are
    those of a new window, and the words are inside the plot."""
    w = window
    h = w.histogram
    w.actions["step"].trigger()
    qtbot.waitUntil(lambda: h.probs is not None and h.plot.getViewBox().viewRange()[0][1] > 2, timeout=TIMEOUT)
    with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT):
        w.load_model(str(make_music_model(tmp_path / "m.safetensors")))
    box = h.plot.getViewBox()
    (x0, x1), (y0, y1) = box.viewRange()
    assert (x0, x1) == pytest.approx((-0.6, 1.0)) and (y0, y1) == pytest.approx((0, 1.03))
    assert h.grid.getData()[0] is None or len(h.grid.getData()[0]) == 0  # no grid lines of the old axis
    qtbot.waitUntil(lambda: box.sceneBoundingRect().contains(h.empty_text.sceneBoundingRect()), timeout=TIMEOUT)


@pytest.mark.parametrize("size", [(800, 600), (1024, 640)])
def test_the_empty_histograms_words_stay_clear_of_its_legend(qtbot, window, size):
    """At 1024x640 under Xvfb "no distribution yet" was drawn under the legend's "model at T = 1"."""
    h = window.histogram
    window.takes.dock.hide()  # as it starts in a window under 1,100 px wide
    window.resize(*size)
    window.splitter.setSizes([10_000, 1])  # the distribution panel at its least height, as the roll's share leaves it
    box = h.plot.getViewBox()
    qtbot.waitUntil(lambda: box.width() < 1000 and box.height() < 150 and box.sceneBoundingRect().contains(h.empty_text.sceneBoundingRect()),
                    timeout=TIMEOUT)
    assert not (h.legend.isVisible() and h.empty_text.sceneBoundingRect().intersects(h.legend.sceneBoundingRect()))
    assert h.legend.isVisible() == (size == (1024, 640))  # (at 800 wide the header's swatches stand in)
