"""A guard against a binding bug: on Python < 3.12, PySide6 6.12.0 returns None from every void
method (and True/False from some bool ones) without taking a reference to it, so None's reference count falls by one per call until
Python aborts with "none_dealloc: deallocating None" (after a few seconds of live plotting).

Python 3.12 made None immortal; here we do the same by hand, once, if (and only if) the leak is
measured. None is never freed, so a larger count is harmless. pyproject.toml keeps
PySide6 below 6.12 on Python < 3.12; this guard covers an environment that has 6.12 anyway.
"""

from __future__ import annotations

import ctypes
import sys

BUMP = 1 << 48  # far more void calls than a session can make


def none_leaks() -> bool:
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(100):
        probe.setObjectName("probe")
    return sys.getrefcount(None) < before - 50


_done = False


def apply() -> bool:
    """Make None effectively immortal if the Qt bindings leak it; True if that was needed."""
    global _done
    if _done or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    _done = True
    if not none_leaks():
        return False
    for singleton in (None, True, False):  # the bool returns of some overrides leak the same way
        ctypes.c_ssize_t.from_address(id(singleton)).value += BUMP  # ob_refcnt: a PyObject's first field
    return True
