"""The music workspace (issue 21 item 1) with the shipped bach-chorales model in a real window
offscreen: the piano roll takes most of the window, the distribution panel's state and split are
remembered, the roll follows the playhead, Play starts where the ruler was clicked and loops what
was dragged on it, hovering a note names it, clicking a key auditions it, bar 1 and the primer mark
stand clear of the keyboard, and colours read with colour blindness."""

from __future__ import annotations

import numpy as np
import pytest
from app_helpers import TIMEOUT, open_window
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QColor

from guigen.app.music import excerpt, note_sequence, player
from guigen.app.widgets.roll_notes import VOICE_COLOURS, prob_fill
from guigen.core import registry


def reopened(qtbot, w, tmp_path):
    """A second window of w's size on the settings w saved, with bach-chorales loaded: the next start."""
    from guigen.app.main_window import MainWindow
    from guigen.app.settings import Settings

    w2 = MainWindow(Settings(str(tmp_path / "settings.ini")), save_settings=False)
    qtbot.addWidget(w2)
    w2.resize(w.size())
    w2.show()
    with qtbot.waitSignal(w2.model_loaded, timeout=TIMEOUT):
        w2.load_model(str(registry.resolve("bach-chorales")))
    return w2


@pytest.fixture()
def chorales(qtbot, tmp_path):
    yield from open_window(qtbot, tmp_path, registry.resolve("bach-chorales"))


def generate(qtbot, w, n: int = 64, seed: int = 1) -> None:
    w.primer.setText("60,64,67")
    w.seed.setValue(seed)
    w.length.setValue(n)
    w.generate()
    qtbot.waitUntil(lambda: w.state == "stopped" and len(w.piano_roll.tokens) > 0, timeout=TIMEOUT)


@pytest.mark.parametrize("size", [(1920, 1080), (1024, 640)])
def test_the_roll_takes_most_of_the_window(qtbot, chorales, size):
    w = chorales
    w.resize(*size)
    qtbot.waitUntil(lambda: (w.width(), w.height()) == size, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: w.piano_roll.isVisible(), timeout=TIMEOUT)
    share = w.piano_roll.height() / w.height()
    assert share >= 0.6, f"the roll has {share:.0%} of the window's height at {size}"
    assert w.histogram.isVisible() and w.histogram.height() >= 150  # the histogram keeps enough room to read


@pytest.mark.parametrize("size", [(1920, 1080), (1024, 640)])
def test_the_roll_keeps_most_of_the_window_with_the_variations_open(qtbot, chorales, tmp_path, size):
    """Eight variations made: their strip is a tab beside the distribution under the roll (as a
    third row it left the roll 31-36% of the height); the cards show whole, the distribution is a
    click (or the arrow keys on the tab bar) away, and the split is remembered at the next start."""
    from PySide6.QtCore import QRect

    w = chorales
    w.resize(*size)
    qtbot.waitUntil(lambda: (w.width(), w.height()) == size, timeout=TIMEOUT)
    w.primer.setText("60,64,67")
    w.length.setValue(64)
    w.variations.count.setValue(8)
    w.variations.button.click()
    qtbot.waitUntil(lambda: w.variations.current.done, timeout=TIMEOUT)
    view, bottom = w.variations.view, w.splitter.bottom
    qtbot.waitUntil(view.isVisible, timeout=TIMEOUT)
    share = w.piano_roll.height() / w.height()
    assert share >= 0.6, f"the roll has {share:.0%} of the window's height at {size} with the variations open"
    assert bottom.tabBar().isVisible() and [bottom.tabText(i) for i in range(bottom.count())] == [
        "Distribution", "Variations"]
    card = view.cards[0]
    whole = QRect(card.mapTo(view, card.rect().topLeft()), card.size())
    assert view.rect().contains(whole), "a card is cut off at the bottom"
    assert card.roll.height() >= 56 and all(b.isVisible() and b.height() >= 16 for b in card.buttons.values())
    bottom.setCurrentWidget(w.splitter.distribution)
    assert w.histogram.isVisible() and w.histogram.height() >= 120 and w.piano_roll.height() / w.height() == share
    bottom.setCurrentWidget(view)
    view.close_button.click()  # the strip goes: the tab bar with it, the roll keeps its room
    assert not bottom.tabBar().isVisible() and w.histogram.isVisible()
    w.save_state()
    w2 = reopened(qtbot, w, tmp_path)
    qtbot.waitUntil(lambda: w2.piano_roll.isVisible(), timeout=TIMEOUT)
    assert w2.piano_roll.height() == pytest.approx(w.piano_roll.height(), abs=4)
    w2.generation.shutdown()


