"""The small things a newcomer hit (issue 20), each as that person would meet it: `guigen FILE.abc`,
a model file moved away from under the app's settings, eval's counts, --screenshot over a file,
-n N for every model and seed, the shipped cards and `guigen info` agreeing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import mido
import pytest
from app_helpers import TIMEOUT, make_model
from conftest import CHORALES, DATA
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guigen.cli import main
from guigen.music.events import STEPS_PER_QUARTER

ROOT = Path(__file__).resolve().parents[1]
JIGS = DATA / "abc" / "oneills-jigs.abc"


def guigen(*args, cwd, env=None, timeout=180):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", **(env or {})}
    return subprocess.run([sys.executable, "-m", "guigen", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)


# -- guigen FILE.abc | FILE.musicxml | FILE.mxl opens the app with that primer, as FILE.mid does ---------
def test_a_score_file_opens_the_app_with_it_as_the_primer(tmp_path):
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data")}
    abc = tmp_path / "jigs.abc"
    shutil.copy(JIGS, abc)
    for suffix in (".musicxml", ".mxl"):  # scores as guigen writes them (music21's MusicXML)
        r = guigen("generate", "-m", "bach-melody", "-n", "32", "--seed", "1", "-o", f"tune{suffix}", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
    for name in ("jigs.abc", "tune.musicxml", "tune.mxl"):
        r = guigen(name, "--exit-when-ready", cwd=tmp_path, env=env)
        assert r.returncode == 0 and f"ready with bach-chorales, primer {name}" in r.stderr, r.stderr
        # and the primer is read and continued: a failure to read it would be exit status 1, "Bad primer"
        shot = tmp_path / f"{name}.png"
        r = guigen(name, "--screenshot", shot, "--generate", "16", "--size", "800x600", cwd=tmp_path, env=env)
        assert r.returncode == 0 and shot.stat().st_size > 0, r.stderr
    r = guigen("missing.abc", "--exit-when-ready", cwd=tmp_path, env=env)
    assert r.returncode == 2 and r.stderr.strip() == "guigen app: error: missing.abc: no such file"


# -- the app keeps a model file by its absolute path; one gone is said, never swapped for another --------
def test_a_model_file_is_kept_by_its_absolute_path_and_one_moved_away_is_said(qtbot, tmp_path, monkeypatch):
    from guigen.app.main import default_model
    from guigen.app.main_window import MainWindow
    from guigen.app.settings import Settings

    work = tmp_path / "work"
    work.mkdir()
    make_model(work / "my.safetensors")
    monkeypatch.chdir(work)
    settings = Settings(str(tmp_path / "settings.ini"))
    w = MainWindow(settings, save_settings=True)
    qtbot.addWidget(w)
    w.quiet_errors = True
    with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT):
        w.load_model("my.safetensors")  # as typed, relative to the folder the app was started in
    assert settings.get("model") == str(work / "my.safetensors")
    assert settings.get("recent_models")[0] == str(work / "my.safetensors")
    w.close()
    w.generation.shutdown()

    monkeypatch.chdir(tmp_path)  # another folder: the absolute path still finds it
    settings = Settings(str(tmp_path / "settings.ini"))
    assert default_model(settings) == str(work / "my.safetensors")

    (work / "my.safetensors").rename(tmp_path / "moved.safetensors")
    assert default_model(settings) == str(work / "my.safetensors")  # not shakespeare, silently
    w = MainWindow(settings, save_settings=True)
    qtbot.addWidget(w)
    w.quiet_errors = True
    w.load_model(default_model(settings))
    assert w.model is None and len(w.errors) == 1
    assert f"{work / 'my.safetensors'}: no such model file" in w.errors[0]
    w.close()
    w.generation.shutdown()
    assert Settings(str(tmp_path / "settings.ini")).get("model") == str(work / "my.safetensors")  # kept


# -- eval counts files and pieces once, and right --------------------------------------------------------
def test_eval_counts_files_and_pieces_once(tmp_path, capsys):
    folder = tmp_path / "three"
    folder.mkdir()
    for f in sorted((CHORALES / "test").glob("*.mid"))[:3]:
        shutil.copy(f, folder)
    assert main(["eval", "-m", "bach-melody", str(folder)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("bach-melody: 3 files, 12 pieces, ")  # a melody per voice: 4 of each chorale
    assert "file(s)" not in out and "piece(s)" not in out
    assert main(["eval", "-m", "bach-melody", str(folder), "--json"]) == 0
    result = __import__("json").loads(capsys.readouterr().out)
    assert result["files"] == 3 and result["pieces"] == 12


# -- --screenshot never replaces a file without --force ------------------------------------------------
def test_screenshot_replaces_a_file_only_with_force(tmp_path):
    model = make_model(tmp_path / "rand.safetensors")
    shot = tmp_path / "shot.png"
    shot.write_bytes(b"mine")
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    r = guigen("app", "--screenshot", shot, "-m", model, "--size", "800x600", cwd=tmp_path, env=env)
    assert r.returncode == 2 and shot.read_bytes() == b"mine"
    assert r.stderr.strip() == f"guigen app: error: {shot} exists; not overwriting it (use --force to replace it)"
    r = guigen("app", "--screenshot", shot, "-m", model, "--size", "800x600", "--force", cwd=tmp_path, env=env)
    assert r.returncode == 0 and shot.read_bytes()[:4] == b"\x89PNG", r.stderr
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no part file left


# -- -n N is exactly N steps, for every model and seed ---------------------------------------------------
def _steps(path: Path) -> float:
    """The MIDI file's length in 16th-note steps, to its end-of-track marks (trailing rests count)."""
    mid = mido.MidiFile(str(path))
    ticks = max(sum(msg.time for msg in track) for track in mid.tracks)
    return ticks / (mid.ticks_per_beat / STEPS_PER_QUARTER)


