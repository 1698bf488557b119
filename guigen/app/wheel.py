"""The mouse wheel changes only the control that has focus: over an unfocused spin box, dial,
slider or combo box it scrolls what holds them (the controls panel) instead, as in a DAW, so
scrolling the panel never turns a setting by accident. A click or Tab gives a control focus."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (QAbstractScrollArea, QAbstractSlider, QAbstractSpinBox, QApplication, QComboBox,
                               QScrollBar, QWidget)

GUARDED = (QAbstractSpinBox, QAbstractSlider, QComboBox)


class WheelGuard(QObject):
    def eventFilter(self, obj, ev) -> bool:
        if ev.type() != QEvent.Type.Wheel or not isinstance(obj, GUARDED):
            return False
        if obj.hasFocus():
            return False
        area = _scroll_area(obj)
        if area is not None:  # the panel scrolls instead
            QApplication.sendEvent(area.verticalScrollBar(), ev)
        return True


def _scroll_area(w: QWidget) -> QAbstractScrollArea | None:
    p = w.parentWidget()
    while p is not None and not isinstance(p, QAbstractScrollArea):
        p = p.parentWidget()
    return p


def guard(root: QWidget) -> WheelGuard:
    """Guard every spin box, dial, slider and combo box under `root`, now; they take focus on a click
    or Tab, not from the wheel."""
    g = WheelGuard(root)
    for cls in GUARDED:
        for w in root.findChildren(cls):
            if isinstance(w, QScrollBar):  # the wheel is what a scroll bar is for
                continue
            w.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            w.installEventFilter(g)
    return g
