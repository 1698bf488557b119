"""Music mode: the piano roll grows, MIDI export reads back in pretty_midi, WAV export, no sound device."""

from __future__ import annotations

import wave

import pytest
from app_helpers import TIMEOUT, generate_music, make_music_model, open_window


@pytest.fixture(scope="module", params=["melody", "polyphony"])
def music_model(request, tmp_path_factory):
    return make_music_model(tmp_path_factory.mktemp("models") / f"{request.param}.safetensors", request.param)


@pytest.fixture()
def window(qtbot, tmp_path, music_model):
    yield from open_window(qtbot, tmp_path, music_model)


def generate(qtbot, w, n=200, primer="60,64,67"):
    generate_music(qtbot, w, n, primer)


def test_music_model_shows_the_piano_roll_and_notes_grow(qtbot, window):
    w = window
    assert w.views.currentWidget() is w.piano_roll
    assert w.actions["export_midi"].isEnabled() and not w.actions["export_text"].isEnabled()
    generate(qtbot, w)
    assert len(w.piano_roll.notes) > 0
    assert all(0 <= n.pitch <= 127 and n.end > n.start for n in w.piano_roll.notes)
    assert {60, 64, 67} <= {n.pitch for n in w.piano_roll.notes if n.start < 12}  # the primer is kept
    labels = w.histogram.labels
    assert any(label.startswith("C4") for label in labels)  # note names, not numbers
    n = len(w.piano_roll.tokens)
    with qtbot.waitSignal(w.undone, timeout=TIMEOUT):
        w.actions["undo"].trigger()
    assert len(w.piano_roll.tokens) == n - 1


def test_a_model_in_one_key_plays_in_the_primers_key(qtbot, tmp_path):
    """A melody model trained in C (--to-key C), primed in G: the piano roll, the histogram's labels
    and the exported file are in G; the model saw the primer in C."""
    pretty_midi = pytest.importorskip("pretty_midi")
    path = make_music_model(tmp_path / "in-c.safetensors", "melody", key=0)
    for w in open_window(qtbot, tmp_path, path):
        generate(qtbot, w, n=40, primer="67,71,72,66,67")  # only G major holds G, B, C and F#
        assert [n.pitch for n in w.piano_roll.notes[:4]] == [67, 71, 72, 66]
        c5 = w.model.codec.note_on(72)  # the model's C5 ...
        assert w.histogram.labels[c5] == "G4" and w.codec.token_label(c5) == "G4"  # ... is the listener's G4
        assert w.piano_roll.primer[0] == w.model.codec.note_on(72)  # the model was fed the primer in C
        out = w.export_midi(tmp_path / "g.mid")
        pm = pretty_midi.PrettyMIDI(str(out))
        pitches = [n.pitch for n in sorted(pm.instruments[0].notes, key=lambda n: n.start)]
        assert pitches == [n.pitch for n in w.piano_roll.notes]
        w.clear()
        assert w.codec is w.model.codec


def test_histogram_leaves_out_what_the_encoding_rules_out(qtbot, window):
    w = window
    generate(qtbot, w, n=50)
    h = w.histogram
    allowed = int((h.raw > 0).sum())
    if w.model.codec.name == "polyphony":  # the grammar: e.g. only notes below the last one, held ones that sound
        assert allowed < len(h.raw) and "ruled out by the encoding" in h.header.text()
    assert len(h.order) == min(allowed, len(h.order)) and (h.raw[h.order] > 0).all()
    assert not h.cut.isVisible()  # top-k and top-p are off: no cut line, whatever the rules leave out


def test_midi_export_reads_back_in_pretty_midi(qtbot, window, tmp_path):
    pretty_midi = pytest.importorskip("pretty_midi")
    w = window
    generate(qtbot, w)
    out = w.export_midi(tmp_path / "out.mid")
    pm = pretty_midi.PrettyMIDI(str(out))
    notes = sorted((round(n.start * 8), n.pitch) for i in pm.instruments for n in i.notes)  # 120 qpm: 8 steps/s
    expected = sorted((n.start, n.pitch) for n in w.piano_roll.notes)
    assert notes == expected
    with pytest.raises(FileExistsError):
        w.export_midi(out)


def test_wav_export_and_no_sound_device(qtbot, window, tmp_path):
    w = window
    generate(qtbot, w, n=60)
    out = w.export_wav(tmp_path / "out.wav")
    with wave.open(str(out)) as f:
        assert f.getnchannels() == 2 and f.getnframes() > f.getframerate() * 0.5
    with pytest.raises(FileExistsError):
        w.export_wav(out)
    from guigen.app.music import Player

    if Player.device() is None:  # a server: the app says so, and export (above) still works
        w.actions["play"].trigger()
        assert "No sound device" in w.errors[-1]


def test_drag_out_writes_a_midi_file(qtbot, window):
    from guigen.app.music import drag_midi

    w = window
    generate(qtbot, w, n=40)
    path = drag_midi(w)
    assert path.suffix == ".mid" and path.stat().st_size > 0


def test_bad_pitches_give_a_message(qtbot, window):
    w = window
    w.primer.setText("60,not-a-pitch")
    w.generate()
    assert "MIDI numbers" in w.errors[-1]
    assert w.state == "idle"
