"""The app's Harmonize action with the shipped bach-chorales model: the melody is outlined fixed
in the piano roll, the harmonisation grows under it, and exports as four tracks and four parts."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_helpers import TIMEOUT, open_window

from guigen.core import registry
from guigen.music.events import Note, NoteSequence, Voice
from guigen.music.harmonize import melody_of
from guigen.music.midi import read_midi, write_midi

TEST = Path(__file__).resolve().parents[1] / "data/midi/jsb_chorales/test"


@pytest.fixture()
def window(qtbot, tmp_path):
    yield from open_window(qtbot, tmp_path, registry.shipped_dir() / "bach-chorales.safetensors")


def test_harmonize_grows_under_the_fixed_melody_and_exports_four_voices(qtbot, window, tmp_path):
    from guigen.app.harmonize import start_harmony

    w = window
    assert w.actions["harmonize"].isEnabled()
    tune = [n for n in melody_of(read_midi(TEST / "chorale_test_010.mid")) if n.end <= 64]
    write_midi(NoteSequence(tune, [(0, 80.0)], (3, 4), [Voice("tune")]), tmp_path / "tune.mid")
    w.seed.setValue(1)
    assert start_harmony(w, tmp_path / "tune.mid")
    assert len(w.piano_roll.guide.opts["x0"]) == len(tune)  # the whole melody is outlined from the start
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=6 * TIMEOUT)
    w.piano_roll.grab().save(str(tmp_path / "harmonized.png"))
    notes = w.piano_roll.notes
    assert {n.key for n in tune} <= {n.key for n in notes}
    assert len(notes) >= 2 * len(tune)
    assert len(w.piano_roll.guide.opts["x0"]) == 0  # done: the outline gives way to the music
    roll = w.piano_roll
    assert sorted(n.key for n, v in zip(roll.notes, roll.voices) if v == 0) == [n.key for n in tune]  # soprano colour
    w.export_midi(tmp_path / "h.mid")
    seq = read_midi(tmp_path / "h.mid")
    assert [v.name for v in seq.voices] == ["Soprano", "Alto", "Tenor", "Bass"]
    assert [n.key for n in seq.notes if n.voice == 0] == [n.key for n in tune]
    assert seq.qpm == 80 and seq.time_signature == (3, 4)  # the melody file's tempo and metre
    if pytest.importorskip("music21"):
        w.export_midi(tmp_path / "h.musicxml")
        assert (tmp_path / "h.musicxml").read_text().count("<score-part ") == 4


def test_harmonize_refuses_what_it_cannot_use(qtbot, window, tmp_path):
    from guigen.app.harmonize import start_harmony

    (tmp_path / "bad.mid").write_bytes(b"not midi")
    errors = []
    window.show_error = lambda title, message: errors.append((title, message))
    assert not start_harmony(window, tmp_path / "bad.mid")
    assert errors and "not a MIDI file" in errors[0][1]


def test_the_harmonize_dialog_sets_temperature_beam_and_rules_and_the_histogram_follows(qtbot, window, tmp_path):
    from PySide6.QtCore import QTimer

    from guigen.app.harmonize import ask

    w = window
    tune = [n for n in melody_of(read_midi(TEST / "chorale_test_010.mid")) if n.end <= 32]
    write_midi(NoteSequence(tune, [(0, 80.0)], (3, 4), [Voice("tune")]), tmp_path / "tune.mid")
    shown = []
    w.histogram.shown.connect(lambda: shown.append(w.histogram._title))

    def fill():
        d = w.harmonize_box
        d.path.setText(str(tmp_path / "tune.mid"))
        d.temperature.setValue(0.7)
        d.beam.setValue(2)
        d.strict.setChecked(False)
        d.ending.setCurrentIndex(d.ending.findData("half"))
        assert d.options()["beam_size"] == 2 and d.options()["strict"] is False and d.options()["ending"] == "half"
        d._accept()

    QTimer.singleShot(100, fill)
    ask(w)  # the dialog, answered by fill()
    assert w.dial.temperature() == 0.7
    assert w.harmony.job.options["beam_size"] == 2 and w.harmony.job.options["strict"] is False
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=6 * TIMEOUT)
    assert any(t.startswith("Harmonizing") for t in shown)  # the histogram followed it live
    assert w.curve.logits is not None
    notes = w.piano_roll.notes
    assert {n.key for n in tune} <= {n.key for n in notes} and len(notes) >= 2 * len(tune)


def test_harmonize_keeps_a_pickup_in_the_app(qtbot, window, tmp_path):
    from guigen.app.harmonize import start_harmony

    w = window
    tune = [Note(12 + 4 * i, 16 + 4 * i, p) for i, p in enumerate([67, 72, 71, 69, 67, 65, 64, 62, 60])]
    write_midi(NoteSequence(tune, [(0, 90.0)], (4, 4), [Voice("tune")]), tmp_path / "pickup.mid")
    w.seed.setValue(2)
    assert start_harmony(w, tmp_path / "pickup.mid")
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=6 * TIMEOUT)
    notes = w.piano_roll.notes
    assert {n.key for n in tune} <= {n.key for n in notes} and min(n.start for n in notes) == 12
    w.export_midi(tmp_path / "h.mid")
    import pretty_midi

    soprano = next(i for i in pretty_midi.PrettyMIDI(str(tmp_path / "h.mid")).instruments if i.name == "Soprano")
    assert [n.start for n in soprano.notes] == pytest.approx([n.start * 60 / (90 * 4) for n in tune], abs=1e-4)


def _tune(tmp_path, bars: int = 8) -> Path:
    """The first `bars` bars of a test chorale's melody, as a MIDI file."""
    tune = [n for n in melody_of(read_midi(TEST / "chorale_test_010.mid")) if n.end <= 16 * bars]
    path = tmp_path / f"tune{bars}.mid"
    write_midi(NoteSequence(tune, [(0, 80.0)], (3, 4), [Voice("tune")]), path)
    return path


