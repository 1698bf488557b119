"""The window's size and docks: restored from the settings, or at the first start fitted to the
screen, so a small screen (1024x640, 800x600) shows the whole window, buttons and all, rather than
a 1280x800 window running off its edges."""

from __future__ import annotations

from PySide6.QtCore import QByteArray
from PySide6.QtGui import QGuiApplication

DEFAULT_SIZE = (1280, 800)
FRAME = (8, 40)  # px: room left for a window manager's borders and title bar, which Qt cannot know before showing


def first_size(window) -> tuple[int, int]:
    """DEFAULT_SIZE, or the screen's available room where that is smaller."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        return DEFAULT_SIZE
    room = screen.availableGeometry()
    return min(DEFAULT_SIZE[0], room.width() - FRAME[0]), min(DEFAULT_SIZE[1], room.height() - FRAME[1])


def restore(window) -> None:
    s = window.settings
    if s.get("window/geometry"):
        window.restoreGeometry(QByteArray(s.get("window/geometry")))  # Qt keeps it on a screen it fits
    else:
        window.resize(*first_size(window))
    if s.get("window/state"):  # the docks: takes, cells
        window.restoreState(QByteArray(s.get("window/state")))


def save(window) -> None:
    s = window.settings
    s.set("window/geometry", bytes(window.saveGeometry().data()))
    s.set("window/state", bytes(window.saveState().data()))
