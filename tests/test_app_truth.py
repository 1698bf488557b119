"""What the app shows is true (issue 12): the histogram's labels, entropies, cut and axis; the
temperature curve; a window that fits 800x600 and never grows; palettes and contrast; keyboard."""

from __future__ import annotations

import math
import os
import re

import numpy as np
import pytest
from app_helpers import TIMEOUT, make_model, open_window

from PySide6.QtCore import Qt  # noqa: E402  (app_helpers sets QT_QPA_PLATFORM first)
from PySide6.QtGui import QPalette  # noqa: E402

from guigen.app import theme  # noqa: E402
from guigen.app.widgets.dial import T_MAX  # noqa: E402
from guigen.app.widgets.histogram import _wrap  # noqa: E402
from guigen.core.sampling import entropy, entropy_curve  # noqa: E402


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return make_model(tmp_path_factory.mktemp("models") / "rand.safetensors")


@pytest.fixture()
def window(qtbot, tmp_path, model_path):
    yield from open_window(qtbot, tmp_path, model_path)


def paused_preview(qtbot, w):
    w.actions["step"].trigger()
    qtbot.waitUntil(lambda: w.state == "paused" and w.histogram.chosen is None and w.histogram.probs is not None,
                    timeout=TIMEOUT)


def header_numbers(w):
    """(sampled entropy, its e^H, kept, above 0.1%, raw entropy) as the header prints them."""
    text = w.histogram.header.text()
    m = re.search(r"sampled from: entropy ([\d.]+) nats, about ([\d.]+) equally likely choices; (\d+) of \d+ "
                  r"tokens kept, (\d+) above 0.1%.*T = 1\): entropy ([\d.]+) nats", text)
    assert m, text
    return float(m[1]), float(m[2]), int(m[3]), int(m[4]), float(m[5])


def check_labels(h):
    """Every tick names the token of the bar at its position; the chosen bar is the orange one."""
    for pos, label in h.ticks:
        if pos == len(h.order):
            assert label == h.lump[0] and len(h.rest) > 0
        else:
            assert label == _wrap(h.label(int(h.order[pos])))
    if h.sort:  # every bar, the rest bar included, carries a label
        assert [p for p, _ in h.ticks] == list(range(len(h.order) + (len(h.rest) > 0)))
    chosen_colour = h._colours["chosen"]
    orange = [i for i, b in enumerate(h.bars.opts["brushes"]) if b.color() == chosen_colour]
    if h.chosen is not None:
        assert [int(h.order[i]) for i in orange] == [h.chosen]
        m = re.search(r"chose <b>(.*?)</b>", h.header.text())
        assert m and m[1] == h.label(h.chosen).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test_labels_belong_to_their_bars_after_every_update(qtbot, window):
    w = window
    checked, tokens = [], []

    def on_shown():
        check_labels(w.histogram)
        checked.append(w.histogram.chosen)

    w.histogram.shown.connect(on_shown)
    w.stepped.connect(lambda b: tokens.append(b.tokens[-1]))
    w.length.setValue(w.length.maximum())  # long enough to see several updates whatever the machine's speed
    w.generate()
    qtbot.waitUntil(lambda: sum(t is not None for t in checked) >= 3, timeout=TIMEOUT)
    w.actions["stop"].trigger()
    # steps while streaming, then the next token's preview (shown once the events before it are handled)
    qtbot.waitUntil(lambda: w.state == "stopped" and checked[-1] is None, timeout=TIMEOUT)
    shown_steps = [t for t in checked if t is not None]
    assert len(shown_steps) >= 2
    assert set(shown_steps) <= set(tokens)
    w.actions["sort_by_prob"].setChecked(False)  # unsorted: the likeliest and the chosen bar get a label
    h = w.histogram
    check_labels(h)
    labelled = {p for p, _ in h.ticks}
    assert int(np.argmax(h.probs)) in labelled
    assert len(labelled) > len(h.order) // 3


def test_sorted_view_shows_top_bars_and_a_rest_bar(qtbot, window):
    w, h = window, window.histogram
    paused_preview(qtbot, w)
    with qtbot.waitSignal(w.previewed, timeout=TIMEOUT):
        w.dial.set_temperature(3.0)  # flat: many tokens keep some mass
    assert len(h.order) <= h.top_n and len(h.rest) == len(h.probs) - len(h.order)
    heights = h.bars.opts["height"]
    assert heights[-1] == pytest.approx(h.probs[h.rest].sum())
    assert h.rest_text.isVisible()
    assert h.rest_text.textItem.toPlainText() == f"rest: {len(h.rest)} tokens\np = {h.probs[h.rest].sum():.3g}"
    check_labels(h)


