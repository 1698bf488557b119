"""The text view: generated characters stream in; optionally each is coloured by its probability,
with the scale's legend above the text. Hovering a generated character says the probability it had
and the likeliest characters it was chosen among.

When nothing is streaming the text can be edited: typed characters have no probability (plain),
and the window then continues from the edited text (guigen.app.writer). The colours follow the
palette and run along cividis (readable with any colour vision): pale backgrounds under dark text
in a light palette, deep ones under light text in a dark palette, so text keeps a contrast of at
least 4.5:1 (WCAG AA).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontDatabase, QPainter, QPalette, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QTextEdit, QToolTip

from guigen.app import theme
from guigen.app.widgets.roll_legend import ProbabilityLegend
from guigen.app.widgets.roll_notes import prob_fill

LEGEND_ROOM = 30  # px above the text for the legend, while colouring by probability


def prob_colour(p: float, dark: bool = False) -> QColor:
    """Background for a token that had probability p: cividis (dark blue surprising, yellow expected,
    log scale from p = .001 to 1), mixed with the page's white or black so the text stays readable."""
    c = prob_fill(p)
    base, keep = (QColor(0, 0, 0), 0.38) if dark else (QColor(255, 255, 255), 0.45)
    mix = lambda a, b: round(a * keep + b * (1 - keep))  # noqa: E731
    return QColor(mix(c.red(), base.red()), mix(c.green(), base.green()), mix(c.blue(), base.blue()))


def _show(ch: str) -> str:
    return {"\n": "line break", " ": "space", "\t": "tab"}.get(ch, repr(ch))


