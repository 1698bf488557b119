"""Before a window opens on X11: missing xcb libraries are named as apt packages, not a Qt core dump."""
import shutil
import subprocess

import pytest

from guigen.app.platform_libs import missing_libraries, package_of, x11_problem, xcb_plugin_files


@pytest.mark.skipif(shutil.which("gcc") is None or shutil.which("ldd") is None, reason="needs gcc and ldd")
def test_a_library_the_linker_cannot_find_is_named(tmp_path):
    (tmp_path / "dep.c").write_text("int dep(void) { return 1; }\n")
    (tmp_path / "plug.c").write_text("int dep(void);\nint plug(void) { return dep(); }\n")
    dep = tmp_path / "libguigendep.so.7"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", dep, "-Wl,-soname,libguigendep.so.7", tmp_path / "dep.c"], check=True)
    plug = tmp_path / "libplug.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", plug, tmp_path / "plug.c", f"-L{tmp_path}", "-l:libguigendep.so.7"],
                   check=True)
    dep.unlink()  # as a fresh desktop without the package: the plugin's dependency is gone
    assert missing_libraries([plug]) == ["libguigendep.so.7"]


def test_sonames_map_to_the_packages_that_hold_them():
    assert package_of("libxcb-cursor.so.0") == "libxcb-cursor0"
    assert package_of("libxkbcommon-x11.so.0") == "libxkbcommon-x11-0"
    assert package_of("libunknown.so.3") == "libunknown.so.3"


def test_here_qt_has_what_it_needs():
    files = xcb_plugin_files()
    assert files and files[0].name == "libqxcb.so"  # PySide6's own plugin is found
    assert x11_problem() is None