def test_header_gives_the_sampled_entropy_at_the_dials_temperature(qtbot, window):
    w, h = window, window.histogram
    paused_preview(qtbot, w)
    seen = []
    for t in (0.25, 0.8, 2.5):
        with qtbot.waitSignal(w.previewed, timeout=TIMEOUT):
            w.dial.set_temperature(t)
        sampled, choices, kept, significant, raw = header_numbers(w)
        assert sampled == pytest.approx(float(entropy(h.probs)), abs=0.006)
        assert choices == pytest.approx(math.exp(float(entropy(h.probs))), abs=0.06)
        assert kept == int((h.probs > 0).sum()) and significant == int((h.probs > 1e-3).sum())
        assert raw == pytest.approx(float(entropy(h.raw)), abs=0.006)
        seen.append((sampled, raw))
    assert seen[0][0] < seen[0][1] < seen[2][0]  # sharper below T = 1, flatter above
    assert len({r for _, r in seen}) == 1  # the model's own entropy does not move with the dial


def test_cut_line_names_the_filter_and_the_y_axis_fits(qtbot, window):
    w, h = window, window.histogram
    paused_preview(qtbot, w)
    with qtbot.waitSignal(w.previewed, timeout=TIMEOUT):
        w.top_p.setValue(0.9)
    kept = int((h.probs > 0).sum())
    assert h.cut.isVisible() and h.cut.label.format == f"top-p 0.9: {kept} kept"
    assert h.cut.value() == pytest.approx(kept - 0.5)
    with qtbot.waitSignal(w.previewed, timeout=TIMEOUT):
        w.top_k.setValue(3)
    assert h.cut.label.format == "top-k 3, top-p 0.9: 3 kept"
    top = max(max(h.bars.opts["height"]), max(h.raw_bars.opts["height"]))
    y_lo, y_hi = h.plot.getPlotItem().vb.viewRange()[1]
    assert y_lo == 0 and top <= y_hi <= top * 1.6 + 0.01
    w.actions["log_scale"].setChecked(True)
    assert h.log_y and h.plot.getPlotItem().vb.viewRange()[1][0] == pytest.approx(-4)


def test_temperature_curve_follows_steps_and_the_dial(qtbot, window):
    w, curve = window, window.curve
    paused_preview(qtbot, w)
    h = w.histogram
    with qtbot.waitSignal(w.previewed, timeout=TIMEOUT):
        w.top_k.setValue(8)
    with np.errstate(divide="ignore"):
        expected = entropy_curve(np.log(h.raw), top_k=8)
    np.testing.assert_allclose(curve.curve_h, expected, atol=1e-9)
    for t in (0.3, 2.0):
        with qtbot.waitSignal(w.previewed, timeout=TIMEOUT):
            w.dial.set_temperature(t)
        # the marker sits at the entropy the histogram's header reports for the same distribution
        assert curve.marker_h == pytest.approx(float(entropy(h.probs)), abs=1e-9)
        x, y = curve.dial_marker.getData()  # x as drawn, on the log axis
        assert 10 ** x[0] == pytest.approx(t) and y[0] == pytest.approx(curve.marker_h)
    assert curve.raw_h == pytest.approx(float(entropy_curve(np.log(np.maximum(h.raw, 1e-300)), [1.0], 8)[0]))
    before = curve.curve_h.copy()
    w.actions["step"].trigger()  # a new step: a new curve
    qtbot.waitUntil(lambda: not np.allclose(curve.curve_h, before), timeout=TIMEOUT)


def test_window_keeps_800x600_and_the_buttons_stay_in_reach(qtbot, window):
    w = window
    w.resize(800, 600)
    qtbot.waitUntil(lambda: (w.width(), w.height()) == (800, 600), timeout=TIMEOUT)
    w.primer.setText("a long primer that makes the header and the rest a little wider " * 3)
    w.length.setValue(300)
    w.generate()
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=TIMEOUT)
    w.actions["sort_by_prob"].setChecked(False)
    qtbot.wait(50)
    assert (w.width(), w.height()) == (800, 600)
    assert w.minimumSizeHint().width() <= 800 and w.minimumSizeHint().height() <= 600
    for name in ("generate", "pause", "undo", "step", "stop", "clear"):
        b = w.buttons[name]
        corner = b.mapTo(w, b.rect().bottomRight())
        assert b.isVisible() and corner.x() < 800 and corner.y() < 600, name


