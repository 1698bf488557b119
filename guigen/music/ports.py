"""MIDI ports: playing a NoteSequence live to an output (a DAW, a software or hardware synth), and
the live ports of guigen live (input and output, by name or part of one, or GuiGen's own virtual ones).

Plain Python with hooks, as Frescobaldi's player: `play` is a generator yielding the time of each
message sent, so a caller (a QThread in the app, a loop in the CLI) can show progress or stop by
closing it; all notes are switched off however it ends. The port itself comes from guigen.music.midi,
which raises MidiError with a clear message when there is no MIDI system (as on a server).
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
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


# -- live ports (guigen live, the app's live panel) ----------------------------------------------
# This is the one module besides guigen.music.midi that imports mido: the live engine speaks raw
# MIDI bytes (lists of ints) and never sees a mido object. mido picks the MIDI API (MIDO_BACKEND:
# mido.backends.rtmidi/UNIX_JACK selects JACK; the default is ALSA on Linux, CoreMIDI on macOS).
VIRTUAL_IN, VIRTUAL_OUT = "GuiGen in", "GuiGen out"
DRAIN = 0.05  # seconds for the MIDI system to carry the last messages before an output closes (JACK: 2+ periods)


JACK_BACKEND = "mido.backends.rtmidi/UNIX_JACK"


def no_system(e: Exception) -> midi.MidiError:
    """The one-line error for a MIDI system that is not there, saying what is missing."""
    if isinstance(e, ImportError):
        return midi.MidiError(f"MIDI ports need python-rtmidi, which is not installed ({e}): "
                              "pip install 'guigen[midi-ports]'")
    if "JACK" in str(e):
        server = os.environ.get("JACK_DEFAULT_SERVER", "default")
        return midi.MidiError(f"no MIDI system: the JACK server {server!r} is not running (MIDO_BACKEND="
                              f"{os.environ.get('MIDO_BACKEND', '')} selects JACK); start jackd first")
    if "ALSA" in str(e) and not os.path.exists("/dev/snd/seq"):
        return midi.MidiError("no MIDI system: ALSA's sequencer, /dev/snd/seq, is not there (a desktop has it, a "
                              f"server or container usually not); to use JACK instead, set MIDO_BACKEND={JACK_BACKEND} "
                              "with jackd running")
    return midi.MidiError(f"no MIDI system: {e}")


@contextmanager
def _quiet_stderr():
    """File descriptor 2 to /dev/null: ALSA's and JACK's C libraries print their own lines there
    when they find no MIDI system, before the one line that says so. Process-wide, so only for a
    moment when no other thread runs (the command line's start)."""
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def probe() -> None:
    """For the command line, before its threads start: whether there is a MIDI system, and if
    not one MidiError saying what is missing, with nothing else on stderr."""
    import mido

    with _quiet_stderr():
        try:
            mido.get_input_names()
        except Exception as e:
            error = no_system(e)
        else:
            return
    raise error


def input_names() -> list[str]:
    """Names of the MIDI input ports (what a keyboard or DAW sends on); MidiError with no MIDI system."""
    import mido

    try:
        return list(mido.get_input_names())
    except Exception as e:
        raise no_system(e) from None


def output_names() -> list[str]:
    """Names of the MIDI output ports (what a synth or DAW listens on); MidiError with no MIDI system."""
    import mido

    try:
        return list(mido.get_output_names())
    except Exception as e:
        raise no_system(e) from None


def find_port(spec: str, names: list[str], what: str) -> str:
    """The port named `spec`, or the one port whose name holds it (case-insensitive); a one-line
    MidiError listing the candidates when none or several do."""
    if spec in names:
        return spec
    hits = [n for n in names if spec.lower() in n.lower()]
    if len(hits) == 1:
        return hits[0]
    listed = ", ".join(repr(n) for n in (hits or names)) or "none"
    if hits:
        raise midi.MidiError(f"MIDI {what} {spec!r} is ambiguous: it names {listed}; give more of the name")
    raise midi.MidiError(f"no MIDI {what} port matches {spec!r} (available: {listed})")


def _listed(port, fallback) -> list[str]:
    rt = getattr(port, "_rt", None)  # mido's rtmidi port: its python-rtmidi object
    try:
        return list(rt.get_ports()) if rt is not None else fallback()
    except Exception as e:
        raise no_system(e) from None


POLL = 0.0005  # seconds between looks at an input's queue: at most this much added to a note's way in
REALTIME_PRIORITY = 60  # SCHED_FIFO priority of GuiGen's input thread where allowed: under JACK's (-P 70)


def _realtime() -> bool:
    """Real-time scheduling (SCHED_FIFO) for the calling thread, as JACK gives its own, where the
    system allows it (Linux with an rtprio limit, as audio setups grant, or root): a busy process
    then no longer takes the CPU from a chord being decided. False where it is not allowed."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(REALTIME_PRIORITY))
    except (AttributeError, OSError):  # no such call (macOS, Windows), or not allowed
        return False
    return True


class Poller:
    """Takes what an input port received from python-rtmidi's own queue, in a Python thread of ours.

    mido's rtmidi ports hand each message to Python on the MIDI system's thread, which must take the
    GIL to do so. JACK runs that thread once a period; while it waits for the GIL (held by the model,
    or anything in Python) the client misses its cycle, and jackd2 goes on without it: readers get
    its previous period again and what it had to deliver is lost (benchmarks/jack_modes.py: about
    half of 1,000 messages duplicated and lost beside two busy processes). With the callback
    cancelled, python-rtmidi queues messages in C++ and JACK's thread never waits for Python.
    realtime: the thread asks for real-time scheduling (_realtime; self.realtime says if it got it).
    after: called with no arguments after every look at the queue (LiveSession: its scheduler's
    send_due, so what is due leaves from this thread)."""

    def __init__(self, rt, callback, realtime: bool = False, after=None):
        import threading

        self.rt, self.callback, self.realtime, self.after = rt, callback, realtime, after
        rt.cancel_callback()  # mido's own: from now on messages wait in python-rtmidi's queue
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="MIDI input", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        if self.realtime:
            self.realtime = _realtime()
        get, clock, callback, wait = self.rt.get_message, time.perf_counter, self.callback, self.stopping.wait
        after = self.after or (lambda: None)
        while not self.stopping.is_set():
            got = get()
            while got is not None:
                callback(got[0], clock())
                got = get()
            after()
            wait(POLL)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=1.0)

    def close(self, port) -> None:
        """Stop, then close the mido input port without mido's close, which first sets its Python
        callback again (mido 1.3 does so when it clears it): a message arriving then would have
        JACK's thread wait for the GIL while this thread, holding it, waits in RtMidi's close for
        JACK's cycle. RtMidi was seen to crash there."""
        self.stop()
        port.closed = True  # so mido never closes it again (its __del__ would)
        self.rt.cancel_callback()
        self.rt.close_port()
        self.rt.delete()


def _open(opener, name: str, virtual: bool, what: str):
    """A mido port by name, or (virtual) GuiGen's own of that name; MidiError naming it if it fails."""
    try:
        return opener(name, virtual=True, client_name="GuiGen") if virtual else opener(name)
    except Exception as e:
        raise midi.MidiError(f"could not open MIDI {what} {name!r}: {e}") from None


class LiveInput:
    """An input port calling `callback(bytes_list, perf_counter_time)` for every message (notes,
    clock, start/stop, song position), on a thread of its own that polls the port (see Poller),
    and `after()` after every look at the port."""

    def __init__(self, name: str | None, callback, virtual: bool = False, after=None):
        import mido

        self.name = VIRTUAL_IN if virtual else name
        self.port = _open(mido.open_input, self.name, virtual, "input")
        # real-time where allowed: in harmonize mode this thread decides and sends the chords,
        # and in every mode it sends what the scheduler has due (after)
        self.poller = Poller(self.port._rt, callback, realtime=True, after=after)

    def names(self) -> list[str]:
        """The input ports there are now, listed through this port's own client: mido's listing
        opens and closes a client each time, which a synchronous JACK server makes wait for its
        cycle, and that cycle for this process's callback (holding the GIL meanwhile): seconds."""
        return _listed(self.port, input_names)

    def close(self) -> None:
        try:
            self.poller.close(self.port)
        except Exception:  # closing a port whose device is gone must never stop the session's end
            pass


class LiveOutput:
    """An output port sending raw MIDI bytes; send() raises MidiError when the port is gone."""

    def __init__(self, name: str | None, virtual: bool = False):
        import mido

        self._message = mido.Message.from_bytes
        self.name = VIRTUAL_OUT if virtual else name
        self.port = _open(mido.open_output, self.name, virtual, "output")

    def names(self) -> list[str]:
        """The output ports there are now (as LiveInput.names)."""
        return _listed(self.port, output_names)

    def send(self, data) -> None:
        try:
            self.port.send(self._message(data))
        except Exception as e:
            raise midi.MidiError(f"MIDI output {self.name!r} failed ({e}); is the device still there?") from None

    def close(self) -> None:
        # JACK sends what was written in its next cycle, and python-rtmidi's close waits for a
        # cycle holding the GIL: a synchronous JACK server stalls while a callback of this process
        # (a listener, a test's) waits for the GIL to take the last messages. Let them go first.
        time.sleep(DRAIN)
        try:
            self.port.close()
        except Exception:
            pass
