"""What undo costs a Generator's step, and an undo itself.

Generators of one model step side by side in this process: one without undo (undo_depth=0, as the
CLI runs), one with it (as the app's generation process runs), and, with --baseline FILE, one from
another checkout's guigen/core/generate.py loaded beside this one (e.g. main's:
/work/main/guigen/core/generate.py). Each first makes 2,100 steps, so a full undo history is kept;
then --rounds rounds of --steps steps each, in shuffled order, timed in this thread's CPU time; the
figure is the median of each round's ratio to the Generator without undo. Then the time of one undo
(this checkout's), the median over 200 undos. Nothing is asserted.

    .venv/bin/python benchmarks/undo_cost.py -m bach-chorales --baseline /work/main/guigen/core/generate.py
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import statistics
import sys
import time


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-m", "--model", default="bach-chorales", help="model name or file (default bach-chorales)")
    p.add_argument("--baseline", metavar="FILE", help="another generate.py to measure beside this checkout's")
    p.add_argument("--rounds", type=int, default=40)
    p.add_argument("--steps", type=int, default=200, help="steps per round and Generator")
    args = p.parse_args(argv)

    import guigen.music  # noqa: F401  (music models load)
    from guigen.core import registry
    from guigen.core.fastlstm import blas_threads
    from guigen.core.generate import Generator
    from guigen.core.sampling import SamplingSettings

    model = registry.load(args.model)
    settings = SamplingSettings()
    if model.kind == "music":
        from guigen.music.generate import primer

        notes, _ = primer(model.codec, None, "60,64,67", 1)
        ids = list(model.codec.primer(notes))
    else:
        ids = list(model.codec.encode("\n"))
    gens = {"no undo": Generator(model, settings, 1, undo_depth=0), "undo (this checkout)": Generator(model, settings, 1)}
    if args.baseline:
        spec = importlib.util.spec_from_file_location("baseline_generate", args.baseline)
        base = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = base  # (dataclasses look their module up)
        spec.loader.exec_module(base)
        gens["undo (baseline)"] = base.Generator(model, settings, 1)
    rates = {k: [] for k in gens}
    random.seed(0)
    with blas_threads(1):  # as the app's process holds it over a slice
        for g in gens.values():
            g.feed(ids)
            for _ in range(2100):
                g.step()
        for _ in range(args.rounds):
            order = list(gens.items())
            random.shuffle(order)
            for name, g in order:
                t = time.thread_time()
                for _ in range(args.steps):
                    g.step()
                rates[name].append((time.thread_time() - t) / args.steps)
        g = gens["undo (this checkout)"]
        undos = []
        for _ in range(200):
            t = time.thread_time()
            g.undo()
            undos.append(time.thread_time() - t)
    print(f"{args.model}: {args.rounds} rounds of {args.steps} steps, shuffled, CPU time (load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())})")
    plain = rates["no undo"]
    for name, r in rates.items():
        ratio = statistics.median(a / b for a, b in zip(r, plain))
        print(f"    {name:<22} {statistics.median(r) * 1e6:7.1f} us a step (median), / no undo {ratio:.3f}")
    print(f"    one undo (this checkout): median {statistics.median(undos) * 1e3:.2f} ms, max {max(undos) * 1e3:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