def test_the_distribution_panels_state_and_split_are_remembered(qtbot, chorales, tmp_path):
    w = chorales
    sp = w.splitter
    sizes = sp.sizes()
    sp.setSizes([sizes[0] + 100] + [max(0, s - 100) if sp.widget(i) is sp.distribution else s
                                    for i, s in enumerate(sizes[1:], 1)])
    want = sp.sizes()
    w.actions_view = None
    sp.toggle.setChecked(False)  # View > Distribution off
    assert not sp.distribution.isVisible()
    w.save_state()
    w2 = reopened(qtbot, w, tmp_path)
    assert not w2.splitter.toggle.isChecked() and not w2.splitter.distribution.isVisible()
    w2.splitter.toggle.setChecked(True)
    assert w2.splitter.distribution.isVisible()
    assert w2.splitter.sizes()[0] == pytest.approx(want[0], abs=4)
    w2.generation.shutdown()


def test_the_roll_follows_the_playhead(qtbot, chorales):
    w = chorales
    generate(qtbot, w, 100)  # steps
    roll = w.piano_roll
    roll.zoom(0.25)  # 32 steps in view: the piece is three pages and more
    roll.scroll_to(0)
    assert not roll.follow
    x0, x1 = roll.view_range()
    assert roll.total_steps() > 2 * (x1 - x0) + 10
    for step in (x1 + 3, x1 + (x1 - x0) + 5, roll.total_steps() - 2):  # past the right edge: the view turns the page
        roll.set_playhead(step)
        a, b = roll.view_range()
        assert a <= step <= b, (step, a, b)


def _viewport_point(roll, step: float, pitch: float) -> QPoint:
    scene = roll.view.mapViewToScene(QPointF(step, pitch))
    return roll.plot.mapFromScene(scene)


def test_play_from_a_clicked_position_and_a_loop_dragged_on_the_ruler(qtbot, chorales):
    w = chorales
    generate(qtbot, w, 80)
    roll = w.piano_roll
    roll.show_all()
    ruler_y = int(roll.plot.mapFromScene(roll.ruler.sceneBoundingRect().center()).y())
    x = _viewport_point(roll, 32, 60).x()  # bar 3
    qtbot.mouseClick(roll.plot.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, ruler_y))
    assert roll.play_from == 32 and roll.start_line.isVisible()
    whole = note_sequence(w)
    w.play()  # no sound device here: it says so, but what it would play is chosen first
    p = player(w)
    assert p.offset == 32 and p.seq.total_steps == whole.total_steps - 32
    assert sorted(p.seq.notes) == sorted(excerpt(whole, 32).notes)
    assert all(n.start >= 0 for n in p.seq.notes)
    # a drag along the ruler from bar 2 to bar 4 marks a loop
    x2, x4 = _viewport_point(roll, 16, 60).x(), _viewport_point(roll, 48, 60).x()
    vp = roll.plot.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=QPoint(x2, ruler_y))
    qtbot.mouseMove(vp, QPoint((x2 + x4) // 2, ruler_y))
    qtbot.mouseMove(vp, QPoint(x4, ruler_y))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=QPoint(x4, ruler_y))
    assert roll.loop == (16, 48) and roll.loop_region.isVisible()
    w.play()
    assert p.offset == 16 and p.seq.total_steps <= 32 and p.region
    qtbot.mouseDClick(vp, Qt.MouseButton.LeftButton, pos=QPoint(x2, ruler_y))
    assert roll.loop is None and roll.play_from == 0


def test_hovering_a_note_names_it_and_a_key_plays(qtbot, chorales):
    w = chorales
    generate(qtbot, w, 48)
    roll = w.piano_roll
    roll.show_all()
    i = next(i for i in roll.drawn if roll.notes[i].start >= roll.primer_steps + 4)
    n = roll.notes[i]
    vp = roll.plot.viewport()
    qtbot.mouseMove(vp, _viewport_point(roll, (n.start + n.end) / 2, n.pitch))
    qtbot.waitUntil(lambda: roll.hover_text != "", timeout=TIMEOUT)
    from guigen.app.widgets.roll_notes import VOICE_NAMES
    from guigen.app.widgets.roll_ruler import bar_beat
    from guigen.music.events import pitch_name

    text = roll.hover_text
    assert text.startswith(pitch_name(n.pitch)), text
    # the pause that asks for a tooltip keeps the note's text up (the view's scene, finding no item
    # tooltip, hid it: under Xvfb it flashed and went)
    from PySide6.QtGui import QHelpEvent
    from PySide6.QtWidgets import QApplication, QToolTip

    at = _viewport_point(roll, (n.start + n.end) / 2, n.pitch)
    QApplication.sendEvent(vp, QHelpEvent(QEvent.Type.ToolTip, at, vp.mapToGlobal(at)))
    qtbot.waitUntil(lambda: QToolTip.isVisible() and QToolTip.text() == text, timeout=TIMEOUT)
    with pytest.raises(qtbot.TimeoutError):  # and it stays (a tooltip being hidden goes within 300 ms)
        qtbot.waitUntil(lambda: not QToolTip.isVisible() or QToolTip.text() != text, timeout=1000)
    assert VOICE_NAMES[roll.voices[i]] in text and f"bar {bar_beat(n.start, (4, 4))}" in text
    assert " p " in f" {text} ".replace("·", " ")  # its probability
    keys_x = int(roll.plot.mapFromScene(roll.keys.sceneBoundingRect().center()).x())
    y = _viewport_point(roll, 0, 64).y()
    with qtbot.waitSignal(roll.key_clicked, timeout=TIMEOUT) as sig:
        qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=QPoint(keys_x, y))
    assert sig.args == [64]
    assert player(w).seq.notes[0].pitch == 64  # what it played (no sound device: it said so)


