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
    inside = (summary.split("harmony latency ")[-1].split(";")[0].strip() if "harmony latency" in summary
              else f"not reported (its last words: {summary.strip().splitlines()[-1:]})")
    return lat, lost, inside


def jitter_run(env, rounds: int, tmp: Path, qpm: float = 240.0, realtime: bool = False):
    """Answers on a followed clock: each answer note-on's arrival minus its step's tick, the time
    that tick was sent and the time the DAW meant it (its deadline); how late the DAW's ticks left
    (realtime: its clock thread with real-time scheduling, as a DAW's audio thread has); and
    GuiGen's own figure for how late its scheduler sent the notes."""
    out = tmp / f"answer-{time.monotonic_ns()}.mid"
    proc = start([sys.executable, "-m", "guigen", "live", "-m", "bach-chorales", "--virtual", "--mode", "answer",
                  "--clock", "follow", "--bars", "2", "--seed", "1", "-o", str(out)], env, "listening on")
    sent, meant = [], []
    try:
        keys, ears = Keyboard(), Listener()
        daw = ClockSender(keys, qpm, time.perf_counter() + 0.3, realtime=realtime)
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
                sent.append((t - ticks[k6]) * 1000)
                meant.append((t - daw.tick_time(k6)) * 1000)
        sender = (ticks - daw.tick_time(np.arange(len(ticks)))) * 1000
        keys.close()
        ears.close()
    finally:
        summary = stop(proc)
    late = summary.split("sent after their time: ")[-1].strip() if "sent after their time" in summary else "not reported"
    return sent, meant, sender, daw.realtime, late


def master_run(env, rounds: int, tmp: Path, qpm: float = 240.0):
    """GuiGen as the master (--clock send): how its ticks arrive (each tick's arrival minus the
    least-squares line through all of them: the clock's own jitter), and each answer note-on's
    arrival minus its step's tick's arrival."""
    out = tmp / f"master-{time.monotonic_ns()}.mid"
    proc = start([sys.executable, "-m", "guigen", "live", "-m", "bach-chorales", "--virtual", "--mode", "answer",
                  "--clock", "send", "--qpm", f"{qpm:g}", "--bars", "2", "--seed", "1", "-o", str(out)], env,
                 "listening on")
    try:
        keys, ears = Keyboard(), Listener()
        # GuiGen starts its clock as it opens its ports: the ticks heard so far say where its beats are
        ears.wait_for(lambda m: sum(1 for _, x in m if x[0] == 0xF8) >= 48, timeout=10)
        interval = 60.0 / (qpm * 24)
        with ears.cond:
            first = next(t for t, x in ears.messages if x[0] == 0xF8)
            heard = sum(1 for _, x in ears.messages if x[0] == 0xF8)
        beat = float(np.ceil(heard / 24 / 4) * 4 + 4)  # a bar line ahead
        for _ in range(rounds):
            for i, p in enumerate([67, 65, 64, 62]):
                wait_until(first + (beat + i) * 24 * interval)
                keys.on(p)
                wait_until(first + (beat + i + 0.8) * 24 * interval)
                keys.off(p)
            beat += 4 + 4 + 8
            wait_until(first + beat * 24 * interval)
        with ears.cond:
            ticks = np.asarray([t for t, x in ears.messages if x[0] == 0xF8])
        k = np.arange(len(ticks))
        line = np.polyval(np.polyfit(k, ticks, 1), k)
        tick_jitter = (ticks - line) * 1000
        # the ticks of 16th steps: our first tick heard need not be one; the answers' nearest ticks say which are
        ons = [t for t, _ in ears.note_ons()]
        nearest = [int(np.argmin(np.abs(ticks - t))) for t in ons]
        phase = np.bincount(np.asarray(nearest) % 6, minlength=6).argmax() if nearest else 0
        offsets = []
        for t, j in zip(ons, nearest):
            j6 = phase + round((j - phase) / 6) * 6
            if 0 <= j6 < len(ticks):
                offsets.append((t - ticks[j6]) * 1000)
        keys.close()
        ears.close()
    finally:
        summary = stop(proc)
    late = summary.split("sent after their time: ")[-1].strip() if "sent after their time" in summary else "not reported"
    return tick_jitter, offsets, late


