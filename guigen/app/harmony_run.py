"""A harmonisation under way in the generation process (guigen.app.engine): guigen.music.harmonize
is one call with a callback per step, so it runs in a thread of that process, and the engine's loop
takes what it has made every frame (`take`) and sends it to the window. Cancelling takes effect at
the next event, or the next step of a widened beam (which streams nothing until it ends). No Qt here."""

from __future__ import annotations

import threading
import traceback

from guigen.app.jobs import HarmonizeBatch, HarmonizeJob
from guigen.music.harmonize import Cancelled


class HarmonyRun:
    def __init__(self, model, job: HarmonizeJob):
        self.job = job
        self.cancelled = threading.Event()
        self.done = threading.Event()
        self._lock = threading.Lock()  # the buffers below, filled by the thread, taken by the engine's loop
        self._tokens: list[int] = []
        self._probs: list[float] = []
        self._last = None  # the newest step (a Generator Step)
        self._result = self._error = None
        self._thread = threading.Thread(target=self._run, args=(model,), name="guigen-harmonize", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        self.cancelled.set()

    def _on_step(self, step) -> None:
        if self.cancelled.is_set():
            raise Cancelled
        with self._lock:
            self._tokens.append(int(step.token))
            self._probs.append(float(step.probs[0, step.token]))
            self._last = step

    def _run(self, model) -> None:
        from guigen.music.harmonize import harmonize

        job = self.job
        try:
            self._result = harmonize(model, job.melody, job.settings, job.seed, on_step=self._on_step,
                                     cancelled=self.cancelled.is_set, **job.options)
        except Cancelled:
            pass
        except (ValueError, RuntimeError) as e:  # what the user can act on: said as it is
            self._error = str(e) or type(e).__name__
        except Exception as e:  # a fault: said, and its traceback kept on stderr
            self._error = f"{type(e).__name__}: {e}"
            traceback.print_exc()
        finally:
            self.done.set()

    def take(self) -> HarmonizeBatch | None:
        """What was made since the last take, and, once the thread has ended, the result; None when
        there is nothing new."""
        finished = self.done.is_set()  # read first: every step before the end is in the buffers by then
        with self._lock:
            tokens, probs, last = self._tokens, self._probs, self._last
            self._tokens, self._probs, self._last = [], [], None
        if not tokens and last is None and not finished:
            return None
        batch = HarmonizeBatch(self.job.id, tokens, probs, done=finished)
        if last is not None:
            batch.last_probs, batch.last_raw = last.probs[0].copy(), last.raw_probs[0].copy()
            batch.entropy = float(last.entropy[0])
        if finished:
            batch.result, batch.error = self._result, self._error
        return batch
