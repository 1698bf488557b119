"""The live engine: a MIDI keyboard in, the model out, in three modes (Qt-free).

- harmonize: every note played becomes the soprano of a polyphony model's four-part chord,
  decided and sent on the MIDI input's own thread (its Poller, never JACK's process thread:
  guigen.music.ports) the moment the note arrives (guigen.music.liveharmony); the chord ends
  with the key.
- answer: call and response. After `silence` beats with no key down (default one bar), the
  model continues the whole conversation so far (every call and every answer, on the 16th
  grid) for `bars` bars (default the call's length), starting on the next beat (on the next bar
  line when a clock is followed or sent). A note played during an answer cuts it short and the
  model forgets what it had not yet played. Any melody or polyphony model.
- record: a count-in and a metronome click, then the notes played, put on the 16th grid with
  `quantise` strength (0 as played, 1 exactly on it): a primer.

Threads: the MIDI input's (the harmonizer, clock messages; in the other modes it only queues
notes, as with JACK it is the process thread, which must never wait; it also sends what the
scheduler has due, every 0.5 ms), an input thread for those notes, a scheduler that sends at
beats (guigen.music.liveclock), and a model thread that feeds the model the 16th steps as they
pass and samples answers a step at a time, releasing the lock between steps. Every note-on
sent is kept in a Sounding set per channel, so stop() (Ctrl-C, a model switch, a lost port)
ends them all and sends all-notes-off on every channel used. The session (what the player
played and what the model answered, as two named parts) is always there: sequence() and
write().
"""

from __future__ import annotations

import gc
import math
import queue
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from guigen.core.generate import MASKED, Generator
from guigen.core.sampling import SamplingSettings, distributions, draw
from guigen.music import polyphony
from guigen.music.events import STEPS_PER_QUARTER, Note, NoteSequence, Voice, remove_overlaps
from guigen.music.liveclock import CLICK_BAR, CLICK_BEAT, CLICK_CHANNEL, START, STOP, Clock, Scheduler, Sounding

MODES = ("answer", "harmonize", "record")
CLOCKS = ("none", "follow", "send")
FINE = 96  # steps per quarter of the session's own record: what was heard, to 1/96 of a beat
# empty steps of a silence fed to the model: the silence that ends a call is the player's signal,
# not music, and a model fed a bar of it answers with more silence; longer silences are shortened
MAX_REST_STEPS = STEPS_PER_QUARTER
MAX_ANSWER_BARS = 64
MAX_NOTES_PER_STEP = 16  # as guigen.music.generate: no runaway chords
SWITCH_INTERVAL = 0.0005  # seconds a thread runs before it must hand over the GIL (Python's default: 0.005)
PORT_CHECK = 1.0  # seconds between looks for a vanished port (listing ports is not free)
PLAYER, MODEL = 0, 1  # voices of the session's sequence
_frozen = {"sessions": 0, "before": 0}  # sessions running; objects frozen before the first (see _freeze)
_frozen_lock = threading.Lock()


def _freeze(on: bool) -> None:
    """While a session runs, Python's cyclic garbage collector leaves alone every object there
    was when it started (gc.freeze): a full collection walks them all (torch, the model, Qt: some
    200,000 objects), 0.1-0.3 s with every thread stopped, which came mid-session now and then
    and made an answer start a beat late (a test failing 1 run in 20 beside busy processes) or
    a chord leave that late. Objects made during the session are collected as usual.

    What is garbage at the start is collected first; that collection walks only what is not
    frozen yet: in the app, which freezes its startup objects once a model is in (main_window),
    a few ms; in the command line 0.1-0.3 s, before it says it is listening. The frozen objects
    go back to the collector when the last session ends, unless objects were frozen before the
    first began (the app's): gc.unfreeze cannot tell whose they are, and giving the app's back
    made every later Start's collection walk them again (0.2 s on the click) and the GUI's
    collections too. In the app, then, what a session froze stays frozen (only cyclic garbage
    among it is kept: an object whose last reference goes is freed whether frozen or not)."""
    with _frozen_lock:
        if on:
            if _frozen["sessions"] == 0:
                _frozen["before"] = gc.get_freeze_count()
            _frozen["sessions"] += 1
            gc.collect()
            gc.freeze()
        else:
            _frozen["sessions"] -= 1
            if _frozen["sessions"] == 0 and not _frozen["before"]:
                gc.unfreeze()


