"""The app's layout at 1920x1080, 1024x640 and 800x600, light and dark, music (also with eight
variations open) and text: a picture of each, and the piano roll's share of the window's height.
Run under a real X server (with a window manager, e.g. openbox, for the frames):

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python benchmarks/app_layout.py OUT_DIR
"""
import sys, tempfile, time
from pathlib import Path
from PySide6.QtWidgets import QApplication
from guigen.app.main import make_app
from guigen.app import theme
from guigen.app.main_window import MainWindow
from guigen.app.settings import Settings

out = Path(sys.argv[1]); out.mkdir(exist_ok=True)
app = make_app()
def wait(cond, t=120):
    end = time.monotonic() + t
    while not cond():
        app.processEvents(); time.sleep(0.01)
        if time.monotonic() > end: raise TimeoutError
for palette in ("light", "dark"):
    theme.apply(app, palette)
    for model, n in (("bach-chorales", 128), ("shakespeare", 400)):
        for size in ((1920, 1080), (1024, 640), (800, 600)):
            tmp = tempfile.mkdtemp()
            w = MainWindow(Settings(f"{tmp}/s.ini"), save_settings=False)
            w.quiet_errors = True
            w.resize(*size); w.show()
            loaded = []
            w.model_loaded.connect(loaded.append)
            w.load_model(model)
            wait(lambda: loaded)
            w.seed.setValue(2); w.length.setValue(n); w.dial.set_temperature(0.9)
            if model == "bach-chorales":
                w.primer.setText("60,64,67")
            w.generate()
            wait(lambda: w.state == "stopped" and (w.text_view.chars or (w.piano_roll and w.piano_roll.tokens)))
            for _ in range(20):
                app.processEvents(); time.sleep(0.02)
            name = f"{'music' if model != 'shakespeare' else 'text'}-{palette}-{size[0]}x{size[1]}.png"
            w.grab().save(str(out / name))
            share = ""
            if w.piano_roll is not None and w.piano_roll.isVisible():
                share = f" roll {w.piano_roll.height()}/{w.height()} = {w.piano_roll.height() / w.height():.0%}"
            print(f"{name}: window {w.width()}x{w.height()}{share}; histogram {w.histogram.height()} px; takes dock {'shown' if w.takes.dock.isVisible() else 'hidden'}", flush=True)
            if model == "bach-chorales":  # eight variations open: their strip is a tab under the roll
                from guigen.app.variations import run_variations
                run_variations(w, 8)
                for _ in range(20):
                    app.processEvents(); time.sleep(0.02)
                name = name.replace("music-", "variations-")
                w.grab().save(str(out / name))
                print(f"{name}: roll {w.piano_roll.height()}/{w.height()} = {w.piano_roll.height() / w.height():.0%}; strip {w.variations.view.height()} px", flush=True)
            w.close(); w.generation.shutdown(); w.deleteLater()
            app.processEvents()
