"""`guigen live`: play a MIDI keyboard into a model: call and response, a live harmonizer, or
recording a primer; Ctrl-C ends, sends all-notes-off and saves the session as a .mid."""

from __future__ import annotations

import sys
from pathlib import Path

from guigen.cli import CliError


def add_parser(sub):
    p = sub.add_parser(
        "live", help="play a MIDI keyboard with a model: answer, harmonize or record",
        description="answer: play a phrase; after a silence the model answers with its continuation of the whole "
        "conversation so far. harmonize: every note you play becomes the soprano of a chorale model's four parts, "
        "as you play it. record: a count-in and a click, then your notes on the 16th grid, saved as a primer. "
        "Ctrl-C ends the session: every note is switched off, and the session (your part and the model's, two "
        "named tracks) is saved as a MIDI file.",
        epilog="Example: guigen live -m bach-chorales --virtual --mode harmonize   (then connect a keyboard to "
        "'GuiGen in' and a synth to 'GuiGen out'; guigen ports lists the ports)")
    p.add_argument("-m", "--model", help="a melody or polyphony model (harmonize: a polyphony model such as "
                   "bach-chorales); not needed to record")
    p.add_argument("--in", dest="inport", metavar="PORT", help="the MIDI input to listen to: its name or a unique part of it")
    p.add_argument("--out", dest="outport", metavar="PORT", help="the MIDI output to play to: its name or a unique part of it")
    p.add_argument("--virtual", action="store_true",
                   help="open GuiGen's own ports, 'GuiGen in' and 'GuiGen out', for a keyboard, DAW or synth to connect to")
    p.add_argument("--mode", choices=("answer", "harmonize", "record"), default="answer", help="default answer")
    p.add_argument("--bars", type=int, help="answer: bars the model plays (default: the length of your call)")
    p.add_argument("--silence", type=float, help="answer: beats without a key down that end your call (default one bar)")
    p.add_argument("--clock", choices=("none", "follow", "send"), default="none",
                   help="follow: keep to the MIDI clock coming in (answers start on its bar lines); send: send MIDI "
                   "clock as master; none (default): our own tempo, from your first note")
    p.add_argument("--qpm", type=float, default=120.0, help="tempo in quarter notes per minute (default 120)")
    p.add_argument("--metre", default="4/4", metavar="N/D", help="time signature (3/4, 6/8, ...): bars, the silence "
                   "that ends a call, the count-in, the click and the bar lines answers start on follow it (default 4/4)")
    p.add_argument("--key", default="C", help="the key you play in (C, G, Bb, F#, ...: major or its relative minor); "
                   "a model trained in one key hears you moved to it (default C)")
    p.add_argument("-t", "--temperature", type=float, default=0.8, help="sampling temperature (default 0.8)")
    p.add_argument("--top-k", type=int, default=0, help="sample among the k likeliest events only (0 = off)")
    p.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling (1 = off)")
    p.add_argument("--channel", type=int, default=1, help="MIDI channel 1-16 of the model's notes (default 1)")
    p.add_argument("--quantise", type=float, default=1.0,
                   help="record: how far notes move to the 16th grid, 0 (as played) to 1 (on it; default)")
    p.add_argument("--count-in", type=int, default=1, help="record: bars of clicks before recording (default 1)")
    p.add_argument("--seed", type=int, help="random seed >= 0")
    p.add_argument("-o", "--output", type=Path, help="the session's .mid (default: a new guigen-live.mid, "
                   "guigen-live-2.mid, ...)")
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    p.set_defaults(run=run)


KEYS = {"C": 0, "C#": 1, "DB": 1, "D": 2, "D#": 3, "EB": 3, "E": 4, "F": 5, "F#": 6, "GB": 6, "G": 7, "G#": 8,
        "AB": 8, "A": 9, "A#": 10, "BB": 10, "B": 11}


