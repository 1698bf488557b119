"""The Cells view, offscreen: colours every character by the chosen cell (primer included, live, and
when opened mid-sample), finds the planted quote cell, names cells under the mouse, records only
while open; the piano roll's notes coloured by step."""

from __future__ import annotations

import re

import numpy as np
import pytest
from app_helpers import TIMEOUT, make_music_model, open_window
from cells_planted import save_planted

from PySide6.QtCore import QPointF, Qt  # noqa: E402
from PySide6.QtGui import QColor, QTextCursor, QTextFormat  # noqa: E402  (app_helpers sets QT_QPA_PLATFORM first)

from guigen.core import cells  # noqa: E402
from guigen.core.diverging import colour, contrast  # noqa: E402

PRIMER = 'ab "ab a" b'


@pytest.fixture(scope="module")
def planted_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "planted.safetensors"
    save_planted(path)
    return path


@pytest.fixture()
def window(qtbot, tmp_path, planted_path):
    yield from open_window(qtbot, tmp_path, planted_path)


def generate(qtbot, w, n: int, primer: str = PRIMER) -> None:
    w.primer.setText(primer)
    w.seed.setValue(5)
    w.length.setValue(n)
    w.generate()
    qtbot.waitUntil(lambda: w.state == "stopped" and len(w.text_view.chars) == n, timeout=TIMEOUT)


def backgrounds(view) -> dict[int, tuple[QColor, QColor]]:
    """(background, text colour) of every character of the text view with a background, by position;
    line breaks are left out: a QTextEdit keeps them as block ends and draws no background for them."""
    out = {}
    block = view.document().begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            frag = it.fragment()
            fmt = frag.charFormat()
            for i in range(frag.position(), frag.position() + frag.length()):
                if fmt.hasProperty(QTextFormat.Property.BackgroundBrush):
                    out[i] = (fmt.background().color(), fmt.foreground().color())
            it += 1
        block = block.next()
    return out


def expected(values) -> list[tuple[int, int, int]]:
    """The map's colour for each value, at the view's resolution (shades 0.02 apart)."""
    return [colour(round((v + 1) / 2 * 100) / 50 - 1) for v in values]


def test_every_character_is_coloured_by_the_chosen_cell_and_the_quote_cell_is_found(qtbot, window):
    w, dock = window, window.cells_dock
    dock.show()
    qtbot.waitUntil(lambda: w.generation.worker.record_cells, timeout=TIMEOUT)
    generate(qtbot, w, 300)
    tokens = dock.tokens()
    qtbot.waitUntil(lambda: dock.acts is not None and len(dock.acts) == len(tokens), timeout=TIMEOUT)
    assert len(tokens) == len(PRIMER) + 300
    # what was recorded while generating is what a teacher-forced run gives
    np.testing.assert_allclose(dock.acts, cells.run_tokens(w.model, tokens), atol=2e-3)  # kept as float16

    # ranked when generation stopped: the planted cell (layer 0, cell 0) follows the quotes best
    qtbot.waitUntil(lambda: "quotes" in dock.ranked, timeout=TIMEOUT)
    best = dock.ranked["quotes"][0]
    assert (best.layer, best.cell) == (0, 0) and best.r > 0.9
    quotes = dock.tree.findItems("quotes", Qt.MatchFlag.MatchExactly)[0]
    dock._clicked(quotes.child(0))
    assert (dock.layer.value(), dock.cell.value()) == (0, 0)
    assert re.search(r"r over what is shown: <b>quotes</b> \+(0\.9\d|1\.00)", dock.heading.text())

    # every character, primer included, has the cell's colour and readable text on it
    text = w.text_view.toPlainText()
    assert len(text) == len(tokens)
    shown = backgrounds(w.text_view)
    assert sorted(shown) == [i for i, ch in enumerate(text) if ch != "\n"]
    values = dock.values()
    for i, (bg, fg) in shown.items():
        assert (bg.red(), bg.green(), bg.blue()) == expected([values[i]])[0], (i, values[i])
        assert contrast(bg.getRgb()[:3], fg.getRgb()[:3]) >= 4.5
    # inside quotes red (positive), outside blue or white
    assert shown[text.index('"') + 1][0].red() > 150 and shown[0][0].red() < 250

    # switching the text view's own colouring on and off keeps the cell's colours
    w.actions["colour_by_prob"].toggle()
    qtbot.waitUntil(lambda: backgrounds(w.text_view).get(0, (QColor(),))[0].getRgb()[:3] == expected([values[0]])[0],
                    timeout=TIMEOUT)
    w.actions["colour_by_prob"].toggle()

    # another cell: the colours follow it
    dock.select(0, 2)
    values = dock.values()
    assert all((bg.red(), bg.green(), bg.blue()) == expected([values[i]])[0]
               for i, (bg, _) in backgrounds(w.text_view).items())


