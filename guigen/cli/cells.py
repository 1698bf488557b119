"""`guigen cells`: which LSTM cells follow a feature of a text or a MIDI file, and how they light up."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

from guigen.cli import CliError


def add_parser(sub):
    p = sub.add_parser("cells", help="find the cells that track a feature of a text (or MIDI file); colour it by them",
                       description="Run FILE through the model (teacher-forced), rank its cells by Pearson "
                       "correlation with named features of the input, print the best, and optionally write an "
                       "HTML page (each character coloured by a cell's activation) and a JSON table.")
    p.add_argument("-m", "--model", required=True, help="model name or .safetensors path")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE",
                   help="text file(s), or MIDI file(s) for a music model (each run from the start)")
    p.add_argument("--layer", type=int, help="only this layer (0 = the lowest)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--cell", type=int, help="show this one cell (of --layer, default 0) against every feature")
    which.add_argument("--feature", help="rank cells for this feature only; text: quotes, parens, line_position, "
                       "after_newline, in_word, upper, speaker; music: beat, voices, to_rest, bass")
    p.add_argument("--top", type=int, default=3, help="cells shown per feature (default 3)")
    p.add_argument("--max-steps", type=int, default=MAX_STEPS, metavar="N",
                   help=f"run at most the first N characters or events (default {MAX_STEPS:,}: each is one step of "
                        f"the model, so time grows with N; at most {MAX_STEPS_LIMIT:,})")
    p.add_argument("--kind", choices=["cell", "hidden"], default="cell",
                   help="cell: the cell state through tanh, as in Karpathy et al. (default); hidden: the output h")
    p.add_argument("--slice", help="text only: use this part of the file, as fractions START:END (e.g. 0.9:0.95)")
    p.add_argument("--html", type=Path, help="write the coloured page here")
    p.add_argument("--json", type=Path, help="write the table of cells x features here")
    p.add_argument("--force", action="store_true", help="replace existing output files")
    p.set_defaults(run=run)


PAGE_TOKENS = 10_000  # tokens whose activations are kept for the page (the first ones of the sample)
PAGE_SPANS = 200_000  # coloured tokens on one page, all its blocks together (about 10 MB of HTML)
MAX_STEPS = 50_000  # tokens run by default: a step of the model each, one after another (about 15 s at 2x512)
MAX_STEPS_LIMIT = 2_000_000
MAX_INPUT_BYTES = 64 << 20  # what cells reads: its statistics stream, the text itself is held


def _stream(args, model):
    """(activations, tokens as shown, features by name) a chunk at a time, and the separator between
    shown tokens. Several MIDI files are run one by one, each from the zero state. Only one chunk's
    activations are ever in memory."""
    from guigen.core import features

    if model.kind == "text":
        from guigen.core.data import parse_slice, read_text, take_slice

        for f in args.files:  # before reading: the text is held whole
            if f.is_file() and f.stat().st_size > MAX_INPUT_BYTES:
                raise CliError(f"{f}: larger than {MAX_INPUT_BYTES >> 20} MB; give cells a part of it")
        text = read_text(args.files)
        if args.slice:
            text = take_slice(text, *parse_slice(args.slice))
        if not text:
            raise CliError("no text to run")
        if len(text) > args.max_steps:  # the model's time is linear in it, one step after another
            print(f"note: ran the first {args.max_steps:,} of {len(text):,} characters (--max-steps N for more)",
                  file=sys.stderr)
            text = text[:args.max_steps]
        known = np.fromiter((c in model.codec.index for c in text), dtype=bool, count=len(text))
        if not known.any():
            raise CliError("none of the text's characters is in the model's vocabulary")
        if not known.all():
            unseen = sorted({c for c, k in zip(text, known) if not k})
            print(f"note: {int((~known).sum()):,} character(s) the model never saw ({' '.join(map(repr, unseen[:12]))}) "
                  "were not fed to it; they show the state before them", file=sys.stderr)
        return _run_text(model, text, known, features.text_features(text)), ""
    if args.slice:
        raise CliError("--slice applies to text models only")
    from guigen.music.dataset import encode_files

    sequences, _, report = encode_files(model.codec, args.files)
    if not sequences:
        raise CliError("no notes the model can take in the MIDI file(s)" + (f" ({report})" if report else ""))
    total, kept, left = sum(len(s) for s in sequences), [], args.max_steps
    for ids in sequences:  # the model's time is linear in the events, one step after another
        if left > 0:
            kept.append(ids[:left])
            left -= len(kept[-1])
    if total > args.max_steps:
        print(f"note: ran the first {args.max_steps:,} of {total:,} events (--max-steps N for more)", file=sys.stderr)
    return _run_music(model, kept), " "


def _run_music(model, sequences):
    from guigen.core import cells, features

    for ids in sequences:
        feats = features.music_features(model.codec, ids)
        at = 0
        for acts in cells.stream_tokens(model, ids):
            part = slice(at, at + len(acts))
            yield acts, [model.codec.token_label(i) for i in ids[part]], {n: f[part] for n, f in feats.items()}
            at += len(acts)


def _run_text(model, text: str, known, feats):
    """Activations per character, a chunk at a time. Characters the model never saw are not fed to
    it: they show the state before them (zero before the first known one)."""
    from guigen.core import cells
    from guigen.core.generate import Generator

    cfg = model.config
    gen = Generator(model, undo_depth=0, constrain=False)
    carry = np.zeros((1, cfg.layers, 2, cfg.hidden), dtype=np.float32)
    for a in range(0, len(text), cells.CHUNK):
        piece, k = text[a:a + cells.CHUNK], known[a:a + cells.CHUNK]
        gen.cells = []
        if k.any():
            gen.feed(model.codec.encode("".join(c for c, kk in zip(piece, k) if kk)))
        fed = cells.from_states(gen.cells) if gen.cells else carry[:0]
        acts = fed if k.all() else np.concatenate([carry, fed])[np.cumsum(k)]
        carry = acts[-1:]
        yield acts, list(piece), {n: f[a:a + len(piece)] for n, f in feats.items()}


def _check(args, model) -> None:
    from guigen.core.features import names

    cfg = model.config
    if args.layer is not None and not 0 <= args.layer < cfg.layers:
        raise CliError(f"--layer {args.layer}: the model has layers 0 to {cfg.layers - 1}")
    if args.cell is not None and not 0 <= args.cell < cfg.hidden:
        raise CliError(f"--cell {args.cell}: each layer has cells 0 to {cfg.hidden - 1}")
    if args.feature is not None and args.feature not in names(model.kind):
        raise CliError(f"--feature {args.feature}: a {model.kind} model's features are {', '.join(names(model.kind))}")
    from guigen.core.bounds import MAX_TOP

    if not 1 <= args.top <= MAX_TOP:
        raise CliError(f"--top must be between 1 and {MAX_TOP}, not {args.top}")
    if not 1 <= args.max_steps <= MAX_STEPS_LIMIT:
        raise CliError(f"--max-steps must be between 1 and {MAX_STEPS_LIMIT:,}, not {args.max_steps}")


def run(args) -> int:
    from guigen.core import cells, registry
    from guigen.core.features import names
    from guigen.core.files import atomic_write_text, check_output

    model = registry.load(args.model)
    _check(args, model)
    for out in (args.html, args.json):
        if out is not None:
            check_output(out, args.force)
    from guigen.core.files import refuse_inputs

    refuse_inputs([("--html", args.html), ("--json", args.json)],
                  [("-m", registry.resolve(args.model)), *(("FILE", f) for f in args.files)])
    if args.html is not None and args.json is not None and os.path.realpath(args.html) == os.path.realpath(args.json):
        raise ValueError(f"--html and --json both name {args.json}; one would replace the other")
    chunks, sep = _stream(args, model)
    k = cells.KINDS.index(args.kind)
    acc = cells.Accumulator(names(model.kind), args.kind)
    kept, shown, count = [], [], 0  # the page's first PAGE_TOKENS tokens: their activations of this kind
    for acts, tokens, feats in chunks:
        acc.add(acts, feats)
        if count < PAGE_TOKENS:
            kept.append(acts[:PAGE_TOKENS - count, :, k].astype(np.float16))
            shown += tokens[:PAGE_TOKENS - count]
        count += len(acts)
    kept = np.concatenate(kept)
    source = str(args.files[0]) + (f" and {len(args.files) - 1} more" if len(args.files) > 1 else "")
    wanted = [args.feature] if args.feature else list(names(model.kind))
    if args.cell is not None:
        layer = args.layer or 0
        chosen = {name: [cells.Ranked(layer, args.kind, args.cell, 0.0)] for name in wanted}
    r_all = acc.table()
    spread = acc.spread()  # (layers, H)
    feats = {name: _Varies(acc, name) for name in names(model.kind)}
    if args.cell is None:
        # a feature constant over the sample (no quotes in it, say) has no cells to rank: the cells
        # that vary most are shown instead, and said to be
        chosen = {name: cells.best(r_all[name] if varies(feats[name]) else spread, args.kind, args.top, args.layer)
                  for name in wanted}
    for name, found in chosen.items():
        for c in found:
            c.r = float(r_all[name][c.layer, c.cell])

    unit = "characters" if model.kind == "text" else "events"
    lines = [f"{model.name}: {count:,} {unit} of {source}, {args.kind} activations "
             f"({'tanh of the cell state' if args.kind == 'cell' else 'hidden output h'})"]
    for name, found in chosen.items():
        constant = not varies(feats[name])
        lines.append(f"{name}:" + ("  constant over this sample, so r = 0 for every cell; shown: the cells that "
                                   "vary most" if constant and args.cell is None else ""))
        lines += [f"  layer {c.layer} cell {c.cell:<4d} r = {c.r:+.3f}  (std {spread[c.layer, c.cell]:.3f})"
                  for c in found]

    listed = []
    for name, found in chosen.items():
        listed += [(c.layer, c.cell, name) for c in found]
    if args.json is not None:
        table, seen = [], set()
        for layer, cell, _ in listed:
            if (layer, cell) not in seen:
                seen.add((layer, cell))
                table.append({"layer": layer, "cell": cell, "kind": args.kind,
                              "r": {n: round(float(r_all[n][layer, cell]), 4) for n in feats}})
        doc = {"model": model.name, "file": source, "tokens": int(count), "kind": args.kind,
               "features": {n: [{"layer": c.layer, "cell": c.cell, "r": round(c.r, 4),
                                 "std": round(float(spread[c.layer, c.cell]), 4)} for c in found]
                            for n, found in chosen.items()},
               "constant": [n for n in wanted if not varies(feats[n])], "table": table}
        atomic_write_text(args.json, json.dumps(doc, indent=1) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)
    if args.html is not None:
        from guigen.cli.cells_html import page

        def heading(layer, cell, name):
            if varies(feats[name]) or args.cell is not None:
                return f"layer {layer}, cell {cell} — {name}, r = {r_all[name][layer, cell]:+.3f}"
            return (f"layer {layer}, cell {cell} — {name} is constant over this sample (r = 0 for every cell); "
                    f"shown instead: a cell that varies most (std {spread[layer, cell]:.3f})")

        per_block = min(len(shown), PAGE_SPANS // (1 if args.cell is not None else max(len(listed), 1)))
        page_tokens = shown[:per_block]
        if args.cell is not None:  # one cell: one block, its correlation with every feature in the heading
            layer = args.layer or 0
            rs = ", ".join(f"{n} {r_all[n][layer, args.cell]:+.3f}" for n in wanted)
            blocks = [(f"layer {layer}, cell {args.cell} — r: {rs}", page_tokens,
                       kept[:per_block, layer, args.cell].tolist())]
        else:
            blocks = [(heading(layer, cell, name), page_tokens, kept[:per_block, layer, cell].tolist())
                      for layer, cell, name in listed]
        one = "character" if model.kind == "text" else "event"
        first = f"; the first {per_block:,} shown" if per_block < count else ""
        intro = (f"{model.name} on {source} ({count:,} {one}s{first}). Each {one}'s background is the cell's "
                 f"{'state through tanh' if args.kind == 'cell' else 'hidden output h'} after reading it: "
                 "blue negative, red positive. r: Pearson correlation with the feature over the whole sample.")
        atomic_write_text(args.html, page(f"GuiGen cells: {model.name}", intro, blocks, sep))
        print(f"wrote {args.html}", file=sys.stderr)
    print("\n".join(lines))  # after the files: a closed pipe (`| head`) loses only the summary
    return 0


def varies(feature) -> bool:
    """Whether a feature takes more than one value where it is defined."""
    if isinstance(feature, _Varies):
        return feature.varies
    defined = feature[np.isfinite(feature)]
    return len(defined) > 1 and float(defined.std()) > 0


class _Varies:
    """A feature seen through the streamed sums: whether it varies over the whole sample."""

    def __init__(self, acc, name: str):
        n, sf, sff = (acc.sums.get(name) or [0, 0.0, 0.0])[:3]
        self.varies = n > 1 and sff / n - (sf / n) ** 2 > 1e-12
