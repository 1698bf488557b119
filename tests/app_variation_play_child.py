"""Run by test_app_playback.py in a fresh process (so Qt meets the test's PulseAudio server): open the
app offscreen with a melody model, make two variations, and play their cards from their own buttons:
card 1 played and stopped from its button, card 2 played to its end. Prints one JSON line: what each
card showed at each moment (highlighted, its button's text and tooltip), read off the real widgets.

usage: app_variation_play_child.py MODEL SETTINGS_INI
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main(model: str, ini: str) -> int:
    from PySide6.QtCore import QEventLoop, QTimer

    from guigen.app.main import make_app
    from guigen.app.main_window import MainWindow
    from guigen.app.music import Player, player
    from guigen.app.settings import Settings

    app = make_app()
    w = MainWindow(Settings(ini), save_settings=False)
    w.quiet_errors = True
    w.resize(1280, 800)
    w.show()
    out: dict = {"device": None, "moments": {}, "timeouts": []}

    def wait(what: str, cond, timeout_s: float = 30.0) -> bool:
        """The event loop until cond() holds (checked every 10 ms); False, noted, if it never does."""
        end = time.monotonic() + timeout_s
        loop = QEventLoop()
        check = QTimer()
        check.timeout.connect(lambda: (cond() or time.monotonic() > end) and loop.quit())
        check.start(10)
        if not cond():
            loop.exec()
        check.stop()
        if not cond():
            out["timeouts"].append(what)
            return False
        return True

    def cards() -> list[dict]:
        return [{"playing": c.playing, "highlighted": "border" in c.styleSheet(),
                 "button": c.buttons["play"].text(), "tooltip": c.buttons["play"].toolTip()}
                for c in w.variations.view.cards]

    try:
        w.load_model(model)
        if not wait("the model", lambda: w.model is not None):
            return 0
        dev = Player.device()
        out["device"] = dev.description() if dev else None
        w.primer.setText("60,64,67")
        w.seed.setValue(4)
        w.length.setValue(16)  # steps: a bar, 2 s at 120 qpm
        w.variations.count.setValue(2)
        w.variations.button.click()
        if not wait("the variations", lambda: w.variations.current is not None and w.variations.current.done):
            return 0
        out["moments"]["made"] = cards()
        p = player(w)
        finished = []
        p.finished.connect(lambda: finished.append(time.monotonic()))
        first, second = (c.buttons["play"] for c in w.variations.view.cards)
        first.click()
        wait("card 1 playing", lambda: p.playing)
        out["moments"]["card 1 playing"] = cards()
        first.click()  # now its Stop
        wait("card 1 stopped", lambda: not p.playing and len(finished) == 1)
        out["moments"]["card 1 stopped"] = cards()
        second.click()
        wait("card 2 playing", lambda: p.playing)
        out["moments"]["card 2 playing"] = cards()
        t0 = time.monotonic()
        wait("card 2 ended", lambda: len(finished) == 2)  # played to its end
        out["played_s"] = time.monotonic() - t0
        out["moments"]["card 2 ended"] = cards()
    finally:
        out["errors"] = list(w.errors)
        print(json.dumps(out), flush=True)
        w.generation.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
