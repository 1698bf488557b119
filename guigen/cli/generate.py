"""`guigen generate`: sample text (streamed to stdout or a file) or music (MIDI files) from a model."""

from __future__ import annotations

import sys
from pathlib import Path

from guigen.cli import CliError


def _temperature(s: str) -> float:
    from guigen.core.sampling import check_temperature

    import argparse

    try:
        return check_temperature(s)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_parser(sub):
    p = sub.add_parser("generate", help="generate text or music from a model",
                       description="Sample from a model. MODEL is a shipped model's name (see `guigen info`) or a path.")
    p.add_argument("-m", "--model", default="shakespeare", help="model name or .safetensors path (default shakespeare)")
    p.add_argument("-t", "--temperature", type=_temperature, default=1.0,
                   help="sampling temperature: 0 = greedy, <1 safer, >1 wilder (default 1.0)")
    p.add_argument("--top-k", type=int, default=0, help="sample among the k likeliest tokens only (0 = off)")
    p.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling: smallest set holding this mass (1 = off)")
    p.add_argument("--seed", type=int, help="random seed, for reproducible output")
    p.add_argument("-o", "--output", type=Path, help="write to this file (atomically) instead of stdout")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    p.add_argument("--outputs", type=int, default=1, help="independent samples, generated as one batch (default 1)")
    p.add_argument("--beam-size", type=int, default=0, help="beam search: sequences kept (0 = plain sampling)")
    p.add_argument("--branch-factor", type=int, default=2, help="beam search: samples branched per kept sequence")
    p.add_argument("--trace", type=Path, metavar="FILE.jsonl",
                   help="text models: also write one JSON object per generated token: token, p, entropy (of the "
                   "distribution sampled from), raw_entropy (T = 1), kept, top and raw_top (the five likeliest)")
    t = p.add_argument_group("text models")
    t.add_argument("-n", "--length", type=int, default=500, help="characters to generate (default 500)")
    t.add_argument("--primer", help="text to start from (default: a line break)")
    t.add_argument("--drop-unknown", action="store_true",
                   help="drop primer characters the model never saw (with a warning) instead of stopping")
    m = p.add_argument_group("music models")
    m.add_argument("--steps", type=int, default=128, help="16th-note steps to generate (default 128)")
    m.add_argument("--primer-midi", "--primer-file", dest="primer_midi", type=Path, metavar="FILE",
                   help="file to continue: MIDI (.mid), ABC (.abc) or MusicXML (.musicxml, .mxl, .xml; these two "
                   "need `pip install 'guigen[notation]'`); its tempo is kept")
    m.add_argument("--tune", help="with an ABC primer holding several tunes: the tune's X: number or title "
                   "(default: the first)")
    m.add_argument("--primer-pitches", help="comma-separated MIDI pitches to start from, e.g. 60,64,67: "
                   "a chord held for a quarter note for polyphony models, a tune of quarter notes for melody models")
    m.add_argument("--qpm", type=float, help="tempo in quarter notes per minute (default: the primer's, else 120)")
    m.add_argument("--program", type=int, help="General MIDI program 0-127 for the output (default 0, piano)")
    p.set_defaults(run=run)


def run(args) -> int:
    from guigen.core import registry
    from guigen.core.sampling import SamplingSettings

    if args.outputs < 1:
        raise CliError("--outputs must be at least 1")
    if args.beam_size < 0 or args.branch_factor < 1:
        raise CliError("--beam-size must be >= 0 and --branch-factor >= 1")
    settings = SamplingSettings(args.temperature, args.top_k, args.top_p)  # raises ValueError on bad values
    model = registry.load(args.model)
    given = [f"--{k.replace('_', '-')}" for k in ("primer_midi", "primer_pitches", "qpm", "program")
             if getattr(args, k, None) is not None]
    if model.kind == "text" and given:
        raise CliError(f"{' and '.join(given)} {'is' if len(given) == 1 else 'are'} for music models; "
                       f"{model.name} is a text model (give --primer TEXT)")
    if model.kind == "music":
        if args.trace is not None:
            raise CliError("--trace is for text models; a music model's steps are traced in the app's histogram")
        try:
            from guigen.music.generate import run_generate
        except ImportError:
            raise CliError("this GuiGen has no music support installed") from None
        return run_generate(args, model)
    return _text(args, model, settings)


def _text(args, model, settings) -> int:
    from guigen.core.files import output_paths, refuse_overwrite
    from guigen.core.generate import Generator, beam_search

    if args.length < 0:
        raise CliError("--length must be >= 0")
    paths = output_paths(args.output, args.outputs) if args.output else []
    for p in paths:  # before any work, so nothing is generated only to be refused
        refuse_overwrite(p, args.force)
    vocab = model.codec
    primer = args.primer if args.primer is not None else ("\n" if "\n" in vocab.index else vocab.chars[0])
    if not primer:
        raise CliError("--primer is empty; leave it out to start from a line break")
    ids = vocab.encode(primer, drop_unknown=args.drop_unknown)
    if len(ids) == 0:
        raise CliError("nothing is left of the primer once unknown characters are dropped")
    shown_primer = vocab.decode(ids) if args.primer is not None else ""
    trace = None
    if args.trace is not None:
        from guigen.core.trace import Trace

        if args.beam_size:
            raise CliError("--trace follows plain sampling; beam search keeps and drops whole sequences")
        trace = Trace(args.trace, vocab.token_label, overwrite=args.force)
    if args.beam_size:
        texts = []
        for i in range(args.outputs):
            seed = None if args.seed is None else args.seed + i
            gen = Generator(model, settings, seed, batch=args.beam_size * args.branch_factor, undo_depth=0)
            gen.feed(ids)
            tokens, _ = beam_search(gen, args.length, args.beam_size, args.branch_factor)
            texts.append(shown_primer + vocab.decode(tokens))
        return _emit(paths, texts)
    gen = Generator(model, settings, args.seed, batch=args.outputs, undo_depth=0)
    gen.feed(ids)
    steps = gen.stream(args.length)
    if trace is not None:
        steps = trace.follow(steps)  # writes the trace file once the steps run out
    if args.output or args.outputs > 1:  # several samples, or a file: collect, then write
        rows = [[] for _ in range(args.outputs)]
        for step in steps:
            for row, t in zip(rows, step.tokens):
                row.append(t)
        return _emit(paths, [shown_primer + vocab.decode(r) for r in rows])
    out = sys.stdout
    out.write(shown_primer)
    for step in steps:  # stream as it is sampled
        out.write(vocab.chars[step.token])
        out.flush()
    out.write("\n")
    return 0


def _emit(paths, texts) -> int:
    """Write each sample to its file (atomically), or print them all when there are no files."""
    from guigen.core.files import atomic_write_text

    if not paths:
        for i, text in enumerate(texts, 1):
            if len(texts) > 1:
                print(f"=== sample {i} ===")
            print(text)
        return 0
    for p, text in zip(paths, texts):
        atomic_write_text(p, text)
        print(f"wrote {p}", file=sys.stderr)
    return 0
