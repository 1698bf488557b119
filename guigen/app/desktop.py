"""`guigen install-desktop`: put GuiGen in the application menu (freedesktop .desktop entry and icons).

Files go to the user's XDG data folder ($XDG_DATA_HOME, else ~/.local/share); `--uninstall`
removes exactly those files. No Qt here, so it works on a machine with no display.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

DESKTOP_ID = "io.github.guigen.GuiGen"
ASSETS = Path(__file__).resolve().parents[2] / "assets"


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def targets(base: Path | None = None) -> dict[str, Path]:
    """Where each installed file goes: the .desktop entry, a scalable and a 256 px icon."""
    base = base or data_home()
    return {
        "desktop": base / "applications" / f"{DESKTOP_ID}.desktop",
        "svg": base / "icons" / "hicolor" / "scalable" / "apps" / f"{DESKTOP_ID}.svg",
        "png": base / "icons" / "hicolor" / "256x256" / "apps" / f"{DESKTOP_ID}.png",
    }


def launcher() -> str:
    """The Exec command: the `guigen` script beside this Python if there is one, else python -m guigen."""
    script = Path(sys.executable).with_name("guigen")
    if script.is_file() and os.access(script, os.X_OK):
        return _quote(str(script)) + " app"
    found = shutil.which("guigen")
    if found:
        return _quote(found) + " app"
    return f"{_quote(sys.executable)} -m guigen app"


def _quote(arg: str) -> str:
    """Quote for a .desktop Exec key (double quotes, and backslash-escape the reserved characters)."""
    if all(c.isalnum() or c in "/._-+" for c in arg):
        return arg
    return '"' + "".join("\\" + c if c in '"`$\\' else c for c in arg) + '"'


def desktop_entry(exec_cmd: str) -> str:
    text = (ASSETS / f"{DESKTOP_ID}.desktop").read_text(encoding="utf-8")
    lines = []
    for line in text.splitlines():
        if line.startswith("Exec="):
            line = f"Exec={exec_cmd} %f"
        elif line.startswith("TryExec="):
            first = shlex.split(exec_cmd)[0]
            line = f"TryExec={first}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def install(base: Path | None = None) -> list[Path]:
    from guigen.core.files import atomic_write_bytes, atomic_write_text

    t = targets(base)
    atomic_write_text(t["desktop"], desktop_entry(launcher()))
    atomic_write_bytes(t["svg"], (ASSETS / "guigen.svg").read_bytes())
    atomic_write_bytes(t["png"], (ASSETS / "guigen.png").read_bytes())
    _refresh(t)
    return list(t.values())


def uninstall(base: Path | None = None) -> list[Path]:
    t = targets(base)
    removed = []
    for p in t.values():
        if p.exists():
            p.unlink()
            removed.append(p)
    _refresh(t)
    return removed


def _refresh(t: dict[str, Path]) -> None:
    """Tell menus and icon themes about the change, where those tools exist; never fail on them."""
    for cmd in (["update-desktop-database", "-q", str(t["desktop"].parent)],
                ["gtk-update-icon-cache", "-q", "-t", str(t["svg"].parents[2])]):
        if shutil.which(cmd[0]) and Path(cmd[-1]).is_dir():
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