def parse_key(text: str) -> int:
    """'G' -> 7, 'Bb' -> 10, 'f#m' -> 9 (a minor key is its relative major's)."""
    t = text.strip().upper().replace("MAJOR", "").replace("MINOR", "M").strip()
    minor = t.endswith("M") and len(t) > 1
    base = t[:-1] if minor else t
    if base not in KEYS:
        raise CliError(f"--key {text!r} is not a key: give C, G, Bb, F#, Am, ...")
    return (KEYS[base] + (3 if minor else 0)) % 12


def run(args) -> int:
    import signal
    import threading

    if hasattr(signal, "pthread_sigmask"):  # Ctrl-C must reach us: a blocked mask survives exec from whoever started us
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

    from guigen.core.files import check_output, free_name
    from guigen.core.sampling import SamplingSettings
    from guigen.music import ports
    from guigen.music.live import LiveOptions, LiveSession

    if args.virtual and (args.inport or args.outport):
        raise CliError("give --in and --out, or --virtual, not both")
    if not args.virtual and not (args.inport and args.outport):
        raise CliError("give the ports to use with --in PORT and --out PORT (guigen ports lists them), "
                       "or --virtual to open GuiGen's own")
    if args.mode != "record" and not args.model:
        raise CliError(f"--mode {args.mode} needs a model: -m bach-chorales, for example")
    if args.seed is not None and args.seed < 0:
        raise CliError(f"--seed must be >= 0, not {args.seed}")
    if not 1 <= args.channel <= 16:
        raise CliError(f"--channel must be 1-16, not {args.channel}")
    from guigen.music.conditions import parse_metre

    try:
        metre = parse_metre(args.metre)
    except ValueError as e:
        raise CliError(f"--metre: {e}") from None
    options = LiveOptions(args.mode, args.bars, args.silence, args.clock, args.qpm, parse_key(args.key),
                          args.channel - 1, args.quantise, args.count_in, metre=metre, seed=args.seed).check()
    settings = SamplingSettings(args.temperature, args.top_k, args.top_p)
    output = args.output or free_name("guigen-live", ".mid")
    check_output(output, args.force)  # before any port is opened: a file in the way is said now
    ports.probe()  # no MIDI system: said in one line before a model is loaded
    inport = outport = None
    if not args.virtual:
        inport = ports.find_port(args.inport, ports.input_names(), "input")
        outport = ports.find_port(args.outport, ports.output_names(), "output")
    model = None
    if args.model:
        from guigen.core import registry

        model = registry.load(args.model)
    session = LiveSession(model, options, settings, inport, outport, args.virtual)
    session.start()
    what = {"answer": "answers after your calls", "harmonize": "harmonizes what you play",
            "record": "records you after a count-in"}[args.mode]
    print(f"guigen live: listening on {session.inp.name!r}, playing to {session.out.name!r}: "
          f"{model.name if model else 'GuiGen'} {what}; Ctrl-C ends and saves the session", file=sys.stderr, flush=True)
    interrupted = False
    try:
        while not session.done.wait(0.2):
            pass
    except KeyboardInterrupt:
        interrupted = True
    finally:
        # the session ends whatever happens: notes off and the file written, even on a second Ctrl-C
        ender = threading.Thread(target=session.stop)
        ender.start()
        while ender.is_alive():
            try:
                ender.join()
            except KeyboardInterrupt:
                interrupted = True
        path = session.write(output, overwrite=args.force)
        seq = session.sequence()
        played = sum(1 for n in seq.notes if n.voice == 0)
        print(f"wrote {path}: {played} notes played, {len(seq.notes) - played} from the model"
              + (f"; harmony latency {session.latency_summary()}" if session.latencies else "")
              + (f"; sent after their time: {late}" if (late := session.lateness_summary()) else ""), file=sys.stderr)
    if session.error:
        print(f"guigen live: error: {session.error}", file=sys.stderr)
        return 1
    return 130 if interrupted else 0
