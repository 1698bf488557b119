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


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-m", "--model", action="append", help="model name or path (repeatable; default: the shipped ones)")
    p.add_argument("--tokens", type=int, default=300, help="steps per measurement")
    p.add_argument("--rounds", type=int, default=7, help="interleaved rounds; medians are printed")
    args = p.parse_args(argv)

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


if __name__ == "__main__":
    main()
