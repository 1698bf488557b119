"""guigen live on real MIDI ports: a JACK server of the tests' own (dummy backend), GuiGen's virtual ports, and a test-side keyboard and listener (tests/live_jack.py).

Checks content and order (what comes out, in which beats of the session's clock); wall-clock
bounds only as hang detectors. Skipped, saying why, only where JACK cannot start.
"""

from __future__ import annotations

import math
from pathlib import Path
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import guigen.music  # noqa: F401  (registers the music encodings, so the models below load)

from live_jack import ClockSender, Keyboard, Listener, find, hanging, jack_ports, wait_until

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@pytest.fixture(scope="module")
def ports():
    yield from jack_ports("guigen-test")


@pytest.fixture(scope="module")
def chorales():
    from guigen.core import registry

    return registry.load("bach-chorales")


def start_session(model, ports_first=False, **options):
    """A session on GuiGen's virtual ports, the test's keyboard and listener connected to them;
    or (ports_first) on the test's own virtual ports, so they are connected before it starts."""
    import mido

    from guigen.core.sampling import SamplingSettings
    from guigen.music.live import LiveOptions, LiveSession

    lines = []
    if ports_first:
        keys, ears = Keyboard(virtual="Test keys"), Listener(virtual="Test ears")
        where = dict(inport=find(mido.get_input_names(), "Test keys"), outport=find(mido.get_output_names(), "Test ears"))
    else:
        where = dict(virtual=True)
    session = LiveSession(model, LiveOptions(**options), SamplingSettings(0.8), on_message=lines.append, **where)
    session.start()
    if not ports_first:
        keys, ears = Keyboard(), Listener()
    return session, keys, ears, lines


def end_session(session, keys, ears):
    session.stop()
    assert session.error is None, session.error
    ears.wait_for(lambda m: not hanging(m), timeout=10)  # the last note-offs come a JACK period later
    keys.close()
    ears.close()


MELODY = [67, 67, 69, 71, 72, 71, 69, 67, 69, 71, 72, 74, 72, 71, 69, 67]  # 16 notes, in G's range of C


