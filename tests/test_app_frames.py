"""The window's display clock while a sample streams in (issue 12's responsiveness): frames take
turns between the piano roll and the distribution, each is painted once, and the histogram's grid
sits at its axis's ticks. (The model runs in a process of its own: tests/test_app_process.py.)"""

from __future__ import annotations

import time

import numpy as np
import pytest
from app_helpers import TIMEOUT, make_model, make_music_model, open_window

from PySide6.QtCore import QEvent, QObject  # noqa: E402  (app_helpers sets QT_QPA_PLATFORM first)

from guigen.app.main_window import FRAME_S, TURNS  # noqa: E402


@pytest.fixture(scope="module")
def text_model(tmp_path_factory):
    return make_model(tmp_path_factory.mktemp("models") / "text.safetensors", hidden=256)


@pytest.fixture(scope="module")
def music_model(tmp_path_factory):
    return make_music_model(tmp_path_factory.mktemp("models") / "poly.safetensors", encoding="polyphony", hidden=256)


class Paints(QObject):
    """Records (time, name) of each paint of the viewports it watches."""

    def __init__(self, views: dict):
        super().__init__()
        self.seen: list[tuple[float, str]] = []
        self.names = {}
        for name, view in views.items():
            self.names[id(view.viewport())] = name
            view.viewport().installEventFilter(self)

    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            self.seen.append((time.monotonic(), self.names[id(obj)]))
        return False


frames_held: list[list[bool]] = []  # per recorded frame: whether the distribution's widgets were held


def record_frames(w):
    """Wrap the window's _frame: per frame, (phase, a True per distribution shown in it, paints made
    inside it, start, end)."""
    frames = []
    frames_held.clear()
    inner = w._frame

    def frame():
        before = len(w._test_paints.seen)
        shown, held = [], []
        original = w._show_latest

        def show():
            shown.append(True)
            # held while drawn: the header's words with the bars, the curve's caption with its line
            held.append(not (w.histogram.header.updatesEnabled() or w.histogram.plot.updatesEnabled()
                             or w.curve.updatesEnabled()))
            original()

        w._show_latest = show
        t0 = time.monotonic()
        try:
            inner()
        finally:
            w._show_latest = original
        frames.append((w._phase, shown, [n for _, n in w._test_paints.seen[before:]], t0, time.monotonic()))
        frames_held.append(held)

    w._frame_timer.timeout.disconnect()
    w._frame_timer.timeout.connect(frame)
    return frames


@pytest.fixture()
def text_window(qtbot, tmp_path, text_model):
    yield from open_window(qtbot, tmp_path, text_model)


@pytest.fixture()
def music_window(qtbot, tmp_path, music_model):
    yield from open_window(qtbot, tmp_path, music_model)


def stream_until(qtbot, w, seen: list, n: int = 3):
    """Stream a long sample until `seen` (filled by the test's hooks) has n entries, then stop it.
    Waiting on what was seen, not on a sample's length, keeps the test the same on a fast machine,
    where a short sample ends within two or three frames."""
    w.seed.setValue(1)
    w.length.setValue(200_000)
    w.generate()  # from a fresh window (idle)
    qtbot.waitUntil(lambda: len(seen) >= n, timeout=30_000)
    w.generation.send("stop")
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=TIMEOUT)


def test_text_frames_paint_the_distribution_once(qtbot, text_window):
    w = text_window
    w._test_paints = Paints({"histogram": w.histogram.plot, "curve": w.curve.plot})
    frames = record_frames(w)
    w.seed.setValue(1)
    w.length.setValue(200_000)
    w.generate()
    qtbot.waitUntil(lambda: len([f for f in frames if f[1]]) >= 16, timeout=30_000)
    w.generation.send("stop")
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=TIMEOUT)
    shown = [i for i, f in enumerate(frames) if f[1]]  # frames that updated the distribution
    for k, i in enumerate(shown):
        phase, once, paints, _, _ = frames[i]
        assert TURNS[phase] == "update"
        assert once == [True]
        assert paints == [], paints  # held: painted on the next turn, not this one
        assert frames_held[i] == [True]
        if i + 1 < len(frames):
            following = frames[i + 1]
            assert TURNS[following[0]] == "paint"
            assert {"curve", "histogram"} <= set(following[2]), following  # painted there
            if k >= 3:  # once the layout has settled (see below): once each
                assert sorted(following[2]) == ["curve", "histogram"], (k, following)
    # no second paint of the same picture after a frame: once the layout has settled (the first
    # frames wrap the header), the plots are not painted between the frames that paint them, but
    # when the layout moves (the header wraps anew, an axis label widens) and that is rare
    painted = [frames[i + 1] for i in shown if i + 1 < len(frames)]
    between = [sum(1 for t, _ in w._test_paints.seen if a[4] < t < b[3]) for a, b in zip(painted[3:], painted[4:16])]
    assert sum(1 for n in between if n) <= 3, between  # painting twice per frame would show in all 12


