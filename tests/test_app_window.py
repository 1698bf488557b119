"""The main window in text mode, offscreen: dial, histogram clicks, Pause/Step/Stop, undo, errors, export."""

from __future__ import annotations

import numpy as np
import pytest
from app_helpers import TIMEOUT, make_model, open_window

from PySide6.QtCore import QPoint, Qt  # noqa: E402  (app_helpers sets QT_QPA_PLATFORM first)

from guigen.app.main_window import MainWindow  # noqa: E402
from guigen.app.settings import Settings  # noqa: E402
from guigen.app.widgets.dial import position_to_temperature, temperature_to_position  # noqa: E402



@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return make_model(tmp_path_factory.mktemp("models") / "rand.safetensors")


@pytest.fixture()
def window(qtbot, tmp_path, model_path):
    yield from open_window(qtbot, tmp_path, model_path)


def wait_state(qtbot, w, state):
    qtbot.waitUntil(lambda: w.state == state, timeout=TIMEOUT)


def test_dial_scale_is_logarithmic_with_greedy_at_the_bottom():
    assert position_to_temperature(0) == 0.0
    assert position_to_temperature(1) == pytest.approx(0.05)
    assert position_to_temperature(temperature_to_position(5.0)) == pytest.approx(5.0)
    assert position_to_temperature(temperature_to_position(1.0)) == pytest.approx(1.0, rel=0.02)
    assert temperature_to_position(0.0) == 0


def test_dial_changes_the_running_generators_temperature(qtbot, window):
    w = window
    w.length.setValue(1_000_000)
    w.generate()
    wait_state(qtbot, w, "running")
    worker = w.generation.worker
    batches = []
    w.stepped.connect(batches.append)
    w.dial.dial.setValue(temperature_to_position(0.3))
    t = w.dial.temperature()
    assert t == pytest.approx(0.3, rel=0.03)
    qtbot.waitUntil(lambda: worker.settings.temperature == t, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: any(b.temperature == t for b in batches), timeout=TIMEOUT)
    assert w.state == "running"
    w.actions["stop"].trigger()
    wait_state(qtbot, w, "stopped")


def test_typed_temperature_and_greedy(qtbot, window):
    window.dial.spin.setValue(0.0)
    assert window.dial.dial.value() == 0 and window.dial.temperature() == 0.0
    qtbot.waitUntil(lambda: window.generation.worker.settings.temperature == 0.0, timeout=TIMEOUT)


def test_pause_step_stop_states(qtbot, window):
    w, a = window, window.actions
    assert w.state == "idle"
    assert a["generate"].isEnabled() and a["step"].isEnabled() and not a["pause"].isEnabled()
    w.length.setValue(1_000_000)
    a["generate"].trigger()
    wait_state(qtbot, w, "running")
    assert a["pause"].isEnabled() and a["stop"].isEnabled() and not a["step"].isEnabled()
    a["pause"].trigger()
    wait_state(qtbot, w, "paused")
    assert a["step"].isEnabled() and a["generate"].iconText() == "Resume"
    count = len(w.text_view.chars)
    qtbot.waitUntil(lambda: len(w.text_view.chars) == w.generation.worker.count, timeout=TIMEOUT)
    count = len(w.text_view.chars)
    with qtbot.waitSignal(w.previewed, timeout=TIMEOUT):
        a["step"].trigger()
    assert len(w.text_view.chars) == count + 1
    assert w.state == "paused"
    a["generate"].trigger()  # resume
    wait_state(qtbot, w, "running")
    a["stop"].trigger()
    wait_state(qtbot, w, "stopped")
    assert not a["stop"].isEnabled() and a["generate"].iconText() == "Generate"
    # a short run stops by itself and shows every token it made
    w.length.setValue(40)
    a["generate"].trigger()
    qtbot.waitUntil(lambda: w.state == "stopped" and len(w.text_view.chars) == 40, timeout=TIMEOUT)
    a["clear"].trigger()
    wait_state(qtbot, w, "idle")
    assert w.text_view.text() == ""


