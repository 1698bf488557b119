"""Music mode's glue: primers (pitches or a MIDI file), the NoteSequence of what was generated,
MIDI and WAV export, the SoundFont and MIDI port choices, and playback through the sound device
(QtMultimedia, which may have no device) or to a MIDI output port."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, QThread, QTimer, Signal

BUILTIN = "builtin"  # the "soundfont" setting's value for the built-in synthesiser ("" = automatic)
MIDI_SUFFIXES = (".mid", ".midi", ".abc", ".musicxml", ".mxl", ".xml")  # ABC/MusicXML: the first tune (music21)


# -- primers --------------------------------------------------------------------------------------
def is_midi_primer(text: str) -> bool:
    """A primer field holding a MIDI file's path rather than pitches."""
    return text.strip().lower().endswith(MIDI_SUFFIXES)


def primer_notes(codec, text: str):
    """(notes, source) of a primer field: pitches (source None) or a file's path (guigen.music.generate.primer)."""
    from guigen.music.generate import primer

    text = text.strip()
    if is_midi_primer(text):
        return primer(codec, primer_midi=Path(text).expanduser())
    return primer(codec, primer_pitches=text or None)


def read_primer(codec, text: str):
    """(ids, source, codec) for a primer: comma-separated MIDI pitches (source None), or the path of
    a MIDI file (source: its NoteSequence, whose tempo, metre and program the export keeps). The
    codec returned encodes the primer and decodes what follows it (see MelodyEncoding.view_for)."""
    notes, source = primer_notes(codec, text)
    codec = codec.view_for(notes)
    ids = [int(i) for i in codec.primer(notes)]
    if not ids:
        raise ValueError("the primer is empty; give some pitches, like 60,64,67, or a MIDI file")
    return ids, source, codec


def read_conditioned_primer(model, text: str, metre=None, key=None, qpm: float = 120.0):
    """read_primer for a model trained with metre and key conditions (guigen.music.conditions), as
    `guigen generate --metre --key` reads its primer: (ids: the condition token, then the primer
    moved to the key; source: a NoteSequence whose metre and key signature are those asked for
    (None: the primer's), for the roll's bars and the take's MIDI file; the codec; the words
    saying what was used, as the command prints them)."""
    from dataclasses import replace

    from guigen.music.conditions import condition, key_sharps, metre_name, parse_key
    from guigen.music.events import NoteSequence

    notes, source = primer_notes(model.codec, text)
    codec, notes, head, metre_used, words = condition(model, notes, metre, key,
                                                      source.time_signature if source else None)
    ids = [int(i) for i in head] + [int(i) for i in codec.primer(notes)]
    source = source or NoteSequence([], [(0, qpm)], metre_used)
    keys = list(source.key_changes) if key is None and source.key_changes else [(0, key_sharps(*parse_key(words)))]
    source = replace(source, time_signature=metre_used, key_changes=keys,
                     time_signature_changes=list(source.time_signature_changes) if metre is None else [])
    return ids, source, codec, f"metre {metre_name(metre_used)}, key {words}" + ("" if key else " (the primer's)")


def note_sequence(window, notes=None, source=None):
    """What the piano roll shows (or `notes`, a variation's), as a NoteSequence at the transport's
    tempo and instrument. A MIDI file primer (`source`, default the window's) gives its metre and
    its tempo map, scaled to the transport's tempo (as `guigen generate --primer_midi` keeps it)."""
    from guigen.music.events import NoteSequence, Voice

    if notes is None:
        roll = window.piano_roll
        notes = roll.notes if roll is not None else []
    if not notes:
        raise ValueError("nothing to export yet: generate some music first")
    name = window.model.name if window.model else ""
    source = source if source is not None else getattr(window, "primer_source", None)
    transport = getattr(window, "transport", None)
    qpm = transport.qpm() if transport is not None else float(window.settings.get("qpm"))
    if source is not None:
        program = next((v.program for v in source.voices if not v.drum), 0)
        scale = qpm / source.qpm if transport is not None else 1.0
        tempos, metre = [(s, q * scale) for s, q in source.tempos], source.time_signature
    else:
        program, tempos, metre = 0, [(0, qpm)], (4, 4)
    if transport is not None:
        program = transport.program()
    return NoteSequence(sorted(notes), tempos, metre, [Voice(f"GuiGen {name}".strip(), program)], name=name,
                        time_signature_changes=list(source.time_signature_changes) if source is not None else [],
                        key_changes=list(source.key_changes) if source is not None else [])


