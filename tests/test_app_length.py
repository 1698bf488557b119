"""Length in the user's units (issue 21 item 4): music in bars and beats in the app, with the steps
beside them and in the status bar; text in characters; `guigen generate --bars N` in the primer's
metre."""

from __future__ import annotations

import subprocess
import sys

from app_helpers import TIMEOUT, make_model, make_music_model, open_window

from guigen.music.events import Note, NoteSequence
from guigen.music.midi import write_midi


def test_music_length_in_bars_and_the_status_bar_says_so(qtbot, tmp_path):
    for w in open_window(qtbot, tmp_path, make_music_model(tmp_path / "poly.safetensors", "polyphony")):
        ml = w.music_length
        assert ml.isVisible() and not w.length.isVisible()
        ml.bars.setValue(2)
        ml.beats.setValue(1)
        assert w.length.value() == 2 * 16 + 4 and ml.steps.text() == "= 36 steps"
        ml.beats.setValue(0)
        w.primer.setText("60,64,67")
        w.seed.setValue(3)
        w.generate()
        roll = w.piano_roll
        qtbot.waitUntil(lambda: w.state == "stopped", timeout=TIMEOUT)
        assert roll.steps - roll.primer_steps == 32  # exactly two bars after the primer, however many events
        assert w.count_label.text().startswith("2 bars (32 steps), ")
        assert w.takes.list.takes()[0].size == "2 bars 1 beat"  # the take holds the primer (a beat) too
        w.length.setValue(128)  # what a restored setting does: the boxes follow
        assert (ml.bars.value(), ml.beats.value(), ml.steps.text()) == (8, 0, "= 128 steps")


def test_text_length_in_characters(qtbot, tmp_path):
    for w in open_window(qtbot, tmp_path, make_model(tmp_path / "t.safetensors")):
        assert w.length.isVisible() and not w.music_length.isVisible()
        assert w.length.suffix() == " characters"
        w.length.setValue(30)
        w.seed.setValue(1)
        w.generate()
        qtbot.waitUntil(lambda: w.state == "stopped", timeout=TIMEOUT)
        assert len(w.text_view.chars) == 30 and w.count_label.text().startswith("30 characters")


def _notes(path):
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(path))
    return sorted((round(n.start * 8), round(n.end * 8), n.pitch) for i in pm.instruments for n in i.notes)


def _generate(*args):
    r = subprocess.run([sys.executable, "-m", "guigen", "generate", "-m", "bach-chorales", "--seed", "4", *map(str, args)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r


def test_generate_bars_counts_the_primers_metre(tmp_path):
    waltz = tmp_path / "waltz.mid"
    write_midi(NoteSequence([Note(0, 12, 60), Note(0, 12, 64), Note(0, 12, 67)], time_signature=(3, 4)), waltz)
    _generate("--primer-file", waltz, "--bars", 2, "-o", tmp_path / "bars.mid")
    _generate("--primer-file", waltz, "-n", 24, "-o", tmp_path / "steps.mid")  # 2 bars of 3/4
    assert _notes(tmp_path / "bars.mid") == _notes(tmp_path / "steps.mid")
    assert max(e for _, e, _ in _notes(tmp_path / "bars.mid")) <= 12 + 24
    _generate("--primer-pitches", "60,64,67", "--bars", 3, "-o", tmp_path / "b3.mid")
    _generate("--primer-pitches", "60,64,67", "-n", 48, "-o", tmp_path / "s48.mid")  # 3 bars of 4/4
    assert _notes(tmp_path / "b3.mid") == _notes(tmp_path / "s48.mid")
    r = subprocess.run([sys.executable, "-m", "guigen", "generate", "-m", "bach-chorales", "--bars", "2", "-n", "5"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "--bars and -n/--steps" in r.stderr


def test_a_piece_that_ends_early_says_why(qtbot, tmp_path):
    """A chorale model may end the piece (its end event) before the bars asked: the status bar says
    so, instead of "0 bars 2 beats" with no reason (bach-chorales, seed 5, 4 bars asked, under Xvfb)."""
    from guigen.music.polyphony import END

    for w in open_window(qtbot, tmp_path, make_music_model(tmp_path / "poly.safetensors", "polyphony")):
        w.music_length.bars.setValue(4)
        w.primer.setText("60,64,67")
        w.seed.setValue(3)
        w.actions["step"].trigger()  # paused after one event; the end event chosen from the histogram next
        qtbot.waitUntil(lambda: w.state == "paused" and bool(w.piano_roll.tokens), timeout=TIMEOUT)
        assert "ended" not in w.count_label.text()
        w.force(END)
        qtbot.waitUntil(lambda: w.piano_roll.tokens[-1] == END, timeout=TIMEOUT)
        qtbot.waitUntil(lambda: "the piece ended (its end event)" in w.count_label.text(), timeout=TIMEOUT)
        assert w.count_label.text().startswith("0 bars")
