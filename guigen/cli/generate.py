"""`guigen generate`: sample text (streamed to stdout or a file) or music (MIDI files) from a model."""

from __future__ import annotations

import sys
from pathlib import Path

from guigen.cli import CliError, stdout_errors


def _temperature(s: str) -> float:
    from guigen.core.sampling import check_temperature

    import argparse

    try:
        return check_temperature(s)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _condition(name: str):
    """An argparse type from guigen.music.conditions' parser `name` (its message is the error)."""
    import argparse

    def parse(spec):
        from guigen.music import conditions

        try:
            return getattr(conditions, name)(spec)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    return parse


def add_parser(sub):
    p = sub.add_parser(
        "generate", help="generate text or music from a model",
        description="Sample from a model. MODEL is a shipped model's name (see `guigen info`) or a path. "
        "-n sets how much to generate for either kind of model: characters for text, 16th-note steps for music. "
        "An option for the other kind of model (text: --primer, --drop-unknown; music: --steps, --primer-file, --tune, "
        "--primer-pitches, --qpm, --program) is refused, never silently ignored.",
        epilog="Where the output goes: text is streamed to stdout unless -o is given. Music without -o is "
        "MIDI on stdout when stdout is a pipe or a file (`> x.mid`), and otherwise a new file in the current "
        "folder, named after the model, temperature and seed and never replacing one (bach-chorales-T0.9-seed1.mid, "
        "then ...-2.mid); its name is printed. -o - means stdout for both. -o writes regular files only (a "
        "device, FIFO or socket is refused, even with --force), follows a symlink to write its target, and "
        "creates missing folders.")
    p.add_argument("-m", "--model", default="shakespeare", help="model name or .safetensors path (default shakespeare)")
    p.add_argument("-n", "--length", type=int,
                   help="how much to generate: characters for a text model (default 500), "
                   "16th-note steps for a music model (default 128)")
    p.add_argument("-t", "--temperature", type=_temperature, default=1.0,
                   help="sampling temperature: 0 = greedy, <1 safer, >1 wilder (default 1.0)")
    p.add_argument("--top-k", type=int, default=0, help="sample among the k likeliest tokens only (0 = off)")
    p.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling: smallest set holding this mass (1 = off)")
    p.add_argument("--seed", type=int, help="random seed >= 0, for reproducible output")
    p.add_argument("-o", "--output", type=Path,
                   help="write to this file (atomically; missing folders are created), or - for stdout")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    p.add_argument("--outputs", type=int, default=1,
                   help="independent samples, generated as one batch (default 1); with -o out.txt they go to "
                   "out_1.txt ... out_N.txt")
    p.add_argument("--beam-size", type=int, default=0, help="beam search: sequences kept (0 = plain sampling)")
    p.add_argument("--branch-factor", type=int, default=2, help="beam search: samples branched per kept sequence")
    p.add_argument("--trace", type=Path, metavar="FILE.jsonl",
                   help="also write one JSON object per generated token (character or music event): token, p, "
                   "entropy (of the distribution sampled from), raw_entropy (T = 1), kept, top and raw_top "
                   "(the five likeliest); - for stdout when the output goes to a file")
    # every option in these two groups defaults to None, so "given" never depends on the value given
    t = p.add_argument_group("text models")
    t.add_argument("--primer", help="text to start from (default: a line break)")
    t.add_argument("--drop-unknown", action="store_true", default=None,
                   help="drop primer characters the model never saw (with a warning) instead of stopping")
    m = p.add_argument_group("music models")
    m.add_argument("--ending", choices=("tonic", "half", "none"),
                   help="play on to a bar line and end there on the tonic (or, half, the dominant) chord in root "
                   "position (a melody: on its note), by beam search over the model's own distribution; the key is "
                   "the piece's own (default none: stop after the steps asked for)")
    m.add_argument("--steps", type=int, help="the same as -n for music models: 16th-note steps (default 128)")
    m.add_argument("--bars", type=int, metavar="N", help="length in bars instead of steps: N bars of the primer "
                   "file's metre (else 4/4, 16 steps a bar)")
    m.add_argument("--primer-midi", "--primer-file", dest="primer_midi", type=Path, metavar="FILE",
                   help="file to continue: MIDI (.mid), ABC (.abc) or MusicXML (.musicxml, .mxl, .xml; these two "
                   "need music21); its tempo is kept")
    m.add_argument("--tune", help="with an ABC primer holding several tunes: the tune's X: number or title "
                   "(default: the first)")
    m.add_argument("--primer-pitches", help="comma-separated MIDI pitches to start from, e.g. 60,64,67: "
                   "a chord held for a quarter note for polyphony models, a tune of quarter notes for melody models")
    m.add_argument("--qpm", type=float, help="tempo in quarter notes per minute, 1-1000 (default: the primer's, else 120)")
    m.add_argument("--metre", type=_condition("parse_metre"), metavar="N/D",
                   help="a folk model's metre, e.g. 6/8 (default: the primer's time signature); the MIDI file says it")
    m.add_argument("--key", type=_condition("parse_key"),
                   help="a folk model's key: D, Dm, D minor, D dorian, G mixolydian (default: the primer's)")
    m.add_argument("--program", help="General MIDI program 0-127 for the output (default 0, piano); for a "
                   "four-voice chorale one for all or one per voice, S,A,T,B, e.g. 0,0,42,42")
    p.set_defaults(run=run, kind_groups={"text": t, "music": m})