def test_hover_names_the_most_active_cells(qtbot, window):
    w, dock = window, window.cells_dock
    dock.show()
    generate(qtbot, w, 40)
    qtbot.waitUntil(lambda: dock.acts is not None and len(dock.acts) == len(PRIMER) + 40, timeout=TIMEOUT)
    view = w.text_view
    cur = QTextCursor(view.document())
    cur.setPosition(3)  # before the first quote: hover over it
    rect = view.cursorRect(cur)
    tip = dock._tip_at(view.viewport(), QPointF(rect.left() + 3, rect.center().y()))
    assert tip.startswith("'\"', character 4")
    assert tip.count("layer 0 cell") == 1 + 5  # five most active, and the chosen one
    top = cells.top_at(dock.acts[3])
    assert f"layer 0 cell {top[0][1]}: {top[0][2]:+.2f}" in tip


def test_opened_mid_sample_it_colours_what_came_before_and_records_only_while_open(qtbot, window):
    w, dock = window, window.cells_dock
    generate(qtbot, w, 120)
    worker = w.generation.worker
    assert not worker.record_cells and not worker.cells_kept  # closed: nothing kept
    with qtbot.waitSignal(worker.history, timeout=TIMEOUT) as history:  # run in the model's process
        dock.show()
    assert history.args[0] == dock.epoch and history.args[1].shape[0] == len(PRIMER) + 120
    qtbot.waitUntil(lambda: dock.acts is not None and len(dock.acts) == len(PRIMER) + 120, timeout=TIMEOUT)
    np.testing.assert_allclose(dock.acts, cells.run_tokens(w.model, dock.tokens()), atol=2e-3)  # kept as float16
    values = dock.values()
    assert all((bg.red(), bg.green(), bg.blue()) == expected([values[i]])[0]
               for i, (bg, _) in backgrounds(w.text_view).items())
    # live from here on: step, undo
    w.actions["step"].trigger()
    qtbot.waitUntil(lambda: len(dock.acts) == len(PRIMER) + 121, timeout=TIMEOUT)
    np.testing.assert_allclose(dock.acts, cells.run_tokens(w.model, dock.tokens()), atol=2e-3)  # kept as float16
    with qtbot.waitSignal(w.undone, timeout=TIMEOUT):
        w.actions["undo"].trigger()
    assert len(dock.acts) == len(PRIMER) + 120
    # closing stops the recording and gives the text view its own colours back
    dock.hide()
    qtbot.waitUntil(lambda: not worker.record_cells and not worker.cells_kept, timeout=TIMEOUT)
    assert dock.acts is None
    assert backgrounds(w.text_view) == {}