def test_harmonizing_runs_in_the_generation_process_and_stops_on_esc(qtbot, window, tmp_path):
    """The model harmonises in the generation process (no thread of the window's runs it); Stop (Esc)
    cancels it there: the process reports it idle, the outline gives way and nothing more arrives."""
    import threading

    from guigen.app.harmonize import start_harmony

    w = window
    gen = w.generation
    w.seed.setValue(3)
    w.dial.set_temperature(1.0)
    assert start_harmony(w, _tune(tmp_path, 16), {"beam_size": 1})
    qtbot.waitUntil(lambda: gen.worker.harmonizing and len(w.piano_roll.notes) > 30, timeout=6 * TIMEOUT)
    assert [t.name for t in threading.enumerate() if "harmon" in t.name.lower()] == []  # not in this process
    assert w.actions["stop"].isEnabled()
    w.actions["stop"].trigger()
    qtbot.waitUntil(lambda: not gen.worker.harmonizing, timeout=TIMEOUT)
    assert w.state == "stopped" and len(w.piano_roll.guide.opts["x0"]) == 0
    shown = len(w.piano_roll.notes)
    with qtbot.waitSignal(gen.worker.previewed, timeout=TIMEOUT, raising=False):  # a round trip to the process
        gen.send("settings", w.sampling_settings())
    qtbot.wait(200)  # anything still on its way from the cancelled run would have come by now
    assert len(w.piano_roll.notes) == shown
    assert w.errors == []


def test_a_crash_while_harmonizing_is_said_and_the_next_harmonisation_works(qtbot, window, tmp_path):
    """The generation process killed mid-harmonisation: one message, the outline gone; harmonising
    again starts a fresh process, which loads the model and harmonises."""
    import os
    import signal

    from guigen.app.harmonize import start_harmony

    w = window
    gen = w.generation
    w.seed.setValue(4)
    assert start_harmony(w, _tune(tmp_path, 16))
    qtbot.waitUntil(lambda: gen.worker.harmonizing and len(w.piano_roll.notes) > 10, timeout=6 * TIMEOUT)
    with qtbot.waitSignal(w.failed, timeout=TIMEOUT) as failed:
        os.kill(gen.worker.pid, signal.SIGKILL)
    assert failed.args[0] == "harmonize" and "ended unexpectedly" in failed.args[1]
    assert len(w.piano_roll.guide.opts["x0"]) == 0 and w.harmony.ended
    w.errors.clear()
    assert start_harmony(w, _tune(tmp_path, 4))
    qtbot.waitUntil(lambda: w.state == "stopped" and w.harmony.ended, timeout=6 * TIMEOUT)
    assert w.errors == [] and len(w.piano_roll.notes) > 10