@pytest.mark.parametrize("model", ["bach-melody", "folk", "bach-chorales"])
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31 - 2), n=st.sampled_from([1, 16, 64]))
def test_n_steps_are_exactly_n_steps_for_every_seed(model, seed, n, capsys):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "x.mid"
        assert main(["generate", "-m", model, "-n", str(n), "--seed", str(seed), "-o", str(out)]) == 0
        said = capsys.readouterr().err
        assert f", {n} steps (" in said, said
        assert _steps(out) == n
        # after a primer: the primer's steps, then N (a quarter note each here)
        assert main(["generate", "-m", model, "-n", str(n), "--seed", str(seed), "--primer-pitches", "60,64",
                     "-o", str(out), "--force"]) == 0
        primer = 4 if model == "bach-chorales" else 8  # a chord held a quarter, or two quarter notes
        assert f", {primer + n} steps (" in capsys.readouterr().err and _steps(out) == primer + n


def test_n_steps_hold_for_the_seeds_the_issue_named(tmp_path, capsys):
    for model, seed in (("bach-melody", 5), ("folk", 3)):
        out = tmp_path / f"{model}.mid"
        assert main(["generate", "-m", model, "-n", "64", "--seed", str(seed), "-o", str(out)]) == 0
        assert ", 64 steps (" in capsys.readouterr().err and _steps(out) == 64


# -- `guigen info` and the model cards agree ------------------------------------------------------------
@pytest.mark.parametrize("model", ["shakespeare", "bach-chorales", "bach-melody", "folk"])
def test_info_and_the_card_agree_on_epochs(model, capsys):
    from guigen.core import registry

    tr = registry.load(model).training
    planned = tr["train_config"]["epochs"]
    card = (ROOT / "models" / f"{model}.md").read_text()
    # the card's last training command is the one that made this file
    assert int(re.findall(r"--epochs (\d+)", card)[-1]) == planned
    assert main(["info", "-m", model]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.strip().startswith("training"))
    if tr["epochs"] < planned:  # the best epoch was kept
        assert f"epoch {tr['epochs']} of {planned} (the best by validation loss)" in line
        assert f"best epoch ({tr['epochs']}) kept" in card or f"epoch {tr['epochs']}" in card
    else:
        assert f"{planned} epoch{'' if planned == 1 else 's'}" in line
