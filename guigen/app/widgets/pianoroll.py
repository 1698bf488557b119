"""The piano roll: notes grow as events stream in; a playhead during playback; drag out a .mid.

Notes are decoded from all the ids so far (primer + generated) by the model's encoding, and
drawn as one BarGraphItem updated in place. Optionally each note is coloured by the probability
of the event that started it.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QMimeData, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDrag
from PySide6.QtWidgets import QApplication

from guigen.app.widgets.textview import prob_colour

NOTE = QColor(70, 130, 200)
PRIMER = QColor(150, 150, 150)


class PianoRoll(pg.PlotWidget):
    """make_midi, when set, is called to write a .mid for dragging out; returns its path."""

    drag_started = Signal()

    def __init__(self, parent=None):
        super().__init__(parent, background="w")
        self.codec = None
        self.primer: list[int] = []
        self.tokens: list[int] = []
        self.probs: list[float] = []
        self.colour = False
        self.notes = []
        self.make_midi = None
        self._press = None
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=True, y=False)
        self.hideButtons()
        self.showGrid(x=True, y=True, alpha=0.2)
        self.setLabel("bottom", "16th-note steps")
        for name in ("left", "bottom"):
            ax = self.getAxis(name)
            ax.setPen(pg.mkPen("k"))
            ax.setTextPen(pg.mkPen("k"))
        self.bars = pg.BarGraphItem(x0=[], y0=[], width=[], height=[], brush=NOTE, pen=pg.mkPen((30, 60, 110)))
        self.addItem(self.bars)
        self.now = pg.InfiniteLine(angle=90, pen=pg.mkPen((230, 120, 20), width=2))
        self.playhead = pg.InfiniteLine(angle=90, pen=pg.mkPen((200, 30, 30), width=2))
        self.playhead.hide()
        self.addItem(self.now)
        self.addItem(self.playhead)
        self.setToolTip("Generated notes. Drag from here to a DAW or file manager to drop a .mid file.")

    def reset(self, codec, primer=()) -> None:
        self.codec, self.primer = codec, [int(t) for t in primer]
        self.tokens, self.probs = [], []
        self._redraw()

    def append_tokens(self, tokens, probs) -> None:
        self.tokens.extend(int(t) for t in tokens)
        self.probs.extend(probs)
        self._redraw()

    def truncate(self, count: int) -> None:
        del self.tokens[count:], self.probs[count:]
        self._redraw()

    def ids(self) -> list[int]:
        return self.primer + self.tokens

    def set_colour(self, on: bool) -> None:
        self.colour = on
        self._redraw()

    def set_playhead(self, step: float | None) -> None:
        if step is None:
            self.playhead.hide()
        else:
            self.playhead.setValue(step)
            self.playhead.show()

    def _redraw(self) -> None:
        if self.codec is None:
            return
        ids = self.ids()
        self.notes = self.codec.decode(ids) if ids else []
        steps = self.codec.count_steps(ids) if ids else 0
        self.now.setValue(steps)
        if not self.notes:
            self.bars.setOpts(x0=[], y0=[], width=[], height=[], brushes=None)
        else:
            start = np.array([n.start for n in self.notes], dtype=float)
            end = np.array([n.end for n in self.notes], dtype=float)
            pitch = np.array([n.pitch for n in self.notes], dtype=float)
            self.bars.setOpts(x0=start, y0=pitch - 0.4, width=end - start, height=np.full(len(pitch), 0.8),
                              brushes=self._brushes(steps))
        self._ranges(steps)

    def _brushes(self, steps: int):
        """Primer notes grey; generated notes blue, or by the probability of the event that began them."""
        primer_steps = self.codec.count_steps(self.primer) if self.primer else 0
        starts = self._event_steps() if self.colour else {}
        out = []
        for n in self.notes:
            if n.start < primer_steps:
                out.append(pg.mkBrush(PRIMER))
            elif self.colour and (n.start, n.pitch) in starts:
                out.append(pg.mkBrush(prob_colour(starts[(n.start, n.pitch)]).darker(115)))
            else:
                out.append(pg.mkBrush(NOTE))
        return out

    def _event_steps(self) -> dict:
        """(step, pitch) -> probability of the generated event that named that pitch at that step."""
        out, step = {}, self.codec.count_steps(self.primer) if self.primer else 0
        label = self.codec.token_label
        for t, p in zip(self.tokens, self.probs):
            name = label(t)
            if name and name[0] in "ABCDEFG" and not name.endswith("held"):
                from guigen.music.events import NOTE_NAMES

                pitch_class = NOTE_NAMES.index(name[:2] if len(name) > 1 and name[1] == "#" else name[0])
                octave = int(name.lstrip("ABCDEFG#").split()[0])
                out[(step, (octave + 1) * 12 + pitch_class)] = p
            if self.codec.ends_step(t):
                step += 1
        return out

    def _ranges(self, steps: int) -> None:
        if self.notes:
            low = min(n.pitch for n in self.notes)
            high = max(n.pitch for n in self.notes)
        else:
            low, high = 60, 72
        mid = (low + high) / 2
        half = max((high - low) / 2 + 2, 7)
        self.setYRange(mid - half, mid + half, padding=0)
        self.setXRange(max(0, steps - 128), max(steps + 4, 64), padding=0)
        ticks = [(p, f"C{p // 12 - 1}") for p in range(0, 128, 12)]
        self.getAxis("left").setTicks([ticks, [(p, "") for p in range(128)]])

    # -- drag a .mid out --------------------------------------------------------------------
    def mousePressEvent(self, ev) -> None:
        self._press = ev.position().toPoint() if ev.button() == Qt.MouseButton.LeftButton else None
        super().mousePressEvent(ev)

    def mouseMoveEvent(self, ev) -> None:
        if (self._press is not None and self.make_midi is not None and self.notes
                and (ev.position().toPoint() - self._press).manhattanLength() > QApplication.startDragDistance()):
            self._press = None
            path = self.make_midi()
            if path:
                mime = QMimeData()
                mime.setUrls([QUrl.fromLocalFile(str(path))])
                drag = QDrag(self)
                drag.setMimeData(mime)
                self.drag_started.emit()
                drag.exec(Qt.DropAction.CopyAction)
            return
        super().mouseMoveEvent(ev)