def test_harmonize_every_note_is_the_soprano_of_four_voices(ports, chorales):
    """A melody played legato (a repeated note struck again after its key is let go): every note
    comes back on top of a chord of four, and the chords, read from the output port as four voices
    (voices.split_voices, as `guigen harmonize`'s are), hold no parallel fifths or octaves as
    guigen.music.quality counts them."""
    from guigen.music import quality
    from guigen.music.events import Note
    from guigen.music.voices import split_voices

    TUNE = MELODY * 2  # 32 notes: some 40 moves of two voices, where the model alone writes a parallel or two

    session, keys, ears, _ = start_session(chorales, mode="harmonize", seed=1)
    # what the port said after each of our actions, on a grid: the k-th note struck at step 2k,
    # a chord let go before the next note at step 2k + 1
    marks, chords, down = [], [], None
    try:
        for k, pitch in enumerate(TUNE):
            if down == pitch:  # a repeated note: the key goes up first, and the chord with it
                marks.append((len(ears.messages), 2 * k - 1))
                keys.off(down)
                ears.wait_for(lambda m: not hanging(m))
                down = None
            marks.append((len(ears.messages), 2 * k))
            keys.on(pitch)
            sounding = ears.wait_for(lambda m: (s := sorted(p for _, p in hanging(m))) and len(s) == 4
                                     and s[-1] == pitch and s)
            chords.append(sounding[::-1])
            if down is not None:
                keys.off(down)  # legato: the last key goes up after the next one is down
            down = pitch
        marks.append((len(ears.messages), 2 * len(TUNE) - 1))
        keys.off(down)
        ears.wait_for(lambda m: not hanging(m))  # the chord ends with the key
        assert len(session.latencies) == len(session.played)
    finally:
        end_session(session, keys, ears)
    assert not hanging(ears.messages)
    for pitch, chord in zip(TUNE, chords):
        assert len(set(chord)) == 4 and chord[0] == pitch, (pitch, chord)  # the played note on top, three below
    notes, on = [], {}
    for (first, step), (last, _) in zip(marks, marks[1:] + [(len(ears.messages), None)]):
        for _, m in ears.messages[first:last]:
            if m[0] & 0xF0 == 0x90 and m[2] > 0:
                on[m[1]] = step
            elif m[0] & 0xF0 in (0x80, 0x90) and m[1] in on:
                notes.append(Note(on.pop(m[1]), step, m[1]))
    assert not on
    melody = [n for n in notes if n.start % 2 == 0 and n.pitch == TUNE[n.start // 2]]
    assert [n.pitch for n in sorted(melody)] == TUNE
    parts = split_voices(sorted(notes), melody)
    assert parts is not None and len(parts) == 4
    fifths, octaves, moves = quality.parallels(parts)
    assert (fifths, octaves) == (0, 0), f"parallel fifths {fifths}, octaves {octaves} in {chords}"
    assert moves >= 16  # the voices did move: the count is not vacuous
    seq = session.sequence()
    heard = iter(n.pitch for n in seq.notes if n.voice == 0)
    assert all(p in heard for p in TUNE)  # every note played, in order
    assert sum(1 for n in seq.notes if n.voice == 1) == len(notes)  # the model's part: every note it sent


def play_phrase(keys, clock_time, pitches, first_beat, length=0.5):
    """Eighth notes from first_beat, each held `length` of a beat, at the times clock_time(beat) says."""
    for i, p in enumerate(pitches):
        wait_until(clock_time(first_beat + i * 0.5))
        keys.on(p)
        wait_until(clock_time(first_beat + i * 0.5 + length * 0.9))
        keys.off(p)


def answer_notes(session):
    return sorted((n for n in session.sequence().notes if n.voice == 1), key=lambda n: n.start)


@pytest.mark.parametrize("model_name, qpm, bars, calls, metre", [("bach-melody", 240.0, 2, 2, (4, 4)),
                                                                 ("bach-chorales", 120.0, 1, 1, (4, 4)),
                                                                 ("bach-melody", 240.0, 2, 1, (3, 4))])
def test_answer_follows_the_silence_and_lasts_the_bars(ports, model_name, qpm, bars, calls, metre):
    """A 16-note call; the answer starts after a bar of silence (a bar of the metre), on a beat,
    and lasts `bars` bars; a second call (melody model) is answered too, continuing the conversation."""
    from guigen.core import registry
    from guigen.music.live import FINE

    session, keys, ears, lines = start_session(registry.load(model_name), mode="answer", qpm=qpm, bars=bars, seed=3,
                                               metre=metre)
    bar = metre[0] * 4 / metre[1]
    call = [60, 62, 64, 65, 67, 65, 64, 62, 60, 64, 67, 72, 67, 64, 62, 60]  # 16 notes, two bars of eighths
    try:
        beat = 60 / qpm
        t0 = time.perf_counter() + 0.1
        play_phrase(keys, lambda b: t0 + b * beat, call, 0)
        call_end = time.perf_counter()
        answer_end = session.clock.beat_at(call_end) + bar + 1 + bar * bars  # the silence, a beat to align, the bars
        ears.wait_for(lambda m: ears.note_ons(), timeout=30)
        first_heard = ears.note_ons()[0][0]
        ears.wait_for(lambda m: session.clock.beat_at(time.perf_counter()) > answer_end and not hanging(m), timeout=60)
        if calls > 1:  # the second call continues from everything before it
            t1 = session.clock.time_of(np.ceil(session.clock.beat_at(time.perf_counter())) + 1)
            n_before = len(ears.note_ons())
            play_phrase(keys, session.clock.time_of, call[:8], session.clock.beat_at(t1))
            ears.wait_for(lambda m: len(ears.note_ons()) > n_before, timeout=30)
    finally:
        end_session(session, keys, ears)
    assert not hanging(ears.messages)
    assert first_heard > call_end  # never before the silence
    assert first_heard - call_end < 5 * beat + 2.0  # a generous hang detector; the beats are checked below
    seq = session.sequence()
    player = [n for n in seq.notes if n.voice == 0]
    model = [n for n in seq.notes if n.voice == 1]
    assert [n.pitch for n in player] == (call + call[:8])[:16 + 8 * (calls - 1)]
    first_call_end = max(n.end for n in player[:16]) / FINE
    first_answer = [n for n in model if n.start / FINE < first_call_end + bar + 1 + bar * bars]
    start = min(n.start for n in first_answer) / FINE
    assert first_call_end + bar <= start <= first_call_end + bar + 1  # after a bar of silence, within a beat
    assert start == int(start)  # on a beat
    assert max(n.end for n in first_answer) / FINE == start + bar * bars  # the asked bars: its last note ends there
    assert seq.time_signature == metre
    assert sum("answering" in line for line in lines) == calls
    if calls > 1:
        assert len(model) > len(first_answer)  # the second call was answered too


@pytest.mark.parametrize("metre", [(4, 4), (3, 4)])
def test_answer_starts_on_the_bar_lines_of_a_followed_clock(ports, metre):
    from guigen.core import registry
    from guigen.music.live import FINE

    qpm = 240.0
    session, keys, ears, lines = start_session(registry.load("bach-melody"), mode="answer", clock="follow", bars=1,
                                               seed=2, silence=2, metre=metre)
    bar = metre[0] * 4 // metre[1]
    daw = ClockSender(keys, qpm, time.perf_counter() + 0.2)
    daw.start()
    try:
        play_phrase(keys, daw.beat_time, [60, 62, 64, 67, 64, 62], 1.5)  # off the bar line on purpose
        ears.wait_for(lambda m: ears.note_ons(), timeout=30)
        heard = ears.note_ons()[0][0]
        ears.wait_for(lambda m: not session.scheduler.pending("answer") and not hanging(m), timeout=30)
    finally:
        daw.stopping.set()
        daw.join()
        end_session(session, keys, ears)
    model = sorted(n.start for n in session.sequence().notes if n.voice == 1)
    player = [n for n in session.sequence().notes if n.voice == 0]
    assert model and player
    # in the DAW's beats: the session's own record counts from the bar of the first note
    start_beat = (model[0] - min(n.start for n in player) // (bar * FINE) * bar * FINE) / FINE
    assert start_beat % bar == 0, start_beat
    # and as heard: the answer's first note-on arrived within a few ticks after a bar line's tick
    ticks = np.searchsorted(daw.tick_times, heard) - 1  # the last tick sent before it arrived
    assert ticks % (24 * bar) <= 3 or ticks % (24 * bar) >= 24 * bar - 1, ticks
    # the tempo: the slope through the last beat's tick arrivals, against the same ticks' send times
    # (a loaded sender lags); it may be off by at most slope_error x the spread of those ticks' delays
    # (JACK hands MIDI over once a period, so they spread over about a period) per tick interval
    from guigen.music.liveclock import TEMPO_TICKS, _slope, slope_error

    used = list(session.clock.recent)  # (tick, arrival) of the ticks the line went through
    assert len(used) >= 3
    sent_at = [(k, daw.tick_times[k]) for k, _ in used]
    delays = np.subtract([t for _, t in used], [t for _, t in sent_at])
    sent_qpm = 60 / (24 * _slope(sent_at))
    bound = slope_error(len(used) - 1) * np.ptp(delays) / daw.interval
    assert session.clock.qpm == pytest.approx(sent_qpm, rel=bound + 1e-9), (np.ptp(delays), ports.period / 48000)


def test_clock_send_starts_ticks_and_answers_on_its_bar_lines(ports):
    """GuiGen as the master: start, then 24 ticks a beat at its tempo; an answer's first note
    comes right after the tick of a bar line (counted from start); stop when the session ends."""
    from guigen.core import registry

    session, keys, ears, lines = start_session(registry.load("bach-melody"), ports_first=True, mode="answer",
                                               clock="send", qpm=240, bars=1, seed=2, silence=2)
    clock = session.clock
    ticks = lambda m: sum(1 for _, x in m if x == [0xF8])  # noqa: E731
    try:
        ears.wait_for(lambda m: ticks(m) >= 48)  # two beats of ticks
        first = np.ceil(clock.beat_at(time.perf_counter())) + 1.5  # off the bar line on purpose
        play_phrase(keys, clock.time_of, [60, 62, 64, 67, 64, 62], first)
        ears.wait_for(lambda m: ears.note_ons(0), timeout=30)
        ears.wait_for(lambda m: not session.scheduler.pending("answer") and not hanging(m), timeout=30)
    finally:
        end_session(session, keys, ears)
    clocked = [x[0] for _, x in ears.messages if x[0] >= 0xF8]
    assert clocked[0] == 0xFA and clocked[-1] == 0xFC and 0xFA not in clocked[1:-1]  # start first, stop last
    assert set(clocked[1:-1]) == {0xF8}
    at = next(i for i, (_, x) in enumerate(ears.messages) if x[0] == 0x90 and x[2] > 0)  # the answer's first note
    before = sum(1 for _, x in ears.messages[:at] if x == [0xF8])  # ticks that came before it
    assert (before - 1) % 96 <= 3, before  # tick 96 k is bar k's first beat: the note follows it (a few ticks' slack)
    assert sum("answering" in line for line in lines) == 1


@pytest.mark.parametrize("blocked", [False, True], ids=["", "started-with-sigint-blocked"])
def test_cli_ctrl_c_ends_every_note_and_saves_both_parts(ports, tmp_path, blocked):
    """blocked: started by a parent whose thread had SIGINT blocked (a mask survives exec; a JACK client's
    library blocks signals in threads it runs): in CI that left Ctrl-C pending for ever, the session unended."""
    import pretty_midi

    out = tmp_path / "session.mid"
    env = {**os.environ, **ports.env, "PYTHONFAULTHANDLER": "1"}

    def as_from_a_terminal():  # Ctrl-C's default, as a shell gives its foreground job (a background job's parent ignores it)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if blocked:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    proc = subprocess.Popen([sys.executable, "-m", "guigen", "live", "-m", "bach-chorales", "--virtual", "--mode",
                             "harmonize", "-o", str(out), "--seed", "1"], stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=as_from_a_terminal)
    try:
        ready = proc.stderr.readline()
        assert "listening on 'GuiGen in'" in ready, ready + proc.stderr.read()
        keys, ears = Keyboard(), Listener()
        keys.on(72)
        keys.off(72)
        keys.on(67)  # held down when Ctrl-C comes
        ears.wait_for(lambda m: len(ears.note_ons()) >= 8)
        assert hanging(ears.messages)  # sounding now
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=30)  # reads stderr while waiting: a full pipe would block the process
        except subprocess.TimeoutExpired:  # where it hangs: faulthandler prints every thread's stack on SIGABRT
            sig = [line for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines() if line.startswith("Sig")]
            proc.send_signal(signal.SIGABRT)
            raise AssertionError(f"guigen live did not end after Ctrl-C ({sig}):\n"
                                 + proc.communicate(timeout=10)[1][-8000:]) from None
        rc = proc.returncode
    finally:
        if proc.poll() is None:
            proc.kill()
    assert rc == 130, err
    ears.wait_for(lambda m: not hanging(m), timeout=10)
    assert any(m[0] == 0xB0 and m[1] == 123 for _, m in ears.messages)  # all-notes-off on the channel used
    keys.close()
    ears.close()
    assert f"wrote {out}" in err
    pm = pretty_midi.PrettyMIDI(str(out))
    names = [i.name for i in pm.instruments]
    assert names == ["Player", "GuiGen bach-chorales"]
    assert [n.pitch for n in pm.instruments[0].notes] == [72, 67]
    assert len(pm.instruments[1].notes) == 8 and all(n.end > n.start for n in pm.instruments[1].notes)


