"""Run by test_app_playback.py in a fresh process (so Qt meets the test's PulseAudio server, not
the one or none an earlier test saw): open the app offscreen with a melody model, make a C major
scale as the primer, end it with a clicked NOTE_OFF bar, press Play and wait for the end.

usage: app_play_child.py MODEL SETTINGS_INI SOUNDFONT_CHOICE   (prints one JSON line)
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SCALE = [60, 62, 64, 65, 67, 69, 71, 72]  # quarter notes: 0.5 s each at 120 qpm


def main(model: str, ini: str, soundfont: str) -> int:
    from PySide6.QtCore import QTimer

    from guigen.app.main import make_app
    from guigen.app.main_window import MainWindow
    from guigen.app.music import Player, player
    from guigen.app.settings import Settings
    from guigen.music.melody import NOTE_OFF

    app = make_app()
    settings = Settings(ini)
    settings.set("soundfont", soundfont)
    w = MainWindow(settings, save_settings=False)
    w.quiet_errors = True
    w.show()
    out = {"device": None, "played": False, "finished": False}

    def done():
        out["errors"] = list(w.errors)
        print(json.dumps(out), flush=True)
        app.quit()

    def loaded(_model):
        w.primer.setText(",".join(map(str, SCALE)))
        w.force(NOTE_OFF)  # the clicked bar ends the last note: the music is exactly the scale

    def state(s):
        if s == "paused" and not out["played"]:
            out["played"] = True
            out["notes"] = [[n.start, n.end, n.pitch] for n in w.piano_roll.notes]
            dev = Player.device()
            out["device"] = dev.description() if dev else None
            p = player(w)
            p.started.connect(lambda engine: out.update(engine=engine))
            p.finished.connect(lambda: (out.update(finished=True), QTimer.singleShot(0, done)))
            w.actions["play"].trigger()
            if not p.playing:
                done()

    w.model_loaded.connect(loaded)
    w.state_changed.connect(state)
    w.failed.connect(lambda what, msg: done())
    w.load_model(model)
    QTimer.singleShot(30_000, done)
    app.exec()
    w.generation.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
