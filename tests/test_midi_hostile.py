"""Broken and hostile MIDI files: every one ends in a one-line MidiError naming the file, or a clean
result, in bounded time and memory (issue 11 item 3).

The corpus is made here, not committed: a small real file (written by our writer, read back by
pretty_midi elsewhere) mutated by hypothesis (byte flips, truncations, chunk lengths, huge
delta-times), and hand-made cases (tempo 0, the largest legal delta, SMPTE division, 100k tempo
events, 200k notes, running status with no status). A few go through the CLI in subprocesses,
whose peak memory is read with getrusage(RUSAGE_CHILDREN) in a small parent.
"""

import io
import struct
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guigen.music.dataset import extract
from guigen.music.events import Note, NoteSequence, Voice
from guigen.music.melody import MelodyEncoding
from guigen.music.midi import MAX_QUARTERS, MIN_QPM, MidiError, read_midi, read_midi_report, to_midifile


# -- building files byte by byte ------------------------------------------------------------------
def vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def chunk(name: bytes, body: bytes, size: int | None = None) -> bytes:
    return name + struct.pack(">I", len(body) if size is None else size) + body


def smf(*tracks: bytes, fmt: int = 1, division: int = 480, count: int | None = None) -> bytes:
    header = chunk(b"MThd", struct.pack(">HHh", fmt, len(tracks) if count is None else count, division))
    return header + b"".join(chunk(b"MTrk", t) for t in tracks)


def note(pitch: int, length: int, delta: int = 0, channel: int = 0) -> bytes:
    return vlq(delta) + bytes([0x90 | channel, pitch, 80]) + vlq(length) + bytes([0x80 | channel, pitch, 0])


END = b"\x00\xff\x2f\x00"


def tempo(us: int, delta: int = 0) -> bytes:
    return vlq(delta) + b"\xff\x51\x03" + us.to_bytes(3, "big")


def meter(num: int, den_power: int, delta: int = 0) -> bytes:
    return vlq(delta) + b"\xff\x58\x04" + bytes([num, den_power, 24, 8])


def real_file() -> bytes:
    """A small real file: two tracks, tempo and metre changes, program, chords."""
    notes = [Note(4 * i, 4 * i + 4, 60 + (i * 7) % 12, 90, 0) for i in range(12)]
    notes += [Note(8 * i, 8 * i + 8, 48 + (i * 5) % 12, 70, 1) for i in range(6)]
    seq = NoteSequence(notes, [(0, 100.0), (16, 80.0)], (3, 4), [Voice("Melody", 73), Voice("Bass", 32)],
                       name="real", time_signature_changes=[(24, 4, 4)])
    buf = io.BytesIO()
    to_midifile(seq).save(file=buf)
    return buf.getvalue()


BASE = real_file()


def read_or_refuse(path, deadline_s: float = 10.0):
    """Read a file; a MidiError must be one line naming it. Returns the sequence or None."""
    t0 = time.perf_counter()
    try:
        seq, _ = read_midi_report(path)
    except MidiError as e:
        msg = str(e)
        assert "\n" not in msg and msg.startswith(f"{path}: "), msg
        seq = None
    assert time.perf_counter() - t0 < deadline_s
    if seq is not None:  # a clean result is a sound one
        assert all(0 <= n.start < n.end and 0 <= n.pitch <= 127 for n in seq.notes)
        assert seq.total_steps <= MAX_QUARTERS * seq.steps_per_quarter + 1
        assert all(q >= MIN_QPM for _, q in seq.tempos)
    return seq


# -- fuzzing a real file --------------------------------------------------------------------------
@st.composite
def mutated(draw):
    data = bytearray(BASE)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "truncate", "chunk_length", "huge_delta", "insert"]))
        if kind == "flip" and data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate" and len(data) > 1:
            del data[draw(st.integers(1, len(data) - 1)):]
        elif kind == "chunk_length":
            starts = [i for i in range(len(data) - 8) if data[i:i + 4] in (b"MThd", b"MTrk")]
            if starts:
                i = draw(st.sampled_from(starts))
                data[i + 4:i + 8] = struct.pack(">I", draw(st.sampled_from([0, 1, 5, 0xFFFFFFFF, 0x7FFFFFFF]))
                                                  if draw(st.booleans()) else draw(st.integers(0, 1 << 32 - 1)))
        elif kind == "huge_delta" and len(data) > 30:
            i = draw(st.integers(22, len(data) - 1))
            data[i:i] = draw(st.sampled_from([b"\x8f\xff\xff\x7f", b"\xff\xff\xff\xff\x7f", b"\x81\x80\x80\x00"]))
        elif kind == "insert" and data:
            i = draw(st.integers(0, len(data)))
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


