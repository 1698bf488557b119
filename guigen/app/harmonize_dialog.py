"""The Harmonize dialog: the melody file, and how to harmonise it: temperature, beam size (whole
harmonisations ranked: 1 = plain sampling), strict or free rules (parallel fifths and octaves),
complete chords, and the ending: the tonic chord in root position (the default, as `guigen
harmonize`), the dominant (a half cadence), or wherever the model goes."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QLineEdit, QPushButton, QSpinBox)

from guigen.app import wheel
from guigen.app.harmonize import MELODY_FILTER

ENDINGS = (("On the tonic", "tonic"), ("Half cadence (the dominant)", "half"), ("Where the model goes", "none"))


class HarmonizeDialog(QDialog):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.setWindowTitle("Harmonize a Melody")
        self.path = QLineEdit()
        self.path.setPlaceholderText("a melody: .mid, .abc or .musicxml")
        self.path.setAccessibleName("Melody file")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 5.0)
        self.temperature.setDecimals(2)
        self.temperature.setSingleStep(0.05)
        self.temperature.setSpecialValueText("greedy")
        self.temperature.setValue(window.dial.temperature())
        self.temperature.setToolTip("Lower: safer, more common chords; higher: bolder")
        self.beam = QSpinBox()
        self.beam.setRange(1, 16)
        self.beam.setValue(1)
        self.beam.setToolTip("Harmonisations kept and ranked as a whole at every step (1: plain sampling)")
        self.strict = QCheckBox("Strict: no parallel fifths or octaves")
        self.strict.setChecked(True)
        self.four = QCheckBox("Complete chords: three notes under the melody")
        self.four.setChecked(True)
        self.ending = QComboBox()
        for label, value in ENDINGS:
            self.ending.addItem(label, value)
        self.ending.setToolTip("The last melody note's chord, in root position, reached through the model's own "
                               "distribution (as guigen harmonize --ending)")
        form = QFormLayout(self)
        form.addRow("Melody", row)
        form.addRow("Temperature", self.temperature)
        form.addRow("Beam size", self.beam)
        form.addRow(self.strict)
        form.addRow(self.four)
        form.addRow("Ending", self.ending)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Harmonize")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.wheel_guard = wheel.guard(self)  # the wheel turns only a focused spin box or list, as in the window

    def _browse(self) -> None:
        start = str(self.window.settings.get("last_dir") or Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Harmonize a melody", start, MELODY_FILTER)
        if path:
            self.window.settings.set("last_dir", str(Path(path).parent))
            self.path.setText(path)

    def _accept(self) -> None:
        if not Path(self.path.text()).expanduser().is_file():
            self.path.setFocus()
            self.path.setPlaceholderText("choose a melody file first")
            return
        self.accept()

    def options(self) -> dict:
        """The harmoniser's keyword arguments for what was chosen."""
        out = {"beam_size": self.beam.value(), "branch_factor": 2 if self.beam.value() > 1 else 1,
               "strict": self.strict.isChecked(), "four": self.four.isChecked()}
        out["ending"] = self.ending.currentData()
        return out