def test_cli_ports_and_port_choice(ports, tmp_path):
    import mido

    env = {**os.environ, **ports.env}
    held = [mido.open_output("Test keys A", virtual=True, client_name="keysA"),
            mido.open_output("Test keys B", virtual=True, client_name="keysB"),
            mido.open_input("Test synth", virtual=True, client_name="synth")]
    try:
        listed = subprocess.run([sys.executable, "-m", "guigen", "ports"], capture_output=True, text=True, env=env)
        assert listed.returncode == 0, listed.stderr
        inputs, outputs = listed.stdout.split("outputs (--out):")
        assert "keysA:Test keys A" in inputs and "keysB:Test keys B" in inputs and "synth:Test synth" in outputs
        run = subprocess.run([sys.executable, "-m", "guigen", "live", "-m", "bach-chorales", "--in", "Test keys",
                              "--out", "synth", "-o", str(tmp_path / "x.mid")], capture_output=True, text=True,
                             env=env, timeout=60)
        assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1
        assert "ambiguous" in run.stderr and "keysA:Test keys A" in run.stderr and "keysB:Test keys B" in run.stderr
        run = subprocess.run([sys.executable, "-m", "guigen", "live", "-m", "bach-chorales", "--in", "nothing-here",
                              "--out", "synth", "-o", str(tmp_path / "x.mid")], capture_output=True, text=True,
                             env=env, timeout=60)
        assert run.returncode == 2 and "no MIDI input port matches 'nothing-here'" in run.stderr
        assert not (tmp_path / "x.mid").exists()
    finally:
        for p in held:
            p.close()


