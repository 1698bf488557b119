"""Standard MIDI files in and out, and MIDI ports: the only module that imports mido.

Reading accepts what real files hold (format 0 and 1, many tracks and channels, running status,
note_on with velocity 0, overlapping notes, tempo changes) and quantises to the step grid in
ticks, that is in beats: the tempo map says how long a beat lasts, not where it falls, so notes
land on the same grid whatever the tempo changes, and the map (and every time signature) is kept
for playback and writing. It walks the bytes itself, within documented bounds (MAX_BYTES,
MAX_EVENTS, MAX_NOTES, MAX_QUARTERS, MAX_CHANGES), so a broken or hostile file ends in a
one-line MidiError or a clean result in seconds and megabytes. Writing (through mido) makes
format 1 files at 480 ticks per quarter, atomically.
"""

from __future__ import annotations

import struct
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path

import mido

from guigen.core.files import atomic_path, open_regular, refuse_overwrite
from guigen.music.events import DEFAULT_QPM, STEPS_PER_QUARTER, Note, NoteSequence, Voice

TICKS_PER_QUARTER = 480
DRUM_CHANNEL = 9  # General MIDI channel 10, counted from 0
# Bounds on what is read, so that a hostile file costs seconds and megabytes, never more:
MAX_BYTES = 16 << 20  # real MIDI files are well under 1 MB; 16 MB holds 2 million notes
MAX_EVENTS = 2_000_000  # events in all tracks together (about 3 s of reading at most)
MAX_NOTES = 400_000  # notes kept (about 150 MB); a file with more is refused
MAX_QUARTERS = 20_000  # quarter notes read (2 h 47 min at 120 qpm; scoring that many steps takes seconds); later events are left out, counted
MAX_CHANGES = 100_000  # tempo changes kept, and time signatures; later ones are left out, counted
MIN_QPM = 3.577  # the slowest tempo a MIDI file can state (0xFFFFFF us per quarter), rounded up to 0.001
_SYSTEM_DATA = {0xF1: 1, 0xF2: 2, 0xF3: 1, 0xF6: 0, 0xF8: 0, 0xFA: 0, 0xFB: 0, 0xFC: 0, 0xFE: 0}


class MidiError(ValueError):
    """A MIDI file or port could not be used; the message names it and says why (one line)."""


@dataclass
class _Raw:
    """What the events of a file say, before quantising: ticks, in file order."""

    notes: list = field(default_factory=list)  # (start, end tick, pitch, velocity, (track, channel))
    tempos: list = field(default_factory=list)  # (tick, microseconds per quarter)
    meters: list = field(default_factory=list)  # (tick, numerator, denominator)
    keys: list = field(default_factory=list)  # (tick, sharps; flats < 0)
    programs: dict = field(default_factory=dict)  # (track, channel) -> first program
    names: dict = field(default_factory=dict)  # track -> name
    report: dict = field(default_factory=lambda: defaultdict(int))


def _read_bytes(path: Path) -> bytes:
    try:
        with open_regular(path, "MIDI file") as f:  # a FIFO or device is refused, never waited on
            data = f.read(MAX_BYTES + 1)  # never more, whatever the file's size
    except OSError as e:
        raise MidiError(f"{path}: cannot read ({e.strerror or e})") from None
    if not data:
        raise MidiError(f"{path}: empty file")
    if len(data) > MAX_BYTES:
        raise MidiError(f"{path}: larger than {MAX_BYTES >> 20} MB, too large to be read as a MIDI file")
    if not data.startswith(b"MThd"):
        if data.startswith(b"RIFF") and data[8:12] == b"RMID":
            raise MidiError(f"{path}: a RIFF-wrapped (RMID) file; extract the standard MIDI file from it first")
        raise MidiError(f"{path}: not a MIDI file (it does not start with 'MThd')")
    return data


