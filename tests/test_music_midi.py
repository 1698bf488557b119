"""MIDI in and out. Each fixture is a tiny file built here with mido, described where it is made;
what we write is read back by pretty_midi and music21, libraries we did not write."""

import subprocess
import sys

import mido
import pytest
from conftest import CHORALES

from guigen.music.dataset import extract
from guigen.music.events import Note, NoteSequence, Voice
from guigen.music.midi import MidiError, read_midi, read_midi_report, write_midi
from guigen.music.polyphony import PolyphonyEncoding

TPQ = 480
STEP = TPQ // 4  # ticks per 16th note


def msgs(*events):
    """A track from (delta ticks, message) pairs."""
    track = mido.MidiTrack()
    for delta, m in events:
        track.append(m.copy(time=delta))
    return track


def on(ch, p, v=90):
    return mido.Message("note_on", channel=ch, note=p, velocity=v)


def off(ch, p):
    return mido.Message("note_off", channel=ch, note=p)


def save(tmp_path, name, tracks, type=1, tpq=TPQ):
    mid = mido.MidiFile(type=type, ticks_per_beat=tpq)
    mid.tracks.extend(tracks)
    path = tmp_path / name
    mid.save(str(path))
    return path


def keys(notes):
    return sorted(n.key for n in notes)


def test_format0_two_channels_programs_and_controllers(tmp_path):
    # one track, channel 1 (program 40) plays C4 for a quarter, channel 2 (program 19) E4 for a half;
    # pitch bend and a sustain controller in between must be ignored
    path = save(tmp_path, "f0.mid", [msgs(
        (0, mido.Message("program_change", channel=0, program=40)),
        (0, mido.Message("program_change", channel=1, program=19)),
        (0, on(0, 60)), (0, on(1, 64)),
        (10, mido.Message("pitchwheel", channel=0, pitch=2000)),
        (0, mido.Message("control_change", channel=1, control=64, value=127)),
        (470, off(0, 60)), (480, off(1, 64)))], type=0)
    seq = read_midi(path)
    assert [(n.key, n.voice) for n in seq.notes] == [((0, 4, 60), 0), ((0, 8, 64), 1)]
    assert [v.program for v in seq.voices] == [40, 19]
    assert seq.qpm == 120.0 and seq.time_signature == (4, 4)


def test_format1_tempo_changes_quantise_in_beats(tmp_path):
    # conductor track: 120 qpm, then 60 qpm from beat 4, 3/4 time; a voice plays a quarter note
    # on every beat, slightly early or late (as a person plays), across the tempo change
    conductor = msgs((0, mido.MetaMessage("set_tempo", tempo=500000)),
                     (0, mido.MetaMessage("time_signature", numerator=3, denominator=4)),
                     (4 * TPQ, mido.MetaMessage("set_tempo", tempo=1000000)))
    timed = [(0, mido.MetaMessage("track_name", name="Soprano"))]
    for beat in range(8):
        early, late = (20, -25)[beat % 2], (-15, 10)[beat % 2]
        timed += [(beat * TPQ + early, on(0, 60 + beat)), ((beat + 1) * TPQ + late, off(0, 60 + beat))]
    timed.sort(key=lambda e: e[0])
    events = [(t - prev, m) for (t, m), prev in zip(timed, [0] + [t for t, _ in timed])]
    path = save(tmp_path, "f1.mid", [conductor, msgs(*events)])
    seq, report = read_midi_report(path)
    assert keys(seq.notes) == [(4 * b, 4 * b + 4, 60 + b) for b in range(8)]
    assert seq.tempos == [(0, 120.0), (16, 60.0)] and report["tempo changes (kept)"] == 1
    assert seq.time_signature == (3, 4) and seq.voices[0].name == "Soprano"
    assert seq.seconds(16) == pytest.approx(2.0) and seq.seconds(20) == pytest.approx(3.0)


