"""The piano roll as a DAW's (issue 12 item 3), with the shipped Bach models in a real window offscreen:
keys and their names, a ruler in the primer's metre, the whole piece to scroll and zoom over, follow
mode, voices, labelled markers, probability colours with a legend, both palettes."""

from __future__ import annotations

import pytest
from app_helpers import TIMEOUT, generate_music, open_window
from PySide6.QtGui import QColor, QPalette

from guigen.app.theme import contrast, readable
from guigen.app.widgets.pianoroll import FOLLOW_MARGIN, VOICE_NAMES, KeyboardAxis, metre_steps, prob_fill
from guigen.core import registry


def generate_until_stopped(qtbot, w, n: int, primer: str = "60,64,67", seed: int = 1) -> None:
    """Generate up to n events (a chorale may end sooner: END); wait until it stops."""
    w.primer.setText(primer)
    w.seed.setValue(seed)
    w.length.setValue(n)
    w.generate()
    qtbot.waitUntil(lambda: w.state == "stopped" and len(w.piano_roll.tokens) > 0, timeout=TIMEOUT)


@pytest.fixture()
def melody(qtbot, tmp_path):
    yield from open_window(qtbot, tmp_path, registry.resolve("bach-melody"))


@pytest.fixture()
def chorales(qtbot, tmp_path):
    yield from open_window(qtbot, tmp_path, registry.resolve("bach-chorales"))


def test_keyboard_names_every_c_and_draws_black_keys():
    keys = KeyboardAxis.keys(47.6, 73.2)
    assert [p for p, _, _ in keys] == list(range(48, 74))
    assert [(p, label) for p, _, label in keys if label] == [(48, "C3"), (60, "C4"), (72, "C5")]
    assert {p % 12 for p, black, _ in keys if black} == {1, 3, 6, 8, 10}


def test_metre_on_the_sixteenth_grid():
    assert metre_steps((4, 4)) == (4, 16)
    assert metre_steps((3, 4)) == (4, 12)
    assert metre_steps((6, 8)) == (2, 12)
    assert metre_steps((2, 2)) == (8, 16)


def test_the_whole_piece_scrolls_follows_and_zooms(qtbot, melody):
    """600 steps of bach-melody: the primer stays (no 'last 128 steps'); follow keeps the end in view
    until the user scrolls away; scrolling back to the end follows again."""
    w = melody
    roll = w.piano_roll
    generate_music(qtbot, w, 600, "67,71,72,66,67")
    assert [n.pitch for n in roll.notes[:4]] == [67, 71, 72, 66]  # the primer is kept
    assert roll.steps == len(roll.primer) + 600 == 5 * 4 + 600  # melody: one event per step
    x0, x1 = roll.view_range()
    assert roll.follow and x1 == pytest.approx(roll.total_steps() + FOLLOW_MARGIN)
    assert roll.scrollbar.maximum() > 0 and roll.scrollbar.value() == roll.scrollbar.maximum()
    assert "next step" in roll.now.label.format and roll.now.value() == roll.steps

    roll.scrollbar.setValue(0)  # the user drags the scroll bar to the start
    assert not roll.follow and not roll.follow_button.isChecked()
    assert roll.view_range()[0] == 0
    w.length.setValue(100)
    w.step()  # one more step, paused; then Resume: more music comes in, the view stays where the user put it
    qtbot.waitUntil(lambda: w.state == "paused", timeout=TIMEOUT)
    w.generate()
    qtbot.waitUntil(lambda: w.state == "stopped" and roll.steps == 20 + 600 + 1 + 100, timeout=TIMEOUT)
    assert roll.view_range()[0] == 0 and not roll.follow

    span = roll.span
    roll.zoom(0.5)
    x0, x1 = roll.view_range()
    assert roll.span == pytest.approx(span / 2) and x1 - x0 == pytest.approx(span / 2)
    roll.show_all()  # all of it, with a few pixels' margin left of bar 1 (clear of the keyboard)
    lead = roll.lead()
    assert 0 < lead < 0.02 * roll.span
    assert roll.view_range() == pytest.approx((-lead, roll.total_steps() + FOLLOW_MARGIN - lead))
    roll.follow_button.setChecked(False)
    roll.zoom(0.25)
    roll.scrollbar.setValue(roll.scrollbar.maximum())  # back at the end: following again
    assert roll.follow and roll.follow_button.isChecked()

    roll.set_playhead(37.5)
    assert roll.playhead.isVisible() and roll.playhead.label.format == "playhead 3.2"  # bar 3, beat 2
    roll.set_playhead(None)
    assert not roll.playhead.isVisible()


