"""`guigen app --screenshot` in a subprocess, lazy startup, and `guigen install-desktop`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from app_helpers import make_model

ENV = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONUNBUFFERED": "1"}


def guigen(*args, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "guigen", *args], capture_output=True, text=True,
                          env=env or ENV, timeout=timeout)


def test_screenshot_smoke(tmp_path):
    from PySide6.QtGui import QImage

    model = make_model(tmp_path / "rand.safetensors")
    shot = tmp_path / "shot.png"
    env = {**ENV, "XDG_CONFIG_HOME": str(tmp_path / "config")}  # never touch the user's settings
    r = guigen("app", "--screenshot", str(shot), "--model", str(model), "--generate", "50", "--seed", "1", env=env)
    assert r.returncode == 0, r.stderr
    image = QImage(str(shot))
    assert (image.width(), image.height()) == (1280, 800)
    assert not (tmp_path / "config").exists()


def test_exit_when_ready_says_so_and_quits(tmp_path):
    """What benchmarks/app_speed.py times: the window up with the model loaded, then exit."""
    model = make_model(tmp_path / "rand.safetensors")
    env = {**ENV, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    r = guigen("app", "--exit-when-ready", "--model", str(model), env=env)
    assert r.returncode == 0 and "guigen app: ready" in r.stderr, r.stderr
    r = guigen("app", "--exit-when-ready", "--model", str(tmp_path / "missing.safetensors"), env=env)
    assert r.returncode != 0


def test_screenshot_of_a_bad_model_fails_cleanly(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"PK\x03\x04 a zip, as torch.save writes")
    r = guigen("app", "--screenshot", str(tmp_path / "x.png"), "--model", str(bad))
    assert r.returncode == 1
    assert "pickle or a torch.save() archive" in r.stderr
    r = guigen("app", "--screenshot", str(tmp_path / "y.png"), "--model", "no-such-model")  # x.png exists now
    assert r.returncode == 2 and "no model named" in r.stderr


def test_screenshot_with_a_broken_midi_primer_says_so_at_once(tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd" + bytes(range(200)))
    env = {**ENV, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    r = guigen("app", str(bad), "--screenshot", str(tmp_path / "x.png"), "--generate", "10", env=env, timeout=60)
    assert r.returncode == 1 and "Bad primer" in r.stderr and "not ready" not in r.stderr, r.stderr  # not a 120 s wait
    assert (tmp_path / "x.png").exists()


def test_the_window_comes_up_without_torch():
    code = ("import sys; from guigen.app.main import make_app; from guigen.app.main_window import MainWindow;"
            "app = make_app(); w = MainWindow(save_settings=False); w.show(); app.processEvents();"
            "assert 'torch' not in sys.modules, 'torch imported at startup'; w.close()")
    env = {**ENV, "XDG_CONFIG_HOME": "/nonexistent-guigen-test"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr


def test_install_desktop_and_uninstall(tmp_path):
    env = {**ENV, "XDG_DATA_HOME": str(tmp_path / "share")}
    r = guigen("install-desktop", env=env)
    assert r.returncode == 0, r.stderr
    entry = tmp_path / "share" / "applications" / "io.github.guigen.GuiGen.desktop"
    svg = tmp_path / "share" / "icons" / "hicolor" / "scalable" / "apps" / "io.github.guigen.GuiGen.svg"
    png = tmp_path / "share" / "icons" / "hicolor" / "256x256" / "apps" / "io.github.guigen.GuiGen.png"
    assert entry.is_file() and svg.is_file() and png.is_file()
    text = entry.read_text()
    assert "Icon=io.github.guigen.GuiGen" in text and " app %f" in text
    if shutil.which("desktop-file-validate"):
        v = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True)
        assert v.returncode == 0 and not v.stdout.strip(), v.stdout
    r = guigen("install-desktop", "--uninstall", env=env)
    assert r.returncode == 0, r.stderr
    assert not entry.exists() and not svg.exists() and not png.exists()


@pytest.mark.skipif(not shutil.which("desktop-file-validate"), reason="desktop-file-utils not installed")
def test_shipped_desktop_file_validates():
    from guigen.app.desktop import ASSETS, DESKTOP_ID

    v = subprocess.run(["desktop-file-validate", str(ASSETS / f"{DESKTOP_ID}.desktop")], capture_output=True, text=True)
    assert v.returncode == 0 and not v.stdout.strip(), v.stdout


def test_qt_bindings_keep_none_alive():
    """PySide6 6.12.0 on Python 3.11 drops a reference to None per void call (see guigen.app.qtfix)."""
    from guigen.app import qtfix

    assert sys.version_info >= (3, 12) or not qtfix.none_leaks(), (
        "these PySide6 bindings leak references to None; install PySide6-Essentials<6.12 (pyproject pins it)")


def test_no_display_gives_a_clear_error():
    env = {k: v for k, v in ENV.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    r = guigen("app", env=env)
    if sys.platform.startswith("linux"):
        assert r.returncode == 2 and "no display" in r.stderr