def step_at(seq, seconds: float) -> float:
    """The (fractional) step sounding `seconds` into the sequence, following its tempo map."""
    t, last_step, last_qpm = 0.0, 0, seq.tempos[0][1]
    for s, qpm in seq.tempos[1:]:
        span = (s - last_step) * 60.0 / (last_qpm * seq.steps_per_quarter)
        if t + span > seconds:
            break
        t, last_step, last_qpm = t + span, s, qpm
    return last_step + (seconds - t) * last_qpm * seq.steps_per_quarter / 60.0


def excerpt(seq, first: int, end: int | None = None):
    """The part of `seq` from step `first` to `end` (default: its end), moved to start at step 0:
    notes cut to it, the tempo in force at `first` kept. What Play plays from a clicked position or
    over a loop dragged on the ruler."""
    from dataclasses import replace

    from guigen.music.events import Note

    end = seq.total_steps if end is None else end
    notes = [Note(max(n.start, first) - first, min(n.end, end) - first, n.pitch, n.velocity, n.voice)
             for n in seq.notes if n.end > first and n.start < end]
    tempos = [(0, next((q for s, q in reversed(seq.tempos) if s <= first), seq.tempos[0][1]))]
    tempos += [(s - first, q) for s, q in seq.tempos if first < s < end]
    return replace(seq, notes=notes, tempos=tempos, time_signature_changes=[])


# -- export ---------------------------------------------------------------------------------------
def export_midi(window, path, overwrite: bool = False, seq=None) -> Path:
    """A .mid (a named track per voice for a four-voice chorale), or a .musicxml/.mxl score."""
    from guigen.app.harmonize import melody_of_window
    from guigen.music.export import write_piece

    polyphony = getattr(getattr(window.model, "codec", None), "name", "") == "polyphony"
    melody = melody_of_window(window) if seq is None else None
    write_piece(seq or note_sequence(window), path, polyphony, melody=melody, overwrite=overwrite)
    return Path(path)


def render(window, seq=None):
    """Audio of the current music (or `seq`) with the chosen sound: a SoundFont file, the built-in
    synthesiser, or (automatic) a system SoundFont when FluidSynth finds one, else the built-in one."""
    from guigen.music.audio import render as render_audio

    seq = seq or note_sequence(window)
    choice = window.settings.get("soundfont")
    if choice == BUILTIN:
        return render_audio(seq, engine="builtin")
    return render_audio(seq, soundfont=choice or None)


def export_wav(window, path, overwrite: bool = False) -> Path:
    from guigen.core.files import refuse_overwrite
    from guigen.music.audio import write_wav

    refuse_overwrite(path, overwrite)
    return write_wav(path, render(window), overwrite=overwrite)


def drag_midi(window) -> Path | None:
    """Write the current music to a temporary .mid for dragging out of the window."""
    from guigen.app.drag_files import new_path

    try:
        name = window.sample_name() if hasattr(window, "sample_name") else window.model.name
        return export_midi(window, new_path(name, ".mid"))
    except (OSError, ValueError) as e:
        window.show_error("Could not drag the music out", str(e))
        return None


# -- MIDI ports -----------------------------------------------------------------------------------
def midi_ports() -> tuple[list[str], str]:
    """(output port names, why there are none: "" when the list is simply empty or not)."""
    from guigen.music import ports
    from guigen.music.midi import MidiError

    try:
        return ports.list_ports(), ""
    except MidiError as e:
        return [], str(e)


