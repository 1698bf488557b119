"""`guigen eval`: mean negative log-likelihood of text or MIDI files under a model."""

from __future__ import annotations

import json
import math
from pathlib import Path

from guigen.cli import CliError


def add_parser(sub):
    p = sub.add_parser("eval", help="score text or MIDI files: mean NLL per token",
                       description="Print the mean negative log-likelihood of the files under the model, in nats "
                       "and bits per character (text) or per event and per 16th-note step (music).")
    p.add_argument("-m", "--model", required=True, action="append",
                   help="model name or .safetensors path; give several to score their ensemble (the mean of "
                   "their next-token distributions, what distilling from them as --teacher aims at)")
    p.add_argument("files", nargs="+", type=Path, help="text files, or MIDI, ABC or MusicXML files or folders for a music model "
                   "(ABC and MusicXML need music21; each tune of an ABC file is a piece)")
    p.add_argument("--slice", help="text only: score this part, as fractions START:END (e.g. 0.95:1 for a "
                   "model trained with --test-frac 0.05)")
    p.add_argument("--drop-unknown", action="store_true", help="text only: skip characters the model never saw")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--device", default="auto", metavar="DEVICE",
                   help="auto|cpu|cuda|cuda:N|mps: where to score (default auto: a CUDA GPU when there is one)")
    p.set_defaults(run=run)


def run(args) -> int:
    from guigen.core import registry
    from guigen.core.evaluate import bits, nll

    from guigen.core.devices import resolve_device

    device = resolve_device(args.device)  # a device that is not there: one line, before any work
    models = [registry.load(m) for m in args.model]
    model = models[0]
    for other, name in zip(models[1:], args.model[1:]):
        if other.codec.to_meta() != model.codec.to_meta():
            raise CliError(f"{name} has another vocabulary or encoding than {args.model[0]}; "
                           "an ensemble's models must predict the same tokens")
    name = model.name if len(models) == 1 else f"ensemble of {len(models)} ({' + '.join(m.name for m in models)})"
    if model.kind == "text":
        from guigen.core.data import parse_slice, read_text, take_slice

        text = read_text(args.files)
        if args.slice:
            text = take_slice(text, *parse_slice(args.slice))
        try:
            ids = model.codec.encode(text, drop_unknown=args.drop_unknown)
        except ValueError as e:  # say which file(s) held the characters
            raise CliError(f"{', '.join(map(str, args.files))}: {e}") from None
        if len(ids) < 2:
            raise CliError("need at least two characters to score")
        total, count = nll(models, [ids], device)
        result = {"model": name, "chars_scored": count, "nats_per_char": total / count,
                  "bits_per_char": bits(total / count), "perplexity": math.exp(total / count)}
        lines = [f"{name}: {count:,} characters scored",
                 f"  {result['nats_per_char']:.4f} nats/char  {result['bits_per_char']:.4f} bits/char  "
                 f"perplexity {result['perplexity']:.3f}"]
    else:
        if args.slice:
            raise CliError("--slice applies to text models only")
        from guigen.music.dataset import encode_files

        sequences, steps, report = encode_files(model.codec, args.files)
        if not sequences:
            why = "; ".join(f"{path}: {reason}" for path, reason in report.rejected)
            raise CliError(f"none of the files held notes {model.name} can score" + (f" ({why})" if why else
                           f": {', '.join(map(str, args.files))}"))
        total, count = nll(models, sequences, device)
        files = len(report.used)  # a file may hold several pieces: a melody per voice, a tune per X:
        result = {"model": name, "files": files, "pieces": len(sequences), "events_scored": count, "steps": steps,
                  "nats_per_event": total / count, "bits_per_event": bits(total / count),
                  "nats_per_step": total / steps, "bits_per_step": bits(total / steps)}
        lines = [f"{name}: {_count(files, 'file')}, {_count(len(sequences), 'piece')}, {count:,} events over "
                 f"{steps:,} 16th-note steps",
                 f"  {result['nats_per_event']:.4f} nats/event  ({result['bits_per_event']:.4f} bits)",
                 f"  {result['nats_per_step']:.4f} nats/step   ({result['bits_per_step']:.4f} bits)"]
        lines.append(f"  {report.details()}")
    from guigen.core.safetext import one_line  # a file's name or a tune's title may hold control characters

    print(json.dumps(result, indent=2) if args.json else "\n".join(map(one_line, lines)))
    return 0


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}{'' if n == 1 else 's'}"
