"""Length in the user's units: characters for a text model; bars and beats for a music model, with
the 16th-note steps they make beside them (as `guigen generate -n` counts them). The panel's Length
box (window.length) holds characters or steps; in music mode the bars and beats boxes stand in
for it. The status bar says how long the music is: "8 bars (128 steps)"."""

from __future__ import annotations

from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QSpinBox, QWidget

from guigen.app.widgets.roll_ruler import metre_steps
from guigen.music.polyphony import END


def bars_text(steps: int, time_signature=(4, 4)) -> str:
    """'8 bars', '3 bars 2 beats', '1 bar': steps in bars and beats of the metre."""
    beat, bar = metre_steps(tuple(time_signature))
    bars, beats = divmod(int(steps) // beat, bar // beat)
    text = f"{bars} bar{'s' * (bars != 1)}"
    return text + (f" {beats} beat{'s' * (beats != 1)}" if beats else "")


class MusicLength(QWidget):
    """Bars and beats, and the steps they are; kept in step with `length` (a QSpinBox of steps)."""

    def __init__(self, length: QSpinBox, parent=None):
        super().__init__(parent)
        self.length = length
        self.time_signature = (4, 4)
        self.bars = QSpinBox()
        self.bars.setRange(0, 999)
        self.bars.setSuffix(" bars")
        self.bars.setAccessibleName("Length in bars")
        self.bars.setToolTip("How much music each Generate makes, in bars")
        self.beats = QSpinBox()
        self.beats.setSuffix(" beats")
        self.beats.setAccessibleName("and beats")
        self.beats.setToolTip("And beats beyond the bars")
        for box in (self.bars, self.beats):  # the panel is narrow: they share its width, whatever their text
            box.setMinimumWidth(50)
            box.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.steps = QLabel()
        self.steps.setToolTip("The same length in 16th-note steps (what `guigen generate -n` counts)")
        lay = QGridLayout(self)  # the steps under the boxes: the panel is narrow
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        lay.addWidget(self.bars, 0, 0)
        lay.addWidget(self.beats, 0, 1)
        lay.addWidget(self.steps, 1, 0, 1, 2)
        self.bars.valueChanged.connect(self._from_boxes)
        self.beats.valueChanged.connect(self._from_boxes)
        length.valueChanged.connect(self._from_length)
        self._set_metre((4, 4))

    def _set_metre(self, time_signature) -> None:
        self.time_signature = tuple(time_signature)
        beat, bar = metre_steps(self.time_signature)
        self.beats.setRange(0, bar // beat - 1)
        self._from_length(self.length.value())

    def set_metre(self, time_signature) -> None:
        """The primer's metre (a MIDI file's): bars are counted in it."""
        if tuple(time_signature) != self.time_signature:
            self._set_metre(time_signature)

    def _from_boxes(self, _=None) -> None:
        beat, bar = metre_steps(self.time_signature)
        steps = max(1, self.bars.value() * bar + self.beats.value() * beat)
        self.length.setValue(steps)  # -> _from_length shows the steps

    def _from_length(self, steps: int) -> None:
        beat, bar = metre_steps(self.time_signature)
        bars, rest = divmod(int(steps), bar)
        for box, value in ((self.bars, bars), (self.beats, rest // beat)):
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)
        self.steps.setText(f"= {steps} steps")


def attach(window) -> MusicLength:
    """Put the bars and beats beside the panel's Length row, shown for music models."""
    p = window.panel
    music = MusicLength(window.length)
    row = p.form.labelForField(window.length)
    p.form.insertRow(p.form.getWidgetPosition(window.length)[0] + 1, QLabel("Length"), music)
    music_label = p.form.labelForField(music)
    window.music_length = music

    def loaded(model) -> None:
        is_music = model.kind == "music"
        for w in (music, music_label):
            w.setVisible(is_music)
        for w in (window.length, row):
            w.setVisible(not is_music)
        window.length.setSuffix("" if is_music else " characters")
        window.length.setSingleStep(16 if is_music else 100)
        window.length.setToolTip("16th-note steps per Generate" if is_music else "Characters per Generate")
        music._from_length(window.length.value())

    music.hide()
    music_label.hide()
    window.model_loaded.connect(loaded)

    def primed() -> None:
        source = getattr(window, "primer_source", None)
        music.set_metre(source.time_signature if source is not None else (4, 4))

    window.sample_started.connect(primed)
    return music


def generate_length(window):
    """What Generate asks the worker for: characters, or ("steps", n) for music."""
    n = int(window.length.value())
    return ("steps", n) if window.model is not None and window.model.kind == "music" else n


def describe(window, count: int) -> str:
    """The status bar's count: '8 bars (128 steps), 612 events' for music, '500 characters' for text."""
    if window.model is None or window.model.kind != "music" or window.piano_roll is None:
        return f"{count:,} characters" if window.model is not None else f"{count:,} tokens"
    roll = window.piano_roll
    steps = max(0, roll.drawn_steps - roll.primer_steps)  # as drawn: reading roll.steps would draw now, off its turn
    text = f"{bars_text(steps, roll.time_signature)} ({steps} steps), {count:,} events"
    if roll.tokens and roll.tokens[-1] == END and window.model.codec.name == "polyphony":
        # said, else "4 bars" asked and "0 bars 2 beats" shown with no why (the model chose to end)
        text += ": the piece ended (its end event)"
    return text
