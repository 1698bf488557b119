"""Before a window opens on X11: the system libraries Qt's xcb plugin needs, named as apt packages.

Qt 6.5+ cannot open a window without libxcb-cursor0 and a few other xcb libraries that a fresh
desktop may lack; Qt then aborts with a core dump. We ask the dynamic linker (ldd) first, so the
user gets one line naming what to install. No Qt import here: this runs before QApplication.
"""
from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

# the library's soname stem -> its Debian/Ubuntu package
PACKAGES = {
    "libxcb-cursor": "libxcb-cursor0", "libxkbcommon-x11": "libxkbcommon-x11-0", "libxkbcommon": "libxkbcommon0",
    "libxcb-icccm": "libxcb-icccm4", "libxcb-keysyms": "libxcb-keysyms1", "libxcb-image": "libxcb-image0",
    "libxcb-render-util": "libxcb-render-util0", "libxcb-shape": "libxcb-shape0", "libxcb-randr": "libxcb-randr0",
    "libxcb-xkb": "libxcb-xkb1", "libxcb-util": "libxcb-util1", "libxcb-sync": "libxcb-sync1",
    "libxcb-xfixes": "libxcb-xfixes0", "libxcb-shm": "libxcb-shm0", "libxcb-render": "libxcb-render0",
    "libX11-xcb": "libx11-xcb1", "libEGL": "libegl1", "libGL": "libgl1", "libfontconfig": "libfontconfig1",
}


def xcb_plugin_files() -> list[Path]:
    """PySide6's xcb platform plugin and the Qt library it loads; [] where PySide6 has none (not Linux)."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return []
    qt = Path(list(spec.submodule_search_locations)[0]) / "Qt"
    files = [qt / "plugins" / "platforms" / "libqxcb.so", *sorted((qt / "lib").glob("libQt6XcbQpa.so*"))[:1]]
    return [f for f in files if f.is_file()]


def missing_libraries(files: list[Path]) -> list[str]:
    """Sonames the dynamic linker cannot find for these files (by ldd); [] where ldd is missing."""
    ldd = shutil.which("ldd")
    if ldd is None or not files:
        return []
    try:  # one ldd for all the files: it lists each file's libraries in turn
        out = subprocess.run([ldd, *map(str, files)], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return []  # no verdict: let Qt try
    missing: list[str] = []
    for line in out.splitlines():
        name, _, where = line.strip().partition(" => ")
        if where.strip() == "not found" and name not in missing:
            missing.append(name)
    return missing


def package_of(soname: str) -> str:
    """The apt package of a soname such as libxcb-cursor.so.0 (the soname itself where unknown)."""
    return PACKAGES.get(soname.split(".so")[0], soname)


def x11_problem() -> str | None:
    """One line saying which packages to install before Qt can open a window on X11, or None."""
    missing = missing_libraries(xcb_plugin_files())
    if not missing:
        return None
    packages = " ".join(dict.fromkeys(package_of(m) for m in missing))
    return (f"Qt cannot open a window on X11 without {', '.join(missing)}; "
            f"install them (Debian/Ubuntu: apt-get install -y {packages})")
