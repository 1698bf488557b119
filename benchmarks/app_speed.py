"""The desktop app's speed: how soon it is usable, and how responsive it stays while generating.

(a) Startup: wall time from launching `guigen app --exit-when-ready` (a subprocess, offscreen) to
    its line saying the window is shown and painted with the model loaded, beside `python -c
    "import torch"` and `python -c "pass"` timed in the same run (best of --runs each). The app
    loads lazily: it never imports torch, so it should beat the bare torch import.
(b) Responsiveness: in this process, a window with the model loaded generates --tokens tokens at
    full speed with the histogram visible, while a 10 ms QTimer in the GUI thread records how late
    each tick fires (p50 / p95 / max), beside the same timer on the idle window; and how often the
    histogram repaints (frames per second) against the 15 a second the window's display clock shows
    the distribution at (guigen.app.main_window.FRAME_S and TURNS: the output, the update, the paint).
    Beside it, in the same run, the command line's speed: `guigen generate` timed for --tokens tokens
    and for 1 (its start), at the window's settings; the app's tokens/s over the CLI's is the ratio to
    read (the app's model runs in a process of its own: guigen.app.engine). Music: in steps/s (the
    CLI's -n counts steps; the CLI makes as many as the app did). And the CLI's generation loop run
    in this process right after: a steadier reference, with no process start in it. And what starting
    the generation process cost the GUI thread, and how long until it answered; the histogram's, the curve's and the
    text view's updates per second; and each process's CPU per second of generating (/proc/PID/stat:
    the window's, all its threads, and the generation process's). The window runs Qt's own event
    loop meanwhile, as app.exec() does. `--busy N` runs (b) beside N busy processes (`python3 -c
    "while True: pass"`, each in a session of its own, as another program).
(c) Variations: the same timer while --variations N (default 8) continuations are made in one batch.
(d) Display cost: one Generator step beside the temperature curve's maths (36 temperatures) and the
    header's, and one update of the histogram and the curve, painted, as the window does per batch.
(e) The pipe: what receiving a batch, a chunk of cell activations and the model costs the GUI
    thread, beside a plain copy of the same bytes (what shared memory would leave).
Nothing is asserted: these machines are shared, so read the ratios, and the load average printed
beside each part. The code measured is the guigen this Python imports (its checkout's), so the same
script measures another branch: `/work/main/.venv/bin/python benchmarks/app_speed.py`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import guigen  # noqa: E402  (the checkout measured: the one this Python imports)

ROOT = Path(guigen.__file__).resolve().parents[1]
TEXT = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?'\"-()\n")


def random_model(path: Path, layers: int, hidden: int) -> Path:
    """A random-weight text model of the given size over 75 characters (the size is what costs)."""
    import numpy as np

    from guigen.core.config import ModelConfig, parameter_shapes
    from guigen.core.modelfile import save_model
    from guigen.core.vocab import CharVocab

    vocab = CharVocab.from_text(TEXT)
    cfg = ModelConfig(vocab.num_classes, embed=64, hidden=hidden, layers=layers, dropout=0.0)
    rng = np.random.default_rng(0)
    weights = {k: rng.normal(0, 0.1, shape).astype(np.float32) for k, shape in parameter_shapes(cfg).items()}
    save_model(path, cfg, vocab, weights, {"data": ["random weights"]})
    return path


def timed(cmd: list[str], env: dict, until: str | None = None) -> float:
    """Seconds from launching cmd to its exit, or to the stderr line containing `until`."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen = None
    for line in p.stderr:
        if until and until in line and seen is None:
            seen = time.perf_counter() - t0
    rc = p.wait()
    total = time.perf_counter() - t0
    if rc != 0 or (until and seen is None):
        raise RuntimeError(f"{' '.join(cmd)} failed (status {rc})")
    return seen if until else total