def test_ruler_takes_the_metre_of_a_midi_primer(qtbot, melody, tmp_path):
    from guigen.music.events import Note, NoteSequence
    from guigen.music.midi import write_midi

    w = melody
    primer = write_midi(NoteSequence([Note(4 * i, 4 * i + 4, p) for i, p in enumerate([67, 71, 74, 72, 71, 69])],
                                     tempos=[(0, 90.0)], time_signature=(3, 4)), tmp_path / "waltz.mid")
    generate_music(qtbot, w, 100, str(primer))
    roll = w.piano_roll
    assert roll.time_signature == (3, 4) and roll.ruler.time_signature == (3, 4)
    _, numbered, other = roll.ruler.marks(0, 48, 480)
    assert numbered == [0, 12, 24, 36, 48]  # a bar number every 3 beats
    assert other == [4, 8, 16, 20, 28, 32, 40, 44]  # the beats between
    assert roll.position.text().endswith("3/4")


def test_voices_of_four_part_chorales_and_probability_colours(qtbot, chorales):
    w = chorales
    roll = w.piano_roll
    generate_until_stopped(qtbot, w, 64, "48,55,64,72")  # seed 1: no END before 64 steps (4 bars)
    assert roll.steps - roll.primer_steps == 64
    assert roll.voices is not None and len(roll.voices) == len(roll.notes)
    assert set(roll.voices) <= {0, 1, 2, 3} and len(set(roll.voices)) == 4
    first = sorted((n.pitch, v) for n, v in zip(roll.notes, roll.voices) if n.start == 0)
    assert [v for _, v in first] == [3, 2, 1, 0]  # the primer chord: bass lowest ... soprano highest
    assert all(name in roll.voice_legend.text() for name in VOICE_NAMES)
    fills = {roll.fill_of(i).name() for i in roll.drawn}
    assert {c.name() for c in roll.colours["voices"]} <= fills

    w.actions["colour_by_prob"].setChecked(True)
    assert roll.colour and roll.prob_legend.isVisible() and not roll.voice_legend.isVisible()
    probs = roll.event_probs()
    assert probs and all(0 < p <= 1 for p in probs.values())
    drawn = [roll.notes[i] for i in roll.drawn]  # the notes the plot holds: all of them here, in view
    assert len(drawn) == len(roll.notes)
    generated = [(roll.fill_of(i).name(), roll.notes[i]) for i in roll.drawn if roll.notes[i].start >= roll.primer_steps]
    assert all(c == prob_fill(probs[(n.start, n.pitch)]).name() for c, n in generated if (n.start, n.pitch) in probs)


@pytest.mark.parametrize("dark", [False, True])
def test_colours_follow_the_palette_and_text_reads(qtbot, chorales, dark):
    w = chorales
    generate_until_stopped(qtbot, w, 60)
    roll = w.piano_roll
    pal = QPalette(roll.palette())
    if dark:
        for role, c in ((QPalette.ColorRole.Base, (30, 30, 32)), (QPalette.ColorRole.Text, (230, 230, 230)),
                        (QPalette.ColorRole.Window, (45, 45, 48)), (QPalette.ColorRole.WindowText, (230, 230, 230))):
            pal.setColor(role, QColor(*c))
    roll.setPalette(pal)
    base = pal.color(QPalette.ColorRole.Base)
    assert roll.plot.backgroundBrush().color() == base
    for line in (roll.now, roll.playhead):  # the markers' labels, on the plot's background
        assert contrast(line.label.color, base) >= 4.5
    assert contrast(roll.ruler.text, base) >= 4.5
    assert contrast(roll.primer_text.color, base) >= 4.5


def test_readable_reaches_the_contrast_asked_for():
    for bg in (QColor(255, 255, 255), QColor(30, 30, 32), QColor(240, 240, 240)):
        for c in (QColor(230, 120, 20), QColor(220, 40, 40), QColor(120, 120, 120)):
            assert contrast(readable(c, bg), bg) >= 4.5


@pytest.mark.parametrize("name", ["bach-chorales", "bach-melody"])
def test_stream_decoder_equals_decoding_it_all(name):
    """The roll decodes only what follows the last clean cut; at every length it must equal a full decode."""
    from guigen.core.modelfile import load_model
    from guigen.core.sampling import SamplingSettings
    from guigen.music.events import Note
    from guigen.music.generate import generate_events
    from guigen.music.incremental import StreamDecoder

    model = load_model(registry.resolve(name))
    codec = model.codec
    primer = codec.primer([Note(4 * i, 4 * i + 4, p) for i, p in enumerate([60, 64, 67])])
    ids = [int(t) for t in generate_events(model, primer, 120, SamplingSettings(1.5), seed=2)[0].ids]
    dec = StreamDecoder(codec)
    for n in range(1, len(ids) + 1, 3):
        assert dec.decode(ids[:n]) == codec.decode(ids[:n]), n
    assert dec.cut > len(ids) // 2  # it did cut: most of the piece is decoded once
    assert dec.decode(ids[:10]) == codec.decode(ids[:10])  # shorter (undo): starts again