def test_format2_is_refused(tmp_path):
    path = save(tmp_path, "f2.mid", [msgs((0, on(0, 60)), (TPQ, off(0, 60)))] * 2, type=2)
    with pytest.raises(MidiError, match=r"f2\.mid: format 2"):
        read_midi(path)


def test_running_status_and_velocity_zero(tmp_path):
    # written by hand: after one note_on status byte, the next messages omit it (running status),
    # and notes end with note_on velocity 0, as many sequencers write them
    track = bytes([0x00, 0x90, 60, 100,   # note_on C4
                   0x00, 64, 100,         # running status: note_on E4
                   0x83, 0x60, 60, 0,     # 480 ticks later, C4 velocity 0 = off
                   0x00, 64, 0,           # E4 off
                   0x00, 0xFF, 0x2F, 0x00])
    data = b"MThd" + (6).to_bytes(4, "big") + bytes([0, 0, 0, 1, 0x01, 0xE0]) + b"MTrk" + len(track).to_bytes(4, "big") + track
    path = tmp_path / "running.mid"
    path.write_bytes(data)
    assert keys(read_midi(path).notes) == [(0, 4, 60), (0, 4, 64)]


def test_overlapping_same_pitch_zero_length_and_unreleased(tmp_path):
    # C4 struck twice before either is released (first off ends the first note), a zero-length
    # D4 (on and off at the same tick), and an E4 that is never released
    path = save(tmp_path, "overlap.mid", [msgs(
        (0, on(0, 60)), (2 * STEP, on(0, 60)), (2 * STEP, off(0, 60)), (4 * STEP, off(0, 60)),
        (0, on(0, 62)), (0, off(0, 62)), (0, on(0, 64)), (4 * STEP, mido.MetaMessage("marker", text="end")))])
    seq, report = read_midi_report(path)
    assert keys(seq.notes) == [(0, 4, 60), (2, 8, 60), (8, 12, 64)]
    assert report["zero-length notes dropped"] == 1
    assert report["notes never released (ended with their track)"] == 1
    notes, fixed = PolyphonyEncoding().fit(seq.pitched())
    assert keys(notes) == [(0, 2, 60), (2, 8, 60), (8, 12, 64)] and fixed


def test_drums_left_out_of_pitched_encodings(tmp_path):
    # a piano voice on channel 1 and a kick drum (pitch 36) on channel 10
    path = save(tmp_path, "drums.mid", [msgs((0, on(0, 60)), (TPQ, off(0, 60))),
                                        msgs((0, on(9, 36)), (STEP, off(9, 36)), (0, on(9, 36)), (STEP, off(9, 36)))])
    seq = read_midi(path)
    assert sum(n.drum for n in seq.notes) == 2 and [v.drum for v in seq.voices] == [False, True]
    pieces, report = extract(PolyphonyEncoding(), path)
    assert [keys(p) for p in pieces] == [[(0, 4, 60)]] and report.counts["drum notes left out"] == 2
    only = save(tmp_path, "only_drums.mid", [msgs((0, on(9, 38)), (TPQ, off(9, 38)))])
    pieces, report = extract(PolyphonyEncoding(), only)
    assert not pieces and "only drums" in report.rejected[0][1]


def test_not_midi_and_truncated_files_name_the_file(tmp_path):
    text = tmp_path / "notes.mid"
    text.write_text("this is not music\n")
    with pytest.raises(MidiError, match=r"notes\.mid: not a MIDI file"):
        read_midi(text)
    good = save(tmp_path, "good.mid", [msgs(*[(STEP, on(0, 60 + i % 12)) for i in range(50)])])
    cut = tmp_path / "cut.mid"
    cut.write_bytes(good.read_bytes()[:60])
    with pytest.raises(MidiError, match=r"cut\.mid: truncated"):
        read_midi(cut)
    empty = tmp_path / "empty.mid"
    empty.write_bytes(b"")
    with pytest.raises(MidiError, match="empty"):
        read_midi(empty)
    assert issubclass(MidiError, ValueError)  # the CLI reports it as one line


