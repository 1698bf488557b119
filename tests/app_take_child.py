"""Run by test_app_takes.py in a fresh process: the app (offscreen) loads a model, generates, and
the moment the sample stops prints one JSON line (its notes or text as the window shows them) and
goes on running, for the test to kill -9.

usage: app_take_child.py MODEL SETTINGS_INI LENGTH PRIMER
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main(model: str, ini: str, length: int, primer: str) -> int:
    from guigen.app.main import make_app
    from guigen.app.main_window import MainWindow
    from guigen.app.settings import Settings

    app = make_app()
    w = MainWindow(Settings(ini), save_settings=False)
    w.quiet_errors = True
    w.show()

    def state(s):
        if s == "stopped":  # the take is kept in this same call (TakePanel._state): then say so
            roll = w.piano_roll
            shown = ([[n.start, n.end, n.pitch] for n in roll.notes] if w.model.kind == "music"
                     else w.text_view.text())
            print(json.dumps({"shown": shown, "errors": w.errors}), flush=True)

    def loaded(_model):
        w.primer.setText(primer)
        w.seed.setValue(3)
        w.length.setValue(length)
        w.state_changed.connect(state)
        w.generate()

    w.model_loaded.connect(loaded)
    w.load_model(model)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]))