def test_turning_the_dial_while_paused_redraws_the_next_distribution(qtbot, window):
    w = window
    w.actions["step"].trigger()
    wait_state(qtbot, w, "paused")
    qtbot.waitUntil(lambda: w.histogram.chosen is None and w.histogram.probs is not None, timeout=TIMEOUT)
    count = w.generation.worker.count
    before = w.histogram.probs.copy()
    raw = w.histogram.raw.copy()
    with qtbot.waitSignal(w.previewed, timeout=TIMEOUT):
        w.dial.set_temperature(0.2)
    sharp = w.histogram.probs.copy()
    assert sharp.max() > before.max()
    np.testing.assert_allclose(w.histogram.raw, raw)  # the model's own distribution does not move
    with qtbot.waitSignal(w.previewed, timeout=TIMEOUT):
        w.dial.set_temperature(4.0)
    assert w.histogram.probs.max() < before.max()
    assert w.generation.worker.count == count  # previewing never steps


def test_clicking_a_bar_forces_the_token_and_undo_steps_back(qtbot, window):
    w = window
    codec = w.model.codec
    w.actions["step"].trigger()
    wait_state(qtbot, w, "paused")
    qtbot.waitUntil(lambda: w.histogram.chosen is None and w.histogram.probs is not None, timeout=TIMEOUT)
    count = len(w.text_view.chars)
    token = int(w.histogram.order[len(w.histogram.order) // 2])  # an unlikely but possible token
    assert w.histogram.probs[token] < w.histogram.probs.max()
    # a real mouse click on the middle of that bar
    view = w.histogram.plot
    pos = view.mapFromScene(w.histogram.bar_scene_pos(token))
    batches = []
    w.stepped.connect(batches.append)
    with qtbot.waitSignal(w.histogram.token_clicked, timeout=TIMEOUT) as sig:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(pos.x(), pos.y()))
    assert sig.args == [token]
    qtbot.waitUntil(lambda: len(w.text_view.chars) == count + 1, timeout=TIMEOUT)
    assert w.text_view.chars[-1] == codec.chars[token]
    assert batches[-1].forced == [True]
    with qtbot.waitSignal(w.undone, timeout=TIMEOUT) as sig:
        w.actions["undo"].trigger()
    assert sig.args == [count]
    assert len(w.text_view.chars) == count


def test_bad_model_files_give_a_message_and_the_app_lives_on(qtbot, window, tmp_path, model_path):
    w = window
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"\x80\x04this is a pickle, not a model")
    with qtbot.waitSignal(w.failed, timeout=TIMEOUT):
        w.load_model(str(bad))
    assert "pickle" in w.errors[-1]
    w.load_model(str(tmp_path / "missing.safetensors"))
    assert "no such model file" in w.errors[-1]
    w.load_model("no-such-model-name")
    assert "no model named" in w.errors[-1]
    # the message is shown, not raised, and the window still works with a good model
    with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT):
        w.load_model(str(model_path))
    w.length.setValue(20)
    w.generate()
    qtbot.waitUntil(lambda: len(w.text_view.chars) == 20, timeout=TIMEOUT)


def test_bad_primer_and_message_box(qtbot, window):
    w = window
    w.quiet_errors = False
    w.primer.setText("abc€")  # € is not in the vocabulary
    w.generate()
    assert "never seen '€'" in w.errors[-1]
    assert w.error_box.isVisible()
    w.error_box.close()
    assert w.state == "idle"


def test_export_text_reads_back_and_never_overwrites(qtbot, window, tmp_path):
    w = window
    w.primer.setText("the ")
    w.seed.setValue(7)
    w.length.setValue(60)
    w.generate()
    qtbot.waitUntil(lambda: len(w.text_view.chars) == 60, timeout=TIMEOUT)
    out = tmp_path / "sample.txt"
    w.export_text(out)
    text = out.read_text(encoding="utf-8")
    assert text == w.text_view.text() and text.startswith("the ") and len(text) == 64
    with pytest.raises(FileExistsError):
        w.export_text(out)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
    # the same seed gives the same text
    w.generate()
    qtbot.waitUntil(lambda: w.state == "stopped" and len(w.text_view.chars) == 60, timeout=TIMEOUT)
    assert w.text_view.text() == text


def test_colour_by_probability_and_histogram_options(qtbot, window):
    w = window
    w.length.setValue(30)
    w.generate()
    qtbot.waitUntil(lambda: w.state == "stopped" and len(w.text_view.chars) == 30, timeout=TIMEOUT)
    text = w.text_view.toPlainText()
    w.actions["colour_by_prob"].setChecked(True)
    assert w.text_view.toPlainText() == text
    w.actions["sort_by_prob"].setChecked(False)
    assert list(w.histogram.order) == list(range(w.model.codec.num_classes))
    w.actions["sort_by_prob"].setChecked(True)
    shown = w.histogram.probs[w.histogram.order]
    assert all(np.diff(shown) <= 1e-12)