def sample_sequence():
    notes = [Note(0, 4, 60, 100), Note(0, 8, 64, 90), Note(4, 6, 67), Note(6, 8, 67), Note(8, 16, 72, 70)]
    return NoteSequence(notes, [(0, 96.0), (8, 72.0)], (3, 4), [Voice("Lead", 19)], name="song")


def test_written_file_is_format1_480_with_tempo_signature_name_program(tmp_path):
    path = write_midi(sample_sequence(), tmp_path / "out.mid")
    mid = mido.MidiFile(str(path))
    assert mid.type == 1 and mid.ticks_per_beat == 480 and len(mid.tracks) == 2
    meta = [m for m in mid.tracks[0]]
    assert [round(mido.tempo2bpm(m.tempo), 3) for m in meta if m.type == "set_tempo"] == [96.0, 72.0]
    assert any(m.type == "time_signature" and (m.numerator, m.denominator) == (3, 4) for m in meta)
    names = [m.name for t in mid.tracks for m in t if m.type == "track_name"]
    assert names == ["song", "Lead"]
    assert [m.program for m in mid.tracks[1] if m.type == "program_change"] == [19]
    assert [p.name for p in tmp_path.iterdir()] == ["out.mid"]  # no temporary file left behind
    with pytest.raises(FileExistsError):
        write_midi(sample_sequence(), path)
    write_midi(sample_sequence(), path, overwrite=True)
    back = read_midi(path)
    assert keys(back.notes) == keys(sample_sequence().notes)
    assert back.tempos == [(0, 96.0), (8, 72.0)] and back.voices[0].program == 19
    assert [n.velocity for n in back.notes] == [n.velocity for n in sorted(sample_sequence().notes)]


def test_pretty_midi_finds_exactly_the_notes(tmp_path):
    pretty_midi = pytest.importorskip("pretty_midi")
    seq = sample_sequence()
    path = write_midi(seq, tmp_path / "pm.mid")
    pm = pretty_midi.PrettyMIDI(str(path))
    assert len(pm.instruments) == 1 and pm.instruments[0].program == 19 and not pm.instruments[0].is_drum
    found = sorted((n.start, n.end, n.pitch, n.velocity) for n in pm.instruments[0].notes)
    expected = sorted((seq.seconds(n.start), seq.seconds(n.end), n.pitch, n.velocity) for n in seq.notes)
    assert [f[2:] for f in found] == [e[2:] for e in expected]
    # times agree to a microsecond: a MIDI tempo is whole microseconds per quarter note
    assert [t for f in found for t in f[:2]] == pytest.approx([t for e in expected for t in e[:2]], abs=1e-5)
    assert [round(t, 3) for t in pm.get_tempo_changes()[1]] == [96.0, 72.0]


def test_music21_finds_exactly_the_notes(tmp_path):
    music21 = pytest.importorskip("music21")
    seq = sample_sequence()
    path = write_midi(seq, tmp_path / "m21.mid")
    score = music21.converter.parse(str(path)).stripTies()
    found = []
    for n in score.flatten().notes:
        for p in n.pitches:  # a chord holds several
            found.append((float(n.offset) * 4, float(n.offset + n.quarterLength) * 4, p.midi))
    assert sorted(found) == sorted((float(n.start), float(n.end), n.pitch) for n in seq.notes)


def test_chorale_reads_as_four_voices():
    path = CHORALES / "train" / "chorale_train_000.mid"
    seq = read_midi(path)
    assert len(seq.voices) == 4 and seq.qpm == 100.0 and all(not n.drum for n in seq.notes)


def test_render_cli_reports_a_bad_file(tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"RIFF....WAVE")
    r = subprocess.run([sys.executable, "-m", "guigen", "render", str(bad), str(tmp_path / "x.wav")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "bad.mid: not a MIDI file" in r.stderr and "Traceback" not in r.stderr