class MidiPortPlayer(QThread):
    """Plays a sequence to a MIDI output port with guigen.music.ports.play (plain Python with hooks);
    this thin thread adds signals. requestInterruption() stops it; all notes are switched off."""

    position = Signal(float)  # seconds from the start of the message just sent
    failed = Signal(str)

    def __init__(self, seq, port: str, parent=None, loop=lambda: False):
        super().__init__(parent)
        self.seq, self.port, self.loop = seq, port, loop

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self.isInterruptionRequested() and (left := end - time.monotonic()) > 0:
            time.sleep(min(left, 0.02))

    def run(self) -> None:
        from guigen.music import ports
        from guigen.music.midi import MidiError

        while True:  # once, or over and over while looping
            messages = ports.play(self.seq, self.port, sleep=self._sleep)
            try:
                for when in messages:
                    self.position.emit(when)
                    if self.isInterruptionRequested():
                        break
            except (MidiError, OSError) as e:
                self.failed.emit(str(e))
                return
            finally:
                messages.close()
            if self.isInterruptionRequested() or not self.loop():
                return


# -- playback -------------------------------------------------------------------------------------
class Player(QObject):
    """Plays the current music through the default sound device, or to the chosen MIDI port, and
    moves the piano roll's playhead. `finished` is emitted once the sound has run out or was stopped."""

    started = Signal(str)  # what plays it: "SoundFont X.sf2", "built-in synthesiser", "MIDI port X"
    finished = Signal()
    looped = Signal()  # playback went back to the start (loop on)

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.sink = self.buffer = self.port_player = None
        self.seq = None
        self.roll = None  # what shows the playhead: the piano roll, or a variation's small roll
        self.loop = False  # start again at the end (the transport's Loop)
        self.offset = 0  # the roll's step where what plays starts
        self.region = False  # looping over the roll's loop region (whatever the transport's Loop says)
        self.t0 = 0.0
        self.timer = QTimer(self)
        self.timer.setInterval(30)
        self.timer.timeout.connect(self._tick)

    @property
    def playing(self) -> bool:
        return self.sink is not None or self.port_player is not None

    @staticmethod
    def device():
        """The default audio output, or None when there is no sound device (or no QtMultimedia)."""
        try:
            from PySide6.QtMultimedia import QMediaDevices
        except ImportError:  # QtMultimedia needs libpulse0 on Debian
            return None
        dev = QMediaDevices.defaultAudioOutput()
        return None if dev.isNull() else dev

    def play(self, seq=None, roll=None, offset: int = 0) -> bool:
        """Play the piano roll's music, or `seq` (a variation) with its playhead on `roll`. The roll's
        loop (dragged on its ruler) or start (clicked) choose the part played; `offset`: the step of
        the roll where `seq` starts."""
        self.stop()
        self.offset, self.region = offset, False
        if seq is None:
            seq = note_sequence(self.window)
            roll = self.window.piano_roll
            if roll is not None and roll.loop:
                seq, self.offset = excerpt(seq, *roll.loop), roll.loop[0]
                self.region = True
            elif roll is not None and 0 < roll.play_from < seq.total_steps:
                seq, self.offset = excerpt(seq, roll.play_from), roll.play_from
        self.seq = seq
        self.roll = roll
        port = self.window.settings.get("midi_port")
        return self._play_port(port) if port else self._play_audio()

    def _play_port(self, port: str) -> bool:
        self.port_player = MidiPortPlayer(self.seq, port, self, loop=lambda: self.loop or self.region)
        # bound methods of this GUI-thread object, so the thread's signals arrive queued in the GUI thread
        self.port_player.failed.connect(self._port_failed)
        self.port_player.finished.connect(self._port_done)
        self.t0 = time.monotonic()
        self.port_player.start()
        self.timer.start()
        self._announce(f"MIDI port {port}")
        return True

    def _play_audio(self) -> bool:
        import numpy as np
        from PySide6.QtCore import QBuffer, QByteArray, QIODevice

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
                                   "Export MIDI or audio (File menu) to listen elsewhere, or pick a MIDI port "
                                   "(Sound menu).")
            return False
        audio = render(self.window, self.seq)
        fmt = QAudioFormat()
        fmt.setSampleRate(audio.sample_rate)
        fmt.setChannelCount(2)
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        if not dev.isFormatSupported(fmt):
            self.window.show_error("Could not play", f"the sound device {dev.description()!r} cannot play "
                                   f"{audio.sample_rate} Hz 16-bit stereo audio; export audio instead")
            return False
        pcm = (np.clip(audio.samples, -1, 1) * 32767).astype("<i2")
        self.buffer = QBuffer(self)
        self.buffer.setData(QByteArray(pcm.tobytes()))  # QBuffer keeps its own copy
        self.buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self.sink = QAudioSink(dev, fmt, self)
        self.sink.start(self.buffer)
        err = self.sink.error()  # by name: Qt 6.7+ returns QtAudio enums, which differ from QAudio's
        if err.name != "NoError":
            self.stop()
            self.window.show_error("Could not play", f"the sound device {dev.description()!r} failed ({err.name})")
            return False
        self.timer.start()
        self._announce(audio.engine)
        return True

    def _announce(self, engine: str) -> None:
        self.window.statusBar().showMessage(f"Playing ({engine})", 3000)
        self.started.emit(engine)

    def _port_failed(self, message: str) -> None:
        self.window.show_error("Could not play to the MIDI port", message)

    def _port_done(self) -> None:
        if self.port_player is not None and self.port_player.isFinished():
            self.stop()

    def stop(self) -> None:
        was = self.playing
        self.timer.stop()
        if self.sink is not None:
            sink, self.sink = self.sink, None
            sink.stop()
            sink.deleteLater()
        if self.buffer is not None:
            self.buffer.close()
            self.buffer.deleteLater()
            self.buffer = None
        if self.port_player is not None:
            port_player, self.port_player = self.port_player, None
            port_player.requestInterruption()
            port_player.wait(2000)
            port_player.deleteLater()
        if self.roll is not None:
            self.roll.set_playhead(None)
        if was:
            self.finished.emit()

    def _tick(self) -> None:
        # The sink's state is polled here, not taken from stateChanged: PySide6 6.11 cannot convert
        # that signal's QAudio::State argument (a TypeError in every slot). By name, as Qt 6.7+
        # hands out QtAudio enums.
        if self.sink is not None:
            state, err = self.sink.state().name, self.sink.error().name
            if err != "NoError" and state == "StoppedState":  # the device went away or failed
                self.stop()
                self.window.show_error("Playback stopped", f"the sound device failed ({err})")
                return
            if state == "IdleState" and self.buffer.atEnd():  # played to the end, the tail included
                if self.loop or self.region:  # again from the start: the same audio, not rendered again
                    self.sink.stop()
                    self.buffer.seek(0)
                    self.sink.start(self.buffer)
                    self.looped.emit()
                    return
                self.stop()
                return
            seconds = self.sink.processedUSecs() / 1e6
        elif self.port_player is not None:
            seconds = time.monotonic() - self.t0
            length = self.seq.seconds(self.seq.total_steps)
            if (self.loop or self.region) and length > 0 and seconds > length:
                self.t0 += length * (seconds // length)
                seconds %= length
                self.looped.emit()
        else:
            return
        step = step_at(self.seq, seconds)
        if self.roll is not None:
            self.roll.set_playhead(min(step, self.seq.total_steps) + self.offset)


def player(window) -> Player:
    if getattr(window, "player", None) is None:
        window.player = Player(window)
    return window.player


def play(window) -> None:
    try:
        player(window).play()
    except (ValueError, OSError) as e:
        window.player.stop()
        window.show_error("Could not play", str(e))


def audition(window, pitch: int) -> None:
    """A key of the piano roll was clicked: play that pitch for a quarter note."""
    from guigen.music.events import Note, pitch_name

    try:
        seq = note_sequence(window, [Note(0, 4, int(pitch))])
        player(window).play(seq, None)
        p = seq.notes[0].pitch
        window.statusBar().showMessage(f"{pitch_name(p)} (MIDI {p})", 1500)  # as the keyboard names it
    except (ValueError, OSError) as e:
        window.show_error("Could not play", str(e))


def stop_playback(window) -> None:
    if getattr(window, "player", None) is not None:
        window.player.stop()
