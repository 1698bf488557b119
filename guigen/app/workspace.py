"""The window's work area right of the controls: the output (text view or piano roll) over the
bottom panel, in one vertical splitter. The bottom panel holds the distribution panel (the
next-token histogram beside the entropy curve) and, once variations are made, the variations strip,
as tabs: one shows at a time, so the piano roll keeps its room with the variations open too (with
the strip as a third row the roll had a third of the height). The tab bar shows only with two tabs.

The bottom panel can be dragged smaller or collapsed, the distribution hidden (View > Distribution);
the split is kept per mode, because music and text want different rooms: in music mode the piano
roll is the main thing to see and takes about two thirds of the height. Both splits and whether
the distribution shows are kept in the settings.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QHBoxLayout, QSplitter, QStackedWidget, QTabWidget, QWidget

from guigen.app.widgets.histogram import Histogram
from guigen.app.widgets.tempcurve import TemperatureCurve
from guigen.app.widgets.textview import TextView

# the output's share of the splitter's height, per mode, until the user drags the split
OUTPUT_SHARE = {"music": 0.7, "text": 0.6}
CURVE_WIDTH = (170, 300)  # px: the entropy curve beside the histogram, at least and at most (a third of the panel)
NARROW_PANEL = 440  # px: under this the curve steps aside, the histogram keeps the room (800 px wide with Takes open)


def make_dock(window, dock: QDockWidget, name: str, menu_text: str | None = None) -> QDockWidget:
    """Put `dock` on the window's right, named for the saved layout, shown and hidden from View."""
    dock.setObjectName(name)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    toggle = dock.toggleViewAction()
    if menu_text:
        toggle.setText(menu_text)
    window.menus["&View"].addAction(toggle)
    return dock


class DistributionPanel(QWidget):
    """The histogram with the entropy curve on its right."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.histogram = Histogram()
        self.curve = TemperatureCurve()
        self.curve.setFixedWidth(CURVE_WIDTH[0])
        self.setAccessibleName("Distribution")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(6)
        lay.addWidget(self.histogram, 1)
        lay.addWidget(self.curve, 0, Qt.AlignmentFlag.AlignTop)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.curve.setFixedWidth(int(min(CURVE_WIDTH[1], max(CURVE_WIDTH[0], self.width() * 0.3))))
        # beside the curve a narrow histogram was 50 px wide, its header and legend cut (seen under Xvfb)
        self.curve.setVisible(self.width() >= NARROW_PANEL)


class Workspace(QSplitter):
    """views (a stack: the text view, and the piano roll once a music model comes) over `bottom`
    (tabs: the distribution panel, and pages that join later: the variations strip)."""

    def __init__(self, settings, parent=None):
        super().__init__(Qt.Orientation.Vertical, parent)
        self.settings = settings
        self.mode = ""  # "text" or "music": which split is in force
        self.text_view = TextView()
        self.text_view.setAccessibleName("Generated text")
        self.views = QStackedWidget()
        self.views.addWidget(self.text_view)
        self.distribution = DistributionPanel()
        self.bottom = QTabWidget()
        self.bottom.setDocumentMode(True)  # no frame round the pages: the histogram keeps its room
        self.bottom.setTabBarAutoHide(True)  # one page (the distribution alone): no tab bar
        self.bottom.setAccessibleName("Distribution and variations")
        self.bottom.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # its tab bar takes focus (hidden, it held Tab up)
        # nor as the tab bar's proxy: Tab from the last take button came to the tab bar through it, and
        # went round the bottom panel and the takes without ever reaching the left panel again
        self.bottom.setFocusProxy(None)
        self.bottom.tabBar().setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.addWidget(self.views)
        self.addWidget(self.bottom)
        self.setChildrenCollapsible(False)
        self.setCollapsible(1, True)
        self.setStretchFactor(0, 3)
        self.setStretchFactor(1, 1)
        self.toggle = QAction("&Distribution", self)
        self.toggle.setCheckable(True)
        self.toggle.setChecked(bool(settings.get("window/distribution")))
        self.toggle.setToolTip("Show the next-token histogram and the entropy curve under the output")
        self.toggle.toggled.connect(self._show_distribution)
        if self.toggle.isChecked():
            self.bottom.addTab(self.distribution, "Distribution")
        else:
            self.distribution.hide()
            self.bottom.hide()

    def _show_distribution(self, on: bool) -> None:
        if on:
            self.show_page(self.distribution, "Distribution", 0)
        else:
            self.close_page(self.distribution)
        self.settings.set("window/distribution", bool(on))

    def show_page(self, page: QWidget, title: str, index: int = -1) -> None:
        """Show `page` in the bottom panel (a tab of its own, at `index`), the panel shown at its split."""
        if self.bottom.indexOf(page) < 0:
            self.bottom.insertTab(index, page, title)
        self.bottom.setCurrentWidget(page)
        if not self.bottom.isVisibleTo(self):
            self.bottom.show()
            if self.mode:
                self._restore_split()

    def close_page(self, page: QWidget) -> None:
        """Take `page` out of the bottom panel; the panel goes with its last page (its split kept)."""
        i = self.bottom.indexOf(page)
        if i < 0:
            return
        if self.bottom.count() == 1:
            self.remember()  # the split to come back to
            self.bottom.hide()
        self.bottom.removeTab(i)
        page.hide()

    def _restore_split(self) -> None:
        state = self.settings.get(f"window/split_{self.mode}")
        if not (state and self.restoreState(QByteArray(state))):
            self.share(OUTPUT_SHARE[self.mode])

    def set_mode(self, mode: str) -> None:
        """Music or text: keep the split of the mode left, take the one of the mode entered (its
        remembered split, else the output at OUTPUT_SHARE of the height)."""
        if mode == self.mode:
            return
        if self.mode:
            self.remember()
        self.mode = mode
        if self.bottom.isVisibleTo(self):
            self._restore_split()

    def share(self, output: float) -> None:
        """Give the output `output` of the height and the rest to the bottom panel."""
        total = sum(self.sizes()) or max(self.height(), 1)
        self.setSizes([int(total * output), total - int(total * output)])

    def remember(self) -> None:
        """Keep the split of the mode in force (while the bottom panel shows: the split to come back to)."""
        if self.mode and self.bottom.isVisibleTo(self):
            self.settings.set(f"window/split_{self.mode}", bytes(self.saveState().data()))
