"""What recording cell activations costs a generation step (issue 15's budget: at most 10%).

A Generator steps at batch 1 with `cells = None` (recording off) and with `cells = []` (the Cells
view open: a copy of (h, c) per layer after every token), plus, for the latter, turning each
frame's copies into activations (tanh of c) as the app does (from_states, every 30 tokens).
Rounds are interleaved and medians printed, as this machine's speed drifts; the figure is the
ratio of step times measured in the same round.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def step_time(gen, record: bool, tokens: int, convert_every: int = 30) -> float:
    """Seconds per step over `tokens` steps, recording or not."""
    from guigen.core.cells import from_states

    gen.cells = [] if record else None
    t0 = time.perf_counter()
    for i in range(tokens):
        gen.step()
        if record and (i + 1) % convert_every == 0:
            from_states(gen.cells)
            gen.cells.clear()
    dt = (time.perf_counter() - t0) / tokens
    gen.cells = None
    return dt


def isolated_cost(gen, tokens: int, convert_every: int = 30) -> float:
    """Seconds per step of the recording alone: the copy after each step and the frame's conversion."""
    from guigen.core.cells import from_states

    kept = []
    t0 = time.perf_counter()
    for i in range(tokens):
        kept.append(gen.state[:, :, 0].copy())
        if (i + 1) % convert_every == 0:
            from_states(kept)
            kept.clear()
    return (time.perf_counter() - t0) / tokens


def app_lateness(model: str, tokens: int, rounds: int) -> None:
    """The app generating `tokens` with the Cells view closed and open (alternating), while a 10 ms
    QTimer in the GUI thread records its lateness, as benchmarks/app_speed.py measures it."""
    import tempfile
    from pathlib import Path

    from app_speed import lateness_ms, open_window, tick_timer  # the same window and timer as app_speed.py

    tmp = tempfile.TemporaryDirectory(prefix="guigen-bench-")
    app, w, wait = open_window(model, Path(tmp.name) / "settings.ini")
    ticks: list[float] = []
    timer = tick_timer(ticks)
    results = {False: [], True: []}
    for r in range(2 * rounds):
        open_ = r % 2 == 1
        w.clear()  # no sample left: opening the view runs no history (that is measured apart, below)
        wait(lambda: w.generation.worker.generator is None)
        w.cells_dock.setVisible(open_)
        wait(lambda: w.generation.worker.record_cells == open_)
        ticks.clear()
        timer.start()
        w.seed.setValue(1)
        w.length.setValue(tokens)
        t0 = time.perf_counter()
        w.generate()
        wait(lambda: w.state == "running", 60)
        wait(lambda: w.state == "stopped")
        dt = time.perf_counter() - t0
        timer.stop()
        late = lateness_ms(ticks)
        if open_:
            wait(lambda: w.cells_dock.acts is not None and len(w.cells_dock.acts) > tokens)
        results[open_].append((tokens / dt, np.percentile(late, 50), np.percentile(late, 95), max(late)))
    # opening the view mid-sample: the tokens shown are run through the model once, in a thread
    w.cells_dock.hide()
    w.seed.setValue(1)
    w.length.setValue(tokens)
    w.generate()
    wait(lambda: w.state == "stopped")
    ticks.clear()
    timer.start()
    t0 = time.perf_counter()
    w.cells_dock.show()
    wait(lambda: w.cells_dock.acts is not None and len(w.cells_dock.acts) > tokens)
    history_s = time.perf_counter() - t0
    timer.stop()
    late = lateness_ms(ticks)
    w.close()
    w.generation.shutdown()
    for open_, label in ((False, "Cells view closed"), (True, "Cells view open  ")):
        a = np.array(results[open_])
        print(f"  {label}: {np.median(a[:, 0]):6.0f} tokens/s; 10 ms timer lateness p50 {np.median(a[:, 1]):4.1f}  "
              f"p95 {np.median(a[:, 2]):5.1f}  max {a[:, 3].max():6.1f} ms (medians of {rounds} runs of {tokens})")
    print(f"  opened after {tokens} tokens: coloured in {history_s:.2f} s; lateness meanwhile p50 "
          f"{np.percentile(late, 50):4.1f}  p95 {np.percentile(late, 95):5.1f}  max {max(late):6.1f} ms")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-m", "--model", action="append", help="model name or path (repeatable; default: the shipped ones)")
    p.add_argument("--tokens", type=int, default=300, help="steps per measurement")
    p.add_argument("--rounds", type=int, default=7, help="interleaved rounds; medians are printed")
    p.add_argument("--app", type=int, default=0, metavar="TOKENS",
                   help="also time the app generating TOKENS with the Cells view closed and open")
    args = p.parse_args(argv)

    import guigen.music  # noqa: F401  registers the music encodings (music models load)
    from guigen.core import registry
    from guigen.core.generate import Generator
    from guigen.core.sampling import SamplingSettings

    for name in args.model or ["shakespeare", "bach-chorales"]:
        model = registry.load(name)
        gen = Generator(model, SamplingSettings(temperature=1.0), seed=0, undo_depth=0)
        gen.feed([0])
        step_time(gen, False, 50)  # warm-up
        plain, recorded, alone = [], [], []
        for r in range(args.rounds):
            order = (False, True) if r % 2 == 0 else (True, False)
            times = {rec: step_time(gen, rec, args.tokens) for rec in order}
            plain.append(times[False])
            recorded.append(times[True])
            alone.append(isolated_cost(gen, args.tokens))
        plain, recorded, alone = np.array(plain), np.array(recorded), np.array(alone)
        ratios = recorded / plain
        cfg = model.config
        print(f"{name} ({cfg.layers}x{cfg.hidden}), medians of {args.rounds} rounds of {args.tokens} steps:")
        print(f"  step {np.median(plain) * 1e6:.0f} us; recording cells {np.median(recorded) * 1e6:.0f} us: "
              f"x{np.median(ratios):.3f} (rounds: {ratios.min():.3f} to {ratios.max():.3f})")
        print(f"  the recording alone (copy + tanh per step): {np.median(alone) * 1e6:.1f} us = "
              f"{np.median(alone / plain) * 100:.1f}% of a step")

    if args.app:
        name = (args.model or ["shakespeare"])[0]
        print(f"the app, {name}: GUI-thread lateness while generating (as benchmarks/app_speed.py)")
        app_lateness(name, args.app, max(1, args.rounds // 3))


if __name__ == "__main__":
    main()
