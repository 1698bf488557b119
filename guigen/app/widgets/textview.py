"""The text view: generated characters stream in; optionally each is coloured by its probability.

The colours follow the palette: pale backgrounds under dark text in a light palette, deep ones
under light text in a dark palette, so text keeps a contrast of at least 4.5:1 (WCAG AA).
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent
from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QTextEdit

from guigen.app import theme


def prob_colour(p: float, dark: bool = False) -> QColor:
    """Background for a token that had probability p: red for surprising, green for expected."""
    # log scale: p = 1e-3 or below is fully red, p = 1 fully green
    f = min(max((math.log10(max(p, 1e-9)) + 3) / 3, 0.0), 1.0)
    return QColor.fromHsvF(0.33 * f, 0.6, 0.34) if dark else QColor.fromHsvF(0.33 * f, 0.35, 1.0)


class TextView(QTextEdit):
    """Read-only view of primer + generated text; keeps tokens and their probabilities."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.setUndoRedoEnabled(False)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSize(11)
        self.setFont(font)
        self.setLineWrapMode(QTextEdit.LineWrapMode.WidgetWidth)
        self.setPlaceholderText("Generated text appears here.")
        self.colour = False
        self.primer = ""
        self.chars: list[str] = []
        self.probs: list[float] = []
        self.paced = False  # the window's display clock calls pace() (while streaming): see set_paced
        self._pending = 0  # the last tokens of chars not yet in the document
        self.plain = QTextCharFormat()
        self.primer_format = QTextCharFormat()
        self.primer_format.setFontWeight(QFont.Weight.Bold)  # bold in the text colour: as readable as the rest
        self.primer_format.setFontItalic(True)

    def text(self) -> str:
        """The generated text, primer included."""
        return self.primer + "".join(self.chars)

    def reset(self, primer: str = "") -> None:
        self.primer, self.chars, self.probs = primer, [], []
        self._pending = 0
        self.clear()
        self._insert(primer, self.primer_format)

    def append_tokens(self, chars: list[str], probs: list[float]) -> None:
        """Take tokens in; they reach the document now, or at the display clock's next turn when paced."""
        self.chars.extend(chars)
        self.probs.extend(probs)
        self._pending += len(chars)
        if not self.paced:
            self._show_pending()

    def set_paced(self, on: bool) -> None:
        """On: the window's display clock calls pace() and tokens wait for it (while streaming). Off:
        what came in meanwhile is shown now."""
        self.paced = on
        if not on:
            self._show_pending()

    def pace(self) -> bool:
        """A frame of the window's display clock: show the tokens that came in. Whether there were any."""
        if not self._pending:
            return False
        self._show_pending()
        return True

    def _show_pending(self) -> None:
        if not self._pending:
            return
        n, self._pending = self._pending, 0
        chars, probs = self.chars[-n:], self.probs[-n:]
        bar = self.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 4
        if self.colour:
            dark = theme.is_dark(self.palette())
            text = self.palette().color(QPalette.ColorRole.Text)
            for ch, p in zip(chars, probs):
                fmt = QTextCharFormat()
                fmt.setBackground(prob_colour(p, dark))
                fmt.setForeground(text)
                self._insert(ch, fmt)
        else:
            self._insert("".join(chars), self.plain)
        if at_end:
            bar.setValue(bar.maximum())

    def truncate(self, count: int) -> None:
        """Keep only the first `count` generated tokens (after undo)."""
        self._show_pending()
        drop = len(self.chars) - count
        if drop <= 0:
            return
        del self.chars[count:], self.probs[count:]
        cur = self.textCursor()
        cur.movePosition(QTextCursor.MoveOperation.End)
        cur.movePosition(QTextCursor.MoveOperation.Left, QTextCursor.MoveMode.KeepAnchor, drop)
        cur.removeSelectedText()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and self.colour:
            self._redraw()  # backgrounds made for the old palette

    def set_colour(self, on: bool) -> None:
        if on == self.colour:
            return
        self.colour = on
        self._redraw()

    def set_char_colours(self, start: int, colours) -> None:
        """Paint the characters from document position `start` on (primer included) with (background,
        text) colour pairs, over any other colouring: the Cells view's hook; _redraw() takes it off."""
        self._show_pending()  # the positions count what the document holds
        doc = self.document()
        n = min(len(colours), doc.characterCount() - 1 - start)
        cur = QTextCursor(doc)
        cur.beginEditBlock()
        i = 0
        while i < n:  # one format per run of equal colours
            j = i + 1
            while j < n and colours[j] == colours[i]:
                j += 1
            fmt = QTextCharFormat()
            fmt.setBackground(colours[i][0])
            fmt.setForeground(colours[i][1])
            cur.setPosition(start + i)
            cur.setPosition(start + j, QTextCursor.MoveMode.KeepAnchor)
            cur.mergeCharFormat(fmt)
            i = j
        cur.endEditBlock()

    def _redraw(self) -> None:
        chars, probs = self.chars, self.probs
        self.reset(self.primer)
        self.chars, self.probs, self._pending = chars, probs, len(chars)
        self._show_pending()

    def _insert(self, s: str, fmt: QTextCharFormat) -> None:
        if not s:
            return
        cur = self.textCursor()
        cur.movePosition(QTextCursor.MoveOperation.End)
        cur.insertText(s, fmt)