@pytest.mark.parametrize("command", [["ports"], ["live", "-m", "bach-chorales", "--virtual", "--mode", "harmonize"]])
def test_no_midi_system_is_one_line_and_status_2(tmp_path, command):
    """No ALSA sequencer (a server, a container), or JACK selected with no server: one line that
    says what is missing (ALSA's and JACK's C libraries print nothing of their own), status 2."""
    env = {k: v for k, v in os.environ.items() if k not in ("MIDO_BACKEND", "JACK_DEFAULT_SERVER")}
    cases = [({**env, "MIDO_BACKEND": "mido.backends.rtmidi/UNIX_JACK", "JACK_DEFAULT_SERVER": f"none-{os.getpid()}"},
              f"no MIDI system: the JACK server 'none-{os.getpid()}' is not running")]
    if not os.path.exists("/dev/snd/seq"):
        cases.append((env, "no MIDI system: ALSA's sequencer, /dev/snd/seq, is not there"))
    for case_env, said in cases:
        run = subprocess.run([sys.executable, "-m", "guigen", *command], capture_output=True, text=True, env=case_env,
                             cwd=tmp_path, timeout=120)
        assert run.returncode == 2 and run.stdout == ""
        assert run.stderr.count("\n") == 1 and said in run.stderr, run.stderr
        assert "pip install" not in run.stderr and " -o" not in run.stderr  # python-rtmidi is there; no file to write
    assert not list(tmp_path.iterdir())  # live wrote no session


