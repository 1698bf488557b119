"""The writer's view (issue 21 item 6), in a real window offscreen: the text editable once it stops,
continued from the cursor, a multi-line primer, hovering a character names its probability and the
likeliest characters it was drawn among, and colouring by probability has its legend."""

from __future__ import annotations

import pytest
from app_helpers import TIMEOUT, generate_text, text_window
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QTextCursor

from guigen.app.widgets.textview import prob_colour


@pytest.fixture()
def window(qtbot, tmp_path):
    yield from text_window(qtbot, tmp_path, "w.safetensors")


def generate(qtbot, w, n: int = 40, seed: int = 1) -> None:
    generate_text(qtbot, w, n, seed)


def test_the_text_is_edited_and_continued_from_the_cursor(qtbot, window):
    w, tv = window, window.text_view
    w.length.setValue(1_000_000)
    w.generate()
    qtbot.waitUntil(lambda: w.state == "running", timeout=TIMEOUT)
    assert tv.isReadOnly()  # not while it streams
    w.actions["stop"].trigger()
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=TIMEOUT)
    assert not tv.isReadOnly()
    generate(qtbot, w, 40)
    before = tv.text()
    cur = tv.textCursor()
    cur.setPosition(5)
    tv.setTextCursor(cur)
    tv.setFocus()
    qtbot.keyClicks(tv, "abc")
    assert tv.text() == before[:5] + "abc" + before[5:] and tv.is_edited
    assert tv.probs[5:8] == [None] * 3, (len(tv.probs), len(tv.chars), repr(tv.primer))  # typed: no probability
    qtbot.waitUntil(lambda: w.state == "idle", timeout=TIMEOUT)  # the model's old text is let go: no Undo into it
    assert not w.actions["undo"].isEnabled()
    cur.setPosition(8)  # after the typed "abc"
    tv.setTextCursor(cur)
    w.length.setValue(20)
    w.actions["continue_from_cursor"].trigger()
    qtbot.waitUntil(lambda: w.state == "stopped" and len(tv.chars) == 20, timeout=TIMEOUT)
    assert w.primer.text() == before[:5] + "abc"
    assert tv.text().startswith(before[:5] + "abc") and len(tv.text()) == 8 + 20  # the rest gave way


def test_generate_after_an_edit_goes_on_from_the_edited_text(qtbot, window):
    w, tv = window, window.text_view
    generate(qtbot, w, 30)
    tv.moveCursor(QTextCursor.MoveOperation.End)
    tv.setFocus()
    qtbot.keyClicks(tv, "ab")
    edited = tv.text()
    w.length.setValue(10)
    w.generate()
    qtbot.waitUntil(lambda: w.state == "stopped" and len(tv.chars) == 10, timeout=TIMEOUT)
    assert tv.text().startswith(edited) and len(tv.text()) == len(edited) + 10


def test_a_primer_of_several_lines(qtbot, window):
    w = window
    w.primer.setFocus()
    w.primer.setText("ab")
    qtbot.keyClick(w.primer, Qt.Key.Key_Return)  # Enter makes a new line
    qtbot.keyClicks(w.primer, "cd")
    assert w.primer.text() == "ab\ncd"
    generate(qtbot, w, 10)
    assert w.text_view.text().startswith("ab\ncd") and len(w.text_view.text()) == 15


def test_hovering_a_character_names_its_probability_and_the_alternatives(qtbot, window):
    w, tv = window, window.text_view
    w.primer.setText("abc")
    generate(qtbot, w, 20)
    i = 3 + 2  # the third generated character
    rect = tv.cursorRect(_cursor_at(tv, i))
    qtbot.mouseMove(tv.viewport(), QPoint(rect.x() + 3, rect.center().y()))
    qtbot.waitUntil(lambda: tv.hover_text != "", timeout=TIMEOUT)
    p = tv.probs[2]
    assert f"p = {p:.3g}" in tv.hover_text and "the likeliest were" in tv.hover_text
    alts = tv.alts[2]
    best = max(zip(alts[1], alts[0]))
    assert f"{best[0]:.2f}" in tv.hover_text  # the likeliest, with its probability
    rect = tv.cursorRect(_cursor_at(tv, 1))
    qtbot.mouseMove(tv.viewport(), QPoint(rect.x() + 3, rect.center().y()))
    qtbot.waitUntil(lambda: tv.hover_text.endswith("primer"), timeout=TIMEOUT)


def _cursor_at(tv, i: int) -> QTextCursor:
    c = QTextCursor(tv.document())
    c.setPosition(i)
    return c


def test_colouring_by_probability_has_a_legend(qtbot, window):
    w, tv = window, window.text_view
    generate(qtbot, w, 20)
    assert not tv.legend.isVisible()
    w.actions["colour_by_prob"].setChecked(True)
    assert tv.legend.isVisible() and tv.viewportMargins().top() >= tv.legend.height()
    assert tv.legend.colour(1.0) == prob_colour(1.0, False) and tv.legend.colour(1e-3) == prob_colour(1e-3, False)
    assert tv.legend.geometry().bottom() <= tv.viewport().geometry().top()  # above the text, never over it
    w.actions["colour_by_prob"].setChecked(False)
    assert not tv.legend.isVisible()


def test_the_empty_texts_hint_wraps_instead_of_being_cut(qtbot, tmp_path):
    """Empty, the text view's hint is drawn whole, wrapped over as many lines as its width needs
    (QTextEdit's own placeholder was cut after "continue from" under Xvfb)."""
    for w in text_window(qtbot, tmp_path):
        tv = w.text_view
        tv.reset("")
        tv.resize(300, 200)
        assert tv.document().isEmpty()
        image = tv.viewport().grab().toImage()
        base = tv.viewport().palette().color(tv.viewport().backgroundRole()).rgb()
        inked = [y for y in range(image.height()) if any(image.pixel(x, y) != base for x in range(0, image.width(), 2))]
        line = tv.fontMetrics().lineSpacing()
        words = tv.fontMetrics().horizontalAdvance(tv.hint)
        needed = -(-words // (tv.viewport().width() - 8))  # lines at this width, at least
        assert needed >= 3 and inked and inked[-1] - inked[0] >= (needed - 1) * line