def _chunks(path: Path, data: bytes) -> tuple[int, list[tuple[int, int]]]:
    """The header's ticks per quarter and each track's (start, end) byte offsets, checked."""
    if len(data) < 14:
        raise MidiError(f"{path}: truncated MIDI file (it ends inside its header)")
    size = int.from_bytes(data[4:8], "big")
    fmt, count, division = struct.unpack(">HHh", data[8:14])
    if size < 6:
        raise MidiError(f"{path}: broken MIDI file (header chunk of {size} bytes, 6 needed)")
    if fmt == 2:
        raise MidiError(f"{path}: format 2 MIDI file (independent sequences); only formats 0 and 1 can be read")
    if fmt > 2:
        raise MidiError(f"{path}: broken MIDI file (unknown format {fmt})")
    if division < 0:
        raise MidiError(f"{path}: SMPTE time division is not supported, only ticks per quarter note")
    if division == 0:
        raise MidiError(f"{path}: broken MIDI file (0 ticks per quarter note)")
    tracks, pos = [], 8 + size
    while len(tracks) < count and pos < len(data):
        if pos + 8 > len(data):
            raise MidiError(f"{path}: truncated MIDI file (it ends inside a chunk header at byte {pos})")
        size = int.from_bytes(data[pos + 4:pos + 8], "big")
        if pos + 8 + size > len(data):
            raise MidiError(f"{path}: truncated MIDI file (track {len(tracks) + 1} declares {size:,} bytes, "
                            f"{len(data) - pos - 8:,} are left)")
        if data[pos:pos + 4] == b"MTrk":
            tracks.append((pos + 8, pos + 8 + size))
        pos += 8 + size  # other chunks are skipped, as the standard says
    return division, tracks


def _number(data: bytes, i: int, end: int, where: str, what: str) -> tuple[int, int]:
    """A variable-length number at data[i] (MIDI allows at most 4 bytes, 0x0FFFFFFF): (value, next i)."""
    value = 0
    for _ in range(4):
        if i >= end:
            break
        b = data[i]
        i += 1
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            return value, i
    raise MidiError(f"{where}: {what} longer than 4 bytes or cut off at byte {i})")


