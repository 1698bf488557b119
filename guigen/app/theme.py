"""Colours that follow the system palette, light or dark, and the WCAG contrast they are held to.

Widgets ask here for their plot colours instead of hard-coding white and black, and re-ask when
Qt tells them the palette changed. `apply(app, "dark")` sets a dark Fusion palette (screenshots,
tests); "light" the Fusion default; None leaves the system's.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QColor, QPainter, QPalette

MIN_CONTRAST = 4.5  # WCAG AA for body text


def luminance(c: QColor) -> float:
    """WCAG relative luminance of an sRGB colour."""
    def lin(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(c.redF()) + 0.7152 * lin(c.greenF()) + 0.0722 * lin(c.blueF())


def contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio, 1 to 21."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable(colour: QColor, background: QColor, ratio: float = 4.5) -> QColor:
    """colour, darkened (on light backgrounds) or lightened (on dark) until it reads at `ratio`."""
    c = QColor(colour)
    dark_bg = luminance(background) < 0.18
    for _ in range(40):
        if contrast(c, background) >= ratio:
            break
        h, s, v, a = c.getHsvF()
        c = QColor.fromHsvF(max(h, 0.0), s * (0.9 if dark_bg else 1.0), min(1.0, v + 0.05) if dark_bg else v * 0.9, a)
        if dark_bg and v >= 1.0:
            c = QColor.fromHsvF(max(h, 0.0), s * 0.8, 1.0, a)
    return c


def is_dark(palette: QPalette | None = None) -> bool:
    palette = palette or _app_palette()
    return luminance(palette.color(QPalette.ColorRole.Base)) < 0.2


def plot_colours(palette: QPalette | None = None) -> dict[str, QColor]:
    """Background, text, grid and accent colours for pyqtgraph plots under this palette."""
    palette = palette or _app_palette()
    dark = is_dark(palette)
    return {
        "background": palette.color(QPalette.ColorRole.Base),
        "text": palette.color(QPalette.ColorRole.Text),
        "bar": QColor(90, 150, 220) if dark else QColor(50, 110, 185),
        "chosen": QColor(240, 140, 40) if dark else QColor(215, 105, 10),
        "raw": QColor(175, 175, 175) if dark else QColor(95, 95, 95),
        "rest": QColor(120, 120, 135) if dark else QColor(170, 170, 185),
        "cut": QColor(255, 120, 120) if dark else QColor(190, 30, 30),
        "highlight": palette.color(QPalette.ColorRole.Highlight),
        "marker": QColor(240, 140, 40) if dark else QColor(215, 105, 10),
    }


def style_plot(plot, c: dict, axes, legend=None) -> None:
    """A pyqtgraph plot's background, axes and legend text in plot_colours `c`."""
    import pyqtgraph as pg

    plot.setBackground(c["background"])
    for axis in axes:
        axis.setPen(pg.mkPen(c["text"]))
        axis.setTextPen(pg.mkPen(c["text"]))
    if legend is not None:
        legend.setLabelTextColor(c["text"])
        for _, label in legend.items:  # setLabelTextColor alone leaves the drawn text as it was
            label.setText(label.text, color=c["text"])


def dark_palette() -> QPalette:
    """A dark palette in the manner of Fusion's dark scheme."""
    p = QPalette()
    R = QPalette.ColorRole
    for role, rgb in ((R.Window, (45, 45, 48)), (R.WindowText, (230, 230, 230)), (R.Base, (30, 30, 32)),
                      (R.AlternateBase, (45, 45, 48)), (R.ToolTipBase, (60, 60, 64)), (R.ToolTipText, (230, 230, 230)),
                      (R.Text, (230, 230, 230)), (R.Button, (55, 55, 58)), (R.ButtonText, (230, 230, 230)),
                      (R.BrightText, (255, 80, 80)), (R.Link, (110, 170, 255)), (R.Highlight, (60, 120, 200)),
                      (R.HighlightedText, (255, 255, 255)), (R.PlaceholderText, (160, 160, 160)),
                      (R.Light, (80, 80, 84)), (R.Midlight, (65, 65, 68)), (R.Mid, (100, 100, 104)),
                      (R.Dark, (25, 25, 27)), (R.Shadow, (0, 0, 0))):
        p.setColor(role, QColor(*rgb))
    for role in (R.WindowText, R.Text, R.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(130, 130, 130))
    return p


def apply(app, name: str | None) -> None:
    """Set the Fusion style with a light or dark palette; None keeps the system's look."""
    if not name:
        return
    if name not in ("light", "dark"):
        raise ValueError(f"the palette is light or dark, not {name!r}")
    app.setStyle("Fusion")
    app.setPalette(dark_palette() if name == "dark" else app.style().standardPalette())


def _app_palette() -> QPalette:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    return app.palette() if app is not None else QPalette()




class _FocusRing(QObject):
    """Paints a 1 px line round the widget's frame and one round its viewport's edge (a 2 px ring in
    all), after Qt has drawn them, while the widget has focus (see focus_ring)."""

    def __init__(self, widget):
        super().__init__(widget)
        self.widget = widget

    def eventFilter(self, obj, ev) -> bool:
        if ev.type() in (QEvent.Type.FocusIn, QEvent.Type.FocusOut):
            self.widget.update()
            self.widget.viewport().update()
        elif ev.type() == QEvent.Type.Paint and self.widget.hasFocus():
            # what Qt draws there first (no filter again, no recursion): the frame, or the contents, which the
            # scroll area paints on its viewport through viewportEvent
            (obj.event if obj is self.widget else self.widget.viewportEvent)(ev)
            p = QPainter(obj)
            p.setPen(self.widget.palette().color(QPalette.ColorRole.Highlight))
            p.drawRect(obj.rect().adjusted(0, 0, -1, -1))
            p.end()
            return True
        return False


def focus_ring(widget) -> None:
    """A 2 px ring in the palette's highlight colour on a text box's or list's edge (a scroll area)
    while it has the keyboard's focus: Fusion marks a focused button or spin box but not these, so
    under Xvfb Tab seemed to vanish into the primer, the text and the take list. (A style sheet
    would have frozen the widget's palette: no dark text view after a palette change.)"""
    ring = _FocusRing(widget)
    widget.installEventFilter(ring)
    widget.viewport().installEventFilter(ring)
