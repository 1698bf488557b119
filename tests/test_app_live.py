"""The live panel in the app, offscreen, on real JACK ports: harmonize a few notes played from a
test-side keyboard, and a call answered; the notes appear in the main piano roll as they are
heard (the player's grey, the model's coloured by probability), the histogram shows the model's
event heard last, the dial changes the session's temperature, Stop leaves a take with both
parts. The Sound menu lists MIDI inputs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from app_helpers import TIMEOUT, open_window
from live_jack import Keyboard, Listener, hanging, jack_ports, wait_until

MODELS = Path(__file__).resolve().parents[1] / "models"


@pytest.fixture(scope="module")
def ports():
    yield from jack_ports("guigen-apptest")


@pytest.fixture()
def window(qtbot, tmp_path, ports):
    yield from open_window(qtbot, tmp_path, MODELS / "bach-chorales.safetensors")


def assert_drawn_as_heard(roll, model_notes: int) -> None:
    """The roll's notes: the player's (voice 0) filled grey, the model's by the probability of its event."""
    from guigen.app.widgets.pianoroll import prob_fill

    probs = roll.event_probs()
    assert sum(n.voice == 1 for n in roll.notes) == model_notes == len(probs)
    assert all(0 < p <= 1 for p in probs.values())
    for i, n in enumerate(roll.notes):
        want = prob_fill(probs[(n.start, n.pitch)]) if n.voice == 1 else roll.colours["primer_note"]
        assert roll.fill_of(i).name() == want.name(), (n, roll.fill_of(i).name(), want.name())


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
        roll = w.piano_roll
        keys.on(72)
        qtbot.waitUntil(lambda: len(roll.notes) == 4, timeout=TIMEOUT)  # the note and three under it, in the roll
        assert [n.voice for n in roll.notes if n.pitch == 72] == [0] and max(n.pitch for n in roll.notes) == 72
        assert_drawn_as_heard(roll, 3)
        qtbot.waitUntil(lambda: w.histogram.probs is not None, timeout=TIMEOUT)  # the histogram: the last event
        w.dial.set_temperature(0.3)
        qtbot.waitUntil(lambda: panel.session.settings.temperature == pytest.approx(0.3), timeout=TIMEOUT)
        keys.off(72)
        keys.on(71)
        qtbot.waitUntil(lambda: len(roll.notes) == 8, timeout=TIMEOUT)
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
    assert len(roll.notes) == 8  # the session stays in the roll
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


def test_live_panel_answer_is_drawn_in_the_roll_as_it_sounds(qtbot, window):
    """Answer mode: a call of four notes; the answer's notes reach the roll as they sound (never
    ahead of their beat), the histogram shows each event as it is heard, and the session is a take."""
    w = window
    w.settings.set("qpm", 240.0)
    panel = w.sound_menu.show_live()
    panel.mode.setCurrentText("answer")
    panel.bars.setValue(2)
    panel.silence.setValue(1)
    panel.virtual.setChecked(True)
    assert panel.start(), panel.status.text()
    keys, ears = Keyboard(), Listener()
    roll, seen = w.piano_roll, []
    try:
        t0, beat = time.perf_counter() + 0.1, 0.25
        for i, pitch in enumerate([72, 74, 76, 77]):  # eighth notes
            wait_until(t0 + i * beat / 2)
            keys.on(pitch)
            wait_until(t0 + (i + 0.8) * beat / 2)
            keys.off(pitch)
        qtbot.waitUntil(lambda: len(roll.notes) == 4, timeout=TIMEOUT)
        ears.wait_for(lambda m: ears.note_ons(), timeout=10)  # the answer begins

        def heard_more():  # the roll and the histogram, each time the roll shows more of the answer
            model = [n for n in roll.notes if n.voice == 1]
            if model and (not seen or len(model) > seen[-1][0]):
                now = panel.session.clock.beat_at(time.perf_counter()) * 4  # in 16ths from the first note
                seen.append((len(model), max(n.start for n in model) - now, w.histogram.probs))
            return panel.session.answer is None and not hanging(ears.messages)

        qtbot.waitUntil(heard_more, timeout=TIMEOUT)
        answered = len(ears.note_ons())
    finally:
        panel.stop()
        keys.close()
        ears.close()
    assert len(seen) >= 2  # the answer came into the roll in pieces, as it sounded
    assert all(ahead <= 0.5 for _, ahead, _ in seen)  # never a note before its beat (the roll's grid: 16ths)
    assert len({id(h) for _, _, h in seen}) >= 2  # the histogram moved on with it
    assert_drawn_as_heard(roll, answered)
    kept = [t for t in w.takes.store.sessions()[0][1] if t.source == "live answer"]
    assert len(kept) == 1 and kept[0].name == "bach-chorales-live-answer"
