"""The Sound menu and the MIDI primer, offscreen: a SoundFont picked in a file dialog is kept in the
settings and used for playback and .wav export; the MIDI output menu lists guigen.music's ports, or
says why there are none; a MIDI file as primer starts the music and sets the exported tempo."""

from __future__ import annotations

import mido
import pytest
from app_helpers import TIMEOUT, generate_music, make_music_model, open_window
from PySide6.QtWidgets import QFileDialog

from guigen.app import music
from guigen.app.music import BUILTIN, player
from guigen.music import midi as midi_module
from guigen.music.audio import render as real_render  # the real one, for the test that patches it
from guigen.music.midi import MidiError


@pytest.fixture(scope="module")
def melody_model(tmp_path_factory):
    return make_music_model(tmp_path_factory.mktemp("models") / "melody.safetensors", "melody")


@pytest.fixture()
def window(qtbot, tmp_path, melody_model):
    yield from open_window(qtbot, tmp_path, melody_model)


def generate(qtbot, w, n=40, primer="60,64,67"):
    generate_music(qtbot, w, n, primer)


def pick_file(monkeypatch, path):
    """Answer the next file dialog with `path`, as a person would."""
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(path), "")))


# -- SoundFont ---------------------------------------------------------------------------------------
def test_soundfont_choice_is_kept_and_used_for_export(qtbot, window, tmp_path, monkeypatch):
    from guigen.music.audio import find_soundfont, fluidsynth_available

    w = window
    generate(qtbot, w)
    assert w.actions["soundfont_auto"].isChecked()  # the default
    w.actions["soundfont_builtin"].trigger()
    assert w.settings.get("soundfont") == BUILTIN and w.actions["soundfont_builtin"].isChecked()
    assert music.render(w).engine == "built-in synthesiser"

    sf = find_soundfont()
    if sf is None or not fluidsynth_available():
        pytest.skip("no SoundFont or FluidSynth here (apt-get install libfluidsynth3 timgm6mb-soundfont)")
    pick_file(monkeypatch, sf)
    w.actions["choose_soundfont"].trigger()
    assert w.settings.get("soundfont") == str(sf)
    assert w.sound_menu.file_action.isChecked() and sf.name in w.sound_menu.file_action.text()
    seen = []
    monkeypatch.setattr("guigen.music.audio.render", lambda seq, soundfont=None, engine="auto": seen.append(
        (soundfont, engine)) or real_render(seq, soundfont, engine))
    out = w.export_wav(tmp_path / "out.wav")
    assert seen == [(str(sf), "auto")] and out.stat().st_size > 44
    w.actions["play"].trigger()  # playback renders through the same choice (then has no device here, or plays)
    assert len(seen) == 2 or "No sound device" in w.errors[-1]
    player(w).stop()

    w.actions["soundfont_auto"].trigger()
    assert w.settings.get("soundfont") == ""


def test_missing_soundfont_gives_a_message(qtbot, window, tmp_path, monkeypatch):
    w = window
    generate(qtbot, w)
    pick_file(monkeypatch, tmp_path / "gone.sf2")
    w.actions["choose_soundfont"].trigger()
    assert "no such file" in w.errors[-1] and w.settings.get("soundfont") == ""
    w.sound_menu.set_soundfont(str(tmp_path / "deleted-since.sf2"))  # chosen once, then removed
    with pytest.raises(FileNotFoundError):
        w.export_wav(tmp_path / "x.wav")


# -- MIDI output ports -------------------------------------------------------------------------------
def port_texts(w):
    return [a.text() for a in w.sound_menu.ports_menu.actions() if not a.isSeparator()]


def test_midi_ports_menu_says_when_there_are_none(qtbot, window, monkeypatch):
    w = window

    def no_system():
        raise MidiError("no MIDI system available for output (no /dev/snd/seq)")

    monkeypatch.setattr("guigen.music.ports.list_ports", no_system)
    assert w.sound_menu.fill_ports() == []
    texts = port_texts(w)
    assert texts[0].startswith("None") and "No MIDI output ports found: no MIDI system" in texts[-1]
    assert "/dev/snd/seq" in w.sound_menu.ports_menu.actions()[-1].toolTip()
    monkeypatch.setattr("guigen.music.ports.list_ports", lambda: [])
    w.sound_menu.fill_ports()
    assert "start a software synth" in port_texts(w)[-1]


def test_real_port_list_here():
    """On this machine, whatever it has: a list of names, or a MidiError that says what is missing."""
    names, why = music.midi_ports()
    assert isinstance(names, list) and (names or why == "" or "MIDI" in why)


class FakePort:
    def __init__(self):
        self.messages, self.closed = [], False

    def send(self, msg):
        self.messages.append(msg)

    def close(self):
        self.closed = True


