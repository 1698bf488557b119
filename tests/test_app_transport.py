"""The transport on the panel (issue 12 item 4): Play/Stop, tempo (from a MIDI primer, else the
settings), General MIDI instrument and loop; exports carry the tempo and instrument (read back by
pretty_midi); with no sound device Play says so and export goes on working."""

from __future__ import annotations

import pytest
from app_helpers import TIMEOUT, make_model, open_window
from test_app_playback import pulse  # noqa: F401  (the PulseAudio null-sink fixture)

from guigen.app.transport import GM_PROGRAMS
from guigen.core import registry


@pytest.fixture()
def melody(qtbot, tmp_path):
    yield from open_window(qtbot, tmp_path, registry.resolve("bach-melody"))


def generate(qtbot, w, primer: str, n: int = 40) -> None:
    w.primer.setText(primer)
    w.seed.setValue(4)
    w.length.setValue(n)
    w.generate()
    qtbot.waitUntil(lambda: w.state == "stopped" and len(w.piano_roll.tokens) == n, timeout=TIMEOUT)


def test_transport_shows_for_music_and_hides_for_text(qtbot, melody, tmp_path):
    w = melody
    t = w.transport
    assert t.isVisible() and t.isAncestorOf(t.buttons["play"])
    assert t.buttons["play"].defaultAction() is w.actions["play"]
    assert t.buttons["stop_playback"].defaultAction() is w.actions["stop_playback"]
    assert t.instrument.count() == 128 and t.instrument.itemText(40) == "41 Violin"
    with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT):
        w.load_model(str(make_model(tmp_path / "text.safetensors")))
    assert not t.isVisible()


def test_tempo_and_instrument_from_a_midi_primer_go_into_the_export(qtbot, melody, tmp_path):
    pretty_midi = pytest.importorskip("pretty_midi")
    from guigen.music.events import Note, NoteSequence, Voice
    from guigen.music.midi import write_midi

    w = melody
    t = w.transport
    primer = write_midi(NoteSequence([Note(4 * i, 4 * i + 4, p) for i, p in enumerate([67, 71, 74, 72])],
                                     tempos=[(0, 90.0)], voices=[Voice("violin", 40)]), tmp_path / "violin.mid")
    generate(qtbot, w, str(primer))
    assert t.qpm() == 90.0 and t.program() == 40 and t.instrument.currentText() == "41 Violin"
    assert w.settings.get("qpm") == 120.0  # the primer's tempo is not the user's choice

    pm = pretty_midi.PrettyMIDI(str(w.export_midi(tmp_path / "a.mid")))
    assert pm.get_tempo_changes()[1][0] == pytest.approx(90.0)
    assert [i.program for i in pm.instruments] == [40]

    t.tempo.setValue(150.0)  # the user's tempo and instrument win, and the tempo is kept for next time
    t.set_program(GM_PROGRAMS.index("Flute"))
    assert w.settings.get("qpm") == 150.0
    pm = pretty_midi.PrettyMIDI(str(w.export_midi(tmp_path / "b.mid")))
    assert pm.get_tempo_changes()[1][0] == pytest.approx(150.0)
    assert [i.program for i in pm.instruments] == [73]
    first = min(n.start for n in pm.instruments[0].notes)
    second = sorted({n.start for n in pm.instruments[0].notes})[1]
    assert second - first == pytest.approx(60 / 150, abs=1e-3)  # a quarter note at 150 qpm


def test_pitch_primer_takes_the_settings_tempo(qtbot, melody, tmp_path):
    pretty_midi = pytest.importorskip("pretty_midi")
    w = melody
    w.transport.tempo.setValue(100.0)
    generate(qtbot, w, "60,62,64")
    assert w.transport.qpm() == 100.0 and w.settings.get("qpm") == 100.0
    pm = pretty_midi.PrettyMIDI(str(w.export_midi(tmp_path / "c.mid")))
    assert pm.get_tempo_changes()[1][0] == pytest.approx(100.0)


def test_play_without_a_sound_device_says_so_and_export_still_works(qtbot, melody, tmp_path):
    from guigen.app.music import Player, player

    w = melody
    generate(qtbot, w, "60,62,64")
    w.transport.loop.setChecked(True)
    assert player(w).loop
    if Player.device() is not None:
        pytest.skip("this machine has a sound device (the null-sink test plays for real)")
    w.transport.buttons["play"].click()
    assert "No sound device" in w.errors[-1] and not player(w).playing
    assert w.export_wav(tmp_path / "d.wav").stat().st_size > 44


def test_loop_and_a_variation_play_on_a_real_audio_device(pulse, tmp_path):
    """On a PulseAudio null sink (a real audio device): Loop plays the piece round and round (the
    playhead back near the start each time) until Stop; then a variation plays to its end."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    from app_helpers import make_music_model

    model = make_music_model(tmp_path / "melody.safetensors", "melody")
    child = subprocess.run([sys.executable, str(Path(__file__).with_name("app_loop_child.py")), str(model),
                            str(tmp_path / "settings.ini")], env=pulse, capture_output=True, text=True, timeout=90)
    assert child.returncode == 0, child.stderr[-2000:]
    out = json.loads(child.stdout.strip().splitlines()[-1])
    assert out["device"], f"Qt saw no audio output on the PulseAudio server: {out}"
    assert out["errors"] == [] and out["playing"]
    assert out["loops"] >= 2 and out["stopped"]
    assert out["loop_s"] > 2 * 0.5  # twice round a piece of at least the primer's quarter note (0.5 s at 120 qpm)
    assert out["variation_playing"] and out["variation_done"], json.dumps(out)