def test_a_vanishing_port_is_one_message_and_no_hang(ports, chorales):
    import mido

    from guigen.core.sampling import SamplingSettings
    from guigen.music.live import LiveOptions, LiveSession

    device = mido.open_output("Keys that go away", virtual=True, client_name="gone")
    synth = mido.open_input("Test synth", virtual=True, client_name="synth")
    lines = []
    session = LiveSession(chorales, LiveOptions(mode="harmonize", seed=1), SamplingSettings(0.8),
                          find(mido.get_input_names(), "Keys that go away"), find(mido.get_output_names(), "Test synth"),
                          on_message=lines.append)
    session.start()
    try:
        device.send(mido.Message("note_on", note=70, velocity=80))  # a chord sounds when the device goes
        got = []
        deadline = time.monotonic() + 20
        while len(got) < 4 and time.monotonic() < deadline:
            msg = synth.receive(block=False)
            if msg is None:
                time.sleep(0.005)
            else:
                got.append(msg)
        assert len(got) == 4
        device.close()
        assert session.done.wait(10)  # noticed within a port check or two: a hang detector
        assert "Keys that go away" in session.error and "went away" in session.error
    finally:
        session.stop()
    rest = list(synth.iter_pending())
    synth.close()
    offs = {m.note for m in rest if m.type == "note_off"}
    assert offs == {m.note for m in got} and any(m.type == "control_change" and m.control == 123 for m in rest)


