"""Variations (issue 12 item 5): N continuations of one primer in one batch, side by side, each named,
exported (N distinct files, MIDI read back by pretty_midi), dragged out, played, or chosen to go on from."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
import pytest
from app_helpers import TIMEOUT, make_model, open_window

from guigen.core import registry


@pytest.fixture()
def chorales(qtbot, tmp_path):
    yield from open_window(qtbot, tmp_path, registry.resolve("bach-chorales"))


@pytest.fixture()
def text_window(qtbot, tmp_path):
    yield from open_window(qtbot, tmp_path, make_model(tmp_path / "text.safetensors"))


def make(qtbot, w, n: int, length: int, primer: str, seed: int = 5):
    batches = []
    w.generation.worker.varied.connect(lambda b: batches.append(b))
    w.primer.setText(primer)
    w.seed.setValue(seed)
    w.length.setValue(length)
    w.variations.count.setValue(n)
    w.variations.button.click()
    qtbot.waitUntil(lambda: w.variations.current is not None and w.variations.current.done, timeout=TIMEOUT)
    if w.model.kind == "text":  # music stops the worker once every variation has its steps
        qtbot.waitUntil(lambda: bool(batches) and batches[-1].done, timeout=TIMEOUT)  # [] is not a bool to pytest-qt
    return w.variations.current, batches


def test_music_variations_one_batch_named_exported_and_chosen(qtbot, chorales, tmp_path):
    pretty_midi = pytest.importorskip("pretty_midi")
    w = chorales
    cur, batches = make(qtbot, w, 3, 16, "48,55,64,72")  # music's length in steps: one bar each
    v = w.variations
    assert all(b.tokens.shape[0] == 3 and b.probs.shape == b.tokens.shape for b in batches)  # rows of one batch
    assert [it.name for it in cur.items] == [f"bach-chorales-T1-seed5-v{i}" for i in (1, 2, 3)]
    assert [c.name for c in v.view.cards] == [it.name for it in cur.items]
    assert [c.badge.text() for c in v.view.cards] == ["<b>v1</b>", "<b>v2</b>", "<b>v3</b>"]
    assert all(c.title.text().endswith(f"-v{i}") for i, c in enumerate(v.view.cards, 1))  # elided from the left
    # each runs its length, one bar (END is not drawn), cut after its 16th step's end
    assert all(cur.codec.count_steps(it.tokens) == 16 and cur.codec.ends_step(it.tokens[-1]) for it in cur.items)
    assert len({tuple(it.tokens) for it in cur.items}) == 3
    assert v.view.isVisible() and all(c.buttons["use"].isEnabled() for c in v.view.cards)
    assert all(c.roll.notes for c in v.view.cards)

    paths = v.export_all(tmp_path / "out")
    assert [p.name for p in paths] == [f"{it.name}.mid" for it in cur.items]
    read = []
    for p, it in zip(paths, cur.items):
        pm = pretty_midi.PrettyMIDI(str(p))
        got = sorted((round(n.start * 8), round(n.end * 8), n.pitch) for i in pm.instruments for n in i.notes)
        assert got == sorted((n.start, n.end, n.pitch) for n in v.notes(it))  # 120 qpm: 8 steps a second
        read.append(tuple(got))
    assert len(set(read)) == 3  # N distinct files
    with pytest.raises(FileExistsError):
        v.export_all(tmp_path / "out")
    dragged = v.drag_file(1)
    assert dragged.name == f"{cur.items[1].name}.mid" and dragged.stat().st_size > 0
    again = v.drag_file(1)  # a drag of its own: the first drop's file is left alone
    assert again != dragged and again.name == dragged.name and dragged.is_file()

    chosen = cur.items[1]
    v.view.cards[1].buttons["use"].click()
    qtbot.waitUntil(lambda: w.state == "paused", timeout=TIMEOUT)
    assert w.piano_roll.tokens == chosen.tokens and w.piano_roll.primer == cur.primer
    if hasattr(w, "sample_name"):  # the sample's export name is now this run's
        assert w.sample_name() == "bach-chorales-T1-seed5"
    w.length.setValue(2)
    w.generate()  # Resume: goes on from the chosen variation's end
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=TIMEOUT)
    kept = len(chosen.tokens)
    assert w.piano_roll.tokens[:kept] == chosen.tokens and len(w.piano_roll.tokens) > kept
    for _ in range(len(w.piano_roll.tokens) - kept + 1):  # Undo steps back into the variation itself
        n = len(w.piano_roll.tokens)
        with qtbot.waitSignal(w.undone, timeout=TIMEOUT):
            w.actions["undo"].trigger()
        assert len(w.piano_roll.tokens) == n - 1
    assert w.piano_roll.tokens == chosen.tokens[:kept - 1]


def test_text_variations_match_one_batched_generator(qtbot, text_window, tmp_path):
    """The strip's texts are the rows of one Generator(batch=N) fed the primer once."""
    from guigen.core.generate import Generator

    w = text_window
    cur, _ = make(qtbot, w, 4, 50, "abc ", seed=11)
    gen = Generator(w.model, w.sampling_settings(), seed=11, batch=4, undo_depth=0)
    gen.feed(w.model.codec.encode("abc "))
    rows = np.stack([gen.step().tokens for _ in range(50)], axis=1)
    assert [it.tokens for it in cur.items] == rows.tolist()
    texts = [c.body.toPlainText() for c in w.variations.view.cards]
    assert all(t.startswith("abc ") and len(t) == 54 for t in texts)
    paths = w.variations.export_all(tmp_path)
    assert [p.read_text() for p in paths] == texts and len({p.name for p in paths}) == 4
    assert paths[0].name == f"text-T1-seed11-v1.txt"
    w.variations.choose(3)
    qtbot.waitUntil(lambda: w.state == "paused", timeout=TIMEOUT)
    assert w.text_view.text() == texts[3]


