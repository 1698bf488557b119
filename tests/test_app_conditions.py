"""The generation panel's metre and key controls for a conditioned model (guigen/app/widgets/
conditions.py), on real widgets with the shipped folk model: shown only for it, remembered per
model, and the take's MIDI file (read back by pretty_midi) in the metre and key asked for."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_helpers import TIMEOUT, make_music_model, open_window

FOLK = Path(__file__).resolve().parents[1] / "models" / "folk.safetensors"
pytestmark = pytest.mark.skipif(not FOLK.exists(), reason="models/folk.safetensors is not there")
DORIAN_D = {2, 4, 5, 7, 9, 11, 0}  # D dorian's notes: C major's


@pytest.fixture()
def window(qtbot, tmp_path):
    yield from open_window(qtbot, tmp_path, FOLK)


def generate(qtbot, w, steps: int, primer: str) -> None:
    w.primer.setText(primer)
    w.seed.setValue(4)
    w.length.setValue(steps)
    before = len(w.takes.list.takes())
    w.generate()
    roll = w.piano_roll
    qtbot.waitUntil(lambda: w.state == "stopped" and roll.steps - roll.primer_steps == steps, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: len(w.takes.list.takes()) > before, timeout=TIMEOUT)


def test_a_metre_and_key_asked_for_reach_the_takes_midi_file(qtbot, window, tmp_path):
    import pretty_midi

    w = window
    box = w.conditions
    assert box.isVisible()
    assert [box.metre.itemText(i) for i in range(box.metre.count())] == \
        ["from primer", "2/2", "2/4", "3/4", "4/4", "6/8", "9/8"]
    assert [box.mode.itemText(i) for i in range(box.mode.count())] == \
        ["from primer", "major", "minor", "dorian", "mixolydian"]
    assert not box.tonic.isEnabled()  # the primer's key: no tonic to choose
    box.metre.setCurrentText("3/4")
    box.mode.setCurrentText("dorian")
    assert box.tonic.isEnabled()
    box.tonic.setCurrentText("D")
    primer = [67, 69, 71, 67]  # G A B G: in G major, moved to D dorian's notes (C major's): up a fourth
    generate(qtbot, w, 96, ",".join(map(str, primer)))
    assert box.said.text() == "metre 3/4, key D dorian"
    w.takes.store.flush()  # the take's file, written by the store's thread
    take = w.takes.list.takes()[0]
    pm = pretty_midi.PrettyMIDI(str(take.path))
    assert [(t.numerator, t.denominator, t.time) for t in pm.time_signature_changes] == [(3, 4, 0.0)]
    assert [k.key_number for k in pm.key_signature_changes] == [0]  # D dorian's signature: C major's
    notes = sorted((n for i in pm.instruments for n in i.notes), key=lambda n: n.start)
    assert [n.pitch for n in notes[:4]] == [p + 5 for p in primer]
    inside = [n.pitch % 12 in DORIAN_D for n in notes[4:]]
    assert len(notes) > 8 and sum(inside) >= 0.9 * len(inside)  # a fiddler's accidental or two
    # the ruler's bars and the length are counted in the metre asked for
    assert w.piano_roll.time_signature == (3, 4)


def test_from_the_primer_and_remembered_per_model(qtbot, window, tmp_path):
    import pretty_midi

    w = window
    box = w.conditions
    generate(qtbot, w, 32, "62,66,69,66")  # D F# A F#: the primer's metre (4/4 for pitches) and key
    assert box.said.text().startswith("metre 4/4, key ") and box.said.text().endswith("(the primer's)")
    w.takes.store.flush()  # the take's file, written by the store's thread
    pm = pretty_midi.PrettyMIDI(str(w.takes.list.takes()[0].path))
    assert [(t.numerator, t.denominator) for t in pm.time_signature_changes] == [(4, 4)]
    box.metre.setCurrentText("6/8")
    box.mode.setCurrentText("minor")
    box.tonic.setCurrentText("E")
    other = make_music_model(tmp_path / "plain.safetensors")  # no conditions: the controls go
    with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT):
        w.load_model(str(other))
    assert not box.isVisible()
    with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT):
        w.load_model(str(FOLK))
    assert box.isVisible()
    assert (box.metre.currentText(), box.tonic.currentText(), box.mode.currentText()) == ("6/8", "E", "minor")
    assert box.asked() == ((6, 8), (4, "minor"))


def test_variations_follow_the_metre_and_key_too(qtbot, window, tmp_path):
    import pretty_midi

    w = window
    w.conditions.metre.setCurrentText("6/8")
    w.conditions.mode.setCurrentText("major")
    w.conditions.tonic.setCurrentText("A")
    w.primer.setText("60,62,64,65")
    w.seed.setValue(1)
    w.length.setValue(24)
    w.variations.count.setValue(2)
    w.variations.button.click()
    qtbot.waitUntil(lambda: w.variations.current is not None and w.variations.current.done, timeout=TIMEOUT)
    for p in w.variations.export_all(tmp_path / "out"):
        pm = pretty_midi.PrettyMIDI(str(p))
        assert [(t.numerator, t.denominator) for t in pm.time_signature_changes] == [(6, 8)]
        assert [k.key_number for k in pm.key_signature_changes] == [9]  # A major
        notes = sorted((n for i in pm.instruments for n in i.notes), key=lambda n: n.start)
        assert [n.pitch % 12 for n in notes[:4]] == [9, 11, 1, 2]  # C D E F moved to A B C# D
