"""The take list: every take of this session and the sessions before (guigen.app.takes), newest
session first, each take starred or not, named and sized; with buttons to play, continue from,
export, star, delete and undo the delete. Double-click or F2 renames; a take dragged out drops its
file. The list only shows and asks: guigen.app.take_panel does the work."""

from __future__ import annotations

import time

from PySide6.QtCore import QMimeData, Qt, QUrl, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QAbstractItemView, QGridLayout, QPushButton, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)

from guigen.app import theme

TAKE = Qt.ItemDataRole.UserRole  # an item's Take
STAR, NAME, SIZE = 0, 1, 2  # columns
UNFINISHED = ("Unfinished: saved while it was being generated (every 2 s); if the app ended then, "
              "this is what there was")


class _Tree(QTreeWidget):
    """Drags a take out as its file (make_file(take) -> path)."""

    make_file = None

    def mimeTypes(self):
        return ["text/uri-list"]

    def mimeData(self, items):
        mime = QMimeData()
        urls = []
        for item in items:
            take = item.data(NAME, TAKE)
            path = self.make_file(take) if (take is not None and self.make_file) else None
            if path:
                urls.append(QUrl.fromLocalFile(str(path)))
        mime.setUrls(urls)
        return mime

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fit_size_column()

    def fit_size_column(self) -> None:
        """The length column as wide as its texts, up to 40% of the list: "2,934 characters, unfinished"
        as wide as its contents left the names a few pixels in a 220 px dock, and the names matter more."""
        texts = []  # every row's, folded ones too (the view's own size hint sees only rows laid out)
        for i in range(self.topLevelItemCount()):
            top = self.topLevelItem(i)
            texts += [top.text(SIZE)] + [top.child(j).text(SIZE) for j in range(top.childCount())]
        fm = self.fontMetrics()
        want = max([self.header().sectionSizeHint(SIZE)] + [fm.horizontalAdvance(t) + 16 for t in texts])
        self.header().resizeSection(SIZE, max(40, min(want, int(self.viewport().width() * 0.4))))