def _given(args, group) -> list[str]:
    """The options of an argument group that the user gave (their defaults are all None)."""
    typed = getattr(args, "argv", [])

    def name(a):  # the spelling the user typed (--primer-midi or --primer-file), else the last
        return next((o for o in a.option_strings if any(t == o or t.startswith(o + "=") for t in typed)),
                    a.option_strings[-1])

    return [name(a) for a in group._group_actions if getattr(args, a.dest, None) is not None]


def _check_ranges(args) -> None:
    """Each range error names its option, before anything is loaded."""
    from guigen.core import bounds

    rules = [("--seed", args.seed, 0, bounds.MAX_SEED), ("--outputs", args.outputs, 1, bounds.MAX_OUTPUTS),
             ("--beam-size", args.beam_size, 0, bounds.MAX_BEAM), ("--branch-factor", args.branch_factor, 1, bounds.MAX_BRANCH),
             ("--top-k", args.top_k, 0, 10 ** 9), ("--length", args.length, 0, bounds.MAX_TEXT_LENGTH),
             ("--steps", getattr(args, "steps", None), 1, bounds.MAX_STEPS),
             ("--bars", getattr(args, "bars", None), 1, bounds.MAX_STEPS // 16), ("--qpm", getattr(args, "qpm", None), 1, 1000)]
    if getattr(args, "program", None) is not None:  # one program 0-127, or four (S,A,T,B)
        from guigen.music.export import parse_programs

        parse_programs(args.program)
    for name, value, low, high in rules:
        if value is None:
            continue
        if not value >= low:  # `not >=` also catches NaN
            raise CliError(f"{name} must be >= {low}" + (f" and <= {high}" if high is not None else "") + f", not {value:g}")
        if high is not None and value > high:
            raise CliError(f"{name} must be between {low} and {high}, not {value:g}")
    if not 0 < args.top_p <= 1:
        raise CliError(f"--top-p must be in (0, 1] (1 = off), not {args.top_p:g}")
    bounds.check_rows(args.outputs, args.beam_size, args.branch_factor)


def _check_kind(args, model) -> None:
    """Refuse an option that does not apply to the model's kind, naming the one that does."""
    other = "music" if model.kind == "text" else "text"
    wrong = _given(args, args.kind_groups[other])
    if not wrong:
        return
    if model.kind == "text":
        hint = {"--steps": "-n/--length counts characters for a text model"}.get(wrong[0], "give --primer TEXT for a text model")
    else:
        hint = {"--drop-unknown": "a music model's primer is --primer-file FILE or --primer-pitches"}.get(
            wrong[0], "give --primer-file FILE (.mid, .abc, .musicxml) or --primer-pitches 60,64,67 for a music model")
    verb = "is" if len(wrong) == 1 else "are"
    raise CliError(f"{' and '.join(wrong)} {verb} for {other} models; {model.name} is a {model.kind} model ({hint})")


def _check_trace_path(args) -> None:
    """Refuse a --trace file that is also an output file, or an output (-o, --trace) that names an input
    (the model, the primer file) by any path or link: one would silently replace the other."""
    import os

    from guigen.core import registry
    from guigen.core.files import output_paths, refuse_inputs

    outputs = [("-o", p) for p in output_paths(args.output, args.outputs)] if args.output is not None else []
    if args.trace is not None and str(args.trace) == "-" and (args.output is None or str(args.output) == "-"):
        raise CliError("--trace - and the generated output would both go to stdout; give -o FILE or a trace file name")
    refuse_inputs(outputs + [("--trace", args.trace)],
                  [("-m", registry.resolve(args.model)), ("--primer-file", args.primer_midi)])
    if args.trace is None or args.output is None or str(args.output) == "-" or str(args.trace) == "-":
        return
    if os.path.realpath(args.trace) in {os.path.realpath(p) for p in output_paths(args.output, args.outputs)}:
        raise CliError(f"--trace {args.trace} is also an output file (-o); give the trace another name")


def _steps_per_bar(args, model) -> int:
    """16th-note steps in a bar of the primer file's metre, else of 4/4 (16). A primer that cannot be
    read counts as 4/4 here: generating reports it."""
    num, den = 4, 4
    if args.primer_midi is not None:
        from guigen.music.generate import primer

        try:
            _, source = primer(model.codec, args.primer_midi, None, args.seed, tune=getattr(args, "tune", None))
            num, den = source.time_signature if source is not None else (4, 4)
        except (OSError, ValueError):
            pass
    return max(1, 16 // den) * num


def run(args) -> int:
    from guigen.core import bounds, registry
    from guigen.core.sampling import SamplingSettings

    _check_ranges(args)
    if args.length is not None and args.steps is not None:
        raise CliError("-n/--length and --steps are the same option; give one")
    settings = SamplingSettings(args.temperature, args.top_k, args.top_p)  # raises ValueError on bad values
    model = registry.load(args.model)
    _check_kind(args, model)
    _check_trace_path(args)
    if getattr(args, "bars", None) is not None:
        if args.length is not None or args.steps is not None:
            raise CliError("--bars and -n/--steps both set the length; give one")
        args.length = args.bars * _steps_per_bar(args, model)
    if args.length is None:
        args.length = args.steps if args.steps is not None else (500 if model.kind == "text" else 128)
    args.steps = args.length  # music's name for it
    if model.kind == "music":
        if args.length < 1:
            raise CliError(f"-n/--length must be >= 1 for a music model, not {args.length}")
        if args.length > bounds.MAX_STEPS:
            raise CliError(f"-n/--length must be at most {bounds.MAX_STEPS:,} steps for a music model "
                           f"(20,000 quarter notes, as MIDI files are read), not {args.length}")
        try:
            from guigen.music.generate import run_generate
        except ImportError:
            raise CliError("this GuiGen has no music support installed") from None
        args.output = _music_output(args, model)
        return run_generate(_music_settings(args), model, stdout_errors)
    if str(args.output) == "-":
        args.output = None
    return _text(args, model, settings)


def _music_settings(args):
    """The options a music model's generation takes, typed (guigen.music never sees argparse)."""
    from dataclasses import fields

    from guigen.music.generate import GenerateSettings

    return GenerateSettings(**{f.name: getattr(args, f.name) for f in fields(GenerateSettings)})


def _music_output(args, model):
    """Where MIDI goes: -o; else stdout when it is not a terminal; else a new file named after the run."""
    from guigen.core.files import check_output, free_name, output_paths

    out = args.output
    if out is not None and str(out) == "-" or out is None and args.outputs == 1 and not sys.stdout.isatty():
        if sys.stdout.isatty():
            raise CliError("not writing binary MIDI to a terminal; give -o FILE.mid, or redirect stdout")
        if args.outputs > 1:
            raise CliError("stdout holds one MIDI file; give -o NAME.mid for several outputs (NAME_1.mid ...)")
        return "-"
    if out is None:  # a new name, so that running it again never fails on "exists"
        stem = f"{model.name or 'music'}-T{args.temperature:g}" + (f"-seed{args.seed}" if args.seed is not None else "")
        out = free_name(stem, ".mid", args.outputs)
    if out.suffix.lower() not in (".mid", ".midi", ".musicxml", ".xml", ".mxl"):
        raise CliError(f"{out}: music is written as a MIDI file (.mid) or a MusicXML score (.musicxml, .mxl)")
    for p in output_paths(out, args.outputs):  # before any work, so nothing is generated only to be refused
        check_output(p, args.force, size_estimate=64 * args.length + 4096)
    return out


def _text(args, model, settings) -> int:
    from guigen.core.files import check_output, output_paths
    from guigen.core.generate import Generator, beam_search

    vocab = model.codec
    paths = output_paths(args.output, args.outputs) if args.output else []
    if args.output and Path(args.output).suffix.lower() in (".mid", ".midi", ".musicxml", ".mxl", ".wav"):
        raise CliError(f"{args.output}: {model.name} is a text model; its output is text (.txt), not music")
    size = args.length * max(len(c.encode("utf-8")) for c in vocab.chars) + len((args.primer or "").encode("utf-8"))
    for p in paths:  # before any work, so nothing is generated only to be refused
        check_output(p, args.force, size_estimate=size)
    primer = args.primer if args.primer is not None else ("\n" if "\n" in vocab.index else vocab.chars[0])
    if not primer:
        raise CliError("--primer is empty; leave it out to start from a line break")
    ids = vocab.encode(primer, drop_unknown=bool(args.drop_unknown))
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
    with stdout_errors():
        out.write(shown_primer)
        for step in steps:  # stream as it is sampled
            out.write(vocab.chars[step.token])
            out.flush()
        out.write("\n")
        out.flush()
    return 0


def _emit(paths, texts) -> int:
    """Write each sample to its file (atomically), or print them all when there are no files."""
    from guigen.core.files import atomic_write_text

    if not paths:
        with stdout_errors():
            for i, text in enumerate(texts, 1):
                if len(texts) > 1:
                    print(f"=== sample {i} ===")
                print(text)
            sys.stdout.flush()
        return 0
    for p, text in zip(paths, texts):
        atomic_write_text(p, text)
        print(f"wrote {p}", file=sys.stderr)
    return 0
