"""`guigen render IN.mid OUT.wav`: a MIDI file to a WAV file, with a SoundFont or the built-in synth."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def add_parser(sub):
    p = sub.add_parser("render", help="render a MIDI file to a WAV file",
                       description="Render a MIDI file to 16-bit stereo WAV. Uses a General MIDI SoundFont "
                       "through FluidSynth when one is found (--soundfont, $GUIGEN_SOUNDFONT, or the usual "
                       "system places), and a built-in synthesiser otherwise.")
    p.add_argument("input", type=Path, metavar="IN.mid", help="standard MIDI file (format 0 or 1)")
    p.add_argument("output", type=Path, metavar="OUT.wav", help="WAV file to write")
    p.add_argument("--soundfont", type=Path, metavar="FILE", help="SoundFont (.sf2/.sf3) to play it with")
    p.add_argument("--builtin-synth", action="store_true", help="use the built-in synthesiser even if a SoundFont is found")
    p.add_argument("--force", action="store_true", help="replace OUT.wav if it exists")
    p.set_defaults(run=run)


def run(args) -> int:
    from guigen.core.files import check_output
    from guigen.music.audio import render_midi_file

    if args.builtin_synth and args.soundfont:
        raise ValueError("--soundfont and --builtin-synth exclude each other")
    if args.output.suffix.lower() != ".wav":
        raise ValueError(f"{args.output}: the output must be a .wav file")
    if not args.input.is_file():
        why = "a folder, not a MIDI file" if args.input.is_dir() else (
            "not a regular file" if os.path.lexists(args.input) else "no such MIDI file")
        raise FileNotFoundError(f"{args.input}: {why}")
    check_output(args.output, args.force)  # before any work: a device, folder or unwritable place is refused now
    from guigen.core.files import refuse_inputs

    refuse_inputs([("OUT.wav", args.output)], [("IN.mid", args.input), ("--soundfont", args.soundfont)])
    engine = "builtin" if args.builtin_synth else "auto"
    audio = render_midi_file(args.input, args.output, args.soundfont, engine, overwrite=args.force)
    print(f"wrote {args.output}: {audio.seconds:.1f} s, {audio.sample_rate} Hz stereo, {audio.engine}", file=sys.stderr)
    return 0
