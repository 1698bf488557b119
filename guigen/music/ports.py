"""Playing a NoteSequence live to a MIDI output port (a DAW, a software or hardware synth).

Plain Python with hooks, as Frescobaldi's player: `play` is a generator yielding the time of each
message sent, so a caller (a QThread in the app, a loop in the CLI) can show progress or stop by
closing it; all notes are switched off however it ends. The port itself comes from guigen.music.midi,
which raises MidiError with a clear message when there is no MIDI system (as on a server).
"""

from __future__ import annotations

import time
from typing import Iterator

from guigen.music import midi
from guigen.music.events import NoteSequence


def list_ports() -> list[str]:
    """Output port names; MidiError when no MIDI system is present."""
    return midi.output_names()


def play(seq: NoteSequence, port_name: str | None = None, clock=time.monotonic, sleep=time.sleep) -> Iterator[float]:
    """Send the sequence in real time; yields seconds from the start after each message sent."""
    messages = midi.timed_messages(seq)
    port = midi.open_output(port_name)
    try:
        t0 = clock()
        for when, msg in messages:
            wait = when - (clock() - t0)
            if wait > 0:
                sleep(wait)
            port.send(msg)
            yield when
    finally:  # also on close() or an exception: no note may hang on
        for msg in midi.all_notes_off():
            port.send(msg)
        port.close()


def play_to_end(seq: NoteSequence, port_name: str | None = None) -> float:
    """Play a whole sequence; returns its length in seconds."""
    last = 0.0
    for last in play(seq, port_name):
        pass
    return last