def test_the_piano_roll_notes_take_the_cells_colour(qtbot, tmp_path):
    from app_helpers import generate_music

    path = make_music_model(tmp_path / "poly.safetensors", "polyphony")
    gen = open_window(qtbot, tmp_path, path)
    w = next(gen)
    try:
        dock = w.cells_dock
        dock.show()
        generate_music(qtbot, w, 150)
        roll = w.piano_roll
        qtbot.waitUntil(lambda: dock.acts is not None and len(dock.acts) == len(roll.ids()), timeout=TIMEOUT)
        dock.select(0, 5)
        steps = roll.codec.count_steps(roll.ids())
        assert len(roll.step_colours) in (steps, steps + 1)  # the step under way, if any, included
        values = dock.values()
        ends = dock._step_ends()
        for s, c in enumerate(roll.step_colours):
            assert (c.red(), c.green(), c.blue()) == expected([values[ends[s]]])[0]
        # hovering a note's step names the cells most active at the end of that step
        step = roll.primer_steps + 2
        at = roll.plot.mapFromScene(roll.view.mapViewToScene(QPointF(step + 0.5, 60)))
        tip = dock._tip_at(roll.plot.viewport(), QPointF(at))
        assert tip.startswith(f"step {step + 1}:") and "layer 0 cell" in tip
        dock.rank()
        assert set(dock.ranked) == {"beat", "voices", "to_rest", "bass"}
        dock.hide()
        assert roll.step_colours is None
    finally:
        w.generation.shutdown()


def test_choose_by_feature_or_layer_and_cell(qtbot, window):
    w, dock = window, window.cells_dock
    dock.show()
    generate(qtbot, w, 80)
    qtbot.waitUntil(lambda: dock.acts is not None and len(dock.acts) == len(PRIMER) + 80, timeout=TIMEOUT)
    dock.choose("quotes")
    assert (dock.layer.value(), dock.cell.value()) == (0, 0) and dock.feature.currentData() == "quotes"
    dock.choose("0:3")
    assert (dock.layer.value(), dock.cell.value()) == (0, 3)
    for bad, message in (("1:0", "layers 0-0"), ("0:6", "cells 0-5"), ("beat", "give a feature")):
        with pytest.raises(ValueError, match=message):
            dock.choose(bad)


def test_app_screenshot_with_the_cells_view(planted_path, tmp_path):
    import subprocess
    import sys

    out = tmp_path / "cells.png"
    p = subprocess.run([sys.executable, "-m", "guigen", "app", "-m", str(planted_path), "--generate", "60", "--seed",
                        "1", "--cells", "quotes", "--screenshot", str(out), "--size", "1024x640"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    from PySide6.QtGui import QImage

    img = QImage(str(out))
    assert (img.width(), img.height()) == (1024, 640)


def test_a_crash_while_the_history_runs_ends_the_wait_and_the_next_sample_is_coloured(qtbot, tmp_path):
    """The history (what came before the view opened) runs in the generation process; killed meanwhile,
    the window says so once, the view stops waiting for it, and the next sample is coloured live."""
    import os
    import signal

    from guigen.core import registry

    gen = open_window(qtbot, tmp_path, registry.resolve("shakespeare"))  # 2 x 512: a history that takes a while
    w = next(gen)
    try:
        dock = w.cells_dock
        w.primer.setText("ROMEO:")
        w.seed.setValue(1)
        w.length.setValue(3000)
        w.generate()
        qtbot.waitUntil(lambda: w.state == "stopped", timeout=6 * TIMEOUT)
        histories = []
        w.generation.worker.history.connect(lambda epoch, acts: histories.append(acts))
        dock.show()
        qtbot.waitUntil(lambda: w.generation.history_epoch is not None, timeout=TIMEOUT)
        with qtbot.waitSignal(w.failed, timeout=TIMEOUT):
            os.kill(w.generation.worker.pid, signal.SIGKILL)
        qtbot.waitUntil(lambda: dock.pending is None, timeout=TIMEOUT)
        assert len(histories) == 1 and histories[0] is None  # killed mid-history: the window's word, not the process's
        w.errors.clear()
        w.length.setValue(40)
        w.generate()  # a fresh process, recording from the first token
        qtbot.waitUntil(lambda: w.state == "stopped" and dock.acts is not None and len(dock.acts) == 6 + 40,
                        timeout=6 * TIMEOUT)
        np.testing.assert_allclose(dock.acts, cells.run_tokens(w.model, dock.tokens()), atol=2e-3)
        assert w.errors == []
    finally:
        next(gen, None)