@settings(max_examples=150, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=mutated())
def test_mutated_files_end_in_one_line_errors_or_sound_results(tmp_path, data):
    path = tmp_path / "mutant.mid"
    path.write_bytes(data)
    read_or_refuse(path, deadline_s=5.0)


# -- hand-made hostile files -----------------------------------------------------------------------
def hostile_files() -> dict[str, bytes]:
    many_notes = b"".join(note(60 + i % 24, 10, 0 if i == 0 else 1) for i in range(200_000))
    running = b"\x00\x90\x3c\x50" + b"".join(b"\x01\x3c\x00\x01\x3c\x50" for _ in range(20_000)) + END
    return {
        "tempo0": smf(tempo(0) + note(60, 480) + END),
        "slowest_tempo": smf(tempo(0xFFFFFF) + note(60, 480) + END),
        "max_delta": smf(note(60, 0x0FFFFFFF) + note(64, 480, 0x0FFFFFFF) + END),
        "absurd_delta": smf(b"\xff\xff\xff\xff\xff\xff\x7f\x90\x3c\x50" + note(64, 480) + END),
        "smpte": smf(note(60, 480) + END, division=struct.unpack(">h", b"\xe7\x28")[0]),  # 25 fps, 40 per frame
        "zero_division": smf(note(60, 480) + END, division=0),
        "tempo_map_100k": smf(b"".join(tempo(400_000 + (i % 200) * 1000, 120) for i in range(100_000))
                              + note(60, 480) + END),
        "notes_200k": smf(many_notes + END),
        "running_status_garbage": smf(b"\x00\x3c\x50\x00" + END),
        "running_status_long": smf(running),
        "undefined_status": smf(b"\x00\xf4\x00" + END),
        "track_longer_than_file": smf(note(60, 480) + END)[:-3],
        "chunk_length_huge": smf(note(60, 480) + END)[:18] + b"\xff\xff\xff\xf0" + smf(note(60, 480) + END)[22:],
        "meta_longer_than_track": smf(b"\x00\xff\x03\x8f\xff\xff\x7fname" + END),
        "header_only": smf(count=3),
        "format2": smf(note(60, 480) + END, fmt=2),
        "many_program_changes": smf(b"\x00\xc0\x01" + b"\x00\x02" * 400_000 + END),
        "note_ons_2M": smf(b"\x00\x90\x3c\x50" + b"\x00\x3c\x50" * 1_999_990 + END),  # never released
        "tracks_65535": smf(*[note(60 + t % 12, 480) + END for t in range(65535)]),  # a voice each
        "notes_1M": smf(b"\x00\x90\x3c\x50" + b"\x00\x3c\x00\x00\x3c\x50" * 999_999 + END),
        "silence_then_note": smf(note(60, 480) + note(64, 480, 480 * 2 * 3600) + END),  # 1 h later at 120 qpm
    }


HOSTILE = hostile_files()


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_files_end_in_one_line_errors_or_sound_results(tmp_path, name):
    path = tmp_path / f"{name}.mid"
    path.write_bytes(HOSTILE[name])
    seq = read_or_refuse(path)
    expected_error = {"absurd_delta", "smpte", "zero_division", "running_status_garbage", "undefined_status",
                      "track_longer_than_file", "chunk_length_huge", "meta_longer_than_track", "format2",
                      "note_ons_2M", "notes_1M"}
    assert (seq is None) == (name in expected_error), name


