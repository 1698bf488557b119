"""The controls panel on the left of the main window: the model picker and its card, the
temperature dial (its entropy curve sits beside the histogram: guigen.app.workspace), sampling settings (top-k, top-p, seed, length, primer), the generation buttons
and the view options; plus model_card(), the card's text.

It only builds widgets and wires each button and check box to its action; the main window reads
the widgets and connects the actions to what they do.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QFrame, QGridLayout, QGroupBox,
                               QHBoxLayout, QLabel, QScrollArea, QSizePolicy, QSpinBox, QToolButton,
                               QVBoxLayout, QWidget)

from guigen.app.widgets.conditions import ConditionsBox
from guigen.app.widgets.dial import TemperatureDial
from guigen.app.widgets.primer import PrimerEdit
from guigen.core import facts

PANEL_WIDTH = 300


class ControlsPanel(QWidget):
    """actions: the main window's actions, by name (guigen.app.actions).

    The settings scroll (self.scroll) when the window is short; the generation buttons stay below
    them, always in view, so Generate, Pause and Undo are reachable at any window size.
    """

    def __init__(self, actions, parent=None):
        super().__init__(parent)
        panel = QWidget()
        col = self.column = QVBoxLayout(panel)
        col.setContentsMargins(6, 6, 6, 6)

        box = QGroupBox("Model")
        g = QVBoxLayout(box)
        row = QHBoxLayout()
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("Shipped and recent models")
        self.model_combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.model_combo.setMinimumContentsLength(10)
        self.model_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        open_button = self.open_button = QToolButton()
        open_button.setDefaultAction(actions["open"])
        row.addWidget(self.model_combo, 1)
        row.addWidget(open_button)
        g.addLayout(row)
        self.card = QLabel("No model loaded. Pick one above, open a file or drop one here.")
        self.card.setWordWrap(True)
        self.card.setTextFormat(Qt.TextFormat.RichText)
        self.card.setStyleSheet("font-size: 9pt;")
        g.addWidget(self.card)
        col.addWidget(box)

        self.dial = TemperatureDial()
        col.addWidget(self.dial)

        box = QGroupBox("Sampling")
        form = self.form = QFormLayout(box)
        self.top_k = QSpinBox()
        self.top_k.setRange(0, 100000)
        self.top_k.setSpecialValueText("off")
        self.top_k.setToolTip("Sample among the k likeliest tokens only (off = all)")
        self.top_p = QDoubleSpinBox()
        self.top_p.setRange(0.01, 1.0)
        self.top_p.setSingleStep(0.05)
        self.top_p.setDecimals(2)
        self.top_p.setToolTip("Nucleus: the smallest set of tokens holding this much probability (1 = off)")
        self.seed = QSpinBox()
        self.seed.setRange(-1, 2**31 - 1)
        self.seed.setSpecialValueText("random")
        self.seed.setToolTip("Random seed, for repeatable samples (random = a new one each time)")
        self.length = QSpinBox()
        self.length.setRange(1, 1_000_000)
        self.length.setSingleStep(100)
        self.length.setToolTip("Characters per Generate (music: the bars below)")
        self.primer = PrimerEdit()  # several lines (a verse to continue); Enter makes a new line
        self.primer.setAccessibleName("Primer")
        self.primer.setPlaceholderText("(a line break)")
        self.primer.setToolTip("Text the model continues")
        self.primer_label = QLabel("Primer")
        actions["open_primer_midi"].setIconText("MIDI…")  # the button's text: short, the field needs the room
        self.primer_button = QToolButton()
        self.primer_button.setDefaultAction(actions["open_primer_midi"])
        primer_row = QHBoxLayout()
        primer_row.setContentsMargins(0, 0, 0, 0)
        primer_row.addWidget(self.primer, 1)
        primer_row.addWidget(self.primer_button)
        form.addRow("Top-k", self.top_k)
        form.addRow("Top-p", self.top_p)
        form.addRow("Seed", self.seed)
        form.addRow("Length", self.length)
        form.addRow(self.primer_label, primer_row)
        self.conditions = ConditionsBox()  # a conditioned (folk) model's metre and key; hidden for others
        form.addRow(self.conditions)
        self.primer_button.setVisible(False)  # music models only
        actions["open_primer_midi"].setEnabled(False)
        col.addWidget(box)

        grid = QGridLayout()
        grid.setSpacing(4)
        self.buttons = {}
        for i, name in enumerate(["generate", "pause", "step", "stop", "undo", "clear"]):
            b = QToolButton()
            b.setDefaultAction(actions[name])
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            b.setMinimumHeight(30)
            grid.addWidget(b, i // 3, i % 3)
            self.buttons[name] = b
        self.buttons["generate"].setStyleSheet("font-weight: bold;")

        self.checks = {}
        for name in ("colour_by_prob", "sort_by_prob", "show_raw", "log_scale"):
            c = QCheckBox(actions[name].text().replace("&", ""))
            c.setToolTip(actions[name].toolTip())
            c.toggled.connect(actions[name].setChecked)
            actions[name].toggled.connect(c.setChecked)
            col.addWidget(c)
            self.checks[name] = c
        col.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidget(panel)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 4)
        outer.addWidget(self.scroll, 1)
        grid.setContentsMargins(6, 0, 6, 0)
        outer.addLayout(grid)
        self.setFixedWidth(PANEL_WIDTH)


def model_card(model) -> str:
    """A short description of a model: kind, size, data and scores."""
    c, t = model.config, model.training or {}
    params = model.num_parameters()
    size = f"{params / 1e6:.1f}M" if params >= 1e6 else f"{params / 1e3:.0f}k"
    lines = [f"<b>{model.name}</b> &middot; {model.kind} &middot; {facts.network(c).replace('x', '&times;', 1)}, "
             f"{size} parameters, {c.vocab_size} tokens"]
    data = facts.data_line(t)
    if data:
        lines.append(f"data: {html.escape(data[:100])}")
    if facts.members(t):
        lines.append(f"ensemble of {html.escape(', '.join(facts.members(t)))}: the mean of their predictions")
    teachers = facts.teachers(t)
    if teachers:
        lines.append(f"distilled from {html.escape(', '.join(teachers))}")
    scores = facts.scores_line(t, model.kind)
    if scores:
        lines.append(f"scores: {scores}")
    return "<br>".join(lines)