def test_play_to_a_chosen_midi_port(qtbot, window, monkeypatch):
    w = window
    generate(qtbot, w, n=16)
    monkeypatch.setattr("guigen.music.ports.list_ports", lambda: ["Fake Synth:0", "Other"])
    assert w.sound_menu.fill_ports() == ["Fake Synth:0", "Other"]
    [fake_action] = [a for a in w.sound_menu.ports_menu.actions() if a.text() == "Fake Synth:0"]
    fake_action.trigger()
    assert w.settings.get("midi_port") == "Fake Synth:0" and fake_action.isChecked()
    port = FakePort()
    opened = []
    monkeypatch.setattr(midi_module, "open_output", lambda name=None: opened.append(name) or port)
    p = player(w)
    with qtbot.waitSignal(p.finished, timeout=TIMEOUT):
        with qtbot.waitSignal(p.started, timeout=TIMEOUT) as started:
            w.actions["play"].trigger()
        assert started.args == ["MIDI port Fake Synth:0"]
        p.stop()  # stop early: the notes are switched off
    assert opened == ["Fake Synth:0"] and port.closed
    assert port.messages[0].type == "program_change"
    assert port.messages[-1].type == "control_change" and port.messages[-1].control == 123  # all notes off
    w.sound_menu.fill_ports()
    w.sound_menu.ports_menu.actions()[0].trigger()  # back to the sound device
    assert w.settings.get("midi_port") == ""


def test_a_missing_midi_port_gives_a_message(qtbot, window):
    w = window
    generate(qtbot, w, n=16)
    w.settings.set("midi_port", "Gone Synth")  # chosen last week, unplugged since
    p = player(w)
    with qtbot.waitSignal(p.finished, timeout=TIMEOUT):
        w.actions["play"].trigger()
    qtbot.waitUntil(lambda: any("MIDI" in e for e in w.errors), timeout=TIMEOUT)
    assert "Could not play to the MIDI port" in w.errors[-1]


# -- MIDI file primer --------------------------------------------------------------------------------
PRIMER_NOTES = [(60, 0, 1), (64, 1, 2), (67, 2, 3), (72, 3, 5)]  # (pitch, start beat, end beat)
PRIMER_QPM = 90.0


def write_primer(path):
    """A tiny format-1 file at 90 qpm: C4 E4 G4 quarter notes, then C5 for a half note."""
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    meta, track = mido.MidiTrack(), mido.MidiTrack()
    meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(PRIMER_QPM), time=0))
    meta.append(mido.MetaMessage("time_signature", numerator=3, denominator=4, time=0))
    events = sorted([(s * 480, "note_on", p) for p, s, _ in PRIMER_NOTES] + [(e * 480, "note_off", p) for p, _, e in PRIMER_NOTES],
                    key=lambda e: (e[0], e[1] == "note_on"))
    now = 0
    track.append(mido.Message("program_change", program=40, time=0))  # violin
    for tick, kind, pitch in events:
        track.append(mido.Message(kind, note=pitch, velocity=90 if kind == "note_on" else 0, time=tick - now))
        now = tick
    mid.tracks += [meta, track]
    mid.save(path)
    return path


def test_midi_file_primer_starts_the_music_and_keeps_its_tempo(qtbot, window, tmp_path, monkeypatch):
    pretty_midi = pytest.importorskip("pretty_midi")
    w = window
    primer = write_primer(tmp_path / "primer.mid")
    assert w.primer_button.isVisible() and w.actions["open_primer_midi"].isEnabled()
    pick_file(monkeypatch, primer)
    w.actions["open_primer_midi"].trigger()
    assert w.primer.text() == str(primer)
    generate(qtbot, w, n=48, primer=w.primer.text())
    out = w.export_midi(tmp_path / "out.mid")

    pm = pretty_midi.PrettyMIDI(str(out))
    _, tempi = pm.get_tempo_changes()
    assert tempi[0] == pytest.approx(PRIMER_QPM, abs=0.01)
    notes = sorted((n for i in pm.instruments for n in i.notes), key=lambda n: (n.start, n.pitch))
    beat = 60.0 / PRIMER_QPM
    head = [(n.pitch, round(n.start / beat, 3)) for n in notes[:3]]
    assert head == [(p, float(s)) for p, s, _ in PRIMER_NOTES[:3]]
    fourth = notes[3]  # C5 begins on beat 3; the model decides how long it holds
    assert fourth.pitch == 72 and fourth.start == pytest.approx(3 * beat, abs=1e-3)
    assert pm.instruments[0].program == 40
    assert pm.time_signature_changes[0].numerator == 3


def test_bad_midi_primer_gives_a_message(qtbot, window, tmp_path):
    w = window
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not midi at all")
    w.primer.setText(str(bad))
    w.generate()
    assert "not a MIDI file" in w.errors[-1] and w.state == "idle"


def test_a_bar_clicked_before_the_first_token_is_the_first_token(qtbot, window):
    from guigen.music.melody import NOTE_OFF

    w = window
    w.primer.setText("60,62")
    with qtbot.waitSignal(w.stepped, timeout=TIMEOUT):
        w.force(NOTE_OFF)  # idle, no generator yet: it is made, primed, and the click kept
    # the worker sends the token's batch, then announces its pause: two queued signals, and the first
    # may be shown before the second is sent, so wait for the pause itself
    qtbot.waitUntil(lambda: w.state == "paused", timeout=TIMEOUT)
    assert w.piano_roll.tokens == [NOTE_OFF]
