"""Metre and key for a model trained with conditions (a folk model): what `guigen generate --metre
--key` asks for, in the generation panel.

Shown only while such a model is loaded: its metres and modes, each with "from primer" first
(the default: the primer's own metre, and the mode under which the model finds the primer
likeliest, as the command line does), and a tonic for a mode asked for. Below them, a line saying
what the last Generate used (the model's reading of "from primer"), as the command prints it.
"""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QGridLayout, QLabel, QWidget

from guigen.music.conditions import MODES, metre_name
from guigen.music.events import KEY_NAMES

FROM_PRIMER = "from primer"
TONICS = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")  # as a fiddler reads them


class ConditionsBox(QWidget):
    """Metre, tonic and mode combo boxes; asked() gives (metre or None, (tonic, mode) or None)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(4)
        self.metre = QComboBox()
        self.metre.setToolTip("The metre the model is asked for (its time signature in the MIDI file)")
        self.tonic = QComboBox()
        self.tonic.addItems(TONICS)
        self.tonic.setToolTip("The key's tonic; the primer is moved to it")
        self.mode = QComboBox()
        self.mode.setToolTip("The mode the model is asked for; from primer: the one it finds the primer likeliest in")
        self.said = QLabel("")
        self.said.setWordWrap(True)
        self.said.setStyleSheet("font-size: 9pt;")
        grid.addWidget(QLabel("Metre"), 0, 0)
        grid.addWidget(self.metre, 0, 1, 1, 2)
        grid.addWidget(QLabel("Key"), 1, 0)
        grid.addWidget(self.tonic, 1, 1)
        grid.addWidget(self.mode, 1, 2)
        grid.addWidget(self.said, 2, 0, 1, 3)
        grid.setColumnStretch(2, 1)
        self.mode.currentIndexChanged.connect(self._tonic_enabled)
        self.setVisible(False)
        self._tonic_enabled()

    def _tonic_enabled(self) -> None:
        self.tonic.setEnabled(self.mode.currentIndex() > 0)

    def set_model(self, codec) -> None:
        """Fill the choices from a model's codec; hidden when it has no conditions."""
        metres = tuple(getattr(codec, "metres", ()) or ())
        self.metre.clear()
        self.metre.addItem(FROM_PRIMER, None)
        for m in metres:
            self.metre.addItem(metre_name(m), tuple(m))
        self.mode.clear()
        self.mode.addItem(FROM_PRIMER, None)
        for m in MODES:
            self.mode.addItem(m, m)
        self.said.setText("")
        self.setVisible(bool(metres))

    def asked(self) -> tuple:
        """(metre (num, den) or None, key (tonic pitch class, mode) or None): None is the primer's."""
        metre = self.metre.currentData()
        mode = self.mode.currentData()
        key = (KEY_NAMES.index(_sharp(self.tonic.currentText())), mode) if mode else None
        return (tuple(metre) if metre else None), key

    def state(self) -> dict:
        """What is remembered per model (guigen.app.model_settings)."""
        return {"metre": self.metre.currentText(), "tonic": self.tonic.currentText(), "mode": self.mode.currentText()}

    def set_state(self, values: dict) -> None:
        for box, name in ((self.metre, "metre"), (self.tonic, "tonic"), (self.mode, "mode")):
            i = box.findText(str(values.get(name, "")))
            if i >= 0:
                box.setCurrentIndex(i)

    def used(self, words: str) -> None:
        """Say what the last Generate was asked (the CLI's line: 'metre 6/8, key A minor (the primer's)')."""
        self.said.setText(words)


def _sharp(name: str) -> str:
    flats = {"Db": "C#", "Eb": "D#", "Gb": "F#", "Ab": "G#", "Bb": "A#"}
    return flats.get(name, name)