def test_music_frames_alternate_roll_and_distribution(qtbot, music_window):
    w = music_window
    w.primer.setText("60,64,67")
    w._test_paints = Paints({"histogram": w.histogram.plot, "curve": w.curve.plot})
    frames = record_frames(w)
    redraws = []
    roll = w.piano_roll
    original = roll._redraw

    def redraw():
        if w.state == "running":  # a stop draws what came in at once, whatever the turn
            redraws.append(w._phase)
        original()

    roll._redraw = redraw
    stream_until(qtbot, w, redraws, 4)
    roll._redraw = original
    during = redraws
    assert len(during) >= 4, redraws
    assert {TURNS[p] for p in during} == {"output"}, redraws  # the roll is redrawn on its own turns only
    assert all(TURNS[f[0]] == "update" for f in frames if f[1])  # the distribution on others
    # the whole sample is drawn once it stops: the roll shows every token
    assert len(roll.tokens) == w.generation.worker.count
    assert not roll._dirty


def test_display_clock_runs_only_while_streaming(qtbot, text_window):
    w = text_window
    assert not w._frame_timer.isActive()
    w.seed.setValue(1)
    w.length.setValue(200_000)
    w.generate()
    qtbot.waitUntil(lambda: w.state == "running", timeout=TIMEOUT)
    assert w._frame_timer.isActive() and abs(w._frame_timer.interval() - FRAME_S * 1000) <= 1
    w.pause_resume()
    qtbot.waitUntil(lambda: w.state == "paused", timeout=TIMEOUT)
    assert not w._frame_timer.isActive()
    # what was waiting is shown, or superseded by the preview of the next token that follows a pause
    qtbot.waitUntil(lambda: w._latest is None and w.histogram.chosen is None, timeout=TIMEOUT)
    assert w.histogram.probs is not None and not w._held
    assert w.histogram.plot.updatesEnabled() and w.curve.plot.updatesEnabled()


@pytest.mark.parametrize("log_y", [False, True])
def test_grid_lines_sit_at_the_axis_ticks(qtbot, text_window, log_y):
    w = text_window
    w.histogram.set_options(log_y=log_y)
    w.actions["step"].trigger()
    qtbot.waitUntil(lambda: w.state == "paused" and w.histogram.probs is not None, timeout=TIMEOUT)
    h = w.histogram
    qtbot.waitUntil(lambda: h._grid_key is not None, timeout=TIMEOUT)
    x, y = h.grid.getData()
    lo, hi = h.plot.getViewBox().viewRange()[1]
    if log_y:
        expected = [v for v in range(-4, 1) if lo < v <= hi]
    else:
        levels = h.left_axis.tickValues(lo, hi, max(int(h.plot.getViewBox().height()), 50))
        expected = [v for v in levels[0][1] if lo < v <= hi]
    assert len(expected) >= 2
    assert np.allclose(y[::2], expected) and np.allclose(y[1::2], expected)  # one horizontal pair per tick
    assert np.allclose(x[::2], -0.6) and np.allclose(x[1::2], x.max())  # across every bar
    assert x.max() == pytest.approx(h.plot.getViewBox().viewRange()[0][1])
    assert h.grid.zValue() < h.bars.zValue()  # behind the bars


def test_startup_objects_are_out_of_the_collectors_reach(qtbot, text_window):
    """Once a model is in, what the app made to start (modules, widgets) is frozen: a full garbage
    collection no longer scans it while the model streams."""
    import gc

    assert text_window.model is not None
    assert gc.get_freeze_count() > 10_000


def test_text_arrives_on_the_outputs_turns_and_all_of_it_once_stopped(qtbot, text_window):
    w = text_window
    view = w.text_view
    shown_in = []  # the clock's phase whenever characters reached the document while streaming
    original = view._show_pending

    def show():
        if view._pending and w.state == "running":
            shown_in.append(w._phase)
        original()

    view._show_pending = show
    w._test_paints = Paints({"histogram": w.histogram.plot, "curve": w.curve.plot})
    stream_until(qtbot, w, shown_in, 4)
    view._show_pending = original
    assert len(shown_in) >= 4 and {TURNS[p] for p in shown_in} == {"output"}, shown_in
    count = w.generation.worker.count
    assert view.toPlainText() == view.text() and len(view.chars) == count  # nothing held back at the end


