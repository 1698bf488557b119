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
    --rounds samples (seeds 1, 2, ...), each followed by the command line's run of as many tokens at
    the same settings and seed: app and CLI interleaved, each round's figures, their medians and
    spread. The CLI is timed inside its own process (CLI_TIMER: `guigen generate` for -n N less -n 1,
    after a first run that did the imports), so no interpreter start or import is in the figure.
    Music: in steps/s (the CLI's -n counts steps; it makes as many as the app did: a chorale may
    end, at the model's END, before the length asked for). The app's tokens/s over the CLI's is the
    ratio to read (the app's model runs in a process of its own: guigen.app.engine). And what
    starting the generation process cost the GUI thread, and how long until it answered; the
    histogram's, the curve's and the output's updates per second; and each process's CPU per second
    of generating (/proc/PID/stat: the window's, all its threads, and the generation process's), and
    the model's CPU a token in the app's process against the CLI's process (its CPU time). The
    window runs Qt's own event loop meanwhile, as app.exec() does. `--busy N` runs (b) beside N busy
    processes (`python3 -c "while True: pass"`, each in a session of its own, as another program).
    `--why-late MS` names, for each gap between ticks over MS late, the GUI thread's CPU in it (low:
    it waited for a CPU; high: it was busy) and the Python it ran (benchmarks/late_ticks.py).
(c) Variations: the same timer while --variations N (default 8) continuations are made in one batch.
(d) Display cost: one Generator step beside the temperature curve's maths (36 temperatures) and the
    header's, and one update of the histogram and the curve, painted, as the window does per batch.
(e) The pipe: what receiving a batch, a chunk of cell activations and the model costs the GUI
    thread, beside a plain copy of the same bytes (what shared memory would leave).
(f) The engine alone: guigen.app.engine.Engine generating in this process, as the app's process
    runs it (batches, the piano roll's notes, each message pickled), against the CLI's own loop
    (text: Generator(undo_depth=0).stream; music: generate_events), interleaved rounds, CPU time.
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


def tick_timer(ticks: list[float], cpu: list[float] | None = None):
    """A 10 ms precise QTimer in the GUI thread that appends each tick's time to `ticks` (not started),
    and the GUI thread's CPU time then to `cpu` if given."""
    from PySide6.QtCore import Qt, QTimer

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(10)
    if cpu is None:
        timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    else:
        timer.timeout.connect(lambda: (ticks.append(time.perf_counter()), cpu.append(time.thread_time())))
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


# The command line timed from inside its own process: `guigen generate` (guigen.cli.main, the same
# code path as the command) run once for -n 1 (its imports, the model's caches), then for -n N and -n 1
# again; the difference of the last two is N - 1 tokens of generation, with no interpreter start or
# import in it (those are seconds that swing with the load, and swamped the figure when the two
# launches' wall times were subtracted)
CLI_TIMER = """
import json, sys, time
from guigen.cli import main
n, argv = int(sys.argv[1]), sys.argv[2:]
def run(k):
    t, c = time.perf_counter(), time.process_time()
    if main(argv + ["-n", str(k)]):
        raise SystemExit("guigen generate failed")
    return time.perf_counter() - t, time.process_time() - c
run(1)
(full, cpu_full), (start, cpu_start) = run(n), run(1)
print(json.dumps({"full": full, "start": start, "cpu": cpu_full - cpu_start}), file=sys.stderr)
"""


def cli_rate(model: str, tokens: int, settings, env: dict, seed: int = 1, out_dir: Path | None = None):
    """(tokens/s, CPU seconds a token) of the command line (music: steps; -n counts 16th-note steps)
    at these settings: `guigen generate -n tokens` less `-n 1`, both timed inside one process
    (CLI_TIMER), the process started beside the app's window, as the app's generation process is."""
    import json

    argv = ["generate", "-m", model, "--seed", str(seed), "-t", f"{settings.temperature:g}",
            "--top-k", str(settings.top_k), "--top-p", f"{settings.top_p:g}"]
    if model_kind(model) == "music":
        argv += ["--primer-pitches", "60,64,67", "-o", str((out_dir or Path(tempfile.gettempdir())) / "cli.mid"),
                 "--force"]
    p = subprocess.run([sys.executable, "-c", CLI_TIMER, str(tokens), *argv], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    if p.returncode:
        raise RuntimeError(f"guigen {' '.join(argv)} failed: {p.stderr.strip()[-300:]}")
    t = json.loads(p.stderr.strip().splitlines()[-1])
    return (tokens - 1) / max(t["full"] - t["start"], 1e-6), t["cpu"] / max(tokens - 1, 1)


def model_kind(model: str) -> str:
    from guigen.core import registry
    from guigen.core.modelfile import load_model

    return load_model(registry.resolve(model)).kind


def spread(values, fmt: str = "{:,.2f}") -> str:
    """'median (min-max)' of a list of figures."""
    import numpy as np

    return f"{fmt.format(float(np.median(values)))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def responsiveness(model: str, tokens: int, settings_dir: Path, env: dict, busy: int = 0, rounds: int = 3,
                   why_late: float = 0.0, gui_slice: float | None = None) -> None:
    """(b): `rounds` samples (seeds 1, 2, ...) in one window, each followed by the CLI's run of as many
    tokens (or steps) at the same settings and seed: app and CLI interleaved, medians and spread."""
    import numpy as np
    from PySide6.QtCore import QEvent, QObject

    t_open = time.perf_counter()
    app, w, wait = open_window(model, settings_dir / "settings.ini")
    open_s = time.perf_counter() - t_open
    import late_ticks as sched

    if gui_slice is not None:  # the GUI thread's time slice, in place of the app's own
        sched.set_slice(gui_slice / 1e3)
    slice_ms = (sched.slice_s() or float("nan")) * 1e3
    gen = w.generation
    music = w.model.kind == "music"
    if music:
        w.primer.setText("60,64,67")

    class Paints(QObject):
        count = 0

        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.Paint:
                Paints.count += 1
            return False

    paints = Paints()
    w.histogram.plot.viewport().installEventFilter(paints)
    updates = {"histogram": 0, "curve": 0, "output": 0}
    w.histogram.shown.connect(lambda: updates.__setitem__("histogram", updates["histogram"] + 1))
    set_curve = w.curve.set_distribution

    def counted_curve(*a, **k):
        updates["curve"] += 1
        return set_curve(*a, **k)

    w.curve.set_distribution = counted_curve

    def count_output() -> None:  # once generate() has made the piano roll (music) or reset the text view
        view = w.piano_roll if music else w.text_view
        if getattr(view, "_counted", False):
            return
        pace = view.pace

        def counted_pace():
            drawn = pace()
            updates["output"] += bool(drawn)
            return drawn

        view.pace, view._counted = counted_pace, True

    from guigen.app.display_clock import TURNS

    turns: dict[str, list[float]] = {}  # the display clock's turns (output, update, paint): GUI CPU of each
    w._frame_timer.timeout.disconnect(w._frame)

    def timed_frame():
        t = time.thread_time()
        w._frame()
        turns.setdefault(TURNS[w._phase], []).append(time.thread_time() - t)

    w._frame_timer.timeout.connect(timed_frame)
    batches: list[int] = []
    w.stepped.connect(lambda b: batches.append(len(b.tokens)))
    states: list[str] = []  # the window's states since this round's Generate
    w.state_changed.connect(states.append)
    competitors = busy_processes(busy)
    rows = []
    late_lines = []
    try:
        if busy:
            time.sleep(1.0)  # they are running
        load_before = loadavg()
        ticks: list[float] = []
        cpu: list[float] = []
        timer = tick_timer(ticks, cpu)
        # idle reference: the same timer for a second on the shown window
        timer.start()
        t0 = time.perf_counter()
        wait(lambda: time.perf_counter() - t0 > 1.0)
        idle = lateness_ms(ticks)
        timer.stop()
        w.length.setValue(tokens)
        for r in range(rounds):
            seed = r + 1
            w.seed.setValue(seed)
            ticks.clear()
            cpu.clear()
            batches.clear()
            Paints.count = 0
            for k in updates:
                updates[k] = 0
            turns.clear()
            sampler = None
            if why_late:
                from late_ticks import StackSampler

                sampler = StackSampler()
                sampler.start()
            timer.start()
            wait(lambda: len(ticks) > 10)  # the timer is running before the work starts
            child = gen.worker.pid
            child0 = cpu_s(child) if child else 0.0
            t0, cpu0, proc0 = time.perf_counter(), time.thread_time(), cpu_s(os.getpid())
            states.clear()
            w.generate()
            count_output()
            wait(lambda: "running" in states and w.state == "stopped")
            gen_s = time.perf_counter() - t0
            gui_cpu = time.thread_time() - cpu0  # the GUI thread's own CPU time: what showing costs, whatever the load
            gui_proc_cpu = cpu_s(os.getpid()) - proc0  # all of this process's threads
            child_cpu = cpu_s(child) - child0 if child else float("nan")
            stopped = time.perf_counter()
            wait(lambda: time.perf_counter() - stopped > 0.3)  # the ticks while the stop is drawn count too
            timer.stop()
            if sampler is not None:
                sampler.stop()
                from late_ticks import explain

                late_lines.append((seed, explain(ticks, cpu, sampler.samples, why_late)))
            late = lateness_ms(ticks)
            settings = w.sampling_settings()
            # music: -n counts steps, and a chorale the app generates may end (END) before the length asked
            # for, so the app and the CLI are compared in steps/s, the CLI making as many steps as the app did
            n = w.piano_roll.steps - w.piano_roll.primer_steps if music else sum(batches)
            app_rate = n / gen_s
            cli, cli_cpu = cli_rate(model, n, settings, env, seed, settings_dir)
            rows.append({"seed": seed, "n": n, "tokens": sum(batches), "gen_s": gen_s, "app": app_rate, "cli": cli,
                         "ratio": app_rate / cli, "p50": float(np.percentile(late, 50)),
                         "p95": float(np.percentile(late, 95)), "max": max(late), "ticks": len(late),
                         "frames": Paints.count / gen_s, "gui_cpu": gui_cpu / gen_s, "batches": len(batches),
                         "per_batch": gui_cpu / max(len(batches), 1), "proc": gui_proc_cpu / gen_s,
                         "child": child_cpu / gen_s, "model_ms": child_cpu / n * 1e3, "cli_ms": cli_cpu * 1e3,
                         "cli_share": cli_cpu * cli, "updates": {k: v / gen_s for k, v in updates.items()},
                         "turns": {k: (np.mean(v), np.max(v)) for k, v in turns.items() if v}})
        w.close()
        w.generation.shutdown()
        load_after = loadavg()
    finally:
        for p in competitors:
            p.kill()
            p.wait()

    unit = "steps" if music else "tokens"
    print(f"(b) responsiveness{f' beside {busy} busy processes' if busy else ''}, {rounds} rounds, app and CLI "
          f"interleaved (load average {load_before} before, {load_after} after; the GUI thread's time slice "
          f"{slice_ms:.2f} ms):")
    print(f"    10 ms timer lateness, idle window: {percentiles(idle)}")
    for r in rows:
        print(f"    seed {r['seed']}: {r['n']} {unit} in {r['gen_s']:.2f} s, app {r['app']:,.0f} {unit}/s, CLI "
              f"{r['cli']:,.0f}: app / CLI {r['ratio']:.2f}; lateness p50 {r['p50']:4.1f} p95 {r['p95']:5.1f} "
              f"max {r['max']:6.1f} ms ({r['ticks']} ticks); CPU: window {r['proc']:.0%}, model {r['child']:.0%} "
              f"(CLI {r['cli_share']:.0%}); model CPU a {unit[:-1]}: app {r['model_ms']:.3f} ms, CLI {r['cli_ms']:.3f}")
    col = lambda k: [r[k] for r in rows]  # noqa: E731
    print(f"    median (min-max) of {rounds}: app / CLI {spread(col('ratio'))}; app {spread(col('app'), '{:,.0f}')} "
          f"{unit}/s, CLI {spread(col('cli'), '{:,.0f}')}")
    print(f"    the model's CPU a {unit[:-1]} (app's process / CLI): {spread([r['model_ms'] / r['cli_ms'] for r in rows])}; "
          f"its share of a core: app {spread(col('child'), '{:.0%}')}, CLI {spread(col('cli_share'), '{:.0%}')}")
    print(f"    timer lateness while generating: p95 {spread(col('p95'), '{:.1f}')} ms, max {spread(col('max'), '{:.1f}')} ms "
          f"(targets: p95 < {30 if busy >= 2 else 20} ms{'' if busy else ', max < 40 ms'})")
    print(f"    histogram repaints {spread(col('frames'), '{:.1f}')} a second (the display clock shows it 15 times a "
          f"second); GUI thread CPU {spread(col('gui_cpu'), '{:.0%}')} of a core, "
          f"{spread([x * 1e3 for x in col('per_batch')], '{:.1f}')} ms per batch")
    per_s = ", ".join(f"{k} {np.median([r['updates'][k] for r in rows]):.1f}" for k in updates)
    print(f"    updates per second (medians): {per_s} (output: the text view's or piano roll's frames that drew)")
    cost = ", ".join(f"{k} {np.mean([r['turns'][k][0] for r in rows if k in r['turns']]) * 1e3:.1f} "
                     f"(max {max(r['turns'][k][1] for r in rows if k in r['turns']) * 1e3:.1f})"
                     for k in TURNS if any(k in r["turns"] for r in rows))
    print(f"    the display clock's turns, GUI thread CPU ms each: {cost}")
    if getattr(gen, "ready_s", None) is not None:
        print(f"    the generation process: started in {gen.start_s * 1e3:.1f} ms of GUI time, answering "
              f"{gen.ready_s:.2f} s later (the window opened, model loaded, in {open_s:.2f} s)")
    for seed, lines in late_lines:
        if lines:
            print(f"    ticks over {why_late:g} ms late, seed {seed} (worst first):")
            print("\n".join(lines))


def engine_alone(model: str, tokens: int, rounds: int) -> None:
    """(f) The model's side alone, in this process: guigen.app.engine.Engine generating as the app's
    process runs it (batches and the piano roll's notes made, each message pickled as the pipe would)
    against the command line's own loop (text: Generator(undo_depth=0).stream; music: generate_events),
    interleaved rounds, CPU time of this thread (the load inflates it far less than wall time)."""
    import pickle

    from guigen.app.engine import Engine
    from guigen.core import registry
    from guigen.core.generate import Generator
    from guigen.core.sampling import SamplingSettings

    loaded = registry.load(model)
    settings = SamplingSettings()  # the window's defaults: T 1, no cut
    music = loaded.kind == "music"
    if music:
        from guigen.music.generate import generate_events, primer

        notes, _ = primer(loaded.codec, None, "60,64,67", 1)
        ids = list(loaded.codec.primer(notes))
    else:
        ids = list(loaded.codec.encode("\n"))
    sent = [0]

    def emit(*msg):
        sent[0] += len(pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL))

    def engine_run(seed):
        e = Engine(emit)
        e.model = loaded
        if music:
            from guigen.music.polyphony import END

            e.end_token = END
        e.do_settings(settings)
        e.do_seed(seed)
        e.do_primer(ids)
        e.do_roll(loaded.codec if music else None)
        t = time.thread_time()
        e.do_generate(("steps", tokens) if music else tokens)
        while e.state == "running":
            e.work()
        dt = time.thread_time() - t
        return (loaded.codec.count_steps(e.sample) if music else len(e.sample)), dt

    def cli_run(n, seed):
        t = time.thread_time()
        if music:
            generate_events(loaded, ids, n, settings, seed=seed)
        else:
            g = Generator(loaded, settings, seed, undo_depth=0)
            g.feed(ids)
            for _ in g.stream(n):
                pass
        return time.thread_time() - t

    engine_run(0)  # warm up
    ratios, rates = [], []
    for r in range(rounds):
        n, de = engine_run(r + 1)
        dc = cli_run(n, r + 1)
        ratios.append(dc / de)
        rates.append((n / de, n / dc))
    unit = "steps" if music else "tokens"
    print(f"(f) the engine alone, in this process, {rounds} interleaved rounds of {tokens} {unit} (CPU time, "
          f"load average {loadavg()}): engine / CLI loop {spread(ratios)}; engine "
          f"{spread([a for a, _ in rates], '{:,.0f}')} {unit}/s, CLI loop {spread([b for _, b in rates], '{:,.0f}')}")


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
    p.add_argument("--rounds", type=int, default=3,
                   help="samples generated for (b), each followed by the CLI's run (medians and spread); and (f)'s rounds")
    p.add_argument("--why-late", type=float, default=0.0, metavar="MS",
                   help="(b): name what the GUI thread did in each gap between ticks over MS late (its CPU in the "
                   "gap and its Python stack, sampled every ms from another thread)")
    p.add_argument("--gui-slice", type=float, metavar="MS",
                   help="(b): give the GUI thread this time slice (0: the kernel's default) in place of the app's own")
    p.add_argument("--display-steps", type=int, default=400, help="generator steps timed for (d); 0 skips (d)")
    p.add_argument("--variations", type=int, default=8, help="variations made at once for (c); 0 skips (c)")
    p.add_argument("--variation-tokens", type=int, default=1000, help="tokens per variation for (c)")
    p.add_argument("--skip", nargs="*", default=[], choices=["startup", "responsiveness", "pipe", "engine"],
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
            responsiveness(model, args.tokens, tmp, env, args.busy, args.rounds, args.why_late, args.gui_slice)
        if "engine" not in args.skip:
            engine_alone(model, args.tokens, max(args.rounds, 5))
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