def startup(model: str, runs: int, env: dict) -> None:
    py = sys.executable
    app = [py, "-m", "guigen", "app", "--exit-when-ready", "--model", model]
    rows = {
        'python -c "pass"': lambda: timed([py, "-c", "pass"], env),
        'python -c "import torch"': lambda: timed([py, "-c", "import torch"], env),
        "guigen app: window up, model loaded": lambda: timed(app, env, until="guigen app: ready"),
    }
    best = {name: min(fn() for _ in range(runs)) for name, fn in rows.items()}
    print(f"(a) startup, best of {runs} (wall seconds)")
    for name, s in best.items():
        print(f"    {name:<40} {s:6.2f} s")
    torch_s, app_s = best['python -c "import torch"'], best["guigen app: window up, model loaded"]
    print(f"    app / import torch: {app_s / torch_s:.2f}  (below 1: the window is up before torch alone would be)")


def percentiles(late_ms: list[float]) -> str:
    import numpy as np

    a = np.array(late_ms)
    return f"p50 {np.percentile(a, 50):5.1f}  p95 {np.percentile(a, 95):5.1f}  max {a.max():6.1f} ms ({len(a)} ticks)"


def open_window(model: str, settings_file: Path):
    """(app, window, wait) for a shown 1280x800 main window with `model` loaded; wait(cond) runs the
    event loop until cond() is true (the benchmarks' one way of letting the window work)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from guigen.app.main import make_app
    from guigen.app.main_window import MainWindow
    from guigen.app.settings import Settings

    app = make_app()
    w = MainWindow(Settings(str(settings_file)), save_settings=False)
    w.quiet_errors = True
    w.resize(1280, 800)
    w.show()

    def wait(cond, timeout_s=600.0):
        """Qt's own event loop, as app.exec() runs it (sleeping until an event), left once cond() holds:
        checked every 5 ms by a coarse timer, not by polling, which would add a thousand wake-ups a
        second the app never has."""
        from PySide6.QtCore import QEventLoop, QTimer

        end = time.monotonic() + timeout_s
        if cond():
            return
        loop = QEventLoop()
        check = QTimer()
        check.setInterval(5)

        def look():
            if cond() or time.monotonic() > end:
                loop.quit()

        check.timeout.connect(look)
        check.start()
        loop.exec()
        check.stop()
        if not cond():
            raise TimeoutError("the app did not get there in time")

    w.load_model(model)
    wait(lambda: w.model is not None)
    return app, w, wait


def tick_timer(ticks: list[float]):
    """A 10 ms precise QTimer in the GUI thread that appends each tick's time to `ticks` (not started)."""
    from PySide6.QtCore import Qt, QTimer

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    return timer