@pytest.fixture(scope="module")
def other_text_model(tmp_path_factory):
    return make_model(tmp_path_factory.mktemp("models") / "other.safetensors", text="xyz0123456789 \n", hidden=64)


@pytest.mark.parametrize("delay_ms", [0, 40, 120, 300])
def test_clear_while_streaming_leaves_nothing_of_the_old_sample(qtbot, text_window, delay_ms):
    """Batches the worker sent before it took the clear are dropped, not shown in the cleared view."""
    w = text_window
    w.seed.setValue(4)
    w.length.setValue(200_000)
    w.generate()
    qtbot.waitUntil(lambda: w.state == "running" and len(w.text_view.chars) > 0, timeout=TIMEOUT)
    qtbot.wait(delay_ms)
    w.clear()
    qtbot.waitUntil(lambda: w.state == "idle" and not w._stale, timeout=TIMEOUT)
    qtbot.wait(150)  # anything still queued arrives
    assert w.text_view.chars == [] and w.text_view.toPlainText() == ""
    assert w.histogram.probs is None and w._latest is None and w._preview is None
    assert w.count_label.text() == ""
    w.length.setValue(50)  # and the next sample is shown whole
    w.generate()
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=TIMEOUT)
    assert len(w.text_view.chars) == 50 == w.generation.worker.count


def test_loading_another_model_while_streaming_shows_none_of_the_old_one(qtbot, text_window, other_text_model):
    w = text_window
    w.length.setValue(200_000)
    w.generate()
    qtbot.waitUntil(lambda: w.state == "running" and len(w.text_view.chars) > 20, timeout=TIMEOUT)
    w.load_model(str(other_text_model))
    qtbot.waitUntil(lambda: w.model is not None and w.model.name == "other" and w.state == "idle", timeout=TIMEOUT)
    qtbot.wait(150)
    assert w.text_view.chars == [] and w.count_label.text() == ""
    w.length.setValue(40)
    w.generate()
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=TIMEOUT)
    assert set("".join(w.text_view.chars)) <= set("xyz0123456789 \n")


def test_a_failed_load_leaves_the_window_working(qtbot, text_window, tmp_path):
    w = text_window
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a model")
    w.load_model(str(bad))
    qtbot.waitUntil(lambda: any("bad.safetensors" in e or "not" in e for e in w.errors) and not w._stale,
                    timeout=TIMEOUT)
    w.length.setValue(30)
    w.generate()
    qtbot.waitUntil(lambda: w.state == "stopped" and len(w.text_view.chars) == 30, timeout=TIMEOUT)


def test_going_on_after_the_model_ended_the_piece_takes_the_end_back(qtbot, music_window):
    """Polyphony's END closes a piece (the roll and the exports read up to it): forcing a note after
    it, or resuming, first takes the END back, so the new notes join the piece and show."""
    from guigen.music.polyphony import END, NEW_NOTE, STEP_END

    w = music_window
    w.primer.setText("60,64,67")
    w.seed.setValue(1)
    w.length.setValue(3)  # steps (music's length: issue 21)
    w.generate()
    qtbot.waitUntil(lambda: w.state == "stopped" and w.piano_roll.steps - w.piano_roll.primer_steps == 3,
                    timeout=TIMEOUT)
    roll, gen = w.piano_roll, w.generation.worker  # gen.count: the process's, as it last reported it
    if roll.tokens[-1] != STEP_END:  # END comes only between steps
        w.force(STEP_END)
        qtbot.waitUntil(lambda: w.state == "paused" and roll.tokens[-1] == STEP_END, timeout=TIMEOUT)
    w.force(END)
    qtbot.waitUntil(lambda: w.state == "paused" and roll.tokens[-1] == END, timeout=TIMEOUT)
    count = gen.count
    steps = roll.steps
    w.force(NEW_NOTE + 72)
    qtbot.waitUntil(lambda: w.state == "paused" and roll.tokens[-1] == NEW_NOTE + 72, timeout=TIMEOUT)
    assert gen.count == count and END not in roll.tokens  # the END gave way to the note
    assert any(n.pitch == 72 and n.start == steps for n in roll.notes)  # it shows, where the piece was
    states = []
    w.state_changed.connect(states.append)
    w.length.setValue(6)  # steps
    w.generate()  # resume
    # the worker's count runs ahead of what the window has received, and the window stays "paused"
    # until the worker's "running" arrives: wait for the window to have seen the run end
    qtbot.waitUntil(lambda: "running" in states and w.state in ("stopped", "paused")
                    and gen.count >= count + 6 and len(roll.tokens) == gen.count, timeout=TIMEOUT)
    assert roll.steps > steps  # what came after shows too
