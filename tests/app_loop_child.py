"""Run by test_app_transport.py in a fresh process on a PulseAudio null sink: the app (offscreen, a
melody model) makes a short piece and 2 variations, plays the piece with Loop on until it has gone
round twice, stops, then plays variation 1 to its end.

usage: app_loop_child.py MODEL SETTINGS_INI   (prints one JSON line)
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main(model: str, ini: str) -> int:
    from PySide6.QtCore import QTimer

    from guigen.app.main import make_app
    from guigen.app.main_window import MainWindow
    from guigen.app.music import Player, player
    from guigen.app.settings import Settings

    app = make_app()
    settings = Settings(ini)
    settings.set("soundfont", "builtin")
    w = MainWindow(settings, save_settings=False)
    w.quiet_errors = True
    w.show()
    dev = Player.device()
    out = {"device": dev.description() if dev else None, "loops": 0, "variation_done": False}

    def done():
        out["errors"] = list(w.errors)
        print(json.dumps(out), flush=True)
        app.quit()

    def state(s):
        if s != "stopped" or out.get("started"):
            return
        out["started"] = time.monotonic()
        p = player(w)
        w.transport.loop.setChecked(True)
        p.looped.connect(looped)
        w.transport.buttons["play"].click()
        out["playing"] = p.playing
        if not p.playing:
            done()

    def looped():
        out["loops"] += 1
        if out["loops"] == 2:
            out["loop_s"] = time.monotonic() - out["started"]
            w.transport.buttons["stop_playback"].click()
            out["stopped"] = not player(w).playing
            w.variations.start(2)
            poll.start()

    def made():  # polled in the GUI thread: the strip has taken the last batch in
        if w.variations.current is not None and w.variations.current.done:
            poll.stop()
            play_variation()

    def play_variation():
        p = player(w)
        p.looped.disconnect(looped)
        w.transport.loop.setChecked(False)
        p.finished.connect(lambda: (out.update(variation_done=True), QTimer.singleShot(0, done)))
        w.variations.view.cards[0].buttons["play"].click()
        out["variation_playing"] = p.playing and p.roll is w.variations.view.cards[0].roll

    def loaded(_model):
        w.primer.setText("60")  # a quarter note, then 4 sixteenth steps: about a second at 120 qpm
        w.seed.setValue(1)
        w.length.setValue(4)
        w.generate()

    w.model_loaded.connect(loaded)
    w.state_changed.connect(state)
    poll = QTimer()
    poll.setInterval(50)
    poll.timeout.connect(made)
    w.load_model(model)
    QTimer.singleShot(40_000, done)
    app.exec()
    w.generation.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
