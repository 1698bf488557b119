"""Musical time for live play: a clock (our own tempo, or a DAW's MIDI clock followed), the
notes sounding on each channel, and a scheduler thread that sends messages at beats.

Time is kept in beats (quarter notes, floats) and turned into time.perf_counter deadlines only at
the moment of waiting, so a followed clock's tempo changes move what is already scheduled. MIDI
clock is 24 ticks per quarter note; start puts the song at 0, continue resumes, song position
pointer sets it in 16ths (6 ticks each); the tempo is the least-squares slope of the last beat's
tick arrival times (TEMPO_TICKS intervals), and beats are told from that line. The scheduler
waits for absolute deadlines (Condition.wait up to the deadline, woken early by new events or
ticks), never sleeps of durations that add up; the MIDI input's thread (real-time where allowed)
also sends what is due each time it looks at its port (send_due). As master it makes the clock's
ticks itself, each at its own beat (send_clock).
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
            self.tick_time = t
            if len(self.recent) >= 3:
                self.interval, self.tick_time = _line(self.recent, self.ticks)
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
            self.recent.clear()  # ticks counted before it are on another line
            what = "position"
        else:
            return None
        for listener in self.listeners:
            listener()
        return what


def _slope(points) -> float:
    """Least-squares slope of (tick, time) points: seconds per tick."""
    return _line(points, 0)[0]


def _line(points, k: int) -> tuple[float, float]:
    """The least-squares line through (tick, time) points: its slope (seconds per tick) and its
    time at tick k. Beats are told from the line's time of the last tick, not its arrival: a
    tick delivered late (JACK hands MIDI over once a period; a loaded machine later still)
    then moves the notes scheduled after it by 1/n of its lateness, not all of it."""
    n = len(points)
    mean_k, mean_t = sum(p[0] for p in points) / n, sum(p[1] for p in points) / n
    slope = sum((p[0] - mean_k) * (p[1] - mean_t) for p in points) / sum((p[0] - mean_k) ** 2 for p in points)
    return slope, mean_t + slope * (k - mean_k)


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
        self.tick_from: float | None = None  # clock master: the beat of tick 0 (send_clock), else None
        self.ticks_sent = 0
        clock.listeners.append(self.wake)

    def send_clock(self, beat: float) -> None:
        """As the clock's master: a tick every 1/PPQN beat from `beat` on, until stop(), each due
        at its own beat (tick k at beat + k / PPQN: no drift). Ticks are not queued ahead by
        anyone: a model thread busy sampling an answer cannot hold them up."""
        with self.cond:
            self.tick_from, self.ticks_sent = beat, 0
            self.cond.notify()

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

    def _tick_first(self) -> bool:
        """Whether the next clock tick goes before the queue's first event (at the same beat, a
        tick goes first, but not before the start message queued there). Holding cond."""
        if self.tick_from is None:
            return False
        if not self.queue:
            return True
        beat, _, tag, _ = self.queue[0]
        tick = self.tick_from + self.ticks_sent / PPQN
        return tick < beat or (tick == beat and tag != "clock")

    def _due(self, now: float) -> float:
        """Seconds until the first event is due (<= 0: due now; inf: nothing can be told yet). Holding cond."""
        if not self.queue and self.tick_from is None:
            return float("inf")
        tick = self._tick_first()
        beat = self.tick_from + self.ticks_sent / PPQN if tick else self.queue[0][0]
        if beat == -1e12:
            return -0.0
        if not (self.clock.running and self.clock.ready):
            return float("inf")
        return self.clock.time_of(beat) - now

    def _send_first(self, wait: float):
        """Send the first event (due `wait` seconds from now, <= 0); (tag, data, beat), or None where
        the port failed. Holding cond: once cancel() returns, nothing it took out can still go."""
        if self._tick_first():
            beat, tag, data = self.tick_from + self.ticks_sent / PPQN, "clock", [TICK]
            self.ticks_sent += 1
        else:
            beat, _, tag, data = heapq.heappop(self.queue)
        self.late.append((tag, -wait))
        try:
            self.out.send(data)
        except Exception as e:
            self.stopping = True
            if self.on_error is not None:
                self.on_error(str(e))
            return None
        return tag, data, beat

    def send_due(self) -> None:
        """Send whatever is due now, from the calling thread: the MIDI input's Poller calls this
        after each look at its queue (every 0.5 ms, and on each clock tick as it arrives), so
        with real-time scheduling (ports.Poller) notes and clock ticks leave from a thread a busy
        process cannot hold up; this thread's own wait is the fallback."""
        sent = []
        with self.cond:
            while not self.stopping and (wait := self._due(time.perf_counter())) <= 0:
                got = self._send_first(wait)
                if got is None:
                    break
                sent.append(got)
        if self.on_send is not None:
            for tag, data, beat in sent:
                self.on_send(tag, data, beat)

    def run(self) -> None:
        while True:
            with self.cond:
                while True:
                    if self.stopping:
                        return
                    wait = self._due(time.perf_counter())
                    if wait <= 0:
                        got = self._send_first(wait)
                        if got is None:
                            return
                        tag, data, beat = got
                        break
                    self.cond.wait(min(wait, MAX_WAIT))
            if self.on_send is not None:
                self.on_send(tag, data, beat)