def test_what_hostile_files_read_as(tmp_path):
    def read(name):
        path = tmp_path / f"{name}.mid"
        path.write_bytes(HOSTILE[name])
        return read_midi_report(path)

    seq, report = read("tempo0")
    assert seq.qpm == 120.0 and report["tempos of 0 ignored"] == 1
    seq, _ = read("slowest_tempo")
    assert seq.qpm == MIN_QPM  # 3.576 rounded up: a tempo MIDI can write back
    seq, report = read("max_delta")
    assert [n.pitch for n in seq.notes] == [60]  # the second note starts past the bound
    assert seq.total_steps == MAX_QUARTERS * 4 and report[f"events after quarter note {MAX_QUARTERS:,} left out"]
    seq, _ = read("notes_200k")
    assert len(seq.notes) == 200_000
    seq, _ = read("tracks_65535")
    assert len(seq.voices) == 65535
    pieces, extraction = extract(MelodyEncoding(48, 83), tmp_path / "tracks_65535.mid")
    assert len(pieces) == 65535 and all(len(line) < 400 for line in extraction.lines("training data"))
    seq, _ = read("tempo_map_100k")
    # one change per step, kept up to the bound (the first at step 0 is the default 120)
    assert len(seq.tempos) == min(100_000, MAX_QUARTERS * 4) + 1
    assert seq.seconds_array([seq.total_steps])[0] == pytest.approx(seq.seconds(seq.total_steps))
    for name, why in [("smpte", "SMPTE"), ("absurd_delta", "longer than 4 bytes"), ("format2", "format 2"),
                      ("track_longer_than_file", "truncated"), ("running_status_garbage", "without a status byte")]:
        with pytest.raises(MidiError, match=why):
            read(name)


def test_first_tempo_and_every_time_signature_kept(tmp_path):
    conductor = (tempo(500_000) + tempo(400_000, 10) + meter(3, 2) + meter(6, 3, 480 * 3)
                 + meter(9, 3, 480 * 3) + tempo(600_000, 480) + END)
    path = tmp_path / "map.mid"
    path.write_bytes(smf(conductor, note(60, 480 * 12)))
    seq = read_midi(path)
    assert seq.tempos[0] == (0, 120.0)  # 150 qpm 10 ticks later falls in the same step: the first wins
    assert seq.time_signature == (3, 4) and seq.time_signature_changes == [(12, 6, 8), (24, 9, 8)]
    buf = io.BytesIO()
    to_midifile(seq).save(file=buf)
    again = tmp_path / "again.mid"
    again.write_bytes(buf.getvalue())
    back = read_midi(again)
    assert (back.time_signature, back.time_signature_changes) == (seq.time_signature, seq.time_signature_changes)
    assert back.tempos == seq.tempos


# -- through the command line, in subprocesses: one line, bounded memory ---------------------------
# A small parent runs the command and reports its children's peak RSS: measured from the test process,
# ru_maxrss would include the copy of pytest's own memory that each child starts from before exec.
MEASURE = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
           "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(r.returncode)")


def run_cli(*args, timeout=60):
    """(result with the command's own stderr, seconds, peak MB of the command)."""
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", MEASURE, sys.executable, "-m", "guigen", *map(str, args)],
                       capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - t0
    *lines, peak_kb = r.stderr.rstrip("\n").split("\n")
    r.stderr = "\n".join(lines) + ("\n" if lines else "")
    assert "Traceback" not in r.stderr, r.stderr
    return r, seconds, int(peak_kb) / 1024


@pytest.mark.parametrize("name", ["max_delta", "notes_200k", "absurd_delta", "many_program_changes", "note_ons_2M"])
def test_primer_midi_through_the_cli(tmp_path, name):
    path = tmp_path / f"{name}.mid"
    path.write_bytes(HOSTILE[name])
    r, seconds, peak_mb = run_cli("generate", "-m", "bach-melody", "--primer-midi", path, "--steps", "8",
                                     "-o", tmp_path / "out.mid")
    assert peak_mb < 400, peak_mb
    if r.returncode:
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and str(path) in lines[0], r.stderr
    else:
        assert (tmp_path / "out.mid").exists()
        if name in ("max_delta", "notes_200k"):
            assert "are the primer" in r.stderr  # cut, and said so in one line


@pytest.mark.parametrize("name, why", [("silence_then_note", "silence_then_note.mid lasts 1:00:01"),
                                       ("notes_200k", "notes_200k.mid holds 200,000 notes")])
def test_renders_beyond_the_bounds_are_refused_in_one_line(tmp_path, name, why):
    path = tmp_path / f"{name}.mid"
    path.write_bytes(HOSTILE[name])
    r, seconds, peak_mb = run_cli("render", path, tmp_path / "out.wav", "--builtin-synth")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert why in r.stderr and not (tmp_path / "out.wav").exists()
    assert peak_mb < 400