def test_a_widened_beam_holds_generate_and_esc_cancels_it_at_once(qtbot, window, tmp_path):
    """Three long melody notes: the ending's wider beam covers all of it, and a widened beam streams
    nothing until it ends (minutes, here). While it runs Generate, Step and Space start nothing (their
    sample would land in its roll); Stop (Esc) reaches it: its thread in the process stops."""
    from guigen.app.harmonize import start_harmony

    w = window
    gen = w.generation
    tune = [Note(0, 256, 72), Note(256, 512, 71), Note(512, 768, 72)]
    write_midi(NoteSequence(tune, [(0, 80.0)], (4, 4), [Voice("tune")]), tmp_path / "long.mid")
    assert start_harmony(w, tmp_path / "long.mid", {"beam_size": 4, "ending": "tonic"})
    qtbot.waitUntil(lambda: gen.worker.harmonizing, timeout=TIMEOUT)
    assert not w.actions["generate"].isEnabled() and not w.actions["step"].isEnabled()
    assert w.actions["stop"].isEnabled()
    w.pause_resume()  # Space
    w.actions["generate"].trigger()
    assert gen.worker.state != "running" and w.state != "running"
    w.actions["stop"].trigger()  # Esc
    qtbot.waitUntil(lambda: not gen.worker.harmonizing, timeout=TIMEOUT)  # the process's thread has stopped
    assert w.statusBar().currentMessage() == "Harmonizing stopped"
    assert w.actions["generate"].isEnabled() and w.actions["step"].isEnabled()
    assert w.errors == []


def test_a_generate_after_a_harmonisation_is_a_take_of_its_own(qtbot, window, tmp_path):
    from guigen.app.harmonize import start_harmony

    w = window
    w.seed.setValue(2)
    assert start_harmony(w, _tune(tmp_path, 2), {"beam_size": 1})
    qtbot.waitUntil(lambda: w.state == "stopped" and not w.generation.worker.harmonizing, timeout=6 * TIMEOUT)
    harmonised = w.takes.current
    assert harmonised is not None and harmonised.source == "harmonisation"
    w.primer.setText("60,64,67")
    w.length.setValue(32)
    w.generate()
    qtbot.waitUntil(lambda: w.state == "stopped" and w.takes.current not in (None, harmonised), timeout=TIMEOUT)
    take = w.takes.current
    assert w.harmony is None and take.source == "generate" and take.primer == "60,64,67"
    assert [t.source for t in w.takes.list.takes()].count("harmonisation") == 1


def test_a_harmonisation_with_a_random_seed_keeps_the_seed_it_drew(qtbot, window, tmp_path):
    """Seed "random": the seed drawn is kept, as Generate keeps it, so the take is named model-T-seed
    and the same harmonisation can be made again (under Xvfb the take was "bach-chorales-T1"); and a
    second harmonisation is a take of its own (it wrote over the first one's files)."""
    from guigen.app.harmonize import start_harmony

    w = window
    tune = [n for n in melody_of(read_midi(TEST / "chorale_test_010.mid")) if n.end <= 16]
    write_midi(NoteSequence(tune, [(0, 80.0)], (3, 4), [Voice("tune")]), tmp_path / "tune.mid")
    w.seed.setValue(-1)
    assert w.seed.text() == "random"
    results, take = [], None
    for _ in range(2):
        before = take
        assert start_harmony(w, tmp_path / "tune.mid")
        qtbot.waitUntil(lambda: w.state == "stopped" and w.takes.current not in (None, before), timeout=6 * TIMEOUT)
        take = w.takes.current
        assert take.source == "harmonisation" and take.seed is not None
        assert take.name == f"bach-chorales-T1-seed{take.seed}"
        results.append(list(w.piano_roll.tokens))
        w.seed.setValue(take.seed)  # the second time: that seed again, the same harmonisation
    assert results[0] == results[1]
    # each harmonisation is its own take: the second did not write over the first
    w.takes.store.flush()  # their files, written by the store's thread
    takes = [t for t in w.takes.list.takes() if t.source == "harmonisation"]
    assert len(takes) == 2 and all(t.path.is_file() for t in takes) and takes[0].path != takes[1].path


