"""Folk models on the held-out tunes of other collections, overall and by kind, in one table.

    python benchmarks/folk_heldout.py DATA [-m folk -m other.safetensors ...] [--json OUT.json]

DATA is the folder benchmarks/folk_data.py wrote; its heldout/KIND/ folders are scored with the
same arithmetic as `guigen eval` (each tune from a zero state, nats per 16th-note event), and
the whole held-out set as one. Each model scores the tunes it can hold (a conditioned model, the
tunes in metres it knows: all of them, for the books' metres).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import guigen.music  # noqa: F401  registers the music encodings
from guigen.core import registry
from guigen.core.evaluate import nll
from guigen.music.dataset import encode_files


def score(model, folders) -> dict:
    sequences, steps, report = encode_files(model.codec, folders)
    total, count = nll(model, sequences)
    return {"tunes": len(sequences), "events": count, "nats": total, "nats_per_event": total / count}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("data", type=Path)
    p.add_argument("-m", "--model", action="append", help="model name or path (default: folk)")
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args(argv)
    kinds = sorted(d.name for d in (args.data / "heldout").iterdir() if d.is_dir())
    rows = {}
    for ref in args.model or ["folk"]:
        model = registry.load(ref)
        rows[ref] = {k: score(model, [args.data / "heldout" / k]) for k in kinds}
        parts = list(rows[ref].values())  # the whole set: the kinds' sums
        total, events = sum(r["nats"] for r in parts), sum(r["events"] for r in parts)
        rows[ref]["all"] = {"tunes": sum(r["tunes"] for r in parts), "events": events, "nats": total,
                            "nats_per_event": total / events}
        print(f"{ref}: " + ", ".join(f"{k} {v['nats_per_event']:.4f} ({v['tunes']})" for k, v in rows[ref].items()),
              file=sys.stderr, flush=True)
    print("| kind | tunes | " + " | ".join(rows) + " |")
    print("|---|---|" + "---|" * len(rows))
    for k in ["all", *kinds]:
        first = next(iter(rows.values()))[k]
        print(f"| {k} | {first['tunes']} | " + " | ".join(f"{r[k]['nats_per_event']:.4f}" for r in rows.values()) + " |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
