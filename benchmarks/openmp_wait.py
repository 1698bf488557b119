"""How OpenMP threads wait between the small parallel products of a CPU training step.

The Trainer (2 threads, a 2x256 model by default) is timed in a fresh process under three
policies: never spin (OMP_WAIT_POLICY=PASSIVE), guigen's short spin (GOMP_SPINCOUNT=1000, what
`guigen train` sets unless told otherwise) and libgomp's default (a long spin), on the idle
machine and again beside --busy processes that each keep a core busy, as a desktop's other
programs do. Each figure is chars/s; the ratios are to PASSIVE measured under the same load.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEXT = ROOT / "data" / "text" / "tinyshakespeare.txt"
POLICIES = {
    "never spin (OMP_WAIT_POLICY=PASSIVE)": {"OMP_WAIT_POLICY": "PASSIVE"},
    "short spin (GOMP_SPINCOUNT=1000, guigen's)": {"GOMP_SPINCOUNT": "1000"},
    "libgomp's default (long spin)": {},
}

CHILD = """
import sys, time
from pathlib import Path
from guigen.core.config import ModelConfig
from guigen.core.data import text_data
from guigen.core.train import Progress, Trainer, TrainConfig, set_threads
set_threads()
hidden, steps = int(sys.argv[2]), int(sys.argv[3])
data = text_data([Path(sys.argv[1])], 0.05, 0.05)
t = Trainer(data, ModelConfig(data.codec.num_classes, 64, hidden, 2, 0.2), TrainConfig(epochs=1),
            Path("/tmp/guigen-openmp-wait.safetensors"))
events = (e for e in t.run() if isinstance(e, Progress))
next(events), next(events)
t0 = time.perf_counter()
for _ in range(steps):
    next(events)
print(steps * 32 * 128 / (time.perf_counter() - t0))
"""


def rate(policy: dict, args) -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", CHILD, str(args.text), str(args.hidden), str(args.steps)],
                         env={**env, **policy}, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--text", type=Path, default=TEXT)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--steps", type=int, default=6, help="timed training steps per run")
    p.add_argument("--busy", type=int, default=1, help="busy processes beside training in the second part")
    args = p.parse_args(argv)
    print(f"Trainer 2x{args.hidden}, batch 32 x 128, {os.cpu_count()} cores")
    for busy in (0, args.busy):
        spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy)]
        try:
            time.sleep(0.5)
            rates = {name: rate(policy, args) for name, policy in POLICIES.items()}
        finally:
            for s in spinners:
                s.kill()
        load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "n/a"
        print(f"{'idle' if not busy else f'beside {busy} busy process' + ('es' if busy > 1 else '')} (load {load}):")
        base = next(iter(rates.values()))
        for name, r in rates.items():
            print(f"  {name:<44} {r:8,.0f} chars/s  {r / base:5.2f}")


if __name__ == "__main__":
    main()
