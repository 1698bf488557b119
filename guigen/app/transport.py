"""The transport on the controls panel, for music models: Play/Stop, tempo, instrument and loop.

Tempo starts from the primer when it is a MIDI file with one, else from the settings ("qpm", which
a tempo the user types is kept in); the instrument is a General MIDI program, from the primer's
file when it names one. Playback and export (guigen.app.music) read both from here.
"""

from __future__ import annotations

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout,
                               QToolButton)

# the 128 General MIDI Level 1 program names, program 0 first
GM_PROGRAMS = (
    "Acoustic Grand Piano", "Bright Acoustic Piano", "Electric Grand Piano", "Honky-tonk Piano", "Electric Piano 1",
    "Electric Piano 2", "Harpsichord", "Clavinet", "Celesta", "Glockenspiel", "Music Box", "Vibraphone", "Marimba",
    "Xylophone", "Tubular Bells", "Dulcimer", "Drawbar Organ", "Percussive Organ", "Rock Organ", "Church Organ",
    "Reed Organ", "Accordion", "Harmonica", "Tango Accordion", "Acoustic Guitar (nylon)", "Acoustic Guitar (steel)",
    "Electric Guitar (jazz)", "Electric Guitar (clean)", "Electric Guitar (muted)", "Overdriven Guitar",
    "Distortion Guitar", "Guitar Harmonics", "Acoustic Bass", "Electric Bass (finger)", "Electric Bass (pick)",
    "Fretless Bass", "Slap Bass 1", "Slap Bass 2", "Synth Bass 1", "Synth Bass 2", "Violin", "Viola", "Cello",
    "Contrabass", "Tremolo Strings", "Pizzicato Strings", "Orchestral Harp", "Timpani", "String Ensemble 1",
    "String Ensemble 2", "Synth Strings 1", "Synth Strings 2", "Choir Aahs", "Voice Oohs", "Synth Voice",
    "Orchestra Hit", "Trumpet", "Trombone", "Tuba", "Muted Trumpet", "French Horn", "Brass Section", "Synth Brass 1",
    "Synth Brass 2", "Soprano Sax", "Alto Sax", "Tenor Sax", "Baritone Sax", "Oboe", "English Horn", "Bassoon",
    "Clarinet", "Piccolo", "Flute", "Recorder", "Pan Flute", "Blown Bottle", "Shakuhachi", "Whistle", "Ocarina",
    "Lead 1 (square)", "Lead 2 (sawtooth)", "Lead 3 (calliope)", "Lead 4 (chiff)", "Lead 5 (charang)",
    "Lead 6 (voice)", "Lead 7 (fifths)", "Lead 8 (bass + lead)", "Pad 1 (new age)", "Pad 2 (warm)",
    "Pad 3 (polysynth)", "Pad 4 (choir)", "Pad 5 (bowed)", "Pad 6 (metallic)", "Pad 7 (halo)", "Pad 8 (sweep)",
    "FX 1 (rain)", "FX 2 (soundtrack)", "FX 3 (crystal)", "FX 4 (atmosphere)", "FX 5 (brightness)", "FX 6 (goblins)",
    "FX 7 (echoes)", "FX 8 (sci-fi)", "Sitar", "Banjo", "Shamisen", "Koto", "Kalimba", "Bagpipe", "Fiddle", "Shanai",
    "Tinkle Bell", "Agogo", "Steel Drums", "Woodblock", "Taiko Drum", "Melodic Tom", "Synth Drum", "Reverse Cymbal",
    "Guitar Fret Noise", "Breath Noise", "Seashore", "Bird Tweet", "Telephone Ring", "Helicopter", "Applause",
    "Gunshot",
)
assert len(GM_PROGRAMS) == 128


class Transport(QGroupBox):
    """Play/Stop (the window's actions), tempo in quarter notes per minute, instrument, loop."""

    def __init__(self, actions, parent=None):
        super().__init__("Transport", parent)
        self.setAccessibleName("Transport")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        self.buttons = {}
        for name, text in (("play", "▶ Play"), ("stop_playback", "■ Stop")):
            b = QToolButton()
            b.setDefaultAction(actions[name])
            b.setText(text)
            actions[name].changed.connect(lambda b=b, text=text: b.setText(text))  # the action's text would win
            row.addWidget(b, 1)
            self.buttons[name] = b
        self.loop = QCheckBox("Loop")
        self.loop.setToolTip("Play again from the start at the end, until stopped")
        row.addWidget(self.loop)
        self.tempo = QDoubleSpinBox()
        self.tempo.setRange(20.0, 400.0)
        self.tempo.setDecimals(1)
        self.tempo.setSuffix(" qpm")
        self.tempo.setAccessibleName("Tempo")
        self.tempo.setToolTip("Tempo in quarter notes per minute: from the primer when its MIDI file has one; "
                              "playback and export use it")
        self.instrument = QComboBox()
        self.instrument.setAccessibleName("Instrument")
        self.instrument.setToolTip("General MIDI instrument for playback and export (from the primer's file when it "
                                   "names one)")
        for i, name in enumerate(GM_PROGRAMS):
            self.instrument.addItem(f"{i + 1} {name}", i)
        self.instrument.setMaxVisibleItems(16)
        self.instrument.setMinimumContentsLength(12)
        self.instrument.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        form = QFormLayout(self)
        form.addRow(row)
        form.addRow("Tempo", self.tempo)
        form.addRow("Instrument", self.instrument)

    def qpm(self) -> float:
        return float(self.tempo.value())

    def program(self) -> int:
        return int(self.instrument.currentData())

    def set_program(self, program: int) -> None:
        self.instrument.setCurrentIndex(max(0, min(127, int(program))))


def attach(window) -> Transport:
    """Put a transport on the window's controls panel, shown for music models only; wire it to the
    player, the settings and the primer (whose tempo and instrument it takes)."""
    from guigen.app.music import player

    t = Transport(window.actions)
    col = window.panel.column
    col.insertWidget(max(0, col.count() - 1), t)  # above the closing stretch
    t.hide()
    window.transport = t
    t.tempo.setValue(float(window.settings.get("qpm")))
    t.tempo.valueChanged.connect(lambda v: window.settings.set("qpm", float(v)))  # the user's tempo is kept
    t.loop.toggled.connect(lambda on: setattr(player(window), "loop", on))

    def loaded(model) -> None:
        t.setVisible(model.kind == "music")
        if model.kind == "music":
            roll = window.piano_roll
            if not getattr(roll, "_transport_wired", False):
                roll.primer_changed.connect(lambda: primed())
                roll._transport_wired = True

    def primed() -> None:
        """A new primer: a MIDI file's tempo and instrument become the transport's."""
        source = getattr(window, "primer_source", None)
        t.tempo.blockSignals(True)  # the primer's tempo is not the user's choice: the settings keep theirs
        if source is not None:
            t.tempo.setValue(source.qpm)
            t.set_program(next((v.program for v in source.voices if not v.drum), 0))
        else:
            t.tempo.setValue(float(window.settings.get("qpm")))
        t.tempo.blockSignals(False)

    window.model_loaded.connect(loaded)
    return t
