"""The live panel in the app, offscreen, on real JACK ports: harmonize a few notes played from a
test-side keyboard; the notes appear in the panel's roll with the model's probabilities, the
histogram shows the model's last event, the dial changes the session's temperature, Stop leaves
a take with both parts. The Sound menu lists MIDI inputs."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_helpers import TIMEOUT, open_window
from live_jack import Keyboard, Listener, hanging, jack_ports

MODELS = Path(__file__).resolve().parents[1] / "models"


@pytest.fixture(scope="module")
def ports():
    yield from jack_ports("guigen-apptest")


@pytest.fixture()
def window(qtbot, tmp_path, ports):
    yield from open_window(qtbot, tmp_path, MODELS / "bach-chorales.safetensors")


def test_live_panel_harmonizes_and_keeps_a_take(qtbot, window):
    w = window
    panel = w.sound_menu.show_live()
    assert panel.isVisible()
    panel.mode.setCurrentText("harmonize")
    panel.virtual.setChecked(True)
    assert panel.start(), panel.status.text()
    keys, ears = Keyboard(), Listener()
    try:
        assert any("GuiGen out" in n for n in w.sound_menu.fill_inputs())  # the Sound menu's MIDI Input lists ports
        keys.on(72)
        qtbot.waitUntil(lambda: len(panel.roll.notes) == 5, timeout=TIMEOUT)  # the note and its chord, drawn
        assert sorted(n.voice for n in panel.roll.notes) == [0, 1, 1, 1, 1]
        assert max(n.pitch for n in panel.roll.notes if n.voice == 1) == 72
        assert len(panel.roll.probs) == 4 and all(0 < p <= 1 for p in panel.roll.probs.values())
        qtbot.waitUntil(lambda: w.histogram.probs is not None, timeout=TIMEOUT)  # the histogram: the last event
        w.dial.set_temperature(0.3)
        qtbot.waitUntil(lambda: panel.session.settings.temperature == pytest.approx(0.3), timeout=TIMEOUT)
        keys.off(72)
        keys.on(71)
        qtbot.waitUntil(lambda: len(panel.roll.notes) == 10, timeout=TIMEOUT)
        keys.off(71)
        ears.wait_for(lambda m: not hanging(m), timeout=10)  # the chord ended with the key
        sounding = panel.session.sounding
        panel.start_button.click()  # Stop
        assert panel.session is None and panel.start_button.text() == "Start"
        assert not any(sounding.notes.values())  # (Stop with keys down: tests/test_live.py's Ctrl-C test)
    finally:
        if panel.session is not None:
            panel.stop()
        keys.close()
        ears.close()
    take = panel.take()
    assert [n.pitch for n in take.notes if n.voice == 0] == [72, 71]
    assert sum(n.voice == 1 for n in take.notes) == 8
    assert [v.name for v in take.voices] == ["Player", "GuiGen bach-chorales"]
    # the session is a take in the Takes panel too, its .mid holding both parts
    import pretty_midi

    kept = [t for t in w.takes.store.sessions()[0][1] if t.source == "live harmonize"]
    assert len(kept) == 1 and kept[0].name == "bach-chorales-live-harmonize"
    parts = pretty_midi.PrettyMIDI(str(kept[0].path)).instruments
    assert sorted(i.name for i in parts) == ["GuiGen bach-chorales", "Player"]
    assert sorted(n.pitch for i in parts if i.name == "Player" for n in i.notes) == [71, 72]
