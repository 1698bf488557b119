"""GuiGen as a package, not a clone: a wheel built from the repository carries the four models and the
desktop assets, and `guigen` installed from it finds them (through importlib.resources) from any folder.

The wheel goes into a fresh venv made without pip and without dependencies; the test venv's
site-packages is added behind it by a .pth file, so the installed guigen runs on the same torch,
NumPy and Qt without downloading anything, while the guigen it imports is the wheel's own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODELS = ["bach-chorales", "bach-melody", "folk", "shakespeare"]
ASSETS = ["guigen.svg", "guigen.png", "io.github.guigen.GuiGen.desktop", "io.github.guigen.GuiGen.mime.xml"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of what the repository tracks for it (never in the checkout itself)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.ckpt.safetensors", "*.lock")
    for name in ("guigen", "models", "assets"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    out = tmp_path_factory.mktemp("dist")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                        "-w", str(out), str(src)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    (found,) = out.glob("guigen-*.whl")
    return found


def test_the_wheel_carries_the_models_their_cards_and_the_desktop_assets(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for m in MODELS:
        assert f"guigen/models/{m}.safetensors" in names and f"guigen/models/{m}.md" in names
    for a in ASSETS:
        assert f"guigen/assets/{a}" in names
    assert any(n.endswith("licenses/LICENSE") for n in names)
    assert not any("screenshots" in n or n.startswith(("tests/", "data/")) for n in names)
    size = sum((ROOT / "models" / f"{m}.safetensors").stat().st_size for m in MODELS)
    assert wheel.stat().st_size < size + 3_000_000  # the models and a little code: nothing else large


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv holding only the wheel; the test venv's packages reachable behind it."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    r = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                        str(wheel)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # after the venv's own site-packages, so its guigen (the wheel's) comes first; a plain path line, so the
    # test venv's editable-install hooks (.pth files there) are not run
    (site / "zz-test-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def run(venv: Path, *args, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(venv / "bin" / "guigen"), *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=300)


@pytest.fixture()
def user(tmp_path) -> tuple[Path, dict]:
    """A folder outside the clone, and an environment whose user folders are empty and throwaway."""
    home = tmp_path / "elsewhere"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GUIGEN_MODELS", "VIRTUAL_ENV")}
    env.update(XDG_DATA_HOME=str(tmp_path / "data"), XDG_CONFIG_HOME=str(tmp_path / "config"),
               QT_QPA_PLATFORM="offscreen")
    return home, env


def test_the_installed_guigen_lists_and_runs_its_own_models_from_any_folder(installed, user):
    home, env = user
    r = run(installed, "info", cwd=home, env=env)
    assert r.returncode == 0, r.stderr
    site = next((installed / "lib").glob("python3*/site-packages"))
    listed = [line.split()[0] for line in r.stdout.splitlines()[:4]]
    assert listed == MODELS, r.stdout
    assert r.stdout.count(str(site / "guigen" / "models")) >= 4 + 1  # each model, and the folder looked in
    assert str(ROOT) not in r.stdout  # nothing found through the clone
    card = run(installed, "info", "-m", "folk", cwd=home, env=env)
    assert card.returncode == 0 and f"card        {site / 'guigen' / 'models' / 'folk.md'}" in card.stdout

    r = run(installed, "generate", "-m", "shakespeare", "-n", "20", "--seed", "1", cwd=home, env=env)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout) == 21  # 20 characters and a line break
    mid = home / "x.mid"
    r = run(installed, "generate", "-m", "bach-chorales", "-n", "32", "--seed", "1", "-o", str(mid), cwd=home, env=env)
    assert r.returncode == 0 and mid.read_bytes()[:4] == b"MThd", r.stderr


def test_the_installed_guigen_puts_itself_in_the_menu_and_takes_itself_out(installed, user, tmp_path):
    home, env = user
    r = run(installed, "install-desktop", cwd=home, env=env)
    assert r.returncode == 0, r.stderr
    share = tmp_path / "data"
    entry = share / "applications" / "io.github.guigen.GuiGen.desktop"
    site = next((installed / "lib").glob("python3*/site-packages"))
    assert f"Exec={installed / 'bin' / 'guigen'} app %f" in entry.read_text()
    assert (share / "icons/hicolor/scalable/apps/io.github.guigen.GuiGen.svg").read_bytes() == \
        (site / "guigen/assets/guigen.svg").read_bytes()
    assert (share / "mime/packages/io.github.guigen.GuiGen.xml").is_file()
    r = run(installed, "install-desktop", "--uninstall", cwd=home, env=env)
    assert r.returncode == 0 and not entry.exists(), r.stderr
    assert not any(p.is_file() for p in share.rglob("*io.github.guigen*"))


def test_the_installed_app_opens_with_a_shipped_model(installed, user):
    home, env = user
    r = run(installed, "app", "--exit-when-ready", cwd=home, env=env)
    assert r.returncode == 0 and "guigen app: ready with shakespeare" in r.stderr, r.stderr
