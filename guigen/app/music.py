"""Music mode's glue: primers from pitches, the NoteSequence of what was generated, MIDI and WAV
export, and playback through the sound device (QtMultimedia), which may not exist."""

from __future__ import annotations

import tempfile
from pathlib import Path


def primer_tokens(codec, text: str) -> list[int]:
    """Ids for a primer given as comma-separated MIDI pitches (empty: the encoding's default start)."""
    from guigen.music.generate import primer

    notes, _ = primer(codec, primer_pitches=text.strip() or None)
    ids = [int(i) for i in codec.primer(notes)]
    if not ids:
        raise ValueError("the primer is empty; give some pitches, like 60,64,67")
    return ids


def note_sequence(window):
    """What the piano roll shows, as a NoteSequence at the window's tempo."""
    from guigen.music.events import NoteSequence

    roll = window.piano_roll
    if roll is None or not roll.notes:
        raise ValueError("nothing to export yet: generate some music first")
    qpm = float(window.settings.get("qpm"))
    return NoteSequence(notes=sorted(roll.notes), tempos=[(0, qpm)], name=window.model.name if window.model else "")


def export_midi(window, path, overwrite: bool = False) -> Path:
    from guigen.music.midi import write_midi

    return write_midi(note_sequence(window), path, overwrite=overwrite)


def render(window):
    from guigen.music.audio import render as render_audio

    soundfont = window.settings.get("soundfont") or None
    return render_audio(note_sequence(window), soundfont=soundfont)


def export_wav(window, path, overwrite: bool = False) -> Path:
    from guigen.core.files import refuse_overwrite
    from guigen.music.audio import write_wav

    refuse_overwrite(path, overwrite)
    return write_wav(path, render(window), overwrite=overwrite)


def drag_midi(window) -> Path | None:
    """Write the current music to a temporary .mid for dragging out of the window."""
    try:
        folder = Path(tempfile.gettempdir()) / "guigen-drag"
        folder.mkdir(exist_ok=True)
        name = f"{window.model.name}-{len(window.piano_roll.tokens)}.mid"
        return export_midi(window, folder / name, overwrite=True)
    except (OSError, ValueError) as e:
        window.show_error("Could not drag the music out", str(e))
        return None


# -- playback -------------------------------------------------------------------------------------
class Player:
    """Plays rendered audio through the default sound device; moves the piano roll's playhead."""

    def __init__(self, window):
        from PySide6.QtCore import QBuffer, QByteArray, QTimer

        self.window = window
        self.sink = self.buffer = None
        self.data = QByteArray()
        self.QBuffer = QBuffer
        self.timer = QTimer()
        self.timer.setInterval(30)
        self.timer.timeout.connect(self._tick)

    @staticmethod
    def device():
        """The default audio output, or None when there is no sound device (or no QtMultimedia)."""
        try:
            from PySide6.QtMultimedia import QMediaDevices
        except ImportError:  # QtMultimedia needs libpulse0 on Debian
            return None
        dev = QMediaDevices.defaultAudioOutput()
        return None if dev.isNull() else dev

    def play(self) -> bool:
        import numpy as np
        from PySide6.QtCore import QIODevice

        try:
            from PySide6.QtMultimedia import QAudioFormat, QAudioSink
        except ImportError:  # PySide6-Essentials lacks QtMultimedia; it comes with PySide6-Addons
            self.window.show_error("No sound device",
                                   "Playback needs QtMultimedia (pip install PySide6-Addons; on Debian also "
                                   "apt install libpulse0). Export MIDI or audio (File menu) to listen elsewhere.")
            return False
        dev = self.device()
        if dev is None:
            self.window.show_error("No sound device",
                                   "There is no audio output on this computer, so GuiGen cannot play. "
                                   "Export MIDI or audio (File menu) to listen elsewhere.")
            return False
        self.stop()
        audio = render(self.window)
        fmt = QAudioFormat()
        fmt.setSampleRate(audio.sample_rate)
        fmt.setChannelCount(2)
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        pcm = (np.clip(audio.samples, -1, 1) * 32767).astype("<i2")
        self.data = QByteArray(pcm.tobytes())
        self.buffer = self.QBuffer()
        self.buffer.setData(self.data)
        self.buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self.sink = QAudioSink(dev, fmt)
        self.seq = note_sequence(self.window)
        self.sink.start(self.buffer)
        self.timer.start()
        self.window.statusBar().showMessage(f"Playing ({audio.engine})", 3000)
        return True

    def stop(self) -> None:
        self.timer.stop()
        if self.sink is not None:
            self.sink.stop()
            self.sink = None
        if self.window.piano_roll is not None:
            self.window.piano_roll.set_playhead(None)

    def _tick(self) -> None:
        if self.sink is None:
            return
        seconds = self.sink.processedUSecs() / 1e6
        seq = self.seq
        step = seconds * seq.qpm * seq.steps_per_quarter / 60.0  # one tempo: the app writes one
        if step > seq.total_steps + 4:
            self.stop()
        else:
            self.window.piano_roll.set_playhead(step)


def play(window) -> None:
    if getattr(window, "player", None) is None:
        window.player = Player(window)
    try:
        window.player.play()
    except (ValueError, OSError) as e:
        window.show_error("Could not play", str(e))


def stop_playback(window) -> None:
    if getattr(window, "player", None) is not None:
        window.player.stop()
