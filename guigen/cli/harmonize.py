"""`guigen harmonize`: a polyphony model (bach-chorales) writes alto, tenor and bass under a melody."""

from __future__ import annotations

import sys
from pathlib import Path

from guigen.cli import CliError


def add_parser(sub):
    p = sub.add_parser(
        "harmonize", help="harmonise a melody in four parts with a chorale model",
        description="The model writes three lower voices under the melody, which comes out exactly (every "
        "note's pitch, onset and duration). The melody is the top line of MELODY (.mid, .abc, .musicxml, .mxl; "
        "the highest track when there are several) or --pitches. A melody in any key is moved to the model's "
        "key for it, and the result moved back. During a rest in the melody, the lower voices stay below its "
        "nearest note.",
        epilog="Example: guigen harmonize -m bach-chorales --pitches 67:4,67:4,69:4,71:4,72:8,71:8 -o hymn.musicxml")
    p.add_argument("melody", nargs="?", type=Path, help="the melody: a .mid, .abc, .musicxml or .mxl file")
    p.add_argument("-m", "--model", default="bach-chorales", help="a polyphony model (default bach-chorales)")
    p.add_argument("--pitches", help="the melody as MIDI pitch:steps, 4 steps to a quarter note, e.g. "
                   "67:4,67:4,69:8 (a length left out is 4; r:4 is a rest)")
    p.add_argument("--tune", help="which tune of an ABC file: its X: number or title")
    p.add_argument("-o", "--output", type=Path,
                   help="a .mid (four named tracks, Soprano first) or .musicxml/.mxl (four parts) file; "
                   "default: a new MELODY-harmonized.mid")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    p.add_argument("-t", "--temperature", type=float, default=0.8,
                   help="sampling temperature for the lower voices: 0 = greedy, 1 = the model's own distribution "
                   "(default 0.8: closer to Bach by every measure in models/bach-chorales.md)")
    p.add_argument("--top-k", type=int, default=0, help="sample among the k likeliest events only (0 = off)")
    p.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling (1 = off)")
    p.add_argument("--beam-size", type=int, default=1,
                   help="harmonisations kept at each step; the likeliest whole one is written (default 1: plain sampling)")
    p.add_argument("--branch-factor", type=int, default=2, help="samples branched from each kept harmonisation (default 2)")
    p.add_argument("--free", action="store_true",
                   help="the model and the encoding's grammar alone: without the rules that rule out parallel "
                   "fifths and octaves and favour three notes under every melody note (Bach kept both; the "
                   "model alone writes about 3 parallels per 100 moves of two voices, and 88%% of steps in four voices)")
    p.add_argument("--ending", choices=("tonic", "half", "none"), default="tonic",
                   help="the last melody note's chord: tonic (default) is the tonic triad with its root in the bass, "
                   "half the dominant triad so; searched for with a wider beam over the last notes, through the "
                   "model's own distribution (the melody's key by the Krumhansl-Kessler profiles, among the keys "
                   "whose ending chord holds its last note); none leaves it to the model")
    p.add_argument("--seed", type=int, help="random seed >= 0, for a reproducible harmonisation")
    p.add_argument("--qpm", type=float, help="tempo in quarter notes per minute (default: the melody file's, else 100)")
    p.add_argument("--program", help="General MIDI program 0-127 for all voices, or one per voice S,A,T,B, e.g. 52 or 0,0,42,42")
    p.add_argument("--show", action="store_true", help="print the first four bars of each voice as note names")
    p.set_defaults(run=run)


def ending_line(result) -> str:
    """How the harmonisation ends, for people: the key, the chord, and the model's own probability of it."""
    from guigen.music.chords import key_name

    key = key_name(result.key)
    if result.ending_note:
        return f"ending: in {key}, {result.ending_note}"
    if result.ending == "none":
        return f"ending: in {key}, left to the model (--ending none)"
    import math

    chord = "tonic" if result.ending == "tonic" else "dominant"
    return (f"ending: the {chord} triad of {key} in root position; the model gave the events that make such an "
            f"ending probability {math.exp(result.ending_mass):.3g}, and these final events {math.exp(result.ending_logprob):.3g}")