def test_top_k_cut_is_visible(qtbot, window):
    w = window
    w.actions["step"].trigger()
    wait_state(qtbot, w, "paused")
    with qtbot.waitSignal(w.previewed, timeout=TIMEOUT):
        w.top_k.setValue(5)
    assert int((w.histogram.probs > 0).sum()) == 5
    assert w.histogram.cut.isVisible()
    assert "5 of" in w.histogram.header.text()


def test_settings_round_trip(tmp_path):
    s = Settings(str(tmp_path / "s.ini"))
    assert s.get("temperature") == 1.0 and s.get("recent_models") == []
    s.set("temperature", 0.5)
    s.add_recent("a")
    s.add_recent("b")
    s.sync()
    s2 = Settings(str(tmp_path / "s.ini"))
    assert s2.get("temperature") == 0.5 and s2.get("recent_models") == ["b", "a"]
    with pytest.raises(KeyError):
        s.set("nonsense", 1)


def test_settings_and_recent_models_survive_a_restart(qtbot, tmp_path, model_path):
    ini = str(tmp_path / "persist.ini")
    w = MainWindow(Settings(ini))
    qtbot.addWidget(w)
    with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT):
        w.load_model(str(model_path))
    w.dial.set_temperature(0.42)
    w.top_k.setValue(7)
    w.primer.setText("abc")
    w.actions["sort_by_prob"].setChecked(False)
    w.close()
    w2 = MainWindow(Settings(ini))
    qtbot.addWidget(w2)
    assert w2.dial.temperature() == pytest.approx(0.42)
    assert w2.top_k.value() == 7 and w2.primer.text() == "abc"
    assert not w2.actions["sort_by_prob"].isChecked() and not w2.histogram.sort
    assert w2.settings.get("recent_models")[0] == str(model_path)
    assert w2.model_combo.findData(str(model_path)) >= 0
    assert [a.text() for a in w2.recent_menu.actions()] == [str(model_path)]
    w2.close()


def test_dropping_a_model_file_opens_it(qtbot, window, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    other = make_model(tmp_path / "other.safetensors", text="xyz \n", seed=1)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(other))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.model_loaded, timeout=TIMEOUT):
        window.dropEvent(event)
    assert window.model.name == "other" and window.model.codec.num_classes == 5


def test_clicking_a_bar_while_running_forces_the_next_token(qtbot, window):
    w = window
    w.length.setValue(1_000_000)
    w.dial.set_temperature(0.0)  # greedy: the forced token is the only way to get an unlikely one
    w.generate()
    wait_state(qtbot, w, "running")
    qtbot.waitUntil(lambda: w.histogram.probs is not None, timeout=TIMEOUT)
    token = int(w.histogram.order[-1])
    forced = []
    w.stepped.connect(lambda b: forced.extend(t for t, f in zip(b.tokens, b.forced) if f))
    w.histogram.token_clicked.emit(token)
    qtbot.waitUntil(lambda: forced == [token], timeout=TIMEOUT)
    w.actions["stop"].trigger()
    wait_state(qtbot, w, "stopped")


def test_first_start_fits_the_window_to_a_small_screen(qtbot, tmp_path):
    """No size saved yet: 1280x800, or the screen's room where that is smaller (the offscreen
    screen is 800x800), so the buttons are never off the screen's edge; a saved size still wins."""
    w = MainWindow(Settings(str(tmp_path / "fresh.ini")), save_settings=False)
    qtbot.addWidget(w)
    room = w.screen().availableGeometry()
    assert w.width() == min(1280, room.width() - 8) and w.height() <= room.height() - 40
    w.show()
    qtbot.waitExposed(w)
    assert w.frameGeometry().width() <= room.width() and w.frameGeometry().height() <= room.height()
    w.resize(760, 560)
    w.save_state()
    w.close()
    w2 = MainWindow(Settings(str(tmp_path / "fresh.ini")), save_settings=False)
    qtbot.addWidget(w2)
    assert (w2.width(), w2.height()) == (760, 560)
    w2.close()
