"""The primer box: a few lines of text to start from (a text model's verse, a music model's
pitches or MIDI file), with QLineEdit's text()/setText() so the window reads it as a line edit.
Enter makes a new line; Tab moves on to the next control."""

from __future__ import annotations

from PySide6.QtGui import QFontMetrics, QTextCursor
from PySide6.QtWidgets import QPlainTextEdit, QSizePolicy

from guigen.app import theme

LINES = 3  # visible lines; more scroll


class PrimerEdit(QPlainTextEdit):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setTabChangesFocus(True)
        theme.focus_ring(self)  # Fusion shows no focus on it
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        m = QFontMetrics(self.font())
        self.setFixedHeight(m.lineSpacing() * LINES + 2 * self.frameWidth() + 8)

    def text(self) -> str:
        return self.toPlainText()

    def setText(self, text: str) -> None:
        if text != self.toPlainText():
            self.setPlainText(text)
            self.moveCursor(QTextCursor.MoveOperation.End)  # as a line edit leaves it: typing goes on at the end
