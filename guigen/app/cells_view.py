"""The Cells view: a dock that colours the text view or the piano roll by one LSTM cell's activation
(primer included, following generation live), ranks the cells that best follow each feature of
what is shown, and, under the mouse, names the cells most active at that character or note.

Activations are recorded only while the dock is open: the worker's Generator then keeps its
state after each token (guigen.core.generate, `cells`), and each batch's activations come with
the batch. Opened in the middle of a sample, the tokens before are run through the model once, in
the generation process (guigen.app.engine's history), so the view can colour them too.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (QComboBox, QDockWidget, QFormLayout, QLabel, QPushButton, QSpinBox, QToolTip,
                               QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from guigen.core import cells, features
from guigen.core.diverging import LEVELS, colour, shades

KIND_LABELS = {"cell": "cell state (tanh c)", "hidden": "hidden output h"}
TOP = 3  # cells listed per feature
HOVER_TOP = 5  # cells named under the mouse
ROLL_MS = 150  # live, the piano roll is recoloured at most this often


def _qshades() -> list[tuple[QColor, QColor]]:
    return [(QColor(*bg), QColor(*fg)) for bg, fg in shades()]


def shade_index(values: np.ndarray) -> np.ndarray:
    """The shade (0 to LEVELS - 1) of each activation in [-1, 1]."""
    v = np.nan_to_num(np.clip(values, -1, 1))
    return np.rint((v + 1) / 2 * (LEVELS - 1)).astype(int)


class Legend(QWidget):
    """The colour map, -1 (blue) to +1 (red), with its ends and middle named."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumHeight(34)
        self.setToolTip("Each character (or note) is coloured by the chosen cell's activation after reading it")

    def paintEvent(self, _):
        p = QPainter(self)
        w, h = self.width() - 16, 14
        for x in range(w):
            p.fillRect(8 + x, 2, 1, h, QColor(*colour(-1 + 2 * x / max(w - 1, 1))))
        p.setPen(self.palette().color(self.foregroundRole()))
        p.drawRect(QRectF(8, 2, w, h))
        a = Qt.AlignmentFlag
        for text, x, align in (("−1", 8, a.AlignLeft), ("0", 8 + w / 2 - 20, a.AlignHCenter),
                               ("+1", 8 + w - 40, a.AlignRight)):
            p.drawText(QRectF(x, h + 3, 40, 16), align, text)


