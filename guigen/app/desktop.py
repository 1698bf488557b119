"""`guigen install-desktop`: put GuiGen in the application menu (freedesktop .desktop entry and icons),
and tell file managers it opens MIDI files and GuiGen models (MimeType, and a shared-mime-info type
application/x-guigen-model for *.safetensors).

Files go to the user's XDG data folder ($XDG_DATA_HOME, else ~/.local/share); `--uninstall`
removes them, the caches the refresh tools made where nothing else is left for them to describe,
and the folders install made that are left empty. No Qt here, so it works with no display.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from guigen.core.resources import shipped

DESKTOP_ID = "io.github.guigen.GuiGen"
ASSETS = shipped("assets")  # icon, .desktop entry, MIME type


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def targets(base: Path | None = None) -> dict[str, Path]:
    """Where each installed file goes: the .desktop entry, a scalable and a 256 px icon, the MIME type."""
    base = base or data_home()
    return {
        "desktop": base / "applications" / f"{DESKTOP_ID}.desktop",
        "svg": base / "icons" / "hicolor" / "scalable" / "apps" / f"{DESKTOP_ID}.svg",
        "png": base / "icons" / "hicolor" / "256x256" / "apps" / f"{DESKTOP_ID}.png",
        "mime": base / "mime" / "packages" / f"{DESKTOP_ID}.xml",
    }


# what the refresh tools write, per folder they index: removed on uninstall once nothing is left to index
CACHES = {"applications": ["mimeinfo.cache"],
          "mime": ["aliases", "generic-icons", "globs", "globs2", "icons", "magic", "mime.cache", "subclasses",
                   "treemagic", "types", "version", "XMLnamespaces"],
          "icons/hicolor": ["icon-theme.cache"]}


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
    atomic_write_bytes(t["mime"], (ASSETS / f"{DESKTOP_ID}.mime.xml").read_bytes())
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
    base = t["desktop"].parents[1]
    _drop_caches(base)
    for p in t.values():  # folders left empty, up to (not including) the data folder itself
        for d in p.parents:
            if d == base or base not in d.parents:
                break
            try:
                d.rmdir()
            except OSError:  # not empty: someone else's files live there
                break
    return removed


def _drop_caches(base: Path) -> None:
    """Remove the indexes the refresh tools wrote where the folder they index is now empty of sources."""
    sources = {"applications": lambda d: any(d.glob("*.desktop")),
               "mime": lambda d: any((d / "packages").glob("*.xml")),
               "icons/hicolor": lambda d: any(p.is_file() for p in d.rglob("*") if p.name not in CACHES["icons/hicolor"])}
    for folder, names in CACHES.items():
        d = base / folder
        if not d.is_dir() or sources[folder](d):
            continue
        for name in names:
            (d / name).unlink(missing_ok=True)
        if folder == "mime":  # the per-type files update-mime-database wrote
            for sub in d.iterdir():
                if sub.is_dir() and sub.name != "packages":
                    shutil.rmtree(sub)


def _refresh(t: dict[str, Path]) -> None:
    """Tell menus and icon themes about the change, where those tools exist; never fail on them."""
    for cmd in (["update-desktop-database", "-q", str(t["desktop"].parent)],
                ["gtk-update-icon-cache", "-q", "-t", str(t["svg"].parents[2])],
                ["update-mime-database", str(t["mime"].parents[1])]):
        if shutil.which(cmd[0]) and Path(cmd[-1]).is_dir():
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
