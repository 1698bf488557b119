"""The main window's file and dialog side, mixed into MainWindow: opening models and primers,
files dropped on the window, export (text, MIDI, audio), playback, the piano roll made on demand,
the training and About dialogs, and the one way messages reach the user (show_error)."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from guigen.app.music import is_midi_primer


class WindowFiles:
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open Model", self.settings.get("last_dir") or str(Path.home()),
                                              "GuiGen models (*.safetensors);;All files (*)")
        if path:
            self.settings.set("last_dir", str(Path(path).parent))
            self.load_model(path)

    def choose_primer_midi(self) -> None:
        """Pick a MIDI file whose notes start the music; its path goes in the primer field."""
        path, _ = QFileDialog.getOpenFileName(self, "Open MIDI Primer", self.settings.get("last_dir") or str(Path.home()),
                                              "MIDI, ABC or MusicXML files (*.mid *.midi *.abc *.musicxml *.mxl *.xml);;All files (*)")
        if path:
            self.settings.set("last_dir", str(Path(path).parent))
            self.primer.setText(path)

    def _dropped(self, event) -> str:
        """The first dropped model file, or MIDI file when a music model can take it as a primer."""
        music = self.model is not None and self.model.kind == "music"
        text = self.model is not None and self.model.kind == "text"
        for u in event.mimeData().urls():
            path = u.toLocalFile()
            if path.endswith(".safetensors") or (music and is_midi_primer(path)) or (text and path.endswith(".txt")):
                return path
        return ""

    def dragEnterEvent(self, event) -> None:
        if self._dropped(event):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        path = self._dropped(event)
        if path.endswith(".safetensors"):
            self.load_model(path)
        elif path.endswith(".txt"):  # a text (a variation's card, a take): its words are the primer
            try:
                self.primer.setText(Path(path).read_text(encoding="utf-8", errors="replace")[:100_000])
                self.statusBar().showMessage(f"Primer: the text of {Path(path).name}", 5000)
            except OSError as e:
                self.show_error("Could not read the dropped file", str(e))
        elif path:  # a MIDI file is a music primer by its path: its notes and tempo start the music
            self.primer.setText(path)
            self.statusBar().showMessage(f"Primer: the notes of {Path(path).name} (Generate continues them)", 5000)
        if path:
            event.acceptProposedAction()

    def export_dialog(self, what: str) -> None:
        ext = {"text": "txt", "midi": "mid", "wav": "wav"}[what]
        name = f"{self.sample_name()}.{ext}"
        start = str(Path(self.settings.get("last_dir") or Path.home()) / name)
        filters = {"text": "Text (*.txt)", "midi": "MIDI (*.mid *.midi);;MusicXML score (*.musicxml *.mxl)",
                   "wav": "WAV audio (*.wav)"}[what]
        # Qt's dialog asks before replacing an existing file
        path, _ = QFileDialog.getSaveFileName(self, f"Export {what}", start, filters)
        if not path:
            return
        self.settings.set("last_dir", str(Path(path).parent))
        try:
            getattr(self, f"export_{what}")(path, overwrite=True)
            self.statusBar().showMessage(f"Saved {path}", 5000)
        except (OSError, ValueError, RuntimeError) as e:
            self.show_error("Export failed", str(e))

    def sample_name(self) -> str:
        """model-T0.8-seed3: what the sample came from, for export file names."""
        temps = sorted(self.used_temperatures) or [self.dial.temperature()]
        t = f"{temps[0]:g}" if len(temps) == 1 else f"{temps[0]:g}-{temps[-1]:g}"
        seed = f"-seed{self.used_seed}" if self.used_seed is not None else ""
        return f"{self.model.name if self.model else 'guigen'}-T{t}{seed}"

    def export_text(self, path, overwrite: bool = False) -> Path:
        """Write primer + generated text atomically; refuse to replace a file unless told."""
        from guigen.core.files import atomic_write_text, refuse_overwrite

        refuse_overwrite(path, overwrite)
        atomic_write_text(path, self.text_view.text())
        return Path(path)

    def harmonize_dialog(self) -> None:
        from guigen.app.harmonize import ask

        ask(self)

    def export_midi(self, path, overwrite: bool = False) -> Path:
        from guigen.app.music import export_midi

        return export_midi(self, path, overwrite)

    def export_wav(self, path, overwrite: bool = False) -> Path:
        from guigen.app.music import export_wav

        return export_wav(self, path, overwrite)

    def play(self) -> None:
        from guigen.app.music import play

        play(self)

    def stop_playback(self) -> None:
        from guigen.app.music import stop_playback

        stop_playback(self)

    def _ensure_piano_roll(self) -> None:
        if self.piano_roll is None:
            from guigen.app.widgets.pianoroll import PianoRoll

            from guigen.app.music import audition, drag_midi

            self.piano_roll = PianoRoll()
            self.piano_roll.setAccessibleName("Piano roll")
            self.piano_roll.make_midi = lambda: drag_midi(self)
            self.piano_roll.key_clicked.connect(lambda pitch: audition(self, pitch))
            self.piano_roll.set_colour(self.actions["colour_by_prob"].isChecked())
            self.actions["colour_by_prob"].toggled.connect(self.piano_roll.set_colour)
            self.views.addWidget(self.piano_roll)

    def train_dialog(self) -> None:
        from guigen.app.train_dialog import TrainDialog

        dialog = TrainDialog(self, self.settings)
        dialog.model_ready.connect(self.load_model)
        dialog.show()
        self.train = dialog

    def about(self) -> None:
        from guigen import __version__

        QMessageBox.about(self, "About GuiGen",
                          f"<h3>GuiGen {__version__}</h3><p>Play with character-level and note-level LSTM "
                          "models. Turn the temperature dial and watch the next-token distribution "
                          "sharpen and flatten; click a bar to choose the next token yourself.</p>")

    def show_error(self, title: str, message: str) -> None:
        """Tell the user; never raise. Non-blocking, so workers and tests go on."""
        self.errors.append(f"{title}: {message}")
        self.statusBar().showMessage(f"{title}: {message}", 10000)
        if self.quiet_errors:
            print(f"guigen app: {title}: {message}", file=sys.stderr)
            return
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.error_box = box