def _said(w) -> dict:
    """What the window says of the harmonisation: the histogram's header, the state, the status bar."""
    return {"header": w.histogram.header.text(), "state": w.state_label.text(),
            "status": w.statusBar().currentMessage()}


def test_every_label_is_true_when_a_harmonisation_finishes(qtbot, window, tmp_path):
    """While it runs the header says Harmonizing; finished, no label says it still is."""
    from guigen.app.harmonize import start_harmony

    w = window
    w.seed.setValue(5)
    assert start_harmony(w, _tune(tmp_path, 2), {"beam_size": 1})
    qtbot.waitUntil(lambda: "Harmonizing:" in _said(w)["header"], timeout=6 * TIMEOUT)
    assert _said(w)["state"] == "harmonizing"
    qtbot.waitUntil(lambda: w.harmony is not None and w.harmony.ended, timeout=6 * TIMEOUT)
    said = _said(w)
    assert "Harmonized:" in said["header"] and "Harmonizing" not in said["header"], said
    assert said["state"] == "stopped" and said["status"].startswith("Harmonized tune2.mid"), said
    assert w.errors == []


def test_every_label_is_true_when_a_harmonisation_is_stopped_with_esc(qtbot, window, tmp_path):
    from guigen.app.harmonize import start_harmony

    w = window
    w.seed.setValue(6)
    assert start_harmony(w, _tune(tmp_path, 16), {"beam_size": 1})
    qtbot.waitUntil(lambda: "Harmonizing:" in _said(w)["header"] and len(w.piano_roll.notes) > 20,
                    timeout=6 * TIMEOUT)
    w.actions["stop"].trigger()  # Esc
    qtbot.waitUntil(lambda: not w.generation.worker.harmonizing, timeout=TIMEOUT)
    said = _said(w)
    assert "Harmonizing stopped:" in said["header"] and "Harmonizing:" not in said["header"], said
    assert said["state"] == "stopped" and said["status"] == "Harmonizing stopped", said


def test_every_label_is_true_when_a_harmonisation_fails(qtbot, window, tmp_path):
    """The harmoniser in the generation process refuses the job (an ending it does not know: the
    dialog offers none such, a script could): the error is said, and no label says it is going on."""
    from guigen.app.harmonize import start_harmony

    w = window
    errors = []
    w.show_error = lambda title, message: errors.append((title, message))
    assert start_harmony(w, _tune(tmp_path, 2), {"ending": "bogus"})
    assert _said(w)["state"] == "harmonizing"
    qtbot.waitUntil(lambda: w.harmony is not None and w.harmony.ended, timeout=6 * TIMEOUT)
    assert errors and errors[0][0] == "Harmonizing failed" and "bogus" in errors[0][1]
    said = _said(w)
    assert said["state"] == "stopped" and said["status"].startswith("Harmonizing tune2.mid failed: "), said
    assert "Harmonizing:" not in said["header"], said
    assert w.actions["generate"].isEnabled()


def test_every_label_is_true_when_the_process_dies_mid_harmonisation(qtbot, window, tmp_path):
    import os
    import signal

    from guigen.app.harmonize import start_harmony

    w = window
    gen = w.generation
    w.seed.setValue(4)
    assert start_harmony(w, _tune(tmp_path, 16))
    qtbot.waitUntil(lambda: "Harmonizing:" in _said(w)["header"] and len(w.piano_roll.notes) > 10,
                    timeout=6 * TIMEOUT)
    with qtbot.waitSignal(w.failed, timeout=TIMEOUT):
        os.kill(gen.worker.pid, signal.SIGKILL)
    said = _said(w)
    assert "harmonizing" not in said["state"].lower() and "ended unexpectedly" in said["status"], said
    assert "Harmonizing ended:" in said["header"] and "Harmonizing:" not in said["header"], said
