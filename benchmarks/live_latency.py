"""Live MIDI latency through JACK: note-in to harmony-out, and the jitter of answers on a clock.

Starts its own JACK server (tests/live_jack.py's: dummy backend, 48 kHz, a 64-frame period
here: 1.3 ms; asynchronous, or with --jack-mode sync synchronous) and, in
subprocesses, a plain echo (a python-rtmidi callback sending each message straight back: JACK's
own round trip, the reference) and `guigen live --virtual --mode harmonize -m bach-chorales`.
This process plays N notes into each and times the replies: for the echo the echoed note-on,
for GuiGen the chord's last note-on (soprano and three lower voices). GuiGen's added latency is
its figure minus the echo's, measured in the same run. Then, in clock-follow mode, it sends a
24-ppqn MIDI clock, plays calls and times each answer note-on against the tick of its 16th step
(jitter: the spread of those offsets). Everything runs twice: idle, and beside one busy process
(`python3 -c "while True: pass"`).

    python benchmarks/live_latency.py               # 1,000 notes per run (about 4 minutes)
    python benchmarks/live_latency.py --notes 200   # quicker

Messages that never come back within 0.5 s are counted as lost, and jackd's xruns are counted
from its log: cycles a client did not finish (asynchronous mode only) and cycles the dummy
driver's timer started late (harmless for MIDI: a late cycle carries what its period brought).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from live_jack import ClockSender, JackServer, Keyboard, Listener, use_jack, wait_until  # noqa: E402

ECHO = """
import sys, time, mido
out = mido.open_output("Echo out", virtual=True, client_name="echo")
def back(msg):
    out.send(msg)
