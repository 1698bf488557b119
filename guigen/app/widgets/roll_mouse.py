"""The piano roll's mouse: the wheel scrolls (Ctrl + wheel zooms); a click on a key auditions it; a
click on the ruler or the notes sets where playback starts; a drag along the ruler marks a loop; a
drag over the notes drops a .mid file; hovering a note names it (pitch, voice, bar.beat,
probability)."""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QApplication, QToolTip

from guigen.app.widgets.roll_notes import VOICE_NAMES
from guigen.app.widgets.roll_ruler import bar_beat, metre_steps
from guigen.music.events import pitch_name


def note_text(roll, i: int) -> str:
    """'E4 · Alto · bar 2.3 · p 0.41': what hovering note i shows."""
    n = roll.notes[i]
    parts = [pitch_name(n.pitch)]
    voices = roll.voices
    if voices is not None:
        parts.append(VOICE_NAMES[voices[i]] if voices[i] is not None else "voice unclear (the voices cross here)")
    parts.append(f"bar {bar_beat(n.start, roll.time_signature)}")
    if n.start < roll.primer_steps:
        parts.append("primer")
    else:
        p = roll._note_probs[i]
        if p is not None:
            parts.append(f"p {p:.2f}" if p >= 0.01 else f"p {p:.1e}")
        else:
            parts.append("held from before")
    return " · ".join(parts)


class RollMouse(QObject):
    """Installed on the roll's plot viewport (see PianoRoll)."""

    def __init__(self, roll):
        super().__init__(roll)
        self.roll = roll
        self.press = None  # (where: "notes" | "ruler", viewport point, step)

    # -- where a point is ---------------------------------------------------------------------------
    def _where(self, pos) -> tuple[str, float, float]:
        """("keys" | "ruler" | "notes" | "", step, pitch) under a viewport point."""
        roll = self.roll
        scene = roll.plot.mapToScene(pos)
        v = roll.view.mapSceneToView(scene)
        if roll.keys.sceneBoundingRect().contains(scene):
            return "keys", v.x(), v.y()
        if roll.ruler.sceneBoundingRect().contains(scene):
            return "ruler", v.x(), v.y()
        if roll.view.sceneBoundingRect().contains(scene):
            return "notes", v.x(), v.y()
        return "", v.x(), v.y()

    def note_at(self, step: float, pitch: float) -> int | None:
        """The index of the note sounding at (step, pitch), or None."""
        return self.roll.note_at(step, pitch)

    def _beat(self, step: float) -> int:
        beat, _ = metre_steps(self.roll.time_signature)
        return max(0, int(round(step / beat)) * beat)

    # -- events ---------------------------------------------------------------------------------------
    def eventFilter(self, obj, ev) -> bool:
        t = ev.type()
        roll = self.roll
        if t == QEvent.Type.Wheel:
            delta = ev.angleDelta().y() or ev.angleDelta().x()
            if delta:
                if ev.modifiers() & Qt.KeyboardModifier.ControlModifier:
                    anchor = roll.view.mapSceneToView(roll.plot.mapToScene(ev.position().toPoint())).x()
                    roll.zoom(0.8 if delta > 0 else 1.25, anchor)
                else:
                    roll.scroll_to(roll.view_range()[0] - delta / 120 * roll.span / 8)
            return True
        if t == QEvent.Type.MouseButtonPress and ev.button() == Qt.MouseButton.LeftButton:
            pos = ev.position().toPoint()
            where, step, pitch = self._where(pos)
            if where == "keys":
                roll.key_clicked.emit(int(round(pitch)))
                return True
            self.press = (where, pos, step) if where in ("ruler", "notes") else None
            return where == "ruler"
        if t == QEvent.Type.MouseMove:
            pos = ev.position().toPoint()
            if self.press is None:
                self._hover(ev)
                return False
            where, start, step0 = self.press
            if (pos - start).manhattanLength() <= QApplication.startDragDistance():
                return True
            if where == "notes":
                self.press = None
                roll.drag_out()
                return True
            _, step, _ = self._where(pos)
            a, b = sorted((self._beat(step0), self._beat(step)))
            if b > a:
                roll.set_loop((a, b))
            return True
        if t == QEvent.Type.MouseButtonRelease and self.press is not None:
            where, start, step = self.press
            self.press = None
            if (ev.position().toPoint() - start).manhattanLength() <= QApplication.startDragDistance():
                roll.set_play_from(self._beat(step) if where == "ruler" else max(0, math.floor(step)))
            return where == "ruler"
        if t == QEvent.Type.MouseButtonDblClick:
            where, _, _ = self._where(ev.position().toPoint())
            if where == "ruler":
                roll.set_loop(None)
                roll.set_play_from(0)
                return True
        if t == QEvent.Type.ToolTip and roll.hover_text:
            # the note's own text; left to the view, the scene found no item tooltip and hid it (under Xvfb
            # the note's name showed for a moment and went)
            QToolTip.showText(ev.globalPos(), roll.hover_text, roll.plot.viewport())
            return True
        if t == QEvent.Type.Leave:
            roll.hover_text = ""
        return False

    def _hover(self, ev) -> None:
        roll = self.roll
        where, step, pitch = self._where(ev.position().toPoint())
        i = self.note_at(step, pitch) if where == "notes" else None
        if where == "keys":
            text = f"{pitch_name(int(round(pitch)))}: click to hear it"
        elif where == "ruler":
            text = "Click: play from here; drag: loop these beats; double-click: clear both"
        else:
            text = note_text(roll, i) if i is not None else ""
        roll.hover_text = text
        gpos = roll.plot.viewport().mapToGlobal(ev.position().toPoint())
        if text:
            QToolTip.showText(gpos, text, roll.plot.viewport())
        else:
            QToolTip.hideText()
