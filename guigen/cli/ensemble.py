"""`guigen ensemble`: put several models of one size into one model file that generates from, and is
scored by, the mean of their next-token distributions."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path


def add_parser(sub):
    p = sub.add_parser("ensemble", help="join models of one size into one ensemble model file",
                       description="Write one model file holding these models' networks. It generates from the "
                       "mean of their next-token distributions (temperature, top-k and top-p act on that mean), "
                       "`guigen eval` scores it as it scores `-m A -m B ...`, and it can be a --teacher. "
                       "Each step runs every network, so it is as many times slower.")
    p.add_argument("-m", "--model", required=True, action="append",
                   help="model name or .safetensors path (give two or more; an ensemble adds its networks)")
    p.add_argument("-o", "--output", required=True, type=Path, help="the ensemble's .safetensors file")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    p.set_defaults(run=run)


def run(args) -> int:
    from guigen.core import ensemble, facts, registry
    from guigen.core.files import check_output

    out = check_output(args.output, args.force)  # before loading: a file in the way is said now
    models = [registry.load(m) for m in args.model]
    ensemble.write(models, out, "guigen " + shlex.join(sys.argv[1:]))
    model = registry.load(str(out))
    print(f"{out}: {facts.network(model.config)}, {model.num_parameters():,} parameters "
          f"({' + '.join(model.training['ensemble_of'])})")
    return 0
