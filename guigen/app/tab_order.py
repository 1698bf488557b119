"""Keyboard order: Tab goes through the window as one reads it, top to bottom, left to right: the
model, the temperature, the sampling settings and length, the primer, the view options, the
transport, variations, the generation buttons; then the output (the piano roll's view buttons, or
the text), the bottom panel's tabs (with variations), the variation cards, the histogram, and the
take list with its buttons. Plots and scroll areas that do nothing with keys are left out of it
(NoFocus), so every stop shows focus."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget


def _chain(window) -> list[QWidget]:
    w = window
    out = [w.model_combo, w.panel.open_button, w.dial.dial, w.dial.spin, w.top_k, w.top_p, w.seed, w.length]
    ml = getattr(w, "music_length", None)
    if ml is not None:
        out += [ml.bars, ml.beats]
    out += [w.primer, w.primer_button, *w.checks.values()]
    t = getattr(w, "transport", None)
    if t is not None:
        out += [*t.buttons.values(), t.loop, t.tempo, t.instrument]
    v = getattr(w, "variations", None)
    if v is not None:
        out += [v.count, v.button]
    out += [w.panel.buttons[n] for n in ("generate", "pause", "step", "stop", "undo", "clear")]
    roll = w.piano_roll
    if roll is not None:
        out += [b for b in roll.findChildren(QWidget) if b.parent() is roll and b.focusPolicy() != Qt.FocusPolicy.NoFocus
                and b is not roll.plot]
    out += [w.text_view, w.splitter.bottom.tabBar()]  # the tab bar: with variations (arrows pick the tab)
    if v is not None:
        for card in v.view.cards:
            out += [b for b in card.buttons.values()]
        out += [v.view.stop_button, v.view.export_all_button, v.view.close_button]
    out.append(w.histogram)
    takes = getattr(w, "takes", None)
    if takes is not None:
        out += [takes.list.tree, *takes.list.buttons.values()]
    return out


def apply(window) -> list[QWidget]:
    """Set the order (again: the piano roll and the variation cards come and go). The chain, for tests."""
    w = window
    quiet = [w.histogram.plot, w.curve.plot, w.panel.scroll]
    if w.piano_roll is not None:
        quiet.append(w.piano_roll.plot)
    v = getattr(w, "variations", None)
    if v is not None:
        quiet.append(v.view.scroll)
    for q in quiet:
        q.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    chain = _chain(window)
    for a, b in zip(chain, chain[1:]):
        QWidget.setTabOrder(a, b)
    return chain


def attach(window) -> None:
    apply(window)
    window.model_loaded.connect(lambda _m: apply(window))
    v = getattr(window, "variations", None)
    if v is not None:
        v.started.connect(lambda: apply(window))