class TextView(QTextEdit):
    """Primer + generated text; keeps each generated character's probability and alternatives.
    token_text, when set (the window sets the codec's characters), names alternatives by id."""

    edited = Signal()  # the user changed the text (typed, cut, pasted)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setReadOnly(True)
        theme.focus_ring(self)  # Fusion shows no focus on it
        self.setTabChangesFocus(True)  # editable, it took every Tab as a character: the keyboard was caught in it
        self.setUndoRedoEnabled(False)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSize(11)
        self.setFont(font)
        self.setLineWrapMode(QTextEdit.LineWrapMode.WidgetWidth)
        # drawn by paintEvent, wrapped: QTextEdit's own placeholder gets the first line's room only (under
        # Xvfb this one was cut after "continue from")
        self.hint = ("Generated text appears here. When it stops you can edit it, and continue from the cursor "
                     "(Generate menu).")
        self.colour = False
        self.primer = ""
        self.chars: list[str] = []
        self.probs: list[float | None] = []  # None: typed by the user
        self.alts: list = []  # per character: (ids, probs) of the likeliest it was drawn among, or None
        self.token_text = None
        self.is_edited = False  # the user changed the text since it was generated
        self.hover_text = ""
        self.paced = False  # the window's display clock calls pace() (while streaming): see set_paced
        self._pending = 0  # the last tokens of chars not yet in the document
        self._writing = False  # the document is being changed by the program, not the user
        self.plain = QTextCharFormat()
        self.primer_format = QTextCharFormat()
        self.primer_format.setFontWeight(QFont.Weight.Bold)  # bold in the text colour: as readable as the rest
        self.primer_format.setFontItalic(True)
        self.legend = ProbabilityLegend(self._legend_colour, "character", self)
        self.legend.hide()
        self.document().contentsChange.connect(self._changed)
        self.viewport().setMouseTracking(True)

    def text(self) -> str:
        """The text shown, primer included."""
        return self.primer + "".join(self.chars)

    def reset(self, primer: str = "") -> None:
        self.primer, self.chars, self.probs, self.alts = primer, [], [], []
        self._pending = 0
        self.is_edited = False
        self._writing = True
        self.clear()
        self._writing = False
        self._insert(primer, self.primer_format)

    def append_tokens(self, chars: list[str], probs: list[float], alts=None) -> None:
        """Take tokens in; they reach the document now, or at the display clock's next turn when paced."""
        self.chars.extend(chars)
        self.probs.extend(probs)
        self.alts.extend(alts if alts is not None else [None] * len(chars))
        self._pending += len(chars)
        if not self.paced:
            self._show_pending()

    def set_paced(self, on: bool) -> None:
        """On: the window's display clock calls pace() and tokens wait for it (while streaming). Off:
        what came in meanwhile is shown now. Editable whenever nothing streams."""
        self.paced = on
        if not on:
            self._show_pending()
        self.setReadOnly(on)

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
                if p is None:
                    self._insert(ch, self.plain)
                    continue
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
        del self.chars[count:], self.probs[count:], self.alts[count:]
        cur = QTextCursor(self.document())
        cur.movePosition(QTextCursor.MoveOperation.End)
        cur.movePosition(QTextCursor.MoveOperation.Left, QTextCursor.MoveMode.KeepAnchor, drop)
        self._writing = True
        cur.removeSelectedText()
        self._writing = False

    # -- the user's edits ---------------------------------------------------------------------------
    def _changed(self, position: int, removed: int, added: int) -> None:
        if self._writing or (removed == added and self.document().toPlainText() == self.text()):
            return  # the program's, or a change of format only
        full = self.document().toPlainText()
        chars = list(self.primer) + self.chars
        probs = [None] * len(self.primer) + self.probs
        alts = [None] * len(self.primer) + self.alts
        new = full[position:position + added]
        chars[position:position + removed] = list(new)
        probs[position:position + removed] = [None] * len(new)
        alts[position:position + removed] = [None] * len(new)
        if "".join(chars) != full:  # an edit this bookkeeping could not follow: keep the text, drop the colours
            chars, probs, alts = list(full), [None] * len(full), [None] * len(full)
        self.primer, self.chars, self.probs, self.alts = "", chars, probs, alts
        self.is_edited = True
        self.edited.emit()

    # -- hovering -----------------------------------------------------------------------------------
    def char_at(self, pos) -> int:
        """The index (in text()) of the character under a viewport point, or -1."""
        offset = QPointF(self.horizontalScrollBar().value(), self.verticalScrollBar().value())
        return self.document().documentLayout().hitTest(QPointF(pos) + offset, Qt.HitTestAccuracy.ExactHit)

    def describe(self, i: int) -> str:
        """What hovering character i says: its probability and the likeliest it was drawn among."""
        text = self.text()
        if not 0 <= i < len(text):
            return ""
        k = i - len(self.primer)
        if k < 0:
            return f"{_show(text[i])}: primer"
        p = self.probs[k]
        if p is None:
            return f"{_show(text[i])}: typed (no probability)"
        out = f"{_show(text[i])}: p = {p:.3g}"
        alts = self.alts[k]
        if alts is not None and self.token_text is not None:
            ranked = sorted(zip(alts[1], alts[0]), reverse=True)
            out += "; the likeliest were " + ", ".join(f"{_show(self.token_text[t])} {q:.2f}" for q, t in ranked if q > 0)
        return out

    def mouseMoveEvent(self, ev) -> None:
        super().mouseMoveEvent(ev)
        i = self.char_at(ev.position())
        self.hover_text = self.describe(i) if i >= 0 else ""
        if self.hover_text:
            QToolTip.showText(self.viewport().mapToGlobal(ev.position().toPoint()), self.hover_text, self.viewport())
        else:
            QToolTip.hideText()

    # -- colours --------------------------------------------------------------------------------------
    def _legend_colour(self, p: float) -> QColor:
        return prob_colour(p, theme.is_dark(self.palette()))

    def _place_legend(self) -> None:
        r = self.contentsRect()
        self.legend.move(r.right() - self.legend.width() - 4, r.top() + 2)

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if self.document().isEmpty() and self.hint:
            p = QPainter(self.viewport())
            p.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            m = round(self.document().documentMargin())
            p.drawText(self.viewport().rect().adjusted(m, m, -m, -m),
                       int(Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap), self.hint)
            p.end()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._place_legend()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and self.colour:
            self._redraw()  # backgrounds made for the old palette

    def set_colour(self, on: bool) -> None:
        self.legend.setVisible(on)
        self.setViewportMargins(0, LEGEND_ROOM if on else 0, 0, 0)
        self._place_legend()
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
        self._writing = True
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
        self._writing = False

    def _redraw(self) -> None:
        chars, probs, alts, edited = self.chars, self.probs, self.alts, self.is_edited
        self.reset(self.primer)
        self.chars, self.probs, self.alts, self._pending, self.is_edited = chars, probs, alts, len(chars), edited
        self._show_pending()

    def _insert(self, s: str, fmt: QTextCharFormat) -> None:
        if not s:
            return
        cur = QTextCursor(self.document())  # not the user's cursor: it stays where they put it
        cur.movePosition(QTextCursor.MoveOperation.End)
        self._writing = True
        cur.insertText(s, fmt)
        self._writing = False