@pytest.mark.parametrize("metre", [(4, 4), (3, 4)])
def test_record_counts_in_and_quantises(ports, metre):
    from guigen.music.live import FINE
    from guigen.music.liveclock import CLICK_BAR, CLICK_BEAT

    # the test's ports first: a count-in of 0.75-1 s is over before ports opened after it are connected
    session, keys, ears, _ = start_session(None, ports_first=True, mode="record", qpm=240, quantise=1.0, count_in=1,
                                           metre=metre)
    try:
        clock = session.clock
        ears.wait_for(lambda m: len(ears.note_ons(9)) >= 2)  # the count-in has begun
        offsets = [0.1, -0.08, 0.05, 0.0]  # fractions of a 16th off the grid
        for i, d in enumerate(offsets):
            b = i * 0.5 + d * 0.25
            wait_until(clock.time_of(b))
            keys.on(60 + i)
            wait_until(clock.time_of(b + 0.2))
            keys.off(60 + i)
        # the bar line after the first bar: the last note has come in
        after = ears.wait_for(lambda m: len(c := [p for t, p in ears.note_ons(9) if t >= clock.time_of(0)]) > metre[0] and c)
        before = [p for t, p in ears.note_ons(9) if t < clock.time_of(0)]
    finally:
        end_session(session, keys, ears)
    seq = session.sequence()
    played = [n for n in seq.notes if n.voice == 0]
    assert [n.pitch for n in played] == [60, 61, 62, 63] and seq.time_signature == metre
    # the count-in (a bar of clicks before beat 0), then a click a beat, each bar's first accented
    bar = [CLICK_BAR] + [CLICK_BEAT] * (metre[0] - 1)
    assert before == bar
    assert after[:metre[0] + 1] == bar + [CLICK_BAR]
    raw = [n.start for n in session.played]  # the beats the notes arrived at, on the session's clock
    assert [n.start / FINE for n in played] == [max(round(b * 4) / 4, 0) for b in raw]  # on the 16th grid
    assert raw[1] != round(raw[1] * 4) / 4  # (played off it)
    assert not hanging(ears.messages)
    session.options.quantise = 0.5
    half = [n for n in session.sequence().notes if n.voice == 0]
    for n, b in zip(half, raw):  # half way to the grid
        assert n.start / FINE == pytest.approx(max(b + 0.5 * (round(b * 4) / 4 - b), 0), abs=1 / FINE)


