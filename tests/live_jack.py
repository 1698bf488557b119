"""Real MIDI ports for the live tests and the latency benchmark: a JACK server of their own
(dummy backend, asynchronous, a unique name, one at a time on a machine: JackServer._take_turn)
and a test-side keyboard and listener.

The keyboard is a mido output port connected to 'GuiGen in'; the listener a mido input port
connected from 'GuiGen out', which keeps every message with its arrival time and lets a test
wait (on a Condition, never a sleep) for what it needs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time

JACK_BACKEND = "mido.backends.rtmidi/UNIX_JACK"
TURN = os.path.join(tempfile.gettempdir(), "guigen-jack.lock")  # held by the one JACK server of ours running (JackServer)


class JackServer:
    """jackd -n NAME --realtime -P 70 -d dummy -r 48000 -p PERIOD; start() says why not, or ''.

    jackd2's asynchronous mode goes on without a client that missed its cycle: readers then get
    that client's previous period again (copies of earlier messages) and what it wrote in the
    missed cycle is lost (benchmarks/jack_modes.py). Two things made clients miss cycles here:
    Python callbacks on JACK's thread waiting for the GIL (gone: inputs are polled, see
    guigen.music.ports.Poller), and on a loaded 2-core machine, JACK's threads waiting behind busy
    processes: with real-time scheduling (as JACK runs on a musician's machine) they do not. Where
    real-time scheduling is not allowed the server starts without it (NO_REALTIME). SYNC (-S) loses
    nothing too, but stalls for seconds in python-rtmidi's open and close (docs/live.md)."""

    FLAGS = ["--realtime", "-P", "70"]
    NO_REALTIME = ["--no-realtime"]
    SYNC = ["--no-realtime", "-S", "-t", "2000"]

    def __init__(self, name: str, period: int = 256, flags: list[str] | None = None):
        self.name, self.period = name, period
        self.flags = self.FLAGS if flags is None else flags
        self.proc = None
        self.log = ""

    @property
    def env(self) -> dict:
        return {"JACK_DEFAULT_SERVER": self.name, "MIDO_BACKEND": JACK_BACKEND}

    def start(self, timeout: float = 15.0) -> str:
        why = self._take_turn()
        if why:
            return why
        why = self._start(timeout)
        if why and self.flags == self.FLAGS:  # real-time scheduling not allowed here: without it
            self.flags = self.NO_REALTIME
            why = self._start(timeout)
        if why:
            self._end_turn()
        return why

    def _take_turn(self, patience: float = 1800.0) -> str:
        """Wait until no other JACK server of ours runs on this machine (TURN, an flock).

        JACK servers on one machine are not independent: a client's notification socket is
        /dev/shm/jack_CLIENT_UID_0, named without the server, so two same-named clients of two
        servers (mido's listing client 'RtMidiIn Client' in every test process, 'keys', 'GuiGen')
        take each other's socket, and opening one fails ("JACK server not running?"): 7 and 10
        of 150 rounds of the record test's opens and closes failed when two processes ran them
        at once, each on its own server, 0 of 500 alone; and with every client's name made
        unique, two at once still crashed in RtMidi's close in 3 of 4 runs, 0 of 1 alone. So the
        tests' and benchmarks' servers take turns (parallel runs wait)."""
        import fcntl

        self._turn = open(TURN, "a")
        deadline = time.monotonic() + patience
        while True:
            try:
                fcntl.flock(self._turn, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return ""
            except BlockingIOError:
                if time.monotonic() > deadline:
                    self._turn.close()
                    self._turn = None
                    return f"another JACK server of GuiGen's tests ran for over {patience:g} s ({TURN})"
                time.sleep(0.2)  # another run's server: nothing to wait on but the lock

    def _end_turn(self) -> None:
        if getattr(self, "_turn", None) is not None:
            self._turn.close()  # closing the file releases the flock
            self._turn = None

    def _start(self, timeout: float) -> str:
        jackd = shutil.which("jackd")
        if jackd is None:
            return "jackd is not installed (apt-get install jackd2)"
        try:
            import rtmidi
        except ImportError:
            return "python-rtmidi is not installed (pip install 'guigen[midi-ports]')"
        if rtmidi.API_UNIX_JACK not in rtmidi.get_compiled_api():
            return "python-rtmidi was built without JACK"
        # its output goes to a file: jackd writes a line per xrun, and a full pipe would stop the server
        self.logfile = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([jackd, "-n", self.name, *self.flags, "-d", "dummy", "-r", "48000",
                                      "-p", str(self.period)], stdout=self.logfile, stderr=subprocess.STDOUT,
                                     env={**os.environ, "JACK_NO_AUDIO_RESERVATION": "1"})
        env = {**os.environ, "JACK_DEFAULT_SERVER": self.name}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.logfile.seek(0)
                self.log = self.logfile.read().decode(errors="replace")
                return f"jackd exited: {self.log.strip().splitlines()[-1:] or ['(no output)']}"
            probe = subprocess.run(["jack_lsp"], env=env, capture_output=True, text=True)
            if probe.returncode == 0 and "system:" in probe.stdout:
                return ""
            time.sleep(0.1)  # polling the server's start: nothing to wait on but its answer
        self._kill()
        return f"jackd did not start within {timeout:g} s"

    def stop(self) -> None:
        self._kill()
        self._end_turn()

    def _kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def xruns(self) -> dict:
        """What jackd's log says so far: cycles a client did not finish in ('client'; asynchronous
        mode only) and cycles the dummy driver's timer started late ('driver')."""
        if getattr(self, "logfile", None) is None:
            return {"client": 0, "driver": 0}
        self.logfile.seek(0)
        log = self.logfile.read().decode(errors="replace")
        self.logfile.seek(0, 2)
        return {"client": log.count("was not finished"), "driver": log.count("Driver::Process XRun")}


def jack_ports(prefix: str):
    """The live tests' fixture: a JACK server of their own, this process's MIDI pointed at it;
    skipped, saying why, where JACK cannot start. Use as `yield from jack_ports(...)`."""
    import pytest

    server = JackServer(f"{prefix}-{os.getpid()}")
    why = server.start()
    if why:
        pytest.skip(f"JACK cannot start here: {why}")
    undo = use_jack(server)
    try:
        yield server
    finally:
        undo()
        server.stop()


def use_jack(server: JackServer):
    """Point this process's MIDI at the server (environment and mido's backend); returns an undo."""
    import mido

    saved = {k: os.environ.get(k) for k in server.env}
    os.environ.update(server.env)
    old = mido.backend
    mido.set_backend(JACK_BACKEND, load=True)

    def undo():
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        mido.set_backend(old)

    return undo


def find(names: list[str], part: str) -> str:
    hits = [n for n in names if part in n]
    if len(hits) != 1:
        raise LookupError(f"{part!r} in {names}")
    return hits[0]


RECHECK = 0.05  # seconds: Listener.wait_for looks at a predicate at least this often


class Listener:
    """Everything that comes out of a port: (perf_counter time, bytes), in order."""

    def __init__(self, port_part: str = "GuiGen out", virtual: str = ""):
        """Connected from the one port whose name holds port_part; or, with virtual, a port of its
        own of that name (client 'ears') for the port under test to connect to."""
        import mido

        from guigen.music.ports import Poller

        self.cond = threading.Condition()
        self.messages: list[tuple[float, list[int]]] = []
        if virtual:
            self.port = mido.open_input(virtual, virtual=True, client_name="ears")
        else:
            self.port = mido.open_input(find(mido.get_input_names(), port_part))
        self.poller = Poller(self.port._rt, self._got)  # no Python on JACK's thread: see Poller

    def _got(self, data, when) -> None:
        with self.cond:
            self.messages.append((when, list(data)))
            self.cond.notify_all()

    def wait_for(self, predicate, timeout: float = 20.0):
        """Wait until predicate(messages) is truthy; returns it (AssertionError on the timeout, a hang detector).
        Looked at on every message and every RECHECK seconds: a predicate may ask for a time too."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not (result := predicate(self.messages)):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out; messages so far: {self.messages[-12:]}")
                self.cond.wait(min(left, RECHECK))
            return result

    def note_ons(self, channel=None):
        with self.cond:
            return [(t, m[1]) for t, m in self.messages if m[0] & 0xF0 == 0x90 and m[2] > 0
                    and (channel is None or m[0] & 0x0F == channel)]

    def close(self) -> None:
        self.poller.close(self.port)


def hanging(messages) -> set[tuple[int, int]]:
    """(channel, pitch) of notes switched on and never off (a note-off or all-notes-off after)."""
    on: set[tuple[int, int]] = set()
    for _, m in messages:
        kind, ch = m[0] & 0xF0, m[0] & 0x0F
        if kind == 0x90 and m[2] > 0:
            on.add((ch, m[1]))
        elif kind == 0x80 or kind == 0x90:
            on.discard((ch, m[1]))
        elif kind == 0xB0 and m[1] == 123:
            on = {n for n in on if n[0] != ch}
    return on


class Keyboard:
    """A test-side output port playing into 'GuiGen in' (or another port)."""

    def __init__(self, port_part: str = "GuiGen in", virtual: str = ""):
        import mido

        if virtual:  # a port of its own (client 'keys'), for the port under test to connect to
            self.port = mido.open_output(virtual, virtual=True, client_name="keys")
        else:
            self.port = mido.open_output(find(mido.get_output_names(), port_part))
        self._message = mido.Message.from_bytes

    def send(self, data) -> float:
        self.port.send(self._message(list(data)))
        return time.perf_counter()

    def on(self, pitch: int, velocity: int = 90) -> float:
        return self.send([0x90, pitch, velocity])

    def off(self, pitch: int) -> float:
        return self.send([0x80, pitch, 0])

    def close(self) -> None:
        self.port.close()


def wait_until(deadline: float) -> None:
    """Play at an absolute time (the player's rhythm, not a wait for a result)."""
    while (left := deadline - time.perf_counter()) > 0:
        time.sleep(min(left, 0.005))


class ClockSender(threading.Thread):
    """A DAW's MIDI clock: start, then 24 ticks per quarter at `qpm`, at absolute deadlines
    (t0 + k x interval: a late tick does not delay the next). realtime: the thread asks for
    real-time scheduling (SCHED_FIFO, under JACK's), as a DAW's audio thread has, where allowed;
    self.realtime then says whether it got it. tick_times[k] is when tick k was sent; its
    deadline is tick_time(k)."""

    def __init__(self, keyboard: Keyboard, qpm: float, t0: float, realtime: bool = False):
        super().__init__(daemon=True)
        self.keyboard, self.interval, self.t0 = keyboard, 60.0 / (qpm * 24), t0
        self.realtime = realtime
        self.stopping = threading.Event()
        self.tick_times: list[float] = []  # when each tick was sent (tick k is beat k / 24)

    def run(self) -> None:
        if self.realtime:
            try:
                os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(65))
            except (AttributeError, OSError):
                self.realtime = False
        wait_until(self.t0 - 0.01)
        self.keyboard.send([0xFA])
        k = 0
        while not self.stopping.is_set():
            wait_until(self.tick_time(k))
            self.tick_times.append(self.keyboard.send([0xF8]))
            k += 1

    def tick_time(self, k: int) -> float:
        """Tick k's deadline: when the DAW means it."""
        return self.t0 + k * self.interval

    def beat_time(self, beat: float) -> float:
        return self.t0 + beat * 24 * self.interval
