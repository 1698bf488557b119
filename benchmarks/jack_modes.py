"""JACK's asynchronous and synchronous modes under load, with inputs taken by mido's callback (on
JACK's thread, which must take the GIL) or polled as GuiGen's are: duplicated and dropped messages.

For each mode it starts a JACK server of its own (tests/live_jack.py's: dummy backend, 48 kHz),
an echo client in a subprocess (a python-rtmidi callback sending each message straight back),
and in this process a keyboard, a listener and a thread running Python all the time (as the app
or an in-process session runs its model: the listener's JACK thread must wait for the GIL). It
sends N numbered messages (control changes, 2 ms apart) through the echo, beside `--busy`
processes running `while True: pass`, and counts what came back twice and what never came, with
the client and driver xruns jackd logged.

    python benchmarks/jack_modes.py                 # 2,000 messages, period 256, two busy processes
    python benchmarks/jack_modes.py --period 64 --busy 0
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from live_jack import JackServer, Keyboard, Listener, use_jack, wait_until  # noqa: E402
from live_jack import find as find_port  # noqa: E402

ECHO = """
import sys, mido
out = mido.open_output("Echo out", virtual=True, client_name="echo")
inp = mido.open_input("Echo in", virtual=True, client_name="echo", callback=out.send)
print("ready", flush=True)
sys.stdin.read()
"""
# the same echo with its input polled (guigen.music.ports.Poller): no Python on JACK's thread
ECHO_POLLED = """
import sys, mido
from guigen.music.ports import Poller
out = mido.open_output("Echo out", virtual=True, client_name="echo")
inp = mido.open_input("Echo in", virtual=True, client_name="echo")
Poller(inp._rt, lambda data, when: out.send(mido.Message.from_bytes(data)))
print("ready", flush=True)
sys.stdin.read()
"""
MODES = {"asynchronous (jackd2's default)": ["--no-realtime"], "synchronous (-S -t 2000)": JackServer.SYNC}


class CallbackListener(Listener):
    """The tests' listener as it was: mido's callback, on JACK's process thread (for the comparison)."""

    def __init__(self, port_part: str):
        import mido

        self.cond = threading.Condition()
        self.messages = []
        self.port = mido.open_input(find_port(mido.get_input_names(), port_part),
                                    callback=lambda m: self._got(m.bytes(), time.perf_counter()))
        self.poller = None

    def close(self) -> None:
        self.port.close()


def run(flags: list[str], period: int, n: int, gap: float, polled: bool = True) -> str:
    server = JackServer(f"guigen-modes-{os.getpid()}-{time.monotonic_ns()}", period=period, flags=flags)
    why = server.start()
    if why:
        raise SystemExit(f"JACK cannot start: {why}")
    undo = use_jack(server)
    echo = subprocess.Popen([sys.executable, "-c", ECHO_POLLED if polled else ECHO], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, **server.env})
    stopping = threading.Event()

    def python_all_the_time():
        while not stopping.is_set():
            sum(range(200_000))

    try:
        if "ready" not in echo.stdout.readline():
            raise SystemExit("the echo client did not start")
        keys, ears = Keyboard("Echo in"), (Listener if polled else CallbackListener)("Echo out")
        threading.Thread(target=python_all_the_time, daemon=True).start()
        load, t0 = os.getloadavg()[0], time.perf_counter()
        for k in range(n):  # message k: channel k % 16, controller (k // 16) % 128, value k // 2048
            keys.send([0xB0 | k % 16, k // 16 % 128, k // 2048 % 128])
            wait_until(t0 + (k + 1) * gap)
        wait_until(time.perf_counter() + 1.0)  # what is on its way arrives (counting: no predicate to wait on)
        stopping.set()
        got = collections.Counter((m[0] & 15) + 16 * m[1] + 2048 * m[2] for _, m in ears.messages if m[0] & 0xF0 == 0xB0)
        keys.close()
        ears.close()
    finally:
        stopping.set()
        echo.stdin.close()
        echo.wait()
        undo()
        xruns = server.xruns()
        server.stop()
    dups = sum(v - 1 for v in got.values())
    return (f"{n} sent, {dups} duplicated, {n - len(got)} lost; jackd xruns: client {xruns['client']}, "
            f"driver {xruns['driver']}; load average {load:.1f} at the start")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--period", type=int, default=256, help="JACK period in frames at 48 kHz (default 256: 5.3 ms)")
    ap.add_argument("--busy", type=int, default=2, help="busy processes beside it (default 2)")
    ap.add_argument("--gap", type=float, default=0.002, help="seconds between messages (default 0.002)")
    args = ap.parse_args()
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    try:
        print(f"period {args.period} frames, {args.busy} busy processes, {os.cpu_count()} CPUs")
        for label, flags in MODES.items():
            for polled in (False, True):
                how = "inputs polled (GuiGen's)" if polled else "inputs by mido's callback"
                print(f"{label}, {how}: {run(flags, args.period, args.messages, args.gap, polled)}", flush=True)
    finally:
        for p in busy:
            p.kill()
            p.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