def run(args) -> int:
    from guigen.core import registry
    from guigen.core.files import free_name
    from guigen.core.sampling import SamplingSettings
    from guigen.music.events import NoteSequence, Voice
    from guigen.music.export import check_output, parse_programs, write_piece
    from guigen.music.harmonize import describe, harmonize, parse_pitches, read_melody
    from guigen.music.voices import split_voices

    if (args.melody is None) == (args.pitches is None):
        raise CliError("give the melody as a file (MELODY) or as --pitches, one of the two")
    from guigen.core import bounds

    if args.beam_size < 1 or args.branch_factor < 1:
        raise CliError("--beam-size and --branch-factor must be at least 1")
    bounds.check_rows(1, args.beam_size, args.branch_factor)
    bounds.check("--top-k", args.top_k, 0, 10 ** 9)
    if args.seed is not None and args.seed < 0:
        raise CliError(f"--seed must be >= 0, not {args.seed}")
    bounds.check("--seed", args.seed, 0, bounds.MAX_SEED)
    if args.qpm is not None and not 1 <= args.qpm <= 1000:
        raise CliError(f"--qpm must be between 1 and 1000, not {args.qpm:g}")
    settings = SamplingSettings(args.temperature, args.top_k, args.top_p)  # ValueError names a bad value
    programs = parse_programs(args.program)
    stem = args.melody.stem if args.melody else "melody"
    output = check_output(args.output or free_name(f"{stem}-harmonized", ".mid"))
    from guigen.core.files import check_output as check_writable

    check_writable(output, args.force)  # a folder or device in the way, or an existing file without --force
    from guigen.core.files import refuse_inputs

    refuse_inputs([("-o", output)], [("-m", registry.resolve(args.model)), ("MELODY", args.melody)])
    model = registry.load(args.model)
    source = None
    if args.melody is not None:
        melody, source = read_melody(args.melody, args.tune)
    else:
        melody = parse_pitches(args.pitches)
    from guigen.music.notation import MAX_SCORE_NOTES

    if output.suffix.lower() != ".mid" and output.suffix.lower() != ".midi" and 4 * len(melody) > MAX_SCORE_NOTES:
        raise CliError(f"{len(melody):,} melody notes make a score of about {4 * len(melody):,} notes; GuiGen writes "
                       f"MusicXML of at most {MAX_SCORE_NOTES:,}: give -o NAME.mid")
    result = harmonize(model, melody, settings, args.seed, args.beam_size, args.branch_factor if args.beam_size > 1 else 1,
                       strict=not args.free, four=not args.free, ending=args.ending)
    tempos = [(0, float(args.qpm))] if args.qpm else (list(source.tempos) if source else [(0, 100.0)])
    seq = NoteSequence(result.notes, tempos, source.time_signature if source else (4, 4),
                       [Voice(f"GuiGen {model.name}".strip(), programs[0] if programs else 0)], name=output.stem,
                       time_signature_changes=list(source.time_signature_changes) if source else [],
                       key_changes=list(source.key_changes) if source else [])
    layout = write_piece(seq, output, True, programs, melody=result.melody, overwrite=args.force)
    print(f"wrote {output} ({layout}): {len(result.melody)} melody notes harmonised with "
          f"{len(result.notes) - len(result.melody)} notes, {seq.total_steps} steps, "
          f"log-likelihood {result.logprob / max(result.events, 1):.3f} nats/event", file=sys.stderr)
    print(ending_line(result), file=sys.stderr)
    if args.show:
        num, den = seq.time_signature
        print(describe(result.notes, split_voices(result.notes, result.melody), steps_per_bar=num * 16 // den))
    return 0
