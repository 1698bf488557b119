"""Says so when the top-k/top-p cut leaves a single token step after step: sampling has become
greedy without the user asking (a chorale then holds one chord for bars). The warning sits on the
histogram, where the eye already is, and in the status bar; it goes when a step has a choice again.

A streak is counted from what each step's token had: probability 1 after the cut while the model
itself gave other tokens a chance (the cut is on and the shown distribution keeps one token of
several the model allows)."""

from __future__ import annotations

import numpy as np

STREAK = 8  # steps in a row with one token left before the app says so


class CutWatch:
    def __init__(self, window):
        self.window = window
        self.streak = 0
        window.stepped.connect(self._stepped)
        window.sample_started.connect(self.reset)
        window.model_loaded.connect(lambda _m: self.reset())
        for w in (window.top_k, window.top_p):
            w.valueChanged.connect(lambda _v: self.reset())

    def reset(self) -> None:
        self.streak = 0
        self.window.histogram.set_warning("")

    def _stepped(self, batch) -> None:
        w = self.window
        s = w.sampling_settings()
        cut = (0 < s.top_k) or s.top_p < 1.0
        if not cut or batch.last_probs is None:
            return self.reset() if self.streak else None
        one_left = int((np.asarray(batch.last_probs) > 0).sum()) == 1 and int((np.asarray(batch.last_raw) > 0).sum()) > 1
        # the tokens of this batch from its end back: each at probability 1 (not forced by a click) extends the streak
        run = 0
        for p, forced in zip(reversed(batch.probs), reversed(batch.forced)):
            if forced or p < 1.0:
                break
            run += 1
        if run == len(batch.probs) and one_left:
            self.streak += run
        else:
            self.streak = run if one_left else 0
        if self.streak >= STREAK:
            what = " and ".join(x for x in (f"top-k {s.top_k}" if s.top_k else "",
                                             f"top-p {s.top_p:g}" if s.top_p < 1 else "") if x)
            # music counts events: its "steps" are 16th notes everywhere else (the status bar's "8 bars (128 steps)")
            unit = "events" if w.model is not None and w.model.kind == "music" else "characters"
            text = (f"The cut leaves a single token: {self.streak} {unit} in a row chosen with no choice left. "
                    f"Raise {what} (or turn it off) for variety.")
            if w.histogram.warning != text:
                w.histogram.set_warning(text)
                w.statusBar().showMessage(text, 8000)
        elif w.histogram.warning:
            w.histogram.set_warning("")


def attach(window) -> CutWatch:
    window.cut_watch = CutWatch(window)
    return window.cut_watch