def test_bar_one_and_the_primer_mark_stand_clear_of_the_keys(qtbot, chorales):
    w = chorales
    generate(qtbot, w, 16)
    roll = w.piano_roll
    roll.show_all()
    keys_right = roll.keys.sceneBoundingRect().right()
    bar1 = roll.view.mapViewToScene(QPointF(0, 60)).x()
    assert bar1 >= keys_right + 4
    assert roll.primer_text.isVisible() and roll.primer_text.sceneBoundingRect().left() >= keys_right + 4


def _simulate(colour: QColor, matrix) -> np.ndarray:
    """A colour as seen with a colour-vision deficiency (Machado et al. 2009, severity 1), in linear RGB."""
    srgb = np.array([colour.redF(), colour.greenF(), colour.blueF()])
    lin = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    return np.clip(np.array(matrix) @ lin, 0, 1)


MACHADO = {
    "normal": [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
}


def test_voice_and_probability_colours_read_with_colour_blindness():
    for name, m in MACHADO.items():
        seen = [_simulate(c, m) for c in VOICE_COLOURS]
        gaps = [np.linalg.norm(seen[i] - seen[j]) for i in range(4) for j in range(i + 1, 4)]
        assert min(gaps) > 0.12, (name, gaps)
    # the probability scale: lightness rises with p for every kind of colour vision (no red-green axis)
    ps = [10 ** e for e in np.linspace(-3, 0, 12)]
    for name, m in MACHADO.items():
        lum = [float(_simulate(prob_fill(p), m) @ [0.2126, 0.7152, 0.0722]) for p in ps]
        assert all(b > a for a, b in zip(lum, lum[1:])), (name, lum)


def test_a_clicked_key_is_named_as_the_keyboard_names_it(qtbot, chorales):
    """Clicking a key said "Key 60" in the status bar (seen under Xvfb); the keyboard says C4."""
    w = chorales
    roll = w.piano_roll
    vp = roll.plot.viewport()
    keys_x = int(roll.plot.mapFromScene(roll.keys.sceneBoundingRect().center()).x())
    with qtbot.waitSignal(roll.key_clicked, timeout=TIMEOUT) as sig:
        qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=QPoint(keys_x, _viewport_point(roll, 0, 60).y()))
    assert sig.args == [60]
    assert w.statusBar().currentMessage() == "C4 (MIDI 60)"