class TakeList(QWidget):
    play = Signal(object)
    continue_from = Signal(object)
    export = Signal(object)
    starred = Signal(object)
    renamed = Signal(object, str)
    delete = Signal(object)
    undo = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAccessibleName("Takes")
        self.tree = _Tree()
        self.tree.setAccessibleName("Take list")
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["★", "Take", "Length"])
        self.tree.setRootIsDecorated(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        # cut in the middle: names differ at their ends (seed, -vN), which a cut at the right end hid
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        theme.focus_ring(self.tree)  # Fusion shows no focus on it
        self.tree.setToolTip("Every sample made, kept on disk. Double-click or F2 to rename; drag one out to "
                             "drop its file")
        self.tree.header().resizeSection(STAR, 24)
        self.tree.header().resizeSection(SIZE, 70)
        self.setMinimumWidth(180)
        self.tree.header().setStretchLastSection(False)
        self.tree.header().setSectionResizeMode(NAME, self.tree.header().ResizeMode.Stretch)
        self.tree.header().setSectionResizeMode(SIZE, self.tree.header().ResizeMode.Interactive)  # fit_size_column
        for signal in (self.tree.model().rowsInserted, self.tree.model().dataChanged, self.tree.expanded):
            signal.connect(lambda *_: self.tree.fit_size_column())
        self.tree.itemDoubleClicked.connect(lambda item, col: self.rename(item))
        self.tree.itemChanged.connect(self._changed)
        self.tree.currentItemChanged.connect(lambda *_: self._enable())
        # only while the list has focus; Ctrl+Z stays the window's Undo Token (the Undo button brings takes back)
        for key, slot in ((QKeySequence(Qt.Key.Key_F2), lambda: self.rename(self.tree.currentItem())),
                          (QKeySequence(QKeySequence.StandardKey.Delete), lambda: self._ask("delete"))):
            QShortcut(key, self.tree, slot).setContext(Qt.ShortcutContext.WidgetShortcut)
        self.buttons = {}
        grid = QGridLayout()
        grid.setSpacing(3)
        for i, (name, text, tip) in enumerate((
                ("play", "Play", "Play the take (music)"),
                ("continue_from", "Continue", "Start from this take: it becomes the primer"),
                ("export", "Export…", "Save the take's file somewhere"),
                ("starred", "Star", "Star or unstar the take"),
                ("delete", "Delete", "Delete the take (Undo brings it back)"),
                ("undo", "Undo", "Bring back the take deleted last"))):
            b = QPushButton(text)
            b.setToolTip(tip)
            b.setAccessibleName(f"{text.rstrip('…')} take")
            b.clicked.connect(lambda _=False, n=name: self._ask(n))
            grid.addWidget(b, i // 3, i % 3)
            self.buttons[name] = b
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.tree, 1)
        lay.addLayout(grid)
        self._undoable = False
        self._enable()

    # -- contents ---------------------------------------------------------------------------------
    def set_sessions(self, sessions, current: str) -> None:
        """sessions: [(session name, [Take])], newest first; `current` is this session (expanded)."""
        self.tree.blockSignals(True)
        self.tree.clear()
        for name, takes in sessions:
            top = QTreeWidgetItem(["", _session_label(name, current), f"{len(takes)}"])
            top.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.tree.addTopLevelItem(top)
            for take in reversed(takes):  # newest first
                top.addChild(self._item(take))
            top.setExpanded(name == current)
        self.tree.blockSignals(False)
        self._enable()

    def add(self, take, current: str) -> None:
        """A new take of this session, on top of the list, selected."""
        top = self.tree.topLevelItem(0)
        if top is None or top.text(NAME) != _session_label(current, current):
            top = QTreeWidgetItem(["", _session_label(current, current), "0"])
            top.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.tree.insertTopLevelItem(0, top)
        item = self._item(take)
        self.tree.blockSignals(True)
        top.insertChild(0, item)
        top.setText(SIZE, str(top.childCount()))
        top.setExpanded(True)
        self.tree.blockSignals(False)
        self.tree.setCurrentItem(item)

    def refresh(self, take) -> None:
        item = self.item_of(take)
        if item is not None:
            self.tree.blockSignals(True)
            self._fill(item, take)
            self.tree.blockSignals(False)

    def remove(self, take) -> None:
        item = self.item_of(take)
        if item is not None:
            parent = item.parent()
            parent.removeChild(item)
            parent.setText(SIZE, str(parent.childCount()))

    def takes(self) -> list:
        """Every take shown, in list order."""
        out = []
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            out += [top.child(j).data(NAME, TAKE) for j in range(top.childCount())]
        return out

    def item_of(self, take):
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            for j in range(top.childCount()):
                if top.child(j).data(NAME, TAKE) is take:
                    return top.child(j)
        return None

    def current(self):
        item = self.tree.currentItem()
        return item.data(NAME, TAKE) if item is not None else None

    def set_undoable(self, on: bool) -> None:
        self._undoable = on
        self._enable()

    # -- asking -------------------------------------------------------------------------------------
    def rename(self, item) -> None:
        if item is not None and item.data(NAME, TAKE) is not None:
            self.tree.editItem(item, NAME)

    def _ask(self, what: str) -> None:
        if what == "undo":
            self.undo.emit()
            return
        take = self.current()
        if take is not None:
            getattr(self, what).emit(take)

    def _changed(self, item, column: int) -> None:
        take = item.data(NAME, TAKE)
        if take is not None and column == NAME and item.text(NAME).strip() and item.text(NAME) != take.name:
            self.renamed.emit(take, item.text(NAME).strip())

    def _enable(self) -> None:
        take = self.current()
        for name, b in self.buttons.items():
            b.setEnabled(self._undoable if name == "undo" else take is not None)
        if take is not None:
            self.buttons["play"].setEnabled(take.kind == "music")

    @staticmethod
    def _item(take) -> QTreeWidgetItem:
        item = QTreeWidgetItem()
        item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEditable
                      | Qt.ItemFlag.ItemIsDragEnabled)
        TakeList._fill(item, take)
        return item

    @staticmethod
    def _fill(item, take) -> None:
        item.setData(NAME, TAKE, take)
        item.setText(STAR, "★" if take.starred else "")
        item.setText(NAME, take.name)
        unfinished = getattr(take, "unfinished", False)
        item.setText(SIZE, f"{take.size}, unfinished" if unfinished else take.size)
        t = f"T = {take.temperature:g}" if take.temperature is not None else "T not known"
        item.setToolTip(NAME, f"{take.name}\n{take.model} · {t} · top-k {take.top_k or 'off'} · "
                              f"top-p {take.top_p:g} · seed {take.seed}\nprimer: {take.primer or '(none)'}\n"
                              f"{take.source}, {time.strftime('%Y-%m-%d %H:%M', time.localtime(take.created))}\n"
                              f"{take.path}" + (f"\n{UNFINISHED}" if unfinished else ""))
        item.setToolTip(SIZE, f"{take.size}\n{UNFINISHED}" if unfinished else take.size)  # whole, where cut


def _session_label(name: str, current: str) -> str:
    if name == current:
        return "This session"
    try:
        t = time.strptime(name.split("-")[0] + name.split("-")[1], "%Y%m%d%H%M%S")
        return "Session of " + time.strftime("%Y-%m-%d %H:%M", t)
    except (ValueError, IndexError):
        return name