inp = mido.open_input("Echo in", virtual=True, client_name="echo", callback=back)
print("ready", flush=True)
sys.stdin.read()
"""
SOPRANO = [67, 69, 71, 72, 74, 72, 71, 69, 67, 65, 64, 65]


def stats(ms) -> str:
    ms = np.asarray(ms)
    if not len(ms):
        return "no data"
    return f"p50 {np.percentile(ms, 50):.2f} ms, p99 {np.percentile(ms, 99):.2f} ms, max {ms.max():.2f} ms"


def timed_notes(keys: Keyboard, ears: Listener, n: int, per_note: int) -> tuple[list[float], int]:
    """Play n notes one at a time; latency (ms) until `per_note` note-ons came back, and the number lost."""
    latencies, lost = [], 0
    for k in range(n):
        pitch = SOPRANO[k % len(SOPRANO)]
        before = len(ears.note_ons())
        sent = keys.on(pitch)
        try:
            ears.wait_for(lambda m: len(ears.note_ons()) >= before + per_note, timeout=0.5)
            latencies.append((ears.note_ons()[before + per_note - 1][0] - sent) * 1000)
        except AssertionError:
            lost += 1
        keys.off(pitch)
        wait_until(time.perf_counter() + 0.012)  # let the chord end before the next note
    return latencies, lost


def start(cmd, env, ready: str):
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    line = proc.stdout.readline()
    if ready not in line:
        proc.kill()
        raise SystemExit(f"could not start {cmd[:3]}: {line}{proc.stdout.read()}")
    return proc


def stop(proc) -> str:
    import signal

    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out


def echo_run(env, n: int):
    proc = start([sys.executable, "-c", ECHO], env, "ready")
    try:
        keys, ears = Keyboard("Echo in"), Listener("Echo out")
        lat, lost = timed_notes(keys, ears, n, 1)
        keys.close()
        ears.close()
    finally:
        proc.stdin.close()
        proc.kill()
        proc.wait()
    return lat, lost


def harmonize_run(env, n: int, tmp: Path):
    out = tmp / f"harmonize-{time.monotonic_ns()}.mid"
    proc = start([sys.executable, "-m", "guigen", "live", "-m", "bach-chorales", "--virtual", "--mode", "harmonize",
                  "--seed", "1", "-o", str(out)], env, "listening on")
    try:
        keys, ears = Keyboard(), Listener()
        lat, lost = timed_notes(keys, ears, n, 4)
        keys.close()
        ears.close()
    finally:
        summary = stop(proc)
    inside = (summary.split("harmony latency ")[-1].strip() if "harmony latency" in summary
              else f"not reported (its last words: {summary.strip().splitlines()[-1:]})")
    return lat, lost, inside


def jitter_run(env, rounds: int, tmp: Path, qpm: float = 240.0):
    """Answers on a followed clock: each answer note-on's arrival minus the send time of its step's tick."""
    out = tmp / f"answer-{time.monotonic_ns()}.mid"
    proc = start([sys.executable, "-m", "guigen", "live", "-m", "bach-chorales", "--virtual", "--mode", "answer",
                  "--clock", "follow", "--bars", "2", "--seed", "1", "-o", str(out)], env, "listening on")
    offsets = []
    try:
        keys, ears = Keyboard(), Listener()
        daw = ClockSender(keys, qpm, time.perf_counter() + 0.3)
        daw.start()
        beat = 0.0
        for _ in range(rounds):
            for i, p in enumerate([67, 65, 64, 62]):  # a bar of quarter notes
                wait_until(daw.beat_time(beat + i))
                keys.on(p)
                wait_until(daw.beat_time(beat + i + 0.8))
                keys.off(p)
            beat += 4 + 4 + 8  # the call, a bar of silence, two bars of answer
            wait_until(daw.beat_time(beat))
        daw.stopping.set()
        daw.join()
        ticks = np.asarray(daw.tick_times)
        for t, _ in ears.note_ons():
            k = int(np.searchsorted(ticks, t)) - 1  # the tick before it arrived
            k6 = round(k / 6) * 6  # its 16th step's tick
            if 0 <= k6 < len(ticks):
                offsets.append((t - ticks[k6]) * 1000)
        keys.close()
        ears.close()
    finally:
        stop(proc)
    return offsets


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notes", type=int, default=1000, help="notes per latency run (default 1000)")
    ap.add_argument("--rounds", type=int, default=4, help="call-and-answer rounds per jitter run (default 4)")
    ap.add_argument("--period", type=int, default=64, help="JACK period in frames at 48 kHz (default 64: 1.3 ms)")
    ap.add_argument("--jack-mode", choices=("async", "sync"), default="async",
                    help="async (jackd2's default, as the tests' server; default) or sync (-S -t 2000), to compare")
    args = ap.parse_args()
    import tempfile

    server = JackServer(f"guigen-bench-{os.getpid()}", period=args.period,
                        flags=JackServer.SYNC if args.jack_mode == "sync" else None)
    why = server.start()
    if why:
        raise SystemExit(f"JACK cannot start: {why}")
    undo = use_jack(server)
    env = {**os.environ, **server.env, "PYTHONPATH": str(ROOT)}
    busy = None
    lines = [f"JACK dummy backend, {args.jack_mode}, 48 kHz, {args.period}-frame period ({args.period / 48:.2f} ms); "
             f"{os.cpu_count()} CPUs; load average at start {os.getloadavg()[0]:.1f}"]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for label in ("idle", "beside one busy process"):
                xruns = server.xruns()
                if label != "idle":
                    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
                echo, echo_lost = echo_run(env, args.notes)
                harm, harm_lost, inside = harmonize_run(env, args.notes, Path(tmp))
                jit = jitter_run(env, args.rounds, Path(tmp))
                added = np.percentile(harm, [50, 99]) - np.percentile(echo, [50, 99]) if echo and harm else [np.nan] * 2
                jit_c = np.asarray(jit) - np.median(jit) if jit else np.asarray([])
                lines += [f"## {label}",
                          f"echo (JACK's round trip, the reference): {stats(echo)}; lost {echo_lost}/{args.notes}",
                          f"note-in to harmony-out (chord's last note-on): {stats(harm)}; lost {harm_lost}/{args.notes}",
                          f"added by GuiGen (harmony minus echo): p50 {added[0]:.2f} ms, p99 {added[1]:.2f} ms",
                          f"inside the engine (note-on callback to chord sent): {inside}",
                          f"answer notes on a followed clock ({len(jit)} notes): offset from their tick {stats(jit)}; "
                          f"jitter (offset minus its median) p99 {np.percentile(np.abs(jit_c), 99) if len(jit_c) else np.nan:.2f} ms, "
                          f"std {jit_c.std() if len(jit_c) else np.nan:.2f} ms",
                          "jackd xruns: " + ", ".join(f"{k} {v - xruns[k]}" for k, v in server.xruns().items())
                          + f"; load average now {os.getloadavg()[0]:.1f}"]
                print("\n".join(lines[-8:]), flush=True)
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
        undo()
        server.stop()
    print("\n" + "\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
