"""Standard MIDI files in and out, and MIDI ports: the only module that imports mido.

Reading accepts what real files hold (format 0 and 1, many tracks and channels, running status,
note_on with velocity 0, overlapping notes, tempo changes) and quantises to the step grid in
ticks, that is in beats: the tempo map says how long a beat lasts, not where it falls, so notes
land on the same grid whatever the tempo changes, and the map is kept for playback and writing.
Writing makes format 1 files at 480 ticks per quarter, atomically.
"""

from __future__ import annotations

import io
from collections import defaultdict, deque
from pathlib import Path

import mido

from guigen.core.files import atomic_path, refuse_overwrite
from guigen.music.events import STEPS_PER_QUARTER, Note, NoteSequence, Voice

TICKS_PER_QUARTER = 480
DRUM_CHANNEL = 9  # General MIDI channel 10, counted from 0
MAX_BYTES = 64 << 20  # no real MIDI file is this large


class MidiError(ValueError):
    """A MIDI file or port could not be used; the message names it and says why."""


def _load(path: Path) -> mido.MidiFile:
    try:
        data = path.read_bytes() if path.stat().st_size <= MAX_BYTES else b""
    except OSError as e:
        raise MidiError(f"{path}: cannot read ({e.strerror or e})") from None
    if not data:
        raise MidiError(f"{path}: empty, or too large to be a MIDI file")
    if not data.startswith(b"MThd"):
        if data.startswith(b"RIFF") and data[8:12] == b"RMID":
            raise MidiError(f"{path}: a RIFF-wrapped (RMID) file; extract the standard MIDI file from it first")
        raise MidiError(f"{path}: not a MIDI file (it does not start with 'MThd')")
    try:
        # clip: some real files carry data bytes above 127; clamp them rather than give up
        mid = mido.MidiFile(file=io.BytesIO(data), clip=True)
    except EOFError:
        raise MidiError(f"{path}: truncated MIDI file (it ends in the middle of a track)") from None
    except Exception as e:  # mido raises OSError, ValueError, KeyError... for broken data
        raise MidiError(f"{path}: broken MIDI file ({e})") from None
    if mid.type == 2:
        raise MidiError(f"{path}: format 2 MIDI file (independent sequences); only formats 0 and 1 can be read")
    if mid.ticks_per_beat <= 0:
        raise MidiError(f"{path}: SMPTE time division is not supported, only ticks per quarter note")
    return mid


def read_midi_report(path, steps_per_quarter: int = STEPS_PER_QUARTER) -> tuple[NoteSequence, dict[str, int]]:
    """A MIDI file as a NoteSequence on the grid, and counts of what was changed or dropped."""
    path = Path(path)
    mid = _load(path)
    tpq = mid.ticks_per_beat
    report: dict[str, int] = defaultdict(int)

    def to_step(tick: int) -> int:
        return (2 * tick * steps_per_quarter + tpq) // (2 * tpq)  # round half up, in integers

    tempos: list[tuple[int, int]] = []  # (tick, microseconds per quarter)
    time_signature = None
    programs: dict[tuple[int, int], int] = {}
    channel_programs: dict[int, int] = {}
    raw_notes: list[tuple[int, int, int, int, tuple[int, int]]] = []  # start, end ticks, pitch, velocity, voice key
    names: dict[int, str] = {}
    for t, track in enumerate(mid.tracks):
        tick = 0
        open_notes: dict[tuple[int, int], deque] = defaultdict(deque)  # (channel, pitch) -> (tick, velocity)
        for msg in track:
            tick += msg.time
            kind = msg.type
            if kind == "note_on" and msg.velocity > 0:
                open_notes[msg.channel, msg.note].append((tick, msg.velocity))
            elif kind == "note_off" or kind == "note_on":
                queue = open_notes.get((msg.channel, msg.note))
                if queue:  # first in, first out: the oldest sounding note of this pitch ends
                    start, velocity = queue.popleft()
                    raw_notes.append((start, tick, msg.note, velocity, (t, msg.channel)))
                else:
                    report["note-offs without a note-on ignored"] += 1
            elif kind == "set_tempo":
                tempos.append((tick, msg.tempo))
            elif kind == "time_signature" and time_signature is None:
                time_signature = (msg.numerator, msg.denominator)
            elif kind == "program_change":
                programs.setdefault((t, msg.channel), msg.program)
                channel_programs.setdefault(msg.channel, msg.program)
            elif kind == "track_name" and t not in names:
                names[t] = msg.name.strip()
        for (channel, pitch), queue in open_notes.items():
            for start, velocity in queue:
                report["notes never released (ended with their track)"] += 1
                raw_notes.append((start, tick, pitch, velocity, (t, channel)))

    keys = sorted({key for *_, key in raw_notes})
    voices, index = [], {}
    for t, channel in keys:
        index[t, channel] = len(voices)
        name = names.get(t) or f"track {t + 1}"
        if sum(1 for k in keys if k[0] == t) > 1:
            name += f" channel {channel + 1}"
        program = programs.get((t, channel), channel_programs.get(channel, 0))
        voices.append(Voice(name, program, channel == DRUM_CHANNEL))
    notes = []
    for start, end, pitch, velocity, key in raw_notes:
        if end == start:
            report["zero-length notes dropped"] += 1
            continue
        s, e = to_step(start), to_step(end)
        if e <= s:
            e = s + 1  # shorter than a step: it still sounds, so it keeps one step
            report["notes shorter than a step lengthened to one"] += 1
        notes.append(Note(s, e, pitch, velocity, index[key], key[1] == DRUM_CHANNEL))

    tempo_map: list[tuple[int, float]] = [(0, 120.0)]  # MIDI's tempo until the first set_tempo
    for tick, tempo in sorted(tempos):
        step, qpm = to_step(tick), round(mido.tempo2bpm(tempo), 3)
        if tempo_map[-1][0] == step:
            tempo_map[-1] = (step, qpm)
        elif tempo_map[-1][1] != qpm:
            tempo_map.append((step, qpm))
    if len(tempo_map) > 1:
        report["tempo changes (kept)"] += len(tempo_map) - 1
    seq = NoteSequence(sorted(notes), tempo_map, time_signature or (4, 4), voices or [Voice()],
                       steps_per_quarter, path.stem)
    return seq, dict(report)


