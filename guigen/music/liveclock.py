"""Musical time for live play: a clock (our own tempo, or a DAW's MIDI clock followed), the
notes sounding on each channel, and a scheduler thread that sends messages at beats.

Time is kept in beats (quarter notes, floats) and turned into time.perf_counter deadlines only at
the moment of waiting, so a followed clock's tempo changes move what is already scheduled. MIDI
clock is 24 ticks per quarter note; start puts the song at 0, continue resumes, song position
pointer sets it in 16ths (6 ticks each); the tempo is the least-squares slope of the last beat's
tick arrival times (TEMPO_TICKS intervals). The scheduler
waits for absolute deadlines (Condition.wait up to the deadline, woken early by new events or
ticks), never sleeps of durations that add up.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import deque

PPQN = 24  # MIDI clock ticks per quarter note
TICK, START, CONTINUE, STOP, SONG_POSITION = 0xF8, 0xFA, 0xFB, 0xFC, 0xF2
# the tempo: the least-squares slope of the arrival times of the last TEMPO_TICKS + 1 ticks (a beat).
# A transport delivers ticks late by up to a period (JACK: once a period); a slope over n ticks is
# off by at most SLOPE_ERROR(n) x the spread of those delays per tick interval, where an exponential
# average of intervals (weight w) is off by about w x the spread, and follows a tempo change slowly
TEMPO_TICKS = PPQN


def slope_error(n: int) -> float:
    """Worst-case error of a least-squares slope through n + 1 evenly spaced points, per unit of
    spread of their errors: (1/2) sum |k - mean| / sum (k - mean)^2, as a fraction of the spacing."""
    ks = [k - n / 2 for k in range(n + 1)]
    return 0.5 * sum(abs(k) for k in ks) / sum(k * k for k in ks)


CLICK_CHANNEL, CLICK_BAR, CLICK_BEAT = 9, 76, 77  # General MIDI drums: high and low wood block
MAX_WAIT = 0.05  # seconds: a waiting scheduler looks again at least this often (a stop, a new tempo)


class Clock:
    """Beats against time.perf_counter: our own tempo from an origin, or a followed MIDI clock."""

    def __init__(self, qpm: float = 120.0, follow: bool = False, beats_per_bar: int = 4):
        if not 1 <= qpm <= 1000:
            raise ValueError(f"tempo must be 1-1000 quarter notes per minute, not {qpm:g}")
        self.follow, self.beats_per_bar = follow, beats_per_bar
        self.interval = 60.0 / (qpm * PPQN)  # seconds per tick
        self.origin: float | None = None  # our own clock: the time of beat 0
        self.ticks = -1  # a followed clock: ticks since song position 0 at the last tick
        self.tick_time: float | None = None
        self.recent: deque = deque(maxlen=TEMPO_TICKS + 1)  # (tick, arrival time) of the last beat's ticks
        self.running = not follow
        self.listeners: list = []  # called with no arguments after every tick, start, stop or move

    @property
    def qpm(self) -> float:
        return 60.0 / (self.interval * PPQN)

    def set_qpm(self, qpm: float, now: float | None = None) -> None:
        """Change our own tempo, keeping the beat that sounds now where it is."""
        now = time.perf_counter() if now is None else now
        beat = self.beat_at(now) if self.origin is not None else 0.0
        self.interval = 60.0 / (qpm * PPQN)
        if self.origin is not None:
            self.origin = now - beat * 60.0 / qpm

    def start(self, now: float | None = None) -> None:
        """Our own clock: beat 0 is now."""
        self.origin = time.perf_counter() if now is None else now
        self.running = True

    @property
    def ready(self) -> bool:
        """Whether beats can be told: our clock has started, or the followed one has ticked."""
        return self.origin is not None if not self.follow else self.tick_time is not None and self.ticks >= 0

    def beat_at(self, t: float) -> float:
        if not self.follow:
            return (t - (self.origin if self.origin is not None else t)) / (self.interval * PPQN)
        if self.tick_time is None:
            return 0.0
        ahead = min(max(t - self.tick_time, 0.0) / self.interval, 1.0) if self.running else 0.0
        return (max(self.ticks, 0) + ahead) / PPQN  # never past the next tick: the DAW says when it comes

    def time_of(self, beat: float) -> float:
        if not self.follow:
            return (self.origin if self.origin is not None else time.perf_counter()) + beat * self.interval * PPQN
        if self.tick_time is None:
            return float("inf")
        return self.tick_time + (beat * PPQN - self.ticks) * self.interval

    def bar_at_or_after(self, beat: float, align: float) -> float:
        """The first multiple of `align` beats at or after `beat` (a bar line: align = beats_per_bar)."""
        k = -(-round(beat * 1e6) // round(align * 1e6))  # ceil, without float noise at exact lines
        return k * align

    def message(self, data, t: float) -> str | None:
        """Follow a clock or transport message (raw bytes) arriving at t; what it did, or None."""
        status = data[0]
        if status == TICK:
            if not self.running:
                return None
            self.ticks += 1
            dt = t - self.recent[-1][1] if self.recent else self.interval
            if dt > 5 * self.interval:
                self.recent.clear()  # the transport stalled: the line starts again here
            if dt >= 0.2 * self.interval:  # one a doubled or late transport brings on another's heels is no time
                self.recent.append((self.ticks, t))
            if len(self.recent) >= 3:
                self.interval = _slope(self.recent)
            self.tick_time = t
            what = "tick"
        elif status == START:
            self.ticks, self.running, self.tick_time = -1, True, t  # the next tick is beat 0
            self.recent.clear()
            what = "start"
        elif status == CONTINUE:
            self.running = True
            self.recent.clear()  # the time stopped is no tick interval
            what = "continue"
        elif status == STOP:
            self.running = False
            what = "stop"
        elif status == SONG_POSITION and len(data) >= 3:
            self.ticks = (data[1] | data[2] << 7) * 6 - 1  # the next tick is the position
            what = "position"
        else:
            return None
        for listener in self.listeners:
            listener()
        return what


def _slope(points) -> float:
    """Least-squares slope of (tick, time) points: seconds per tick."""
    n = len(points)
    mean_k, mean_t = sum(k for k, _ in points) / n, sum(t for _, t in points) / n
    return sum((k - mean_k) * (t - mean_t) for k, t in points) / sum((k - mean_k) ** 2 for k, _ in points)


class Sounding:
    """The notes sounding on each channel of an output, so every way of stopping can end them.

    send() goes through here; a failing port (a device unplugged) raises MidiError once, and
    every later send is dropped silently, so a stop path never fails half way."""

    def __init__(self, port):
        self.port = port
        self.lock = threading.Lock()
        self.notes: dict[int, set[int]] = {}
        self.used: set[int] = set()  # every channel a note went out on: all-notes-off goes to each
        self.failed: str | None = None

    def send(self, data) -> None:
        with self.lock:
            if self.failed is not None:
                return
            status = data[0] & 0xF0
            channel = data[0] & 0x0F
            try:
                self.port.send(data)
            except Exception as e:
                self.failed = str(e)
                raise
            if status == 0x90 and data[2] > 0:
                self.notes.setdefault(channel, set()).add(data[1])
                self.used.add(channel)
            elif status == 0x80 or status == 0x90:
                self.notes.get(channel, set()).discard(data[1])

    def sounding(self, channel: int) -> set[int]:
        with self.lock:
            return set(self.notes.get(channel, ()))

    def off(self, channel: int, pitches=None) -> None:
        """Note-offs for the given pitches (all sounding on the channel when None)."""
        for p in sorted(self.sounding(channel) if pitches is None else pitches):
            if p in self.sounding(channel):
                self.send([0x80 | channel, p, 0])

    def all_off(self) -> None:
        """A note-off for every note sounding, then all-notes-off (CC 123) on every channel used."""
        with self.lock:
            channels = sorted(self.used | set(self.notes))
        for channel in channels:
            try:
                self.off(channel)
                self.send([0xB0 | channel, 123, 0])
            except Exception:
                return  # the port is gone: nothing more can be sent, and the failure was reported


class Scheduler(threading.Thread):
    """Sends raw messages at beats of a clock, on its own thread. Each event carries a tag, so
    an answer can be cancelled as a whole; `on_send(tag, data, beat)` hears each one sent, and
    `on_error(message)` a failing port (the thread then ends)."""

    def __init__(self, clock: Clock, out: Sounding, on_send=None, on_error=None):
        super().__init__(name="guigen-live-scheduler", daemon=True)
        self.clock, self.out = clock, out
        self.on_send, self.on_error = on_send, on_error
        self.cond = threading.Condition()
        self.queue: list = []  # heap of (beat, order, tag, data)
        self.order = itertools.count()
        self.stopping = False
        self.late: deque = deque(maxlen=100_000)  # (tag, seconds after its deadline) of each message sent
        clock.listeners.append(self.wake)

    def wake(self) -> None:
        with self.cond:
            self.cond.notify()

    def at(self, beat: float, data, tag: str = "") -> None:
        with self.cond:
            heapq.heappush(self.queue, (beat, next(self.order), tag, list(data)))
            self.cond.notify()

    def now(self, messages, tag: str = "now") -> None:
        """Send these at once, in order, ahead of everything scheduled: for a thread that should
        not send itself (JACK's process thread, held no longer than it must)."""
        with self.cond:
            for data in messages:
                heapq.heappush(self.queue, (-1e12, next(self.order), tag, list(data)))
            self.cond.notify()

    def cancel(self, tag: str) -> None:
        with self.cond:
            self.queue = [e for e in self.queue if e[2] != tag]
            heapq.heapify(self.queue)

    def pending(self, tag: str) -> int:
        with self.cond:
            return sum(1 for e in self.queue if e[2] == tag)

    def stop(self) -> None:
        with self.cond:
            self.stopping = True
            self.queue.clear()
            self.cond.notify()

    def run(self) -> None:
        while True:
            with self.cond:
                while True:
                    if self.stopping:
                        return
                    if self.queue and (self.queue[0][0] == -1e12 or self.clock.running and self.clock.ready):
                        beat = self.queue[0][0]
                        wait = -0.0 if beat == -1e12 else self.clock.time_of(beat) - time.perf_counter()
                        if wait <= 0:
                            beat, _, tag, data = heapq.heappop(self.queue)
                            self.late.append((tag, -wait))
                            try:  # sent holding the lock: once cancel() returns, nothing it took out can still go
                                self.out.send(data)
                            except Exception as e:
                                if self.on_error is not None:
                                    self.on_error(str(e))
                                return
                            break
                        self.cond.wait(min(wait, MAX_WAIT))
                    else:
                        self.cond.wait(MAX_WAIT)
            if self.on_send is not None:
                self.on_send(tag, data, beat)