def lateness_ms(ticks: list[float]) -> list[float]:
    """How late each 10 ms tick came, in ms."""
    return [max(0.0, (b - a) * 1000 - 10.0) for a, b in zip(ticks, ticks[1:])]


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) process `pid` has used, from /proc/PID/stat (Linux)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def busy_processes(n: int) -> list[subprocess.Popen]:
    """n pure-Python busy loops, each a core's worth, in sessions of their own (as other programs)."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True) for _ in range(n)]


def cli_rate(model: str, tokens: int, settings, env: dict, runs: int = 2) -> float:
    """The command line's tokens/s: `guigen generate -n tokens` less `-n 1` (its start), best of runs.
    For a music model -n counts 16th-note steps: then it is steps/s."""
    base = [sys.executable, "-m", "guigen", "generate", "-m", model, "--seed", "1", "-t", f"{settings.temperature:g}",
            "--top-k", str(settings.top_k), "--top-p", f"{settings.top_p:g}"]
    if model_kind(model) == "music":
        base += ["--primer-pitches", "60,64,67"]
    full = min(timed(base + ["-n", str(tokens)], env) for _ in range(runs))
    start = min(timed(base + ["-n", "1"], env) for _ in range(runs))
    return (tokens - 1) / max(full - start, 1e-6)


def loop_rate(model: str, n: int, settings, runs: int = 3) -> float:
    """The command line's own generation loop, run in this process (no process start in the figure,
    which the two timed launches of cli_rate each carry, seconds of imports that swing with the
    load): text, Generator(undo_depth=0).stream as `guigen generate` runs it, tokens/s; music,
    generate_events as it runs it, steps/s. Median of runs."""
    import statistics

    from guigen.core import registry
    from guigen.core.generate import Generator

    loaded = registry.load(model)
    rates = []
    for _ in range(runs):
        if loaded.kind == "music":
            from guigen.music.generate import generate_events, primer

            notes, _ = primer(loaded.codec, None, "60,64,67", 1)
            ids = loaded.codec.primer(notes)
            t = time.perf_counter()
            generate_events(loaded, ids, n, settings, seed=1)
        else:
            gen = Generator(loaded, settings, 1, batch=1, undo_depth=0)
            gen.feed(list(loaded.codec.encode("\n")))
            t = time.perf_counter()
            for _ in gen.stream(n):
                pass
        rates.append(n / (time.perf_counter() - t))
    return statistics.median(rates)


def model_kind(model: str) -> str:
    from guigen.core import registry
    from guigen.core.modelfile import load_model

    return load_model(registry.resolve(model)).kind


def responsiveness(model: str, tokens: int, settings_dir: Path, env: dict, busy: int = 0) -> None:
    from PySide6.QtCore import QEvent, QObject

    t_open = time.perf_counter()
    app, w, wait = open_window(model, settings_dir / "settings.ini")
    open_s = time.perf_counter() - t_open
    gen = w.generation
    if w.model.kind == "music":
        w.primer.setText("60,64,67")

    class Paints(QObject):
        count = 0

        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.Paint:
                Paints.count += 1
            return False

    paints = Paints()
    w.histogram.plot.viewport().installEventFilter(paints)
    competitors = busy_processes(busy)
    try:
        if busy:
            time.sleep(1.0)  # they are running
        load_before = loadavg()
        ticks: list[float] = []
        timer = tick_timer(ticks)

        # idle reference: the same timer for a second on the shown window
        timer.start()
        t0 = time.perf_counter()
        wait(lambda: time.perf_counter() - t0 > 1.0)
        idle = lateness_ms(ticks)
        ticks.clear()

        batches = []
        w.stepped.connect(lambda b: batches.append(len(b.tokens)))
        w.seed.setValue(1)
        w.length.setValue(tokens)
        Paints.count = 0
        updates = {"histogram": 0, "curve": 0, "output": 0}
        w.histogram.shown.connect(lambda: updates.__setitem__("histogram", updates["histogram"] + 1))
        set_curve = w.curve.set_distribution

        def counted_curve(*a, **k):
            updates["curve"] += 1
            return set_curve(*a, **k)

        w.curve.set_distribution = counted_curve

        def count_output() -> None:  # once generate() has made the piano roll (music) or reset the text view
            view = w.piano_roll if w.model.kind == "music" else w.text_view
            pace = view.pace

            def counted_pace():
                drawn = pace()
                updates["output"] += bool(drawn)
                return drawn

            view.pace = counted_pace

        turns: dict[str, list[float]] = {}  # the display clock's turns (output, update, paint): GUI CPU of each
        w._frame_timer.timeout.disconnect(w._frame)

        def timed_frame():
            t = time.thread_time()
            w._frame()
            turns.setdefault(TURNS[w._phase], []).append(time.thread_time() - t)

        from guigen.app.display_clock import TURNS

        w._frame_timer.timeout.connect(timed_frame)
        child = gen.worker.pid if hasattr(gen, "worker") else None
        child0 = cpu_s(child) if child else 0.0
        t0, cpu0, proc0 = time.perf_counter(), time.thread_time(), cpu_s(os.getpid())
        w.generate()
        count_output()
        wait(lambda: w.state == "stopped")
        gen_s = time.perf_counter() - t0
        gui_cpu = time.thread_time() - cpu0  # the GUI thread's own CPU time: what showing costs, whatever the load
        gui_proc_cpu = cpu_s(os.getpid()) - proc0  # all of this process's threads
        child_cpu = cpu_s(child) - child0 if child else None
        stopped = time.perf_counter()
        wait(lambda: time.perf_counter() - stopped > 0.3)  # the ticks while the stop is drawn count too
        busy_late = lateness_ms(ticks)
        frames = Paints.count
        timer.stop()
        settings = w.sampling_settings()
        # music: -n counts steps, and a chorale the app generates may end (END) before the length asked
        # for, so the app and the CLI are compared in steps/s, the CLI making as many steps as the app did
        steps = w.piano_roll.steps - w.piano_roll.primer_steps if w.model.kind == "music" else None
        w.close()
        w.generation.shutdown()
        cli = cli_rate(model, steps or tokens, settings, env)
        loop = loop_rate(model, steps or tokens, settings)
        load_after = loadavg()
    finally:
        for p in competitors:
            p.kill()
            p.wait()

    import numpy as np

    app_rate = sum(batches) / gen_s
    print(f"(b) responsiveness{f' beside {busy} busy processes' if busy else ''} (load average {load_before} "
          f"before, {load_after} after):")
    print(f"    {sum(batches)} tokens in {gen_s:.2f} s ({app_rate:,.0f} tokens/s), "
          f"{len(batches)} batches of ~{np.mean(batches):.0f} tokens")
    rate, unit = (steps / gen_s, "steps/s") if steps else (app_rate, "tokens/s")
    if steps:
        print(f"    {steps} steps: {rate:,.1f} steps/s; the CLI at the same settings (-n {steps}): "
              f"{cli:,.1f} steps/s; app / CLI: {rate / cli:.2f}")
    else:
        print(f"    the CLI at the same settings: {cli:,.0f} tokens/s; app / CLI: {app_rate / cli:.2f}")
    print(f"    the CLI's loop in this process right after (median of 3): {loop:,.1f} {unit}; "
          f"app / loop: {rate / loop:.2f}")
    print(f"    10 ms timer lateness, idle window:   {percentiles(idle)}")
    print(f"    10 ms timer lateness, generating:    {percentiles(busy_late)}")
    print(f"    p95 generating / idle: {np.percentile(busy_late, 95) / max(np.percentile(idle, 95), 0.1):.1f}x; "
          f"max generating / 40 ms budget: {max(busy_late) / 40:.2f}")
    print(f"    histogram repaints: {frames} in {gen_s:.2f} s = {frames / gen_s:.1f} frames/s "
          f"(the display clock shows it 15 times a second: ratio {frames / gen_s / 15:.2f})")
    print(f"    GUI thread CPU while generating: {gui_cpu:.2f} s in {gen_s:.2f} s ({gui_cpu / gen_s:.0%} of a core), "
          f"{gui_cpu / max(len(batches), 1) * 1e3:.1f} ms per batch, {gui_cpu / max(frames, 1) * 1e3:.1f} ms per repaint")
    per_s = ", ".join(f"{k} {v / gen_s:.1f}" for k, v in updates.items())
    print(f"    updates per second: {per_s} (output: the text view's or piano roll's frames that drew)")
    cost = ", ".join(f"{k} {np.mean(v) * 1e3:.1f} (max {np.max(v) * 1e3:.1f})" for k, v in turns.items() if v)
    print(f"    the display clock's turns, GUI thread CPU ms each: {cost}")
    print(f"    CPU per second of generating: the window's process {gui_proc_cpu / gen_s:.0%} of a core"
          + (f", the generation process {child_cpu / gen_s:.0%}" if child_cpu is not None else "")
          + f" (/proc/PID/stat; the CLI at full speed uses 100%)")
    if getattr(gen, "ready_s", None) is not None:
        print(f"    the generation process: started in {gen.start_s * 1e3:.1f} ms of GUI time, answering "
              f"{gen.ready_s:.2f} s later (the window opened, model loaded, in {open_s:.2f} s)")


def variations_responsiveness(model: str, count: int, tokens: int, settings_dir: Path) -> None:
    """(c) The same 10 ms timer while `count` variations of `tokens` each are made in one batch (the
    generation process steps a Generator with batch = count; the strip of cards redraws as they grow)."""
    import numpy as np

    app, w, wait = open_window(model, settings_dir / "variations.ini")
    if w.model.kind == "music":
        w.primer.setText("60,64,67")
    ticks: list[float] = []
    timer = tick_timer(ticks)
    w.seed.setValue(1)
    w.length.setValue(tokens)
    batches = []
    w.generation.worker.varied.connect(lambda b: batches.append(b.tokens.shape))
    timer.start()
    t0 = time.perf_counter()
    if not w.variations.start(count):
        raise RuntimeError(w.errors[-1])
    wait(lambda: w.variations.current.done)
    gen_s = time.perf_counter() - t0
    timer.stop()
    late = lateness_ms(ticks)
    w.close()
    w.generation.shutdown()
    a = np.array(late)
    print(f"(c) variations: {count} x {tokens} tokens in one batch in {gen_s:.2f} s "
          f"({count * tokens / gen_s:,.0f} tokens/s), {len(batches)} batches to the strip")
    print(f"    10 ms timer lateness, making them:  {percentiles(late)}")
    print(f"    p95 / 30 ms budget: {np.percentile(a, 95) / 30:.2f}; max / 50 ms budget: {a.max() / 50:.2f}")


def display_cost(model: str, steps: int, settings_dir: Path) -> None:
    """(d) What showing a step costs beside what making it costs, in this process: one Generator step
    at the app's settings (undo on; T 0.8, top-k 20, top-p 0.95), the temperature curve's maths
    (entropy_curve over 36 temperatures) and the header's (summary), and one update of the histogram
    and the curve with both painted (repaint: synchronous), as the window does for each batch."""
    import numpy as np

    from guigen.core import registry
    from guigen.core.generate import Generator
    from guigen.core.sampling import CURVE_TEMPERATURES, SamplingSettings, entropy_curve, summary

    settings = SamplingSettings(0.8, 20, 0.95)
    loaded = registry.load(model)
    gen = Generator(loaded, settings, seed=1)
    gen.feed([0])
    for _ in range(20):  # warm up
        gen.step()
    shown = []
    blocks = []  # the shared machine preempts us: each figure is the best of 10 blocks' means
    for b in range(10):
        t0 = time.perf_counter()
        for i in range(max(steps // 10, 1)):
            s = gen.step()
            if i % 4 == 0:
                shown.append((s.probs[0], s.raw_probs[0], s.token, float(s.entropy[0])))
        blocks.append((time.perf_counter() - t0) / max(steps // 10, 1))
    step_s = min(blocks)

    def per_call(fn, n=200, blocks=10):
        best = float("inf")
        for b in range(blocks):
            t = time.perf_counter()
            for k in range(max(n // blocks, 1)):
                fn(b * n + k)
            best = min(best, (time.perf_counter() - t) / max(n // blocks, 1))
        return best

    with np.errstate(divide="ignore"):
        logs = [np.log(raw) for _, raw, _, _ in shown]
    curve_s = per_call(lambda k: entropy_curve(logs[k % len(logs)], CURVE_TEMPERATURES, 20, 0.95))
    summary_s = per_call(lambda k: summary(shown[k % len(shown)][0]))

    app, w, _ = open_window(model, settings_dir / "display.ini")
    app.processEvents()
    h, curve = w.histogram, w.curve

    def update(k):
        probs, raw, token, ent = shown[k % len(shown)]
        h.show_distribution(probs, raw, token, ent, f"Token {k} at T = 0.8", live=True, settings=settings)
        curve.set_distribution(raw, 20, 0.95)
        h.plot.viewport().repaint()
        curve.plot.viewport().repaint()
        h.header.repaint()

    def update_hist(k):
        probs, raw, token, ent = shown[k % len(shown)]
        h.show_distribution(probs, raw, token, ent, f"Token {k} at T = 0.8", live=True, settings=settings)
        h.plot.viewport().repaint()
        h.header.repaint()

    import gc

    frozen = gc.get_freeze_count()
    t = time.perf_counter()
    gc.collect()
    full_gc_s = time.perf_counter() - t
    update(0)
    update_s, hist_s = float("inf"), float("inf")
    for b in range(20):  # interleaved blocks, the best of each: the machine's load comes and goes
        update_s = min(update_s, per_call(update, 5, blocks=1))
        hist_s = min(hist_s, per_call(update_hist, 5, blocks=1))
    # the same while a model steps without pause in another thread of this process (sharing the GIL,
    # as the app's worker would if it did not step aside), and in another process (not sharing it)
    beside = {}
    stop = threading.Event()

    def steps_forever():
        g = Generator(loaded, settings, seed=2)
        g.feed([0])
        while not stop.is_set():
            g.step()

    thread = threading.Thread(target=steps_forever)
    thread.start()
    time.sleep(0.3)
    beside["thread"] = min(per_call(update, 5, blocks=1) for _ in range(10))
    stop.set()
    thread.join()
    code = ("import sys\nfrom guigen.core import registry\nfrom guigen.core.generate import Generator\n"
            "from guigen.core.sampling import SamplingSettings\n"
            "g = Generator(registry.load(sys.argv[1]), SamplingSettings(0.8, 20, 0.95), seed=2)\ng.feed([0])\n"
            "while True:\n    g.step()\n")
    proc = subprocess.Popen([sys.executable, "-c", code, model])
    try:
        time.sleep(2.0)  # its imports and model
        beside["process"] = min(per_call(update, 5, blocks=1) for _ in range(10))
    finally:
        proc.kill()
        proc.wait()
    w.close()
    w.generation.shutdown()
    print(f"(d) display cost, {loaded.name} ({loaded.config.vocab_size} classes), T 0.8, top-k 20, top-p 0.95 "
          "(best of 10 blocks, wall time):")
    print(f"    one Generator step (undo on):                       {step_s * 1e3:7.3f} ms")
    print(f"    temperature curve maths (36 temperatures):          {curve_s * 1e3:7.3f} ms = "
          f"{curve_s / step_s:.1%} of a step")
    print(f"    header maths (entropy, kept, above 0.1%):           {summary_s * 1e3:7.3f} ms = "
          f"{summary_s / step_s:.1%} of a step")
    print(f"    histogram update + paint (interleaved with the next): {hist_s * 1e3:5.3f} ms")
    print(f"    histogram + curve update + paint (one batch shown): {update_s * 1e3:7.3f} ms")
    print(f"      the same, a model stepping in another thread:   {beside['thread'] * 1e3:7.3f} ms = "
          f"{beside['thread'] / update_s:.2f}x (the GIL handed back and forth, as when the app's model ran in a thread)")
    print(f"      the same, a model stepping in another process:  {beside['process'] * 1e3:7.3f} ms = "  # the app's case
          f"{beside['process'] / update_s:.2f}x")
    print(f"    a full garbage collection:                          {full_gc_s * 1e3:7.3f} ms "
          f"({frozen:,} objects made at startup frozen out of its reach)")
    from guigen.app.main_window import FRAME_S, TURNS

    rate = 1 / (len(TURNS) * FRAME_S)  # the display clock's turns: output, update, paint
    share = rate * update_s  # GUI seconds per second of generating, at the window's update rate
    print(f"    shown {rate:g} times a second while streaming, that is {share:.1%} of each second of generating "
          f"(in the GUI thread; the model runs in its own process meanwhile)")


def pipe_cost(model: str) -> None:
    """(e) What the pipe from the generation process costs the GUI thread: receiving and unpickling
    a batch of steps, a chunk of cell activations and the model at load (each sent by another
    thread of this process, timed where it is read), beside copying the same bytes once in memory:
    what multiprocessing.shared_memory would leave. Best of 20."""
    import pickle

    import numpy as np
    from multiprocessing import Pipe

    from guigen.core import registry

    try:
        from guigen.app.jobs import StepBatch
    except ImportError:
        print("(e) the pipe: this checkout's app has no generation process")
        return

    loaded = registry.load(model)
    cfg, v = loaded.config, loaded.config.vocab_size
    rng = np.random.default_rng(0)
    n = 100  # tokens per batch at ~3,000 tokens/s and 30 batches a second
    batch = StepBatch(list(rng.integers(0, v, n)), list(rng.random(n)), [False] * n, rng.random(v), rng.random(v),
                      1.0, 1.0, 1000)
    cells = rng.random((n, cfg.layers, 2, cfg.hidden)).astype(np.float16)
    rows = [("a batch of 100 steps", [("stepped", batch), ("status", {"count": 1000})]),
            (f"cell activations of 100 steps {cells.shape}", [("cells", 0, cells)]),
            (f"the model at load ({loaded.num_parameters():,} weights)", [("loaded", loaded)])]
    print(f"(e) the pipe from the generation process, {loaded.name} (best of 20, the reading side):")
    for name, msg in rows:
        size = len(pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL))
        best = copy = float("inf")
        for _ in range(20):
            read, write = Pipe(duplex=False)
            sender = threading.Thread(target=write.send, args=(msg,))
            sender.start()
            read.poll(10)
            t = time.perf_counter()
            read.recv()
            best = min(best, time.perf_counter() - t)
            sender.join()
            read.close()
            write.close()
            buf = bytearray(size)
            t = time.perf_counter()
            bytes(buf)
            copy = min(copy, time.perf_counter() - t)
        print(f"    {name:<52} {size / 1e3:9,.1f} kB  {best * 1e3:7.3f} ms  (a copy of its bytes: {copy * 1e3:.3f} ms)")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-m", "--model", default="shakespeare", help="model name or file (default: shakespeare)")
    p.add_argument("--random", metavar="LAYERSxHIDDEN",
                   help="use a random-weight text model of this size instead, e.g. 3x512")
    p.add_argument("--runs", type=int, default=3, help="launches per startup measurement (best is kept)")
    p.add_argument("--tokens", type=int, default=5000, help="tokens generated for (b)")
    p.add_argument("--busy", type=int, default=0, help="run (b) beside this many busy processes")
    p.add_argument("--display-steps", type=int, default=400, help="generator steps timed for (d); 0 skips (d)")
    p.add_argument("--variations", type=int, default=8, help="variations made at once for (c); 0 skips (c)")
    p.add_argument("--variation-tokens", type=int, default=1000, help="tokens per variation for (c)")
    p.add_argument("--skip", nargs="*", default=[], choices=["startup", "responsiveness", "pipe"],
                   help="parts to leave out")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="guigen-bench-") as tmp:
        tmp = Path(tmp)
        model = args.model
        if args.random:
            layers, hidden = (int(v) for v in args.random.lower().split("x"))
            model = str(random_model(tmp / f"random-{layers}x{hidden}.safetensors", layers, hidden))
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp / "config"),
               "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        print(f"model: {args.random and f'random weights, {args.random}' or model}; "
              f"{os.cpu_count()} CPUs, load average {loadavg()}; guigen from {ROOT}")
        if "startup" not in args.skip:
            startup(model, args.runs, env)
        os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")
        if "responsiveness" not in args.skip:
            responsiveness(model, args.tokens, tmp, env, args.busy)
        if args.display_steps:
            display_cost(model, args.display_steps, tmp)
        if args.variations:
            variations_responsiveness(model, args.variations, args.variation_tokens, tmp)
        if "pipe" not in args.skip:
            pipe_cost(model)
        print(f"load average after: {loadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