class CellsDock(QDockWidget):
    """The dock; `window` is the MainWindow (its worker, views and signals)."""

    def __init__(self, window):
        super().__init__("Cells", window)
        self.win = window
        self.shades = _qshades()
        self.rec: cells.Recording | None = None  # activations of tokens 0, 1, ... (primer included)
        self.pending: list | None = None  # chunks that came while the history runs
        self.epoch = 0  # bumped on a new model or sample: late history results are dropped
        self.ranked: dict[str, list] = {}  # feature -> its best cells (Ranked), from the last ranking
        self.table: dict[str, np.ndarray] = {}  # feature -> r of every cell (layers, H), and for which kind
        self.table_kind = ""
        self.hooked_roll = None
        self.roll_timer = QTimer(self)
        self.roll_timer.setSingleShot(True)
        self.roll_timer.setInterval(ROLL_MS)
        self.roll_timer.timeout.connect(self.paint)
        self._build()
        window.generation.worker.cells.connect(self._recorded)
        window.model_loaded.connect(self._model)
        window.undone.connect(self._undone)
        window.state_changed.connect(self._state)
        window.generation.worker.history.connect(self._history_done)
        show = self.toggleViewAction()
        show.setText("&Cells")
        show.setShortcut("Ctrl+Shift+C")
        show.setStatusTip("Show the Cells view: colour the output by one LSTM cell, find cells that mean something")
        self.visibilityChanged.connect(self._visible)
        # the views redraw their own colouring when it is switched: paint over it again, after them
        window.actions["colour_by_prob"].toggled.connect(lambda _: QTimer.singleShot(0, self.paint))
        window.text_view.viewport().setMouseTracking(True)
        window.text_view.viewport().installEventFilter(self)

    # -- layout ----------------------------------------------------------------------------------
    def _build(self) -> None:
        body = QWidget()
        lay = QVBoxLayout(body)
        form = QFormLayout()
        self.layer = QSpinBox()
        self.kind = QComboBox()
        for k in cells.KINDS:
            self.kind.addItem(KIND_LABELS[k], k)
        self.cell = QSpinBox()
        self.feature = QComboBox()
        self.feature.setToolTip("Colour by the cell that follows this feature best over what is shown")
        form.addRow("Layer", self.layer)
        form.addRow("Show", self.kind)
        form.addRow("Cell", self.cell)
        form.addRow("Best cell for", self.feature)
        lay.addLayout(form)
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        lay.addWidget(self.heading)
        self.legend = Legend()
        lay.addWidget(self.legend)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Feature / cell", "r"])
        self.tree.setToolTip("The cells whose activation follows each feature best over what is shown "
                             "(Pearson r); click one to colour the view by it")
        self.tree.setRootIsDecorated(True)
        lay.addWidget(self.tree, 1)
        self.rank_button = QPushButton("Rank Cells Again")
        self.rank_button.setToolTip("Rank the cells over everything shown now (done by itself when generation "
                                    "pauses or stops)")
        lay.addWidget(self.rank_button)
        self.info = QLabel("Open while generating: every character (or note) is coloured by one cell.")
        self.info.setWordWrap(True)
        lay.addWidget(self.info)
        self.setWidget(body)
        self.layer.valueChanged.connect(self._choose)
        self.cell.valueChanged.connect(self._choose)
        self.kind.currentIndexChanged.connect(self._choose)
        self.feature.activated.connect(self._feature_chosen)
        self.tree.itemClicked.connect(self._clicked)
        self.rank_button.clicked.connect(self.rank)

    # -- what is shown ------------------------------------------------------------------------------
    @property
    def model(self):
        return self.win.model

    def _music(self) -> bool:
        return self.model is not None and self.model.kind == "music"

    def tokens(self) -> list[int]:
        """Every token fed so far, primer included, as the views hold them."""
        if self.model is None:
            return []
        if self._music():
            roll = self.win.piano_roll
            return roll.ids() if roll is not None else []
        index = self.model.codec.index
        return list(self.win.generation.worker.primer) + [index[c] for c in self.win.text_view.chars]

    def _hidden_tokens(self) -> int:
        """Tokens fed but not shown in the text view: the line break fed for an empty primer."""
        return max(len(self.win.generation.worker.primer) - len(self.win.text_view.primer), 0)

    @property
    def acts(self) -> np.ndarray | None:
        """(T, layers, 2, H) for tokens 0 .. T - 1, primer included; None while closed."""
        return None if self.rec is None else self.rec.array

    def _width(self) -> tuple[int, int, int]:
        c = self.model.config  # an ensemble's networks' layers one after another
        return c.layers * c.members, 2, c.hidden

    def kind_name(self) -> str:
        return self.kind.currentData()

    def values(self) -> np.ndarray:
        """The chosen cell's activation at every token recorded."""
        if self.acts is None or not len(self.acts):
            return np.zeros(0)
        return self.acts[:, self.layer.value(), cells.KINDS.index(self.kind_name()), self.cell.value()]

    # -- recording --------------------------------------------------------------------------------
    def _visible(self, on: bool) -> None:
        self.win.generation.send("cells", bool(on))
        if on:
            self.paint()
        else:
            self.rec, self.pending = None, None
            self.epoch += 1
            self._uncolour()

    def _model(self, model) -> None:
        self.epoch += 1
        self.rec, self.pending, self.ranked, self.table = None, None, {}, {}
        cfg = model.config
        self.layer.setRange(0, cfg.layers - 1)
        self.cell.setRange(0, cfg.hidden - 1)
        self.feature.clear()
        self.feature.addItem("(choose a feature)", None)
        for name in features.names(model.kind):
            self.feature.addItem(name, name)
        self.tree.clear()
        self._hook_roll()
        self._heading()

    def _recorded(self, start: int, acts) -> None:
        """Activations of tokens start, start + 1, ... from the worker (None: recording begins at start)."""
        if not self.isVisible() or self.model is None:
            return
        acts = np.zeros((0, *self._width()), np.float32) if acts is None else acts
        if start == 0:  # a new sample
            self.epoch += 1
            self.rec, self.pending = cells.Recording(self._width()), None
            self.rec.put(0, acts)
            self.paint()
            return
        if self.pending is not None:  # the history is still running
            self.pending.append((start, acts))
            return
        have = 0 if self.rec is None else len(self.rec)
        if start <= have:
            self.rec.put(start, acts)
            self.paint(start, live=True)
        else:  # opened mid-sample: what came before is run through the model once, in the model's process
            self.pending = [(start, acts)]
            self._run_history(start)

    def _run_history(self, upto: int) -> None:
        tokens = self.tokens()[:upto]
        self.info.setText(f"Running the {len(tokens):,} tokens shown through the model…")
        self.win.generation.send("history", (self.epoch, [int(t) for t in tokens]))

    def _history_done(self, epoch: int, acts) -> None:
        if epoch != self.epoch or self.pending is None:
            return
        self.rec = cells.Recording(self._width())
        if acts is not None:
            self.rec.put(0, acts)
        pending, self.pending = self.pending, None
        for start, chunk in pending:
            if start <= len(self.rec):
                self.rec.put(start, chunk)
        self.paint()
        if self.win.state in ("paused", "stopped"):
            self.rank()

    def _undone(self, count: int) -> None:
        if self.rec is not None:
            self.rec.truncate(len(self.win.generation.worker.primer) + count)

    def _state(self, state: str) -> None:
        if state in ("paused", "stopped") and self.isVisible():
            self.rank()

    # -- colouring --------------------------------------------------------------------------------
    def _choose(self, *_) -> None:
        self._heading()
        self.paint()

    def paint(self, start: int = 0, live: bool = False) -> None:
        """Colour the view by the chosen cell from token `start` on. Live batches of music wait for the
        roll timer: the roll redraws every note to recolour them, so at most every ROLL_MS."""
        if not self.isVisible() or self.model is None or self.acts is None:
            return
        if self._music() and live:
            if not self.roll_timer.isActive():
                self.roll_timer.start()
            return
        shade = shade_index(self.values())
        if self._music():
            roll = self.win.piano_roll
            if roll is None:
                return
            ends = self._step_ends()
            roll.set_step_colours([self.shades[shade[t]][0] for t in ends if t < len(shade)])
        else:
            hidden = self._hidden_tokens()
            first = max(start, hidden)
            self.win.text_view.set_char_colours(first - hidden, [self.shades[i] for i in shade[first:]])
        self._heading()

    def _uncolour(self) -> None:
        self.win.text_view._redraw()  # its own colouring again (see TextView.set_char_colours)
        if self.win.piano_roll is not None:
            self.win.piano_roll.set_step_colours(None)

    def _step_ends(self) -> list[int]:
        """For each step of the music, the token that ends it (the latest, for the step under way)."""
        codec = self.model.codec
        ends = [t for t, i in enumerate(self.tokens()) if codec.ends_step(i)]
        n = len(self.tokens())
        if n and (not ends or ends[-1] != n - 1):
            ends.append(n - 1)
        return ends

    def _heading(self) -> None:
        layer, cell, kind = self.layer.value(), self.cell.value(), self.kind_name()
        text = f"<b>Layer {layer}, cell {cell}</b> ({KIND_LABELS[kind]})"
        if self.table and self.table_kind == kind:  # its strongest correlations in the last ranking
            rs = sorted(((float(r[layer, cell]), name) for name, r in self.table.items()), key=lambda x: -abs(x[0]))
            text += "<br>r over what is shown: " + ", ".join(f"<b>{name}</b> {r:+.2f}" for r, name in rs[:2])
        self.heading.setText(text)
        n = 0 if self.acts is None else len(self.acts)
        if self.pending is None:
            self.info.setText(f"{n:,} tokens recorded." if n else
                              "Generate (or step) to see the cells: recording runs while this view is open.")

    # -- features ---------------------------------------------------------------------------------
    def sample_features(self) -> dict[str, np.ndarray]:
        tokens = self.tokens()[:len(self.acts)]
        if self._music():
            codec = getattr(self.win, "codec", None) or self.model.codec
            return features.music_features(codec, tokens)
        return features.text_features(self.model.codec.decode(tokens))

    def rank(self) -> None:
        """Rank the cells for every feature over the tokens recorded; list the best few."""
        if self.model is None or self.acts is None or len(self.acts) < 2:
            return
        feats = self.sample_features()
        n = min(len(self.acts), *(len(f) for f in feats.values()))
        acts = self.acts[:n]
        r = cells.table(acts, {k: f[:n] for k, f in feats.items()}, self.kind_name())
        self.table, self.table_kind = r, self.kind_name()
        self.ranked = {}
        self.tree.clear()
        for name, f in feats.items():
            item = QTreeWidgetItem([name, ""])
            defined = f[:n][np.isfinite(f[:n])]
            if len(defined) < 2 or defined.std() == 0:
                item.setText(1, "constant")
                item.setToolTip(0, f"{name} does not change over what is shown: no cell can follow it")
                self.ranked[name] = []
            else:
                self.ranked[name] = found = cells.best(r[name], self.kind_name(), TOP)
                for c in found:
                    child = QTreeWidgetItem([f"layer {c.layer} cell {c.cell}", f"{c.r:+.2f}"])
                    child.setData(0, Qt.ItemDataRole.UserRole, (c.layer, c.cell))
                    item.addChild(child)
            self.tree.addTopLevelItem(item)
        self.tree.expandAll()
        self.tree.resizeColumnToContents(0)
        self._heading()

    def _clicked(self, item, _column=0) -> None:
        where = item.data(0, Qt.ItemDataRole.UserRole)
        if where:
            self.select(*where)

    def _feature_chosen(self, index: int) -> None:
        name = self.feature.itemData(index)
        if not name:
            return
        if name not in self.ranked:
            self.rank()
        found = self.ranked.get(name)
        if found:
            self.select(found[0].layer, found[0].cell)
        else:
            self.info.setText(f"No cell to show for {name}: it is constant over what is shown.")

    def choose(self, spec: str) -> None:
        """Colour by `spec`: a feature's name (its best cell over what is shown) or LAYER:CELL
        (`guigen app --cells`); ValueError names what is wrong."""
        if self.model is None:
            raise ValueError("no model loaded")
        names = features.names(self.model.kind)
        if spec in names:
            self.rank()
            found = self.ranked.get(spec)
            if not found:
                raise ValueError(f"{spec} is constant over what is shown: no cell follows it")
            self.feature.setCurrentIndex(self.feature.findData(spec))
            self.select(found[0].layer, found[0].cell)
            return
        try:
            layer, cell = (int(v) for v in spec.split(":"))
        except ValueError:
            raise ValueError(f"--cells {spec!r}: give a feature ({', '.join(names)}) or LAYER:CELL") from None
        cfg = self.model.config
        if not (0 <= layer < cfg.layers and 0 <= cell < cfg.hidden):
            raise ValueError(f"--cells {spec}: the model has layers 0-{cfg.layers - 1}, cells 0-{cfg.hidden - 1}")
        self.rank()
        self.select(layer, cell)

    def select(self, layer: int, cell: int) -> None:
        """Colour by this cell."""
        self.layer.blockSignals(True)
        self.layer.setValue(layer)
        self.layer.blockSignals(False)
        self.cell.setValue(cell)  # repaints
        self._choose()

    # -- hovering ---------------------------------------------------------------------------------
    def _hook_roll(self) -> None:
        roll = self.win.piano_roll
        if roll is not None and roll is not self.hooked_roll:
            roll.plot.viewport().setMouseTracking(True)
            roll.plot.viewport().installEventFilter(self)
            self.hooked_roll = roll

    def describe(self, t: int, what: str) -> str:
        """The cells most active after token t, as a tooltip."""
        top = cells.top_at(self.acts[t], self.kind_name(), HOVER_TOP)
        lines = [f"{what}: most active cells ({KIND_LABELS[self.kind_name()]})"]
        lines += [f"layer {layer} cell {cell}: {v:+.2f}" for layer, cell, v in top]
        lines.append(f"chosen, layer {self.layer.value()} cell {self.cell.value()}: {self.values()[t]:+.2f}")
        return "\n".join(lines)

    def eventFilter(self, obj, ev) -> bool:
        if ev.type() == QEvent.Type.MouseMove and self.isVisible() and self.acts is not None and len(self.acts):
            tip = self._tip_at(obj, ev.position())
            if tip:
                QToolTip.showText(ev.globalPosition().toPoint(), tip, obj)
            else:
                QToolTip.hideText()
        return False

    def _tip_at(self, obj, pos: QPointF) -> str | None:
        if obj is self.win.text_view.viewport():
            view = self.win.text_view
            cur = view.cursorForPosition(pos.toPoint())
            i = cur.position() - (1 if view.cursorRect(cur).center().x() > pos.x() else 0)
            t = i + self._hidden_tokens()
            text = view.toPlainText()
            if not 0 <= i < len(text) or t >= len(self.acts):
                return None
            return self.describe(t, f"{text[i]!r}, character {i + 1}")
        roll = self.hooked_roll
        if roll is not None and obj is roll.plot.viewport():
            step = int(np.floor(roll.view.mapSceneToView(roll.plot.mapToScene(pos.toPoint())).x()))
            ends = self._step_ends()
            if 0 <= step < len(ends) and ends[step] < len(self.acts):
                return self.describe(ends[step], f"step {step + 1}")
        return None