@pytest.mark.parametrize("palette", ["light", "dark"])
def test_palettes_keep_text_contrast_at_4_5(qtbot, window, palette):
    from PySide6.QtWidgets import QApplication

    from guigen.app.widgets.textview import prob_colour

    app = QApplication.instance()
    old_style, old_palette = app.style().name(), app.palette()
    try:
        theme.apply(app, palette)
        w = window
        qtbot.waitUntil(lambda: theme.is_dark(w.histogram.palette()) == (palette == "dark"), timeout=TIMEOUT)
        pal = w.palette()
        text = w.text_view.palette().color(QPalette.ColorRole.Text)
        for p in np.geomspace(1e-9, 1.0, 40):  # probability colouring under the text
            assert theme.contrast(text, prob_colour(p, theme.is_dark(pal))) >= 4.5, p
        c = theme.plot_colours(w.histogram.palette())
        for name in ("text", "cut"):
            assert theme.contrast(c[name], c["background"]) >= 4.5, name
        assert w.histogram.plot.backgroundBrush().color() == c["background"]
        hint = w.dial.hint.palette()
        assert theme.contrast(hint.color(QPalette.ColorRole.WindowText), hint.color(QPalette.ColorRole.Window)) >= 4.5
        w.actions["colour_by_prob"].setChecked(True)
        w.length.setValue(30)
        w.generate()
        qtbot.waitUntil(lambda: w.state == "stopped", timeout=TIMEOUT)
        coloured = []
        block = w.text_view.document().begin()
        while block.isValid():  # every coloured character as the view holds it
            it = block.begin()
            while not it.atEnd():
                fmt = it.fragment().charFormat()
                if fmt.background().style() != Qt.BrushStyle.NoBrush:
                    coloured.append(theme.contrast(fmt.foreground().color(), fmt.background().color()))
                it += 1
            block = block.next()
        assert len(coloured) >= 10 and min(coloured) >= 4.5
    finally:
        app.setStyle(old_style)
        app.setPalette(old_palette)


def test_keyboard_moves_the_highlight_and_enter_chooses(qtbot, window):
    w, h = window, window.histogram
    paused_preview(qtbot, w)
    count = len(w.text_view.chars)
    h.setFocus()
    qtbot.keyClick(h, Qt.Key.Key_Right)
    qtbot.keyClick(h, Qt.Key.Key_Right)
    qtbot.keyClick(h, Qt.Key.Key_Left)
    qtbot.keyClick(h, Qt.Key.Key_Right)
    assert h.highlight == 1
    token = int(h.order[1])
    with qtbot.waitSignal(w.stepped, timeout=TIMEOUT) as sig:
        qtbot.keyClick(h, Qt.Key.Key_Return)
    assert sig.args[0].tokens == [token] and sig.args[0].forced == [True]
    assert len(w.text_view.chars) == count + 1


def test_space_pauses_and_resumes_but_types_in_text_fields(qtbot, window):
    w = window
    w.length.setValue(1_000_000)
    w.generate()
    qtbot.waitUntil(lambda: w.state == "running", timeout=TIMEOUT)
    w.histogram.setFocus()
    qtbot.keyClick(w.histogram, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: w.state == "paused", timeout=TIMEOUT)
    qtbot.keyClick(w.histogram, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: w.state == "running", timeout=TIMEOUT)
    w.actions["stop"].trigger()
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=TIMEOUT)
    w.primer.setFocus()
    w.primer.setText("ab")
    qtbot.keyClick(w.primer, Qt.Key.Key_Space)
    assert w.primer.text() == "ab " and w.state == "stopped"


def test_accessible_names_and_a_typed_temperature_past_the_dial(qtbot, window):
    w = window
    names = {w.histogram.accessibleName(), w.text_view.accessibleName(), w.primer.accessibleName(),
             w.curve.accessibleName()}
    assert names == {"Next-token histogram", "Generated text", "Primer", "Temperature curve"}
    w.dial.spin.setValue(9.0)
    assert w.dial.temperature() == 9.0 and w.dial.dial.value() == w.dial.dial.maximum()
    assert f"past the dial's end ({T_MAX:g})" in w.dial.hint.text() and w.dial.spin.value() == 9.0
    qtbot.waitUntil(lambda: w.generation.worker.settings.temperature == 9.0, timeout=TIMEOUT)