def _scan(path: Path, data: bytes, tpq: int, tracks) -> _Raw:
    """Walk every event of every track once, keeping only what reading needs.

    Hand-written rather than mido.MidiFile, which builds an object per message (about 450 bytes
    and several microseconds each: a GB for a hostile 4 MB file); this keeps tuples of the few
    kinds used, and stops at the bounds above.
    """
    raw, report = _Raw(), None
    report = raw.report
    last_tick, events = MAX_QUARTERS * tpq, 0
    for t, (i, end) in enumerate(tracks):
        where = f"{path}: broken MIDI file (track {t + 1}"
        tick, status, held = 0, 0, 0
        sounding: dict[tuple[int, int], deque] = defaultdict(deque)  # (channel, pitch) -> (tick, velocity)
        while i < end:
            delta, i = _number(data, i, end, where, "a delta-time")
            tick += delta
            if tick > last_tick:
                report[f"events after quarter note {MAX_QUARTERS:,} left out"] += 1
                break
            if i >= end:
                raise MidiError(f"{where}: ends inside an event at byte {i})")
            kind = data[i]
            if kind >= 0x80:
                i += 1
            elif status:
                kind = status  # running status: this byte is the first data byte
            else:
                raise MidiError(f"{where}: data byte 0x{kind:02x} without a status byte at byte {i})")
            events += 1
            if events > MAX_EVENTS:
                raise MidiError(f"{path}: more than {MAX_EVENTS:,} events, too many to read")
            if kind < 0xF0:
                status = kind
                two = kind < 0xC0 or kind >= 0xE0
                if i + 1 + two > end:
                    raise MidiError(f"{where}: ends inside an event at byte {i})")
                a = data[i]
                v = data[i + 1] if two else 0
                i += 1 + two
                if a > 127 or v > 127:  # data bytes above 127 are clamped, as mido's clip=True
                    a, v = min(a, 127), min(v, 127)
                high, channel = kind & 0xF0, kind & 0x0F
                if high == 0x90 and v:
                    sounding[channel, a].append((tick, v))
                    held += 1
                    if held + len(raw.notes) > MAX_NOTES:  # notes still sounding count too
                        raise MidiError(f"{path}: more than {MAX_NOTES:,} notes, too many to read")
                elif high == 0x80 or high == 0x90:
                    queue = sounding.get((channel, a))
                    if queue:  # first in, first out: the oldest sounding note of this pitch ends
                        start, velocity = queue.popleft()
                        held -= 1
                        raw.notes.append((start, tick, a, velocity, (t, channel)))
                    else:
                        report["note-offs without a note-on ignored"] += 1
                elif high == 0xC0:
                    raw.programs.setdefault((t, channel), a)
                continue
            if kind == 0xFF or kind in (0xF0, 0xF7):
                if kind == 0xFF:
                    if i >= end:
                        raise MidiError(f"{where}: ends inside an event at byte {i})")
                    meta = data[i]
                    i += 1
                else:
                    status = 0  # a system exclusive message cancels running status
                size, i = _number(data, i, end, where, "a length")
                if i + size > end:
                    raise MidiError(f"{where}: an event of {size:,} bytes runs past the end of the track at byte {i})")
                payload, i = data[i:i + size] if kind == 0xFF and size <= 256 else b"", i + size
                if kind != 0xFF:
                    continue
                if meta == 0x2F:
                    break  # end of track: whatever follows is not part of it
                if meta == 0x51 and len(payload) >= 3:
                    tempo = int.from_bytes(payload[:3], "big")
                    if not tempo:
                        report["tempos of 0 ignored"] += 1
                    elif len(raw.tempos) < MAX_CHANGES:
                        raw.tempos.append((tick, tempo))
                    else:
                        report[f"tempo changes after the first {MAX_CHANGES:,} left out"] += 1
                elif meta == 0x58 and len(payload) >= 2:
                    if not payload[0] or payload[1] > 6:
                        report["impossible time signatures ignored"] += 1
                    elif len(raw.meters) < MAX_CHANGES:
                        raw.meters.append((tick, payload[0], 1 << payload[1]))
                    else:
                        report[f"time signatures after the first {MAX_CHANGES:,} left out"] += 1
                elif meta == 0x59 and len(payload) >= 2:
                    sharps = payload[0] - 256 if payload[0] > 127 else payload[0]
                    if -7 <= sharps <= 7 and len(raw.keys) < MAX_CHANGES:
                        raw.keys.append((tick, sharps))
                    else:
                        report["key signatures left out (impossible, or too many)"] += 1
                elif meta == 0x03 and t not in raw.names:
                    raw.names[t] = payload.decode("latin-1").strip()
                continue
            if kind not in _SYSTEM_DATA:
                raise MidiError(f"{where}: undefined status byte 0x{kind:02x} at byte {i - 1})")
            i += _SYSTEM_DATA[kind]
        end_tick = min(tick, last_tick)
        for (channel, pitch), queue in sounding.items():
            for start, velocity in queue:
                report["notes never released (ended with their track)"] += 1
                raw.notes.append((start, end_tick, pitch, velocity, (t, channel)))
        if len(raw.notes) > MAX_NOTES:
            raise MidiError(f"{path}: more than {MAX_NOTES:,} notes, too many to read")
    return raw