def test_the_bar_at_the_left_edge_keeps_its_number_when_its_line_scrolls_out(qtbot):
    from guigen.app.widgets.roll_ruler import RulerAxis

    ruler = RulerAxis()  # 4/4: 16 steps a bar; 10 px a step, the view from step 5 at x = 0
    xpx = lambda s: (s - 5) * 10  # noqa: E731
    width = lambda text: 7 * len(text)  # noqa: E731
    lines, labels = ruler.bar_numbers([0, 16, 32], 5, xpx, 0, 400, width)
    assert lines == [110, 270] and labels == [(0, "1"), (110, "2"), (270, "3")]  # bar 1's line is off view
    lines, labels = ruler.bar_numbers([0, 16, 32], 15, lambda s: (s - 15) * 10, 0, 400, width)
    assert labels == [(10, "2"), (170, "3")]  # bar 2's line 10 px in: no room for "1" before it
    lines, labels = ruler.bar_numbers([0, 16, 32], 0, lambda s: s * 10, 0, 400, width)
    assert labels == [(0, "1"), (160, "2"), (320, "3")]  # bar 1's own line is in view: drawn once


def test_the_generation_process_works_out_the_notes_and_voices_the_roll_draws(qtbot, chorales):
    """Streaming, the roll takes each batch's notes, voices and probabilities from the generation
    process (guigen.app.roll_feed): the GUI thread decodes nothing after the primer. They are what a
    full decode and voice_labels of everything give, before and after an undo; hovering still
    names a note's probability."""
    from guigen.music.voices import voice_labels

    w = chorales
    roll = w.piano_roll
    taken = []
    take = roll._take
    roll._take = lambda update: (taken.append(update), take(update))[1]
    generate_until_stopped(qtbot, w, 96, "48,55,64,72", seed=4)
    assert roll._feed is None  # no feed of the roll's own: everything came from the process
    # after the first: the tail each time, not the piece (how many batches there are depends on the machine's speed)
    assert len(taken) > 1 and min(len(u.notes) for u in taken[1:]) < len(roll.notes) / 2
    ids = roll.ids()
    assert roll.notes == roll.codec.decode(ids) and roll.steps == roll.codec.count_steps(ids)
    assert roll.voices == voice_labels(roll.notes)
    probs = roll.event_probs()
    assert sum(n.start >= roll.primer_steps for n in roll.notes) <= len(probs) + 4 and all(0 < p <= 1 for p in probs.values())
    for _ in range(5):
        with qtbot.waitSignal(w.undone, timeout=TIMEOUT):
            w.actions["undo"].trigger()
    assert roll._feed is None  # the undo's notes came from the process too
    ids = roll.ids()
    assert roll.notes == roll.codec.decode(ids) and roll.voices == voice_labels(roll.notes)
    colours = roll.colours  # each note drawn in its voice's colour (name(): the primer's are only paler)
    assert [roll.fill_of(i).name() for i in roll.drawn] == [
        (colours["voices"][v] if v is not None else colours["unclear"]).name() for v in roll.voices]


def test_notes_that_come_as_notes_are_drawn_with_their_voices_and_probabilities(qtbot, chorales):
    """show_notes: for music that is notes, not tokens (the live panel's): drawn as given."""
    from guigen.music.events import Note

    roll = chorales.piano_roll
    roll.reset(chorales.codec)
    notes = [Note(0, 8, 72), Note(0, 8, 60), Note(8, 16, 74), Note(8, 16, 59)]
    roll.show_notes(notes, voices=[0, 1, 0, 1], probs=[None, 0.5, None, 0.25])
    assert roll.notes == sorted(notes) and roll.steps == 16 and roll.total_steps() == 16
    assert [roll.voices[roll.notes.index(n)] for n in notes] == [0, 1, 0, 1]
    assert roll.event_probs() == {(0, 60): 0.5, (8, 59): 0.25}
    assert roll.note_at(10.5, 59.2) == roll.notes.index(Note(8, 16, 59))
    assert {roll.fill_of(i).name() for i in roll.drawn} == {c.name() for c in roll.colours["voices"][:2]}