@dataclass
class LiveOptions:
    mode: str = "answer"
    bars: int | None = None  # answer length in bars; None: the call's, rounded up
    silence: float | None = None  # beats without a key down that end a call; None: one bar
    clock: str = "none"  # none: our own tempo; follow: a DAW's MIDI clock; send: we are the master
    qpm: float = 120.0
    key: int = 0  # pitch class the player plays in (0 = C), moved to a one-key model's key
    channel: int = 0  # MIDI channel (0-15) of the model's notes
    quantise: float = 1.0  # record: 0 = as played, 1 = exactly on the 16th grid
    count_in: int = 1  # record: bars of clicks before recording starts
    click: bool = True  # record: a metronome click while recording (not while following a clock)
    metre: tuple[int, int] = (4, 4)  # bars, the silence rule, count-in, click and clock bar lines follow it
    seed: int | None = None

    @property
    def beats_per_bar(self) -> float:
        """Quarter notes (the session's beats) in a bar: 3 in 3/4, 3 in 6/8, 2.5 in 5/8."""
        return self.metre[0] * 4 / self.metre[1]

    @property
    def pulse(self) -> float:
        """Quarter notes between the metre's beats (its denominator's note): the click's pulse."""
        return 4 / self.metre[1]

    def check(self) -> LiveOptions:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if self.clock not in CLOCKS:
            raise ValueError(f"clock must be one of {', '.join(CLOCKS)}, not {self.clock!r}")
        if self.bars is not None and not 1 <= self.bars <= MAX_ANSWER_BARS:
            raise ValueError(f"--bars must be 1-{MAX_ANSWER_BARS}, not {self.bars}")
        if self.silence is not None and not 0.25 <= self.silence <= 64:
            raise ValueError(f"--silence must be 0.25-64 beats, not {self.silence:g}")
        if not 1 <= self.qpm <= 1000:
            raise ValueError(f"--qpm must be 1-1000, not {self.qpm:g}")
        if not 0 <= self.quantise <= 1:
            raise ValueError(f"--quantise must be 0-1, not {self.quantise:g}")
        if not 0 <= self.channel <= 15:
            raise ValueError(f"the output channel must be 1-16, not {self.channel + 1}")
        num, den = self.metre
        if not (1 <= num <= 32 and den in (1, 2, 4, 8, 16)):
            raise ValueError(f"--metre must be N/D with N 1-32 and D 1, 2, 4, 8 or 16, not {num}/{den}")
        if not 0 <= self.count_in <= 8:
            raise ValueError(f"--count-in must be 0-8 bars, not {self.count_in}")
        return self


@dataclass
class HeardNote:
    """A note of the session as it was heard: beats on the session's clock; end None while it sounds."""

    pitch: int
    velocity: int
    start: float
    end: float | None = None
    prob: float = 1.0  # the model's notes: probability of the event that struck it
    cut: bool = False  # an answer note the model forgets (its answer was cut short before it)


@dataclass
class _Answer:
    start: int  # first step
    end: int  # step after the last
    snapshots: dict = field(default_factory=dict, repr=False)  # step -> generator state before it
    cut_at: int | None = None  # a note played: the step the answer stops at