def read_midi_report(path, steps_per_quarter: int = STEPS_PER_QUARTER) -> tuple[NoteSequence, dict[str, int]]:
    """A MIDI file as a NoteSequence on the grid, and counts of what was changed or dropped.

    Any broken or hostile file ends in MidiError (one line naming the file and what is wrong)
    within the bounds above. Tempo and time-signature changes are kept; when several fall on
    the same step the first is kept (so the opening tempo is the file's first).
    """
    path = Path(path)
    data = _read_bytes(path)
    tpq, tracks = _chunks(path, data)
    raw = _scan(path, data, tpq, tracks)
    del data
    report = raw.report

    def to_step(tick: int) -> int:
        return (2 * tick * steps_per_quarter + tpq) // (2 * tpq)  # round half up, in integers

    keys = sorted({key for *_, key in raw.notes})
    per_track = Counter(t for t, _ in keys)  # voices per track: a track with several names its channels
    channel_programs: dict[int, int] = {}
    for (t, channel), program in sorted(raw.programs.items()):
        channel_programs.setdefault(channel, program)
    voices, index = [], {}
    for t, channel in keys:
        index[t, channel] = len(voices)
        name = raw.names.get(t) or f"track {t + 1}"
        if per_track[t] > 1:
            name += f" channel {channel + 1}"
        program = raw.programs.get((t, channel), channel_programs.get(channel, 0))
        voices.append(Voice(name, program, channel == DRUM_CHANNEL))
    notes = []
    for start, end, pitch, velocity, key in raw.notes:
        if end == start:
            report["zero-length notes dropped"] += 1
            continue
        s, e = to_step(start), to_step(end)
        if e <= s:
            e = s + 1  # shorter than a step: it still sounds, so it keeps one step
            report["notes shorter than a step lengthened to one"] += 1
        notes.append(Note(s, e, pitch, velocity, index[key], key[1] == DRUM_CHANNEL))
    raw.notes.clear()

    tempo_map: list[tuple[int, float]] = [(0, DEFAULT_QPM)]  # MIDI's tempo until the first set_tempo
    first = True
    for tick, tempo in sorted(raw.tempos, key=lambda e: e[0]):  # stable: file order within a tick
        step, qpm = to_step(tick), max(MIN_QPM, round(60_000_000 / tempo, 3))
        if tempo_map[-1][0] == step:
            if first:  # the default 120 at step 0 gives way to the file's first tempo
                tempo_map[-1] = (step, qpm)
            else:
                report["tempo changes within one step (the first kept)"] += 1
        elif tempo_map[-1][1] != qpm:
            tempo_map.append((step, qpm))
        first = False
    if len(tempo_map) > 1:
        report["tempo changes (kept)"] += len(tempo_map) - 1
    meters: list[tuple[int, int, int]] = []
    for tick, num, den in sorted(raw.meters, key=lambda e: e[0]):
        step = to_step(tick)
        if meters and meters[-1][0] == step:
            continue  # the first of a step is kept, as for tempos
        if not meters or meters[-1][1:] != (num, den):
            meters.append((step, num, den))
    if meters and meters[0][0] != 0:
        meters.insert(0, (0, 4, 4))  # MIDI's metre until the first time signature
    opening = meters[0][1:] if meters else (4, 4)
    if len(meters) > 1:
        report["time signature changes (kept)"] += len(meters) - 1
    keys: list[tuple[int, int]] = []
    for tick, sharps in sorted(raw.keys, key=lambda e: e[0]):
        step = to_step(tick) if keys else 0  # the first is the opening's
        if keys and keys[-1][0] == step:
            keys.pop()  # of several on one step, the last holds
        if not keys or keys[-1][1] != sharps:
            keys.append((step, sharps))
    seq = NoteSequence(sorted(notes), tempo_map, opening, voices or [Voice()], steps_per_quarter, path.stem,
                       meters[1:], key_changes=keys)
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


MAJOR_KEYS = dict(zip(range(-7, 8), "Cb Gb Db Ab Eb Bb F C G D A E B F# C#".split()))  # sharps -> mido's key


def to_midifile(seq: NoteSequence) -> mido.MidiFile:
    """Format 1: a conductor track (name, time signatures, key signatures, tempo map), then a
    track per voice."""
    if TICKS_PER_QUARTER % seq.steps_per_quarter:
        raise ValueError(f"{seq.steps_per_quarter} steps per quarter does not divide {TICKS_PER_QUARTER} ticks")
    per_step = TICKS_PER_QUARTER // seq.steps_per_quarter
    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_QUARTER)
    num, den = seq.time_signature
    events = [(0, mido.MetaMessage("track_name", name=seq.name or "GuiGen")),
              (0, mido.MetaMessage("time_signature", numerator=num, denominator=den))]
    events += [(step * per_step, mido.MetaMessage("time_signature", numerator=n, denominator=d))
               for step, n, d in seq.time_signature_changes]
    events += [(step * per_step, mido.MetaMessage("key_signature", key=MAJOR_KEYS[sharps]))
               for step, sharps in seq.key_changes]
    # a tempo is written as 1..0xFFFFFF microseconds per quarter: anything slower or faster is clamped
    events += [(step * per_step, mido.MetaMessage("set_tempo", tempo=min(max(mido.bpm2tempo(qpm), 1), 0xFFFFFF)))
               for step, qpm in seq.tempos]
    mid.tracks.append(_track(events, seq.total_steps * per_step))  # the piece's end, trailing rests included
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


def _track(events, end: int = 0) -> mido.MidiTrack:
    """The events in time order, and the end of the track at the last of them or at tick `end`."""
    track, now = mido.MidiTrack(), 0
    order = {"note_off": 0, "note_on": 1}
    for tick, msg in sorted(events, key=lambda e: (e[0], order.get(e[1].type, -1))):
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=max(end - now, 0)))
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
