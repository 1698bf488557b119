"""One set of facts (issue 12 item 8): scores, data and teachers said alike by the model file, the
app's card, `guigen info` and the README; MIDI and model files opened from a file manager."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from guigen.core import facts
from guigen.core.modelfile import load_model

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ["shakespeare", "bach-chorales", "bach-melody"]


def card_scores(name: str) -> tuple[float, float]:
    """(test, validation) nats per token from the card's Scores table."""
    text = (ROOT / "models" / f"{name}.md").read_text(encoding="utf-8")
    test = re.search(r"^\| \*\*test[^|]*\*\* \| \*\*([\d.]+)\*\*", text, re.M)
    valid = re.search(r"^\| validation[^|]* \| ([\d.]+) \|", text, re.M)
    return float(test[1]), float(valid[1])


@pytest.mark.parametrize("name", SHIPPED)
def test_scores_are_the_cards_and_said_alike_everywhere(name, capsys):
    from guigen.cli import main

    model = load_model(ROOT / "models" / f"{name}.safetensors", name=name)
    s = model.training["scores"]
    assert (s["test"], s["validation"]) == card_scores(name)
    line = facts.scores_line(model.training, model.kind)
    assert line.startswith(f"test {s['test']:.3f} nats/") and f"validation {s['validation']:.3f}" in line
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    row = next(r for r in readme.splitlines() if r.startswith(f"| {name} |"))
    assert line in row
    assert main(["info", "-m", name]) == 0
    out = capsys.readouterr().out
    assert f"  scores      {line}\n" in out
    assert f"  trained on  {facts.data_line(model.training)}" in out and "trained on  train\n" not in out

    from guigen.app.panel import model_card

    card = model_card(model)
    assert f"scores: {line}" in card and "bits" not in card and "data: train<" not in card


def test_teachers_are_named_as_on_the_card(capsys):
    from guigen.cli import main

    model = load_model(ROOT / "models" / "shakespeare.safetensors")
    assert facts.teachers(model.training) == ["A", "F", "G", "D"]
    assert "A, F, G and D (the teachers" in (ROOT / "models" / "shakespeare.md").read_text(encoding="utf-8")
    main(["info", "-m", "shakespeare"])
    assert "distilled   from A, F, G, D (" in capsys.readouterr().out


def test_set_facts_leaves_every_weight_byte_alone(tmp_path):
    sys.path.insert(0, str(Path(__file__).parent))
    from app_helpers import make_model

    path = make_model(tmp_path / "m.safetensors")
    before, data = load_model(path), facts.weights_bytes(path)
    facts.set_facts(path, scores={"test": 1.25, "validation": 1.5}, data_name="a test text")
    after = load_model(path)
    assert facts.weights_bytes(path) == data
    assert all(np.array_equal(before.weights[k], after.weights[k]) for k in before.weights)
    assert facts.scores_line(after.training, "text") == "test 1.250 nats/char, validation 1.500"
    assert facts.data_line(after.training) == "a test text"
    assert facts.scores_line({"scores": {"test": "1.2"}, "val_loss": 2.0}, "music") == \
        "validation 2.000 nats/event (the trainer's)"  # a string is never formatted as a score


def guigen(*args, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "guigen", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, cwd=ROOT)


def tree(base: Path) -> set[str]:
    return {str(p.relative_to(base)) for p in base.rglob("*")}


def test_install_desktop_declares_midi_and_models_and_uninstall_leaves_nothing(tmp_path):
    base = tmp_path / "share"
    other = base / "applications" / "other.desktop"  # someone else's entry stays
    other.parent.mkdir(parents=True)
    other.write_text("[Desktop Entry]\nType=Application\nName=Other\nExec=true\nMimeType=text/plain;\n")
    before = tree(base)
    env = {"XDG_DATA_HOME": str(base)}
    r = guigen("install-desktop", env=env)
    assert r.returncode == 0, r.stderr
    entry = (base / "applications" / "io.github.guigen.GuiGen.desktop").read_text()
    assert "MimeType=audio/midi;audio/x-midi;application/x-guigen-model;" in entry
    assert re.search(r"^Exec=.* app %f$", entry, re.M)
    xml = (base / "mime" / "packages" / "io.github.guigen.GuiGen.xml").read_text()
    assert 'type="application/x-guigen-model"' in xml and 'pattern="*.safetensors"' in xml
    if shutil.which("update-mime-database"):
        assert "application/x-guigen-model:*.safetensors" in (base / "mime" / "globs").read_text()
    if shutil.which("update-desktop-database"):
        assert "audio/midi=io.github.guigen.GuiGen.desktop" in (base / "applications" / "mimeinfo.cache").read_text()
    r = guigen("install-desktop", "--uninstall", env=env)
    assert r.returncode == 0, r.stderr
    after = tree(base)
    if shutil.which("update-desktop-database"):  # other.desktop still has its index, as before install it had none
        after.discard("applications/mimeinfo.cache")
    assert after == before and other.exists()
    shutil.rmtree(base / "applications")
    guigen("install-desktop", env=env)
    guigen("install-desktop", "--uninstall", env=env)
    assert tree(base) == set()  # nothing of ours, no empty folders, no caches


def test_guigen_file_opens_the_app_with_that_primer_or_model(tmp_path):
    from conftest import CHORALES

    midi = sorted((CHORALES / "test").glob("*.mid"))[0]
    env = {"QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    r = guigen(str(midi), "--exit-when-ready", env=env)
    assert r.returncode == 0, r.stderr
    assert f"guigen app: ready with bach-chorales, primer {midi}" in r.stderr
    r = guigen(str(ROOT / "models" / "bach-melody.safetensors"), "--exit-when-ready", env=env)
    assert r.returncode == 0 and "guigen app: ready with bach-melody" in r.stderr