def test_clock_follows_start_ticks_song_position_and_tempo():
    """The followed clock's arithmetic on messages with given arrival times (no ports needed)."""
    from guigen.music.liveclock import Clock

    c = Clock(120, follow=True)
    assert not c.ready
    interval = 60 / (100 * 24)  # the DAW plays at 100 qpm
    c.message([0xFA], 10.0)  # start: the next tick is beat 0
    for k in range(96):
        c.message([0xF8], 10.0 + k * interval)
    assert c.ready and c.ticks == 95 and c.beat_at(10.0 + 95 * interval) == pytest.approx(95 / 24)
    assert c.qpm == pytest.approx(100, rel=1e-9)  # the tick interval
    assert c.time_of(4.0) == pytest.approx(10.0 + 96 * interval, rel=1e-6)  # the next bar line
    assert c.bar_at_or_after(3.96, 4) == 4 and c.bar_at_or_after(4.0, 4) == 4 and c.bar_at_or_after(4.01, 4) == 8
    c.message([0xFC], 20.0)  # stop: time stands still
    assert not c.running and c.beat_at(30.0) == pytest.approx(95 / 24)
    c.message([0xF2, 32, 0], 21.0)  # song position: 16th 32 = beat 8
    c.message([0xFB], 21.0)  # continue: the next tick is the position
    c.message([0xF8], 21.0)
    assert c.beat_at(21.0) == pytest.approx(8.0)


def test_followed_tempo_is_the_slope_through_a_beats_ticks():
    """Ticks as JACK hands them over (at the end of the 256-frame period they came in): the tempo
    is within the least-squares slope's worst case for that spread, and a tempo change is
    followed within a beat (an exponential average of intervals takes several)."""
    from guigen.music.liveclock import TEMPO_TICKS, Clock, slope_error

    period = 256 / 48000
    c = Clock(120, follow=True)
    c.message([0xFA], 0.0)
    sent = 0.0
    for qpm in (100, 123):
        interval = 60 / (qpm * 24)
        for _ in range(TEMPO_TICKS + 1):
            sent += interval
            c.message([0xF8], math.ceil(sent / period) * period)
        assert c.qpm == pytest.approx(qpm, rel=slope_error(TEMPO_TICKS) * period / interval)
        assert abs(c.qpm / qpm - 1) < 0.015


def test_model_switch_ends_what_the_old_model_played(ports, chorales):
    from guigen.core import registry

    session, keys, ears, _ = start_session(chorales, mode="harmonize", seed=4)
    try:
        keys.on(69)  # held: its chord sounds when the model changes
        ears.wait_for(lambda m: len(ears.note_ons()) >= 4)
        assert hanging(ears.messages)
        session.set_model(registry.load("bach-chorales"))
        ears.wait_for(lambda m: not hanging(m))  # every note of the old model's chord ended
        keys.off(69)
        keys.on(71)
        ears.wait_for(lambda m: len(ears.note_ons()) >= 8)  # the new model harmonises the next note
        assert max(p for _, p in ears.note_ons()[4:]) == 71
        keys.off(71)
    finally:
        end_session(session, keys, ears)


def test_a_first_note_shorter_than_a_tick_is_kept():
    """A first note released within half a tick (1/192 beat) of beat 0 is in the session, with a
    tick's length; a note over before beat 0 (in the count-in) is not. (It was dropped: seen
    when a quick tap's note-off came in the same poll as its note-on.)"""
    from guigen.music.live import HeardNote, LiveOptions, LiveSession

    session = LiveSession(None, LiveOptions(mode="record", quantise=0.0))
    session.played += [HeardNote(72, 90, 0.0, 0.001), HeardNote(67, 90, 0.002, 0.5), HeardNote(60, 90, -1.0, -0.5)]
    notes = session.sequence().notes
    assert [(n.pitch, n.start, n.end) for n in notes] == [(72, 0, 1), (67, 0, 48)]


def test_the_live_engine_imports_no_qt_and_no_torch():
    """guigen.music.live and its modules are Qt-free; only guigen.music.ports (and midi) import mido."""
    code = ("import sys\n"
            "import guigen.music.live, guigen.music.liveclock, guigen.music.liveharmony, guigen.cli.live\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'PySide6', 'pyqtgraph', 'mido', 'rtmidi')]\n"
            "print(bad)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr
