"""`guigen ports`: the MIDI input and output ports there are now (for guigen live --in/--out)."""

from __future__ import annotations


def add_parser(sub):
    p = sub.add_parser("ports", help="list MIDI input and output ports",
                       description="The MIDI ports of the MIDI system mido uses (ALSA or JACK on Linux, CoreMIDI on "
                       "macOS; MIDO_BACKEND=mido.backends.rtmidi/UNIX_JACK selects JACK). guigen live takes a port's "
                       "name or any unique part of it.")
    p.set_defaults(run=run)


def run(args) -> int:
    from guigen.music import ports

    ports.probe()
    inputs, outputs = ports.input_names(), ports.output_names()
    print("inputs (--in):" + ("" if inputs else " none"))
    for name in inputs:
        print(f"  {name}")
    print("outputs (--out):" + ("" if outputs else " none"))
    for name in outputs:
        print(f"  {name}")
    return 0
