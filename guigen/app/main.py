"""Start the app: application identity, the main window, a model, and the --screenshot mode.

Startup stays light: Qt, pyqtgraph and NumPy only. torch is imported when training starts.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from guigen.core.resources import shipped

APP_NAME = "GuiGen"
ORG_NAME = "GuiGen"
DESKTOP_ID = "io.github.guigen.GuiGen"  # the .desktop file's name, without .desktop
ASSETS = shipped("assets")  # icon, .desktop entry, MIME type


def icon_path() -> Path | None:
    for name in ("guigen.svg", "guigen.png"):
        p = ASSETS / name
        if p.is_file():
            return p
    return None


def _save_picture(pixmap, path) -> bool:
    """Write a screenshot atomically (the CLI checked it may be written); False if Qt could not."""
    from guigen.core.files import atomic_path

    fmt = "PNG" if str(path).lower().endswith(".png") else "JPG"
    try:
        with atomic_path(path) as tmp:
            if not pixmap.save(str(tmp), fmt):
                raise OSError(f"Qt could not write {fmt}")
    except OSError:
        return False
    return True


def make_app(argv=None):
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        QApplication.setApplicationName(APP_NAME)
        QApplication.setOrganizationName(ORG_NAME)
        QApplication.setApplicationDisplayName(APP_NAME)
        QApplication.setDesktopFileName(DESKTOP_ID)
        app = QApplication(argv or [sys.argv[0]])
    icon = icon_path()
    if icon:
        app.setWindowIcon(QIcon(str(icon)))
    return app


def default_model(settings) -> str | None:
    """The last model used, else shakespeare, else any installed model, else none. A last model file
    that was moved or deleted is still the answer: loading it says so, and the setting stays."""
    from guigen.core import registry

    names = registry.available()
    last = settings.get("model")
    if last and (last in names or os.path.lexists(last) or os.sep in last or last.endswith(registry.SUFFIX)):
        return last
    if "shakespeare" in names:
        return "shakespeare"
    return next(iter(names), None)


def default_music_model(settings) -> str | None:
    """For a MIDI file opened without a model: the last music model used, else bach-chorales."""
    from guigen.core import registry

    names = registry.available()
    last = settings.get("model")
    if last and (last in names or Path(last).is_file()):
        try:
            if registry.load(last).kind == "music":
                return last
        except Exception:  # an unreadable last model: fall back to a shipped one
            pass
    return "bach-chorales" if "bach-chorales" in names else None


def run(model: str | None = None, screenshot: str | None = None, generate: int = 0, seed: int | None = None,
        temperature: float | None = None, size=(1280, 800), timeout_s: float = 120.0,
        exit_when_ready: bool = False, palette: str | None = None, variations: int = 0,
        primer: str | None = None, cells: str | None = None) -> int:
    """primer: a MIDI file to start from (`guigen FILE.mid`); variations: H4's side-by-side samples;
    cells: open the Cells view, coloured by this feature's best cell or LAYER:CELL once generated."""
    from PySide6.QtCore import QTimer

    from guigen.app import theme

    from guigen.app.main_window import MainWindow
    from guigen.app.settings import Settings

    if model and (screenshot or exit_when_ready):  # a bad --model name: say so at once, as the CLI does
        from guigen.core import registry

        registry.resolve(model)  # FileNotFoundError -> "guigen app: error: ...", status 2
    app = make_app()
    theme.apply(app, palette)
    from guigen.app.drag_files import clean_old

    clean_old()  # the files of drags made more than a day ago
    if screenshot:  # a throwaway settings file: pictures never depend on, or change, the user's
        tmp = tempfile.TemporaryDirectory(prefix="guigen-shot-")
        settings = Settings(str(Path(tmp.name) / "settings.ini"))
    else:
        settings = Settings()
    window = MainWindow(settings, save_settings=not screenshot)
    window.quiet_errors = bool(screenshot or exit_when_ready)
    if screenshot:
        window.resize(*size)
    if primer:
        window.primer.setText(str(primer))
    if seed is not None:
        window.seed.setValue(seed)
    if temperature is not None:
        window.dial.set_temperature(temperature)
    window.show()
    status = {"rc": 0}

    def shoot():
        app.processEvents()
        if (window.width(), window.height()) != tuple(size):  # the window would not fit: say so, never pass it off
            print(f"guigen app: the window is {window.width()}x{window.height()}, not the {size[0]}x{size[1]} "
                  "asked for", file=sys.stderr)
            status["rc"] = 1
        if not _save_picture(window.grab(), screenshot):
            print(f"guigen app: could not save the screenshot to {screenshot}", file=sys.stderr)
            status["rc"] = 1
        else:
            print(f"wrote {screenshot}", file=sys.stderr)
        window.close()
        app.quit()

    def ready():
        window.repaint()  # a full paint of the window with the model's views, as a person would first see it
        app.processEvents()
        what = f" with {window.model.name}" if window.model is not None else ""
        if window.primer.text():
            what += f", primer {window.primer.text()}"
        print(f"guigen app: ready{what}", file=sys.stderr, flush=True)
        window.close()
        app.quit()

    def on_loaded(_model):
        if temperature is not None:  # asked for on the command line: over the model's remembered one
            window.dial.set_temperature(temperature)
        if exit_when_ready:
            QTimer.singleShot(0, ready)  # after the window has taken the model in
        elif variations > 0:
            QTimer.singleShot(0, make_variations)
        elif generate > 0:
            window.length.setValue(generate)
            errors = len(window.errors)
            window.generate()
            if screenshot and len(window.errors) > errors:  # refused (a bad primer): shoot now, not after the timeout
                status["rc"] = 1
                QTimer.singleShot(200, shoot)
        elif screenshot:
            QTimer.singleShot(200, shoot)

    if cells:
        window.cells_dock.show()

    def on_state(state):
        if cells and state == "stopped":
            try:
                window.cells_dock.choose(cells)
            except ValueError as e:
                print(f"guigen app: {e}", file=sys.stderr)
                status["rc"] = 1
        if screenshot and generate > 0 and not variations and state == "stopped":
            QTimer.singleShot(200, shoot)

    def make_variations():
        from guigen.app.variations import run_variations

        if generate > 0:
            window.length.setValue(generate)
        try:
            names = run_variations(window, variations, timeout_s)
            print(f"guigen app: variations {', '.join(names)}", file=sys.stderr)
        except (RuntimeError, TimeoutError) as e:
            print(f"guigen app: {e}", file=sys.stderr)
            status["rc"] = 1
        if screenshot:
            QTimer.singleShot(200, shoot)

    def give_up():
        print(f"guigen app: the screenshot was not ready after {timeout_s:.0f} s", file=sys.stderr)
        status["rc"] = 1
        window.close()
        app.quit()

    def on_failed(what, msg):
        if exit_when_ready and not screenshot:
            status["rc"] = 1
            window.close()
            app.quit()
        elif screenshot:
            status["rc"] = 1
            shoot()

    window.model_loaded.connect(on_loaded)
    window.state_changed.connect(on_state)
    window.failed.connect(on_failed)
    ref = model or (default_music_model(settings) if primer else default_model(settings))
    if ref:
        QTimer.singleShot(0, lambda: window.load_model(ref))
    elif screenshot:
        QTimer.singleShot(200, shoot)
    elif exit_when_ready:
        QTimer.singleShot(0, ready)
    if screenshot:
        QTimer.singleShot(int(timeout_s * 1000), give_up)
    app.exec()
    return status["rc"]
