"""The variation cards: a strip of small piano rolls (or texts), one per variation, each with its
vN badge and name, Play (Stop while it plays, the card highlighted), Export, Star and Use; the rolls
share one time scale with a bar axis, and the cards share the strip's width (scrolling when there
are more than fit)."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPointF, QRectF, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDrag, QFont, QFontDatabase, QFontMetrics, QPainter, QPalette, QPen
from PySide6.QtWidgets import (QApplication, QFrame, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QScrollArea,
                               QSizePolicy, QToolButton, QVBoxLayout, QWidget)

from guigen.app.theme import is_dark, readable
from guigen.app.widgets.roll_notes import ONE_COLOUR, VOICE_COLOURS

CARD_WIDTH = 190  # px at least; cards grow to share the strip's width
TEXT_CARD_WIDTH = 250
AXIS_H = 12  # px: the bar numbers over a small roll


# -- a small piano roll for a card ------------------------------------------------------------------
class MiniRoll(QWidget):
    """The notes of one variation, drawn to fit; the primer shaded; a playhead while it plays."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.notes, self.voices, self.primer_steps, self.total = [], None, 0, 0
        self.scale_total = 0  # steps across the width: the strip's longest (VariationsView.set_scale)
        self.steps_per_bar = 16
        self.playhead: float | None = None
        self.setMinimumHeight(56 + AXIS_H)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("Variation piano roll")

    def set_notes(self, notes, primer_steps: int, voices=None) -> None:
        self.notes, self.primer_steps, self.voices = notes, primer_steps, voices
        self.total = max((n.end for n in notes), default=0)
        self.update()

    def set_playhead(self, step: float | None) -> None:
        self.playhead = step
        self.update()

    def _bars(self, p: QPainter, sx: float, h: float, text: QColor) -> None:
        """Bar lines, and bar numbers above them where there is room: the same for every card."""
        bar = self.steps_per_bar
        total = self.scale_total or self.total
        every = 1
        while every * bar * sx < 18:
            every *= 2
        line = QColor(text)
        line.setAlpha(60)
        font = QFont(self.font())
        font.setPointSizeF(7)
        p.setFont(font)
        for s in range(0, int(total) + 1, bar):
            x = s * sx
            p.setPen(line)
            p.drawLine(QPointF(x, 0), QPointF(x, h))
            if (s // bar) % every == 0:
                p.setPen(text)
                p.drawText(QRectF(x + 2, -AXIS_H, 30, AXIS_H), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                           str(s // bar + 1))

    def paintEvent(self, _):
        p = QPainter(self)
        pal = self.palette()
        base, text = pal.color(QPalette.ColorRole.Base), pal.color(QPalette.ColorRole.Text)
        p.fillRect(self.rect(), base)
        if not self.notes:
            return
        low = min(n.pitch for n in self.notes) - 1
        high = max(n.pitch for n in self.notes) + 1
        w = self.width()
        sx = w / max(self.scale_total or self.total, 1)
        p.translate(0, AXIS_H)
        h = self.height() - AXIS_H
        sy = h / max(high - low + 1, 1)
        shade = QColor(text)
        shade.setAlpha(22)
        if self.primer_steps:
            p.fillRect(QRectF(0, 0, self.primer_steps * sx, h), shade)
        self._bars(p, sx, h, text)
        dark = is_dark(pal)
        colours = [QColor(c).lighter(125) if dark else QColor(c) for c in VOICE_COLOURS]
        one = QColor(86, 180, 233) if dark else ONE_COLOUR
        for i, n in enumerate(self.notes):
            v = self.voices[i] if self.voices is not None else None
            c = colours[v] if v is not None else one  # no voice: the voices cross there (voice_labels)
            y = (high - n.pitch) * sy
            p.fillRect(QRectF(n.start * sx, y, max((n.end - n.start) * sx, 1.0), max(sy * 0.85, 1.5)), c)
        if self.playhead is not None:
            pen = QPen(readable(QColor(220, 40, 40), base, 3.0), 2)
            p.setPen(pen)
            x = self.playhead * sx
            p.drawLine(QPointF(x, 0), QPointF(x, h))


# -- one card ---------------------------------------------------------------------------------------
class VariationCard(QFrame):
    """A variation: its name (drag it out from here or from its roll), its notes or text, and
    Play / Export / Use buttons."""

    play_clicked = Signal(int)
    export_clicked = Signal(int)
    use_clicked = Signal(int)
    star_clicked = Signal(int)

    def __init__(self, index: int, name: str, music: bool, parent=None):
        super().__init__(parent)
        self.index, self.name, self.music = index, name, music
        self.make_file = None  # called to write the file to drag out; returns its path
        self._press = None
        self.playing = False
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setMinimumWidth(CARD_WIDTH if music else TEXT_CARD_WIDTH)  # text needs the room; more when there is
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName(f"Variation {index + 1}: {name}")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 3, 4, 3)
        lay.setSpacing(2)
        self.badge = QLabel(f"<b>v{index + 1}</b>")  # always whole: which one this is
        self.title = QLabel(name)  # the full name, elided from the left when narrow (the vN end stays)
        self.title.setToolTip(f"{name}: drag to a DAW or file manager to drop a {'.mid' if music else '.txt'} file")
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        font = QFont(self.title.font())
        font.setPointSizeF(max(font.pointSizeF() - 1, 7))
        self.title.setFont(font)
        self.title.setCursor(Qt.CursorShape.OpenHandCursor)
        head = QHBoxLayout()
        head.setSpacing(4)
        head.addWidget(self.badge)
        head.addWidget(self.title, 1)
        lay.addLayout(head)
        if music:
            self.roll = MiniRoll()
            self.roll.setToolTip(self.title.toolTip())
            self.roll.setCursor(Qt.CursorShape.OpenHandCursor)
            self.body = self.roll
        else:
            self.roll = None
            self.body = QPlainTextEdit()
            self.body.setReadOnly(True)
            self.body.setAccessibleName(f"Variation {index + 1} text")
            mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
            mono.setPointSize(9)
            self.body.setFont(mono)
            self.body.setMinimumHeight(56)
        lay.addWidget(self.body, 1)
        row = QHBoxLayout()
        row.setSpacing(2)
        self.buttons = {}
        for key, text, tip, signal in (
                ("play", "▶", "Play this variation", self.play_clicked),
                ("export", "Export…", f"Save as a {'.mid' if music else '.txt'} file", self.export_clicked),
                ("star", "☆", "Star this variation's take (in the take list)", self.star_clicked),
                ("use", "Use", "Make this the piece to continue from (then Generate goes on from its end)",
                 self.use_clicked)):
            if key == "play" and not music:
                continue
            b = QToolButton()
            b.setText(text)
            b.setToolTip(tip)
            b.setAccessibleName(f"{tip} ({name})")
            b.clicked.connect(lambda _=False, s=signal: s.emit(self.index))
            row.addWidget(b, 0 if key in ("play", "star") else 1)
            self.buttons[key] = b
        lay.addLayout(row)
        for w in (self.title, self.roll):
            if w is not None:
                w.installEventFilter(self)

    def set_ready(self, ready: bool) -> None:
        for b in self.buttons.values():
            b.setEnabled(ready)

    def set_playing(self, on: bool) -> None:
        """Highlighted while it plays; its Play button is Stop then."""
        self.playing = on
        if "play" in self.buttons:
            b = self.buttons["play"]
            b.setText("■" if on else "▶")
            b.setToolTip("Stop playing" if on else "Play this variation")
        hl = self.palette().color(QPalette.ColorRole.Highlight).name()
        self.setStyleSheet(f"VariationCard {{ border: 2px solid {hl}; }}" if on else "")

    def set_starred(self, on: bool) -> None:
        if "star" in self.buttons:
            self.buttons["star"].setText("★" if on else "☆")

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        m = QFontMetrics(self.title.font())
        self.title.setText(m.elidedText(self.name, Qt.TextElideMode.ElideLeft, max(self.title.width(), 20)))

    def eventFilter(self, obj, ev) -> bool:
        t = ev.type()
        if t == ev.Type.MouseButtonPress and ev.button() == Qt.MouseButton.LeftButton:
            self._press = ev.position().toPoint()
        elif t == ev.Type.MouseMove and self._press is not None:
            if (ev.position().toPoint() - self._press).manhattanLength() > QApplication.startDragDistance():
                self._press = None
                self.drag_out()
                return True
        elif t == ev.Type.MouseButtonRelease:
            self._press = None
        return False

    def drag_out(self) -> None:
        path = self.make_file() if self.make_file else None
        if path:
            mime = QMimeData()
            mime.setUrls([QUrl.fromLocalFile(str(path))])
            drag = QDrag(self)
            drag.setMimeData(mime)
            drag.exec(Qt.DropAction.CopyAction)


# -- the strip of cards ----------------------------------------------------------------------------
class VariationsView(QWidget):
    """A header (what these are; Stop, Export All, Close) over a horizontally scrolling strip of cards."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAccessibleName("Variations")
        self.header = QLabel()
        self.header.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop making variations")
        self.export_all_button = QPushButton("Export All…")
        self.export_all_button.setToolTip("Save every variation into a folder, each under its name")
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setToolTip("Hide the variations")
        self.close_button.setAccessibleName("Hide the variations")
        top = QHBoxLayout()
        top.setContentsMargins(4, 2, 4, 0)
        top.addWidget(self.header, 1)
        for b in (self.stop_button, self.export_all_button, self.close_button):
            top.addWidget(b)
        self.strip = QWidget()
        self.row = QHBoxLayout(self.strip)
        self.row.setContentsMargins(2, 2, 2, 2)
        self.row.setSpacing(4)
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.strip)
        self.scroll.setWidgetResizable(True)
        self.scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)  # when squeezed
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(top)
        lay.addWidget(self.scroll, 1)
        self.cards: list[VariationCard] = []
        self.setMinimumHeight(150)  # a card's name, roll and buttons, the header and the scroll bar

    def set_cards(self, cards: list[VariationCard]) -> None:
        for c in self.cards:
            self.row.removeWidget(c)
            c.deleteLater()
        self.cards = cards
        for i, c in enumerate(cards):
            self.row.insertWidget(i, c, 1)

    def set_scale(self, total_steps: int, steps_per_bar: int = 16) -> None:
        """One time scale for every small roll: the longest variation's steps across each."""
        for c in self.cards:
            if c.roll is not None:
                c.roll.scale_total, c.roll.steps_per_bar = total_steps, steps_per_bar
                c.roll.update()