def test_closing_mid_generation_leaves_no_qt_warnings(qtbot, tmp_path, model_path, qtlog):
    from guigen.app.main_window import MainWindow
    from guigen.app.settings import Settings

    for delay in (0, 30):
        w = MainWindow(Settings(str(tmp_path / "s.ini")), save_settings=False)
        w.quiet_errors = True
        w.show()
        with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT):
            w.load_model(str(model_path))
        w.length.setValue(1_000_000)
        w.generate()
        qtbot.waitUntil(lambda: w.state == "running", timeout=TIMEOUT)
        qtbot.wait(delay)
        pid = w.generation.worker.pid
        w.close()
        assert w.generation.process is None  # ended and waited for: no process outlives the window
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        w.deleteLater()
        qtbot.wait(10)
    warnings = [r.message for r in qtlog.records if "propagateSizeHints" not in r.message]
    assert warnings == []


def test_export_name_carries_model_temperature_and_seed(qtbot, window):
    w = window
    w.seed.setValue(3)
    w.dial.set_temperature(0.8)
    w.length.setValue(20)
    w.generate()
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=TIMEOUT)
    assert w.sample_name() == "rand-T0.8-seed3"
    w.seed.setValue(-1)  # random: the seed drawn is named, so the sample can be made again
    w.generate()
    qtbot.waitUntil(lambda: w.state == "stopped" and w.used_seed != 3, timeout=TIMEOUT)
    assert w.sample_name() == f"rand-T0.8-seed{w.used_seed}"


@pytest.mark.parametrize("size,palette", [("800x600", "dark"), ("1024x640", "light")])
def test_screenshot_is_exactly_the_size_asked_in_the_palette_asked(tmp_path, model_path, size, palette):
    import os
    import subprocess
    import sys

    from PySide6.QtGui import QImage

    out = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    r = subprocess.run([sys.executable, "-m", "guigen", "app", "--screenshot", str(out), "--size", size,
                        "--palette", palette, "--model", str(model_path), "--generate", "60", "--seed", "1"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    image = QImage(str(out))
    assert f"{image.width()}x{image.height()}" == size
    corner = image.pixelColor(image.width() - 3, image.height() // 2)  # the histogram's plot, right edge
    assert (theme.luminance(corner) < 0.2) == (palette == "dark")


def test_music_labels_the_rest_bar_and_names_the_piano_roll(qtbot, tmp_path):
    from app_helpers import generate_music, make_music_model

    path = make_music_model(tmp_path / "poly.safetensors", "polyphony")
    for w in open_window(qtbot, tmp_path, path):
        checked = []
        w.histogram.shown.connect(lambda: (check_labels(w.histogram), checked.append(1)))
        generate_music(qtbot, w, 120)
        h = w.histogram
        assert checked and w.piano_roll.accessibleName() == "Piano roll"
        allowed = int((h.raw > 0).sum())
        assert len(h.order) + len(h.rest) == allowed  # ruled-out events are left off, the rest are all counted
        assert f"({len(h.raw) - allowed} ruled out by the encoding)" in h.header.text()
        held = [label for pos, label in h.ticks if pos < len(h.order) and h.label(int(h.order[pos])).endswith(" held")]
        assert all(label.endswith("\nheld") for label in held)  # "A4 held" is written on two lines


def test_a_tall_rest_bar_keeps_its_label_in_view_and_clear_of_the_legend(qtbot):
    """A barely trained model (the README's two-epoch one) is nearly uniform: the rest bar is the tallest."""
    from guigen.app.widgets.histogram import Histogram

    h = Histogram()
    qtbot.addWidget(h)
    h.resize(490, 370)  # the histogram's size in an 800x600 window (below 1.0 there is no more room to give)
    h.show()
    h.set_labels([chr(65 + i) for i in range(61)])
    probs = np.full(61, 1 / 61)
    h.show_distribution(probs, probs, None, float(np.log(61)), "uniform")
    rest = float(probs[h.rest].sum())
    assert rest > 0.5 and h.rest_text.isVisible()
    view = h.plot.getViewBox()
    (_, _), (y0, y1) = view.viewRange()
    assert y1 > rest
    from PySide6.QtCore import QPointF, QRectF

    n = len(h.order)
    bar = QRectF(view.mapViewToScene(QPointF(n - 0.4, rest)), view.mapViewToScene(QPointF(n + 0.4, 0))).normalized()
    label = h.rest_text.sceneBoundingRect()
    assert view.sceneBoundingRect().contains(label) and label.right() <= bar.left() + 1  # in view, beside the bar
    assert not h.legend.sceneBoundingRect().intersects(bar)