def spread(ms) -> str:
    """p99 of |x - median| and the standard deviation: a jitter."""
    ms = np.asarray(ms)
    if not len(ms):
        return "no data"
    return f"p99 {np.percentile(np.abs(ms - np.median(ms)), 99):.2f} ms, std {ms.std():.2f} ms"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notes", type=int, default=1000, help="notes per latency run (default 1000)")
    ap.add_argument("--rounds", type=int, default=4, help="call-and-answer rounds per jitter run (default 4)")
    ap.add_argument("--period", type=int, default=64, help="JACK period in frames at 48 kHz (default 64: 1.3 ms)")
    ap.add_argument("--jack-mode", choices=("async", "sync"), default="async",
                    help="async (jackd2's default, as the tests' server; default) or sync (-S -t 2000), to compare")
    ap.add_argument("--parts", default="latency,follow,send",
                    help="what to measure, comma-separated: latency (echo and harmonizer), follow (answers on a "
                         "followed clock), send (GuiGen as the clock's master); default all three")
    ap.add_argument("--busy", default="0,1", help="runs beside these numbers of busy processes (default 0,1)")
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    import tempfile

    server = JackServer(f"guigen-bench-{os.getpid()}", period=args.period,
                        flags=JackServer.SYNC if args.jack_mode == "sync" else None)
    why = server.start()
    if why:
        raise SystemExit(f"JACK cannot start: {why}")
    undo = use_jack(server)
    env = {**os.environ, **server.env, "PYTHONPATH": str(ROOT)}
    busy = []
    lines = [f"JACK dummy backend, {args.jack_mode}, 48 kHz, {args.period}-frame period ({args.period / 48:.2f} ms), "
             f"{'real-time' if server.flags == JackServer.FLAGS else 'no real-time'}; {os.cpu_count()} CPUs; "
             f"load average at start {os.getloadavg()[0]:.1f}"]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n_busy in (int(b) for b in args.busy.split(",")):
                while len(busy) < n_busy:
                    busy.append(subprocess.Popen([sys.executable, "-c", "while True: pass"]))
                label = "idle" if not n_busy else f"beside {n_busy} busy process{'es' if n_busy > 1 else ''}"
                xruns = server.xruns()
                first = len(lines)
                lines.append(f"## {label}")
                if "latency" in parts:
                    echo, echo_lost = echo_run(env, args.notes)
                    harm, harm_lost, inside = harmonize_run(env, args.notes, Path(tmp))
                    added = (np.percentile(harm, [50, 99]) - np.percentile(echo, [50, 99]) if echo and harm
                             else [np.nan] * 2)
                    lines += [f"echo (JACK's round trip, the reference): {stats(echo)}; lost {echo_lost}/{args.notes}",
                              f"note-in to harmony-out (chord's last note-on): {stats(harm)}; lost {harm_lost}/{args.notes}",
                              f"added by GuiGen (harmony minus echo): p50 {added[0]:.2f} ms, p99 {added[1]:.2f} ms",
                              f"inside the engine (note-on callback to chord sent): {inside}"]
                if "follow" in parts:
                    for rt in (False, True):
                        sent, meant, sender, got_rt, late = jitter_run(env, args.rounds, Path(tmp), realtime=rt)
                        who = "real-time" if got_rt else ("normal, real-time refused" if rt else "normal")
                        lines += [f"followed clock, the DAW's clock thread {who} ({len(sent)} answer notes):",
                                  f"  the DAW's ticks left after their deadline: {stats(sender)}",
                                  f"  answer note-on minus its tick's send time: {stats(sent)}; jitter {spread(sent)}",
                                  f"  answer note-on minus its tick's deadline:  {stats(meant)}; jitter {spread(meant)}",
                                  f"  GuiGen's scheduler, sent after their time: {late}"]
                if "send" in parts:
                    tick_jitter, offsets, late = master_run(env, args.rounds, Path(tmp))
                    lines += [f"GuiGen as master (--clock send, 240 qpm; {len(tick_jitter)} ticks, {len(offsets)} answer notes):",
                              f"  tick arrival minus the line through all of them: jitter {spread(tick_jitter)}",
                              f"  answer note-on minus its step's tick's arrival: {stats(offsets)}; jitter {spread(offsets)}",
                              f"  GuiGen's scheduler, sent after their time: {late}"]
                lines.append("jackd xruns: " + ", ".join(f"{k} {v - xruns[k]}" for k, v in server.xruns().items())
                             + f"; load average now {os.getloadavg()[0]:.1f}")
                print("\n".join(lines[first:]), flush=True)
    finally:
        for b in busy:
            b.kill()
            b.wait()
        undo()
        server.stop()
    print("\n" + "\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