def read_midi(path, steps_per_quarter: int = STEPS_PER_QUARTER) -> NoteSequence:
    return read_midi_report(path, steps_per_quarter)[0]


def _channels(seq: NoteSequence) -> list[int]:
    """A channel per voice: drums on 10, the rest on 1-9, 11-16 in turn."""
    melodic = [c for c in range(16) if c != DRUM_CHANNEL]
    out, k = [], 0
    for v in seq.voices:
        if v.drum:
            out.append(DRUM_CHANNEL)
        else:
            out.append(melodic[k % len(melodic)])
            k += 1
    return out


def to_midifile(seq: NoteSequence) -> mido.MidiFile:
    """Format 1: a conductor track (name, time signature, tempo map), then a track per voice."""
    if TICKS_PER_QUARTER % seq.steps_per_quarter:
        raise ValueError(f"{seq.steps_per_quarter} steps per quarter does not divide {TICKS_PER_QUARTER} ticks")
    per_step = TICKS_PER_QUARTER // seq.steps_per_quarter
    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_QUARTER)
    num, den = seq.time_signature
    events = [(0, mido.MetaMessage("track_name", name=seq.name or "GuiGen")),
              (0, mido.MetaMessage("time_signature", numerator=num, denominator=den))]
    events += [(step * per_step, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(qpm))) for step, qpm in seq.tempos]
    mid.tracks.append(_track(events))
    channels = _channels(seq)
    for v, voice in enumerate(seq.voices):
        notes = [n for n in seq.notes if n.voice == v or (v == 0 and n.voice >= len(seq.voices))]
        if not notes and len(seq.voices) > 1:
            continue
        ch = channels[v]
        events = [(0, mido.MetaMessage("track_name", name=voice.name or f"Voice {v + 1}")),
                  (0, mido.Message("program_change", channel=ch, program=voice.program))]
        for n in notes:
            # note-offs sort before note-ons at the same tick (0 < 1), so a repeated pitch is heard again
            events.append((n.start * per_step, mido.Message("note_on", channel=ch, note=n.pitch, velocity=n.velocity)))
            events.append((n.end * per_step, mido.Message("note_off", channel=ch, note=n.pitch, velocity=0)))
        mid.tracks.append(_track(events))
    return mid


def _track(events) -> mido.MidiTrack:
    track, now = mido.MidiTrack(), 0
    order = {"note_off": 0, "note_on": 1}
    for tick, msg in sorted(events, key=lambda e: (e[0], order.get(e[1].type, -1))):
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def write_midi(seq: NoteSequence, path, overwrite: bool = False) -> Path:
    """Write a standard MIDI file atomically; refuse to replace a file unless overwrite."""
    path = Path(path)
    refuse_overwrite(path, overwrite)
    mid = to_midifile(seq)
    with atomic_path(path) as tmp:
        mid.save(str(tmp))
    return path


# -- ports ---------------------------------------------------------------------------------------
def timed_messages(seq: NoteSequence) -> list[tuple[float, object]]:
    """(seconds, message) for playing a sequence live: program changes, then notes by the tempo map."""
    channels = _channels(seq)
    out = [(0.0, mido.Message("program_change", channel=channels[v], program=voice.program))
           for v, voice in enumerate(seq.voices)]
    for n in seq.notes:
        ch = channels[n.voice] if n.voice < len(channels) else channels[0]
        out.append((seq.seconds(n.start), mido.Message("note_on", channel=ch, note=n.pitch, velocity=n.velocity)))
        out.append((seq.seconds(n.end), mido.Message("note_off", channel=ch, note=n.pitch, velocity=0)))
    out.sort(key=lambda e: (e[0], e[1].type == "note_on"))
    return out


def all_notes_off() -> list:
    return [mido.Message("control_change", channel=c, control=123, value=0) for c in range(16)]


def _no_midi_system(e: Exception) -> MidiError:
    return MidiError(f"no MIDI system available for output ({e}). On Linux, MIDI ports need ALSA "
                     "(/dev/snd/seq) and python-rtmidi (pip install 'guigen[midi-ports]'); "
                     "write a MIDI file with -o instead")


def output_names() -> list[str]:
    """Names of the MIDI output ports; MidiError when there is no MIDI system at all."""
    try:
        return list(mido.get_output_names())
    except Exception as e:  # ImportError (no rtmidi), or rtmidi's SystemError when ALSA is absent
        raise _no_midi_system(e) from None


def open_output(name: str | None = None):
    """Open a port by name (None: the first one); MidiError with the choices when it cannot."""
    names = output_names()
    if name is None and not names:
        raise MidiError("no MIDI output ports found; start a software synth (e.g. fluidsynth, qsynth) or plug in a device")
    if name is not None and name not in names:
        raise MidiError(f"no MIDI output port named {name!r} (available: {', '.join(names) or 'none'})")
    try:
        return mido.open_output(name or names[0])
    except Exception as e:
        raise MidiError(f"could not open MIDI output {name or names[0]!r}: {e}") from None