def test_variations_refuse_bad_input_and_say_why(qtbot, text_window):
    w = text_window
    w.primer.setText("abc ☃")
    assert not w.variations.start(3)
    assert "never seen" in w.errors[-1]
    assert not w.variations.start(17)
    assert "1 to 16" in w.errors[-1]
    assert w.variations.count.maximum() == 16 and w.variations.count.minimum() == 1


def test_playing_a_variation_without_a_sound_device_says_so(qtbot, chorales):
    from guigen.app.music import Player

    w = chorales
    make(qtbot, w, 2, 30, "60,64,67")
    if Player.device() is not None:
        pytest.skip("this machine has a sound device")
    w.variations.view.cards[0].buttons["play"].click()
    assert "No sound device" in w.errors[-1]


def test_run_variations_for_screenshots(qtbot, chorales):
    from guigen.app.variations import run_variations

    w = chorales
    w.primer.setText("60,64,67")
    w.seed.setValue(2)
    w.length.setValue(30)
    names = run_variations(w, 8)
    assert names == [f"bach-chorales-T1-seed2-v{i}" for i in range(1, 9)]
    assert len(w.variations.view.cards) == 8


def test_cards_share_a_time_scale_grow_with_the_window_and_star_their_takes(qtbot, chorales):
    from guigen.app.widgets.variation_cards import CARD_WIDTH

    w = chorales
    w.resize(1920, 1080)
    cur, _ = make(qtbot, w, 3, 16, "48,55,64,72")
    v = w.variations
    cards = v.view.cards
    qtbot.waitUntil(lambda: all(c.width() > CARD_WIDTH for c in cards), timeout=TIMEOUT)  # the strip's width shared
    totals = {c.roll.scale_total for c in cards}
    assert totals == {max(c.roll.total for c in cards)} and all(c.roll.steps_per_bar == 16 for c in cards)
    take = cur.takes[1]
    cards[1].buttons["star"].click()
    assert take.starred and cards[1].buttons["star"].text() == "★"
    assert w.takes.list.item_of(take).text(0) == "★"


def test_a_card_dropped_on_the_window_is_a_primer(qtbot, chorales, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    w = chorales
    make(qtbot, w, 2, 16, "48,55,64,72")
    path = w.variations.drag_file(0)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    ev = QDropEvent(QPointF(300, 300), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                    Qt.KeyboardModifier.NoModifier)
    w.dropEvent(ev)
    assert w.primer.text() == str(path)
    assert "notes of" in w.statusBar().currentMessage()
    from guigen.app.music import read_primer

    ids, source, _ = read_primer(w.model.codec, w.primer.text())  # read as a MIDI primer, not as text
    assert ids and source is not None
