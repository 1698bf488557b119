"""Every model that ships loads in the app's model process and generates: the encoding travels to
the window by pickle, so a model whose encoding cannot (the conditioned folk model once) is caught here."""

from __future__ import annotations

import pytest
from app_helpers import TIMEOUT, generate_music, open_window

from guigen.core.resources import shipped


@pytest.fixture()
def window(qtbot, tmp_path, request):
    yield from open_window(qtbot, tmp_path, shipped("models") / f"{request.param}.safetensors")


@pytest.mark.parametrize("window", ["folk", "bach-melody", "bach-chorales"], indirect=True)
def test_a_shipped_music_model_loads_and_plays_on(qtbot, window):
    w = window
    assert w.views.currentWidget() is w.piano_roll
    generate_music(qtbot, w, 32, primer="67,71,74")
    assert any(n.start >= w.piano_roll.primer_steps for n in w.piano_roll.notes)  # notes after the primer
    assert "ended unexpectedly" not in w.statusBar().currentMessage()


@pytest.mark.parametrize("window", ["shakespeare"], indirect=True)
def test_the_shipped_text_model_loads_and_writes(qtbot, window):
    w = window
    w.seed.setValue(3)
    w.length.setValue(40)
    w.generate()
    qtbot.waitUntil(lambda: w.state == "stopped" and len(w.text_view.toPlainText()) >= 40, timeout=TIMEOUT)
