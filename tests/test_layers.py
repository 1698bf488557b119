"""The floors import downwards only: core imports neither music nor cli, music never imports cli,
and a music model file loads once guigen.music is imported (it registers its encodings with core)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import guigen

PACKAGE = Path(guigen.__file__).parent


def modules(floor: str) -> list[str]:
    return sorted(f"guigen.{floor}.{p.stem}" for p in (PACKAGE / floor).glob("*.py") if p.stem != "__init__")


def loaded_after_importing(names: list[str]) -> set[str]:
    code = ("import importlib, sys\n"
            f"for name in {names!r}:\n"
            "    importlib.import_module(name)\n"
            "print('\\n'.join(m for m in sys.modules if m.startswith('guigen')))\n")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return set(out.split())


def test_core_imports_neither_music_nor_cli():
    names = modules("core")
    assert len(names) > 15  # the whole engine, every module of it
    loaded = loaded_after_importing(names)
    assert set(names) <= loaded
    assert not {m for m in loaded if m.startswith(("guigen.music", "guigen.cli", "guigen.app"))}


def test_music_never_imports_cli():
    names = [m for m in modules("music") if m not in ("guigen.music.ports",)]  # ports needs python-rtmidi's backend
    assert "guigen.music.generate" in names and "guigen.music.dataset" in names
    loaded = loaded_after_importing(names)
    assert set(names) <= loaded
    assert not {m for m in loaded if m.startswith(("guigen.cli", "guigen.app"))}


def test_a_music_model_loads_once_music_is_imported_and_not_before():
    folk = PACKAGE.parent / "models" / "folk.safetensors"
    code = ("import sys\n"
            "from guigen.core.modelfile import load_model, ModelFileError\n"
            "try:\n"
            f"    load_model({str(folk)!r})\n"
            "    print('loaded without guigen.music')\n"
            "except (ModelFileError, ValueError) as e:\n"
            "    print('refused:', e)\n"
            "import guigen.music\n"
            f"m = load_model({str(folk)!r})\n"
            "print(type(m.codec).__name__, m.codec.num_classes)\n")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert "refused:" in out and "needs guigen.music" in out, out
    assert "MelodyEncoding" in out, out


def imported_anywhere(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside a function (which importing it would miss)."""
    import ast

    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_no_floor_imports_upwards_even_inside_a_function():
    forbidden = {"core": ("guigen.music", "guigen.cli", "guigen.app", "PySide6", "pyqtgraph", "mido"),
                 "music": ("guigen.cli", "guigen.app", "PySide6", "pyqtgraph")}
    found = []
    for floor, prefixes in forbidden.items():
        files = sorted((PACKAGE / floor).glob("*.py"))
        assert len(files) > 10
        for f in files:
            found += [f"{floor}/{f.name} imports {m}" for m in sorted(imported_anywhere(f)) if m.startswith(prefixes)]
    assert found == []


def test_only_the_midi_modules_import_mido():
    users = sorted(str(f.relative_to(PACKAGE)) for f in PACKAGE.rglob("*.py")
                   if any(m == "mido" or m.startswith("mido.") for m in imported_anywhere(f)))
    assert users == ["music/midi.py", "music/ports.py"]