class LiveSession:
    def __init__(self, model, options: LiveOptions, settings: SamplingSettings | None = None, inport=None,
                 outport=None, virtual: bool = False, on_message=None):
        """inport/outport: port names as listed (see guigen.music.ports.find_port), or None with
        virtual=True (GuiGen's own ports). on_message(str): a line for the player (a status bar, stderr)."""
        self.options = options.check()
        self.settings = settings or SamplingSettings()
        self.model = model
        self.say = on_message or (lambda line: print(line, file=sys.stderr))
        self.inport_name, self.outport_name, self.virtual = inport, outport, virtual
        self.lock = threading.RLock()
        self.activity = threading.Event()  # wakes the model thread early: a note came or went
        self.stopping = threading.Event()
        self.done = threading.Event()  # the session has ended, or must (a lost port): call stop()
        self.error: str | None = None
        self.played: list[HeardNote] = []
        self.answered: list[HeardNote] = []
        self.keys: dict[int, HeardNote] = {}  # pitch -> the player's note held down
        self.last_distribution = None  # (probs, raw, token, entropy) of the model's latest event
        self.distributions: deque = deque(maxlen=256)  # (beat it sounds at, distribution) of the model's events
        self.latencies: list[float] = []  # harmonize: seconds from a note-on's arrival to its chord sent
        o = self.options
        self.clock = Clock(o.qpm, follow=o.clock == "follow", beats_per_bar=o.beats_per_bar)
        self.silence = o.silence if o.silence is not None else float(o.beats_per_bar)
        self.align = 1.0 if o.clock == "none" else float(o.beats_per_bar)
        self._setup_model(model)
        self.inp = self.out = self.sounding = self.scheduler = self.thread = self.input_thread = None
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()  # (bytes, time) from the input, for the input thread
        self.started = False

    # -- model ------------------------------------------------------------------------------------
    def _setup_model(self, model) -> None:
        """The model's side for the mode: a harmonizer, or a generator fed the conversation."""
        o = self.options
        self.model, self.codec = model, getattr(model, "codec", None)
        self.harmonizer = self.gen = None
        self.chord: set[int] = set()  # harmonize: the pitches of the chord sounding (sent or on their way)
        self.fed = 0  # session steps the model has been given
        self.rest_run = 0
        self.answer: _Answer | None = None
        self.call: tuple[float, float] | None = None  # (first note-on, last note-off) of the call being played
        if o.mode == "record" or model is None:
            self.shift = 0
            return
        kind = getattr(self.codec, "name", "")
        if kind not in ("melody", "polyphony"):
            raise ValueError(f"{model.name or 'this model'} is a {model.kind} model; live play needs a melody or "
                             "polyphony model")
        key = getattr(self.codec, "key", None)
        self.shift = 0 if key is None else min(((key - o.key) % 12, (key - o.key) % 12 - 12), key=abs)
        self._first_notes = np.zeros(self.codec.num_classes, dtype=bool)  # the events that strike a note
        self._first_notes[polyphony.NEW_NOTE:polyphony.CONTINUED_NOTE] = kind == "polyphony"
        self._first_notes[2:] |= kind == "melody"  # NOTE_ON(pitch) ids follow NO_EVENT and NOTE_OFF
        if o.mode == "harmonize":
            from guigen.music.liveharmony import LiveHarmonizer

            self.harmonizer = LiveHarmonizer(model, self.settings, o.seed, self.shift)
        else:
            self.gen = Generator(model, self.settings, o.seed, batch=1, undo_depth=0)
            if kind == "polyphony":
                self.gen.feed([polyphony.START])

    def set_settings(self, settings: SamplingSettings) -> None:
        """Temperature, top-k, top-p: they apply from the model's next event on, also mid-answer."""
        with self.lock:
            self.settings = settings
            if self.harmonizer is not None:
                self.harmonizer.set_settings(settings)
            if self.gen is not None:
                self.gen.settings = settings

    def set_model(self, model) -> None:
        """Switch models mid-session: what the model was playing stops (note-offs sent), the new
        one hears the conversation so far from the start."""
        with self.lock:
            if self.answer is not None:
                self.answer.cut_at = self.answer.start  # the old model's answer stops here
            if self.scheduler is not None:
                self.scheduler.cancel("answer")
                self.scheduler.cancel("now")
            if self.sounding is not None:
                self.sounding.off(self.options.channel)
            self._close_model_notes(self._beat_now())
            self._setup_model(model)

    # -- ports and threads ---------------------------------------------------------------------
    def start(self) -> None:
        from guigen.music import ports

        o = self.options
        # the MIDI input's thread needs the GIL at once: by default a thread waits up to 5 ms for
        # it while another runs Python (the model thread), longer than a JACK period
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
        _freeze(True)
        try:
            self._open_and_start(ports)
        except Exception:
            _freeze(False)
            raise

    def _open_and_start(self, ports) -> None:
        o = self.options
        self.out = ports.LiveOutput(self.outport_name, virtual=self.virtual)
        self.sounding = Sounding(self.out)
        self.scheduler = Scheduler(self.clock, self.sounding, on_error=self.fail)
        now = time.perf_counter()
        if o.clock == "send" or o.mode == "record":
            lead = o.count_in * o.beats_per_bar if o.mode == "record" and o.clock != "follow" else 0
            if o.clock != "follow":
                self.clock.start(now + 0.05 + lead * 60.0 / o.qpm)  # beat 0 after the count-in
            if o.clock == "send":
                self.scheduler.at(-lead, [START], "clock")
                self.scheduler.send_clock(-lead)
        self.ticks_until = -(o.count_in * o.beats_per_bar if o.mode == "record" else 0)
        self.scheduler.start()
        try:
            self.inp = ports.LiveInput(self.inport_name, self._input, virtual=self.virtual,
                                       after=self.scheduler.send_due)
        except Exception:
            self.scheduler.stop()
            self.out.close()
            raise
        self.thread = threading.Thread(target=self._run, name="guigen-live-model", daemon=True)
        self.input_thread = threading.Thread(target=self._drain, name="guigen-live-input", daemon=True)
        self.started = True
        self.thread.start()
        self.input_thread.start()

    def fail(self, message: str) -> None:
        """A port failed or vanished: one message, and the session ends (the caller calls stop())."""
        if self.error is None:
            self.error = message
        self.stopping.set()
        self.done.set()
        self.activity.set()

    def stop(self) -> None:
        """End the session: no more input, nothing scheduled, every note ended (all-notes-off
        on every channel used), ports closed. Safe to call twice and from any thread but the
        engine's own."""
        with self.lock:
            if not self.started:
                return
            self.started = False
        self.stopping.set()
        self.activity.set()
        if self.inp is not None:
            self.inp.close()  # first: no callback may send after the notes are ended
        if self.scheduler is not None:
            self.scheduler.stop()
            self.scheduler.join(2.0)
        for thread in (self.thread, self.input_thread):
            if thread is not None and thread is not threading.current_thread():
                thread.join(2.0)
        while True:  # what came in just before the end still belongs to the session
            try:
                self._note(*self.inbox.get_nowait())
            except queue.Empty:
                break
        with self.lock:
            if self.options.clock == "send":
                try:
                    self.sounding.send([STOP])
                except Exception:
                    pass
            self.sounding.all_off()
            beat = self._beat_now()
            self._close_model_notes(beat)
            for note in self.keys.values():
                note.end = beat
            self.keys.clear()
        self.out.close()
        _freeze(False)
        self.done.set()

    def _beat_now(self) -> float:
        return self.clock.beat_at(time.perf_counter()) if self.clock.ready else 0.0

    def _close_model_notes(self, beat: float) -> None:
        for n in self.answered:
            if n.end is None:
                n.end = max(beat, n.start)

    # -- input (the MIDI system's thread) ---------------------------------------------------------
    def _input(self, data, t: float) -> None:
        if self.stopping.is_set() or not data:
            return
        status = data[0]
        if status >= 0xF0:
            if self.clock.follow:
                what = self.clock.message(data, t)
                if what == "stop":
                    self._transport_stopped()
                elif what in ("start", "continue", "position"):
                    self.activity.set()
            return
        if self.options.mode != "harmonize":
            # this thread may be the MIDI system's own (JACK's process thread): never wait on the
            # model here, or the system drops what comes next; the input thread takes it from here
            self.inbox.put((data, t))
            return
        self._note(data, t)

    def _note(self, data, t: float) -> None:
        kind = data[0] & 0xF0
        try:
            if kind == 0x90 and len(data) > 2 and data[2] > 0:
                self._note_on(data[1], data[2], t)
            elif kind in (0x80, 0x90) and len(data) > 2:
                self._note_off(data[1], t)
        except Exception as e:  # a port gone while sending: one message, the session ends
            self.fail(str(e))

    def _drain(self) -> None:
        """The input thread (answer and record modes): notes as they came, with their arrival times."""
        while not self.stopping.is_set():
            try:
                data, t = self.inbox.get(timeout=0.1)
            except queue.Empty:
                continue
            if data is not None:
                self._note(data, t)

    def _note_on(self, pitch: int, velocity: int, t: float) -> None:
        with self.lock:
            if not self.clock.ready and not self.clock.follow:
                self.clock.start(t)  # our own clock: beat 0 is the first note played
            beat = self.clock.beat_at(t)
            if pitch in self.keys:  # a key struck again without a note-off between
                self.keys[pitch].end = beat
            note = HeardNote(pitch, velocity, beat)
            self.played.append(note)
            self.keys[pitch] = note
            mode = self.options.mode
            if mode == "harmonize":
                self._harmonize(pitch, velocity, beat, t)
            elif mode == "answer":
                if self.answer is not None:
                    self._cut_answer(beat)
                if self.call is None:
                    self.call = (beat, beat)
        self.activity.set()

    def _note_off(self, pitch: int, t: float) -> None:
        with self.lock:
            note = self.keys.pop(pitch, None)
            if note is None:
                return
            beat = self.clock.beat_at(t)
            note.end = max(beat, note.start)
            if self.options.mode == "harmonize" and self.harmonizer is not None and self.harmonizer.melody is not None \
                    and self.harmonizer.model_pitch(pitch) == self.harmonizer.melody:
                ch = self.options.channel
                for p in sorted(self.chord):
                    self.sounding.send([0x80 | ch, p, 0])
                self.chord = set()
                self.harmonizer.release()
                self._close_model_notes(beat)
            if self.call is not None:
                self.call = (self.call[0], max(self.call[1], beat))
        self.activity.set()

    def _transport_stopped(self) -> None:
        """The DAW stopped: what the model plays stops with it."""
        with self.lock:
            if self.scheduler is not None:
                self.scheduler.cancel("answer")
            if self.answer is not None:
                self._cut_answer(self._beat_now())
            if self.sounding is not None:
                self.sounding.off(self.options.channel)
            self._close_model_notes(self._beat_now())

    # -- harmonize -------------------------------------------------------------------------------
    def _harmonize(self, pitch: int, velocity: int, beat: float, arrived: float) -> None:
        h = self.harmonizer
        if h is None:
            return
        step = max(math.floor(beat * STEPS_PER_QUARTER), self.fed)
        while self.fed < step:
            h.pass_step()
            self.fed += 1
        lower, prob = h.strike(pitch)
        ch = self.options.channel
        chord = [pitch] + [p for p, _ in lower]
        sounding = self.chord
        struck = {pitch} | {p for p, new in lower if new or p not in sounding}
        offs = [p for p in sounding if p not in chord or p in struck]
        # sent from this thread (the input's Poller, never JACK's own), before the step's last
        # events are fed: handing the chord to the scheduler's thread cost a thread switch more
        for data in [[0x80 | ch, p, 0] for p in offs] + [[0x90 | ch, p, velocity] for p in chord if p in struck]:
            self.sounding.send(data)
        self.latencies.append(time.perf_counter() - arrived)
        self.chord = set(chord)
        h.finish()  # the step's last events, after the notes have left
        self.fed = step + 1
        for n in self.answered:
            if n.end is None and n.pitch in offs:
                n.end = beat
        each = prob ** (1 / max(len(lower), 1))
        self.answered += [HeardNote(p, velocity, beat, prob=1.0 if p == pitch else each) for p in chord if p in struck]
        self.last_distribution = h.last
        self.distributions.append((beat, h.last))

    # -- the model thread --------------------------------------------------------------------------
    def _run(self) -> None:
        o = self.options
        last_check = time.perf_counter()
        try:
            while not self.stopping.is_set():
                now = time.perf_counter()
                if not self.virtual and now - last_check > PORT_CHECK:
                    last_check = now
                    self._check_ports()
                wait = 0.05
                if self.clock.ready and self.clock.running:
                    beat = self.clock.beat_at(now)
                    self._keep_ahead(beat)
                    if o.mode == "harmonize":
                        with self.lock:
                            step = math.floor(beat * STEPS_PER_QUARTER)
                            while self.fed < step and self.harmonizer is not None:
                                self.harmonizer.pass_step()
                                self.fed += 1
                    elif o.mode == "answer":
                        start = None
                        with self.lock:
                            self._sync(math.floor(beat * STEPS_PER_QUARTER - 0.5))
                            start, due = self._answer_due(beat)
                        if start is not None:
                            self._play_answer(start)
                            continue
                        if due is not None:
                            wait = min(wait, max(self.clock.time_of(due) - time.perf_counter(), 0.0))
                    nxt = (math.floor(beat * STEPS_PER_QUARTER) + 1) / STEPS_PER_QUARTER
                    wait = min(wait, max(self.clock.time_of(nxt) - time.perf_counter(), 0.0) + 0.001)
                self.activity.wait(wait)
                self.activity.clear()
        except Exception as e:  # a bug must end the session cleanly, never leave notes hanging
            self.fail(f"the live engine stopped: {type(e).__name__}: {e}")

    def _check_ports(self) -> None:
        try:
            gone = [f"input {self.inport_name!r}"] if self.inport_name not in self.inp.names() else []
            gone += [f"output {self.outport_name!r}"] if self.outport_name not in self.out.names() else []
        except Exception as e:
            gone = [f"MIDI system ({e})"]
        if gone:
            self.fail(f"MIDI {' and '.join(gone)} went away; session stopped")

    def _keep_ahead(self, beat: float) -> None:
        """Metronome clicks (one per beat of the metre, its bar's first accented), scheduled a beat
        ahead. (Clock ticks, as master, the scheduler makes itself: Scheduler.send_clock.)"""
        o = self.options
        if not (o.mode == "record" and o.click and o.clock != "follow"):
            return
        while self.ticks_until < beat + 1:
            b = self.ticks_until
            note = CLICK_BAR if round(b / o.pulse) % o.metre[0] == 0 else CLICK_BEAT
            self.scheduler.at(b, [0x90 | CLICK_CHANNEL, note, 100], "click")
            self.scheduler.at(b + o.pulse / 4, [0x80 | CLICK_CHANNEL, note, 0], "click")
            self.ticks_until += o.pulse

    # -- answers -----------------------------------------------------------------------------------
    def _answer_due(self, beat: float):
        """(first beat of an answer to play now, None) once the silence rule holds, else (None,
        the beat at which it would hold, if no key is down)."""
        if self.answer is not None:
            if beat * STEPS_PER_QUARTER >= self.answer.end:
                self.answer = None
            return None, None
        if self.call is None or self.keys:
            return None, None
        first, last = self.call
        due = last + self.silence
        if beat < due:
            return None, due
        start = self.clock.bar_at_or_after(max(due, beat), self.align)
        return start, None

    def _grid_notes(self, lo: int, hi: int) -> list[Note]:
        """The conversation's notes sounding in steps lo..hi-1, on the 16th grid, as the model's pitches."""
        q = STEPS_PER_QUARTER
        out = []
        for n in self.played + [n for n in self.answered if not n.cut]:
            s = round(n.start * q)
            e = max(s + 1, round(n.end * q)) if n.end is not None else hi + 1
            if s < hi and e > lo:
                out.append(Note(s, e, self._model_pitch(n.pitch)))
        return out

    def _model_pitch(self, pitch: int) -> int:
        p = pitch + self.shift
        lo, hi = (self.codec.min_pitch, self.codec.max_pitch) if getattr(self.codec, "name", "") == "melody" else (0, 127)
        while p > hi and p - 12 >= 0:
            p -= 12
        while p < lo and p + 12 <= 127:
            p += 12
        return min(max(p, lo), hi)

    def _step_ids(self, s: int) -> list[int]:
        """The model's events for session step s, as its codec encodes them (notes around s
        encoded as a two-step piece, the second step's events kept)."""
        window = [Note(max(n.start, s - 1) - (s - 1), min(n.end, s + 1) - (s - 1), n.pitch) for n in self._grid_notes(s - 1, s + 1)]
        if self.codec.name == "polyphony":
            ids = list(self.codec.encode(remove_overlaps(window)[0], num_steps=2, end=False))
            first = ids.index(polyphony.STEP_END)
            return ids[first + 1:]
        from guigen.music.melody import top_line

        line, _ = top_line(window)
        return [int(self.codec.encode(remove_overlaps(line)[0], num_steps=2)[1])]

    def _sync(self, upto: int) -> None:
        """Feed the model the conversation's steps up to `upto` (not included), silences shortened."""
        if self.gen is None or upto <= self.fed:
            return
        if upto - self.fed > 1024:  # a long gap (a model switched in): the last 64 bars are plenty
            self.fed = upto - 1024
        for s in range(self.fed, upto):
            ids = self._step_ids(s)
            empty = ids == [polyphony.STEP_END] if self.codec.name == "polyphony" else ids == [0] and not self._grid_notes(s - 1, s + 1)
            self.rest_run = self.rest_run + 1 if empty else 0
            if empty and self.rest_run > MAX_REST_STEPS:
                continue
            self.gen.feed(ids)
        self.fed = upto

    def _sample_step(self, first: bool = False) -> list[tuple[int, float]]:
        """One 16th step of the model's own: its events and the probability each was drawn with.
        first: the answer's first step, which strikes a note (an answer starts when it says)."""
        gen, poly = self.gen, self.codec.name == "polyphony"
        events = []
        while True:
            logits = gen.logits.copy()
            if first and not events and (logits[0, self._first_notes] > MASKED / 2).any():
                logits[:, ~self._first_notes] = MASKED
            if poly:
                logits[:, polyphony.END] = MASKED  # the answer ends when its bars are played
                if len(events) >= MAX_NOTES_PER_STEP:
                    logits[:, polyphony.NEW_NOTE:] = MASKED
            probs, raw, entropy = distributions(logits, gen.settings)
            token = int(draw(probs, gen.rng)[0])
            self.last_distribution = (probs[0], raw[0], token, float(entropy[0]))
            gen.step(force=token)
            events.append((token, float(probs[0, token])))
            if not poly or token == polyphony.STEP_END:
                return events

    def _step_notes(self, events) -> tuple[list[tuple[int, bool, float]], bool]:
        """(model pitch, struck, probability) of the notes an answer step lists; and whether a
        melody's NOTE_OFF ends what sounded."""
        if self.codec.name == "polyphony":
            out = []
            for token, p in events:
                if token >= polyphony.CONTINUED_NOTE:
                    out.append((token - polyphony.CONTINUED_NOTE, False, p))
                elif token >= polyphony.NEW_NOTE:
                    out.append((token - polyphony.NEW_NOTE, True, p))
            return out, True
        from guigen.music.melody import FIRST_PITCH_ID, NOTE_OFF

        token, p = events[0]
        if token >= FIRST_PITCH_ID:
            return [(self.codec.min_pitch + token - FIRST_PITCH_ID, True, p)], True
        return [], token == NOTE_OFF

    def _answer_bars(self) -> int:
        if self.options.bars:
            return self.options.bars
        first, last = self.call
        return min(max(1, math.ceil((last - first) / self.options.beats_per_bar - 1e-9)), MAX_ANSWER_BARS)

    def _play_answer(self, start_beat: float) -> None:
        """Sample the answer a step at a time, each step's notes scheduled at its beat."""
        q, ch = STEPS_PER_QUARTER, self.options.channel
        with self.lock:
            s0 = round(start_beat * q)
            bars = self._answer_bars()
            self._sync(s0)
            self.answer = answer = _Answer(s0, s0 + round(bars * self.options.beats_per_bar * q))
            self.call = None
            self.say(f"answering: {bars} bar{'s' if bars != 1 else ''} from beat {start_beat:g}")
        sounding: dict[int, HeardNote] = {}  # heard pitch -> the answer's note sounding
        velocity = 80
        for s in range(answer.start, answer.end):
            with self.lock:
                if self.stopping.is_set() or answer.cut_at is not None or self.gen is None:
                    return
                g = self.gen
                answer.snapshots[s] = (g.state.copy(), g.logits.copy(), g.rng.bit_generator.state,
                                       g.grammar.snapshot() if g.grammar is not None else None, self.rest_run)
                notes, ends = self._step_notes(self._sample_step(first=s == answer.start))
                self.fed = s + 1
                beat = s / q
                self.distributions.append((beat, self.last_distribution))
                listed = {p - self.shift: (new, prob) for p, new, prob in notes}
                for p in list(sounding):
                    if (p not in listed and ends) or (p in listed and listed[p][0]):
                        self.scheduler.at(beat, [0x80 | ch, p, 0], "answer")
                        sounding.pop(p).end = beat
                for p, (new, prob) in listed.items():
                    if (new or p not in sounding) and 0 <= p <= 127:
                        self.scheduler.at(beat, [0x90 | ch, p, velocity], "answer")
                        sounding[p] = HeardNote(p, velocity, beat, prob=prob)
                        self.answered.append(sounding[p])
        with self.lock:
            if answer.cut_at is None:
                end = answer.end / q
                for p, n in sounding.items():
                    self.scheduler.at(end, [0x80 | ch, p, 0], "answer")
                    n.end = end

    def _cut_answer(self, beat: float) -> None:
        """A note played during an answer: what was not yet heard is dropped, the model goes back
        to where the answer was when the note came, and what sounds stops now."""
        a = self.answer
        q = STEPS_PER_QUARTER
        k = min(max(math.floor(beat * q), a.start), a.end)
        a.cut_at = k
        self.scheduler.cancel("answer")
        self.sounding.off(self.options.channel)
        for n in self.answered:
            if n.start * q >= a.start and (n.end is None or n.end > beat):
                if n.start > beat:
                    n.cut = True  # never heard
                    n.end = n.start
                else:
                    n.end = beat
        self.answered = [n for n in self.answered if not (n.cut and n.end == n.start)]
        for n in self.answered:  # the model forgets the answer's steps from k on
            if n.start * q >= k:
                n.cut = True
        if k in a.snapshots and self.gen is not None:
            state, logits, rng, grammar, rests = a.snapshots[k]
            self.gen.state[...] = state
            self.gen.logits = logits
            self.gen.rng.bit_generator.state = rng
            if grammar is not None:
                self.gen.grammar.restore(grammar)
            self.rest_run = rests
            self.fed = k
        self.answer = None

    # -- the session as music ---------------------------------------------------------------------
    def distribution_now(self):
        """(probs, raw, token, entropy) of the model's event heard last (an answer is sampled ahead
        of its beats), or None."""
        with self.lock:
            now = self._beat_now()
            return next((d for beat, d in reversed(self.distributions) if beat <= now), None)

    def sequence(self, name: str = "GuiGen live", probs: dict | None = None, heard: bool = False) -> NoteSequence:
        """Everything played and answered so far, as two named parts (Player, then the model),
        at the session's tempo, to 1/96 of a beat; notes still sounding end now. probs, a dict,
        is filled with (start, pitch) -> probability of the model's notes (for colouring).
        heard: without the model's notes still to come (an answer is sampled ahead of its beats)."""
        with self.lock:
            now = self._beat_now()
            record = self.options.mode == "record"
            parts, chances = [], {}
            for voice, notes in ((PLAYER, self.played), (MODEL, self.answered)):
                for n in notes:
                    if n.end is not None and n.end <= n.start and n.cut:
                        continue
                    if heard and n.start > now:
                        continue
                    start, end = n.start, n.end if n.end is not None else now
                    if record and voice == PLAYER:
                        start, end = self._quantised(start), self._quantised(end)
                    s, e = round(start * FINE), round(end * FINE)
                    if s < 0 and e <= 0:  # over before beat 0 (a count-in); a first note shorter than a tick is kept
                        continue
                    parts.append(Note(max(s, 0), max(e, max(s, 0) + 1), n.pitch, n.velocity, voice))
                    if voice == MODEL:
                        chances[(max(s, 0), n.pitch)] = n.prob
            base = min((n.start for n in parts), default=0)
            if record:
                base = 0  # the recording starts on its first bar line, after the count-in
            else:
                bar = round(FINE * self.options.beats_per_bar)
                base = base // bar * bar
            from dataclasses import replace

            notes = sorted(replace(n, start=n.start - base, end=n.end - base) for n in parts)
            if probs is not None:
                probs.update({(start - base, pitch): p for (start, pitch), p in chances.items()})
            model = getattr(self.model, "name", "") or "model"
            voices = [Voice("Player", 0), Voice(f"GuiGen {model}" if not record else "GuiGen click", 0)]
            return NoteSequence(notes, [(0, round(self.clock.qpm, 3))], tuple(self.options.metre), voices, FINE, name)

    def _quantised(self, beat: float) -> float:
        grid = round(beat * STEPS_PER_QUARTER) / STEPS_PER_QUARTER
        return beat + self.options.quantise * (grid - beat)

    def write(self, path, overwrite: bool = False):
        """Write the session as a MIDI file (guigen.music.midi's writer: atomic, never replacing
        a file unless overwrite): a track for the player and one for the model."""
        from guigen.music.midi import write_midi

        return write_midi(self.sequence(getattr(path, "stem", "GuiGen live")), path, overwrite=overwrite)

    def latency_summary(self) -> str:
        if not self.latencies:
            return ""
        return _percentiles(self.latencies)

    def lateness_summary(self) -> str:
        """How late the scheduler sent what it sent at beats (answer notes, clock ticks, clicks),
        after the time the clock gave them: where a followed clock's jitter starts."""
        if self.scheduler is None:
            return ""
        by_tag: dict[str, list[float]] = {}
        for tag, late in list(self.scheduler.late):
            by_tag.setdefault(tag, []).append(late)
        return "; ".join(f"{tag} {_percentiles(late)}" for tag, late in sorted(by_tag.items()) if tag != "now")


def _percentiles(seconds) -> str:
    ms = np.asarray(seconds) * 1000
    return f"p50 {np.percentile(ms, 50):.2f} ms, p99 {np.percentile(ms, 99):.2f} ms, max {ms.max():.2f} ms"


def session_take(session: LiveSession) -> NoteSequence:
    """The session as a take for the app: its NoteSequence (Player and model as two voices)."""
    return session.sequence()
