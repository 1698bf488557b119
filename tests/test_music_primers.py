"""MIDI primers and extraction: fitted to a melody model's range after the key move, cut when too
long, tempos MIDI can write back; the training report names the tracks melodies came from."""

import subprocess
import sys

import mido
import pytest

from guigen.music.dataset import CHORDS, extract
from guigen.music.events import Note, NoteSequence, Voice
from guigen.music.generate import MAX_PRIMER_STEPS, primer
from guigen.music.melody import MelodyEncoding
from guigen.music.midi import MIN_QPM, read_midi, write_midi

D_MAJOR = [62, 64, 66, 67, 69, 71, 73, 74]


def tune(pitches, path, **kw):
    return write_midi(NoteSequence([Note(4 * i, 4 * i + 4, p) for i, p in enumerate(pitches)], **kw), path)


def test_a_primer_inside_the_range_is_moved_by_its_key_only(tmp_path):
    codec = MelodyEncoding(48, 83, key=0)  # as bach-melody: trained in C
    notes, _ = primer(codec, primer_midi=tune(D_MAJOR, tmp_path / "d.mid"))
    assert [n.pitch for n in notes] == D_MAJOR  # the listener hears the primer as written
    view = codec.view_for(notes)
    assert (view.min_pitch, view.max_pitch) == (50, 85)  # the model sees it 2 semitones down, no octave
    assert len(view.primer(notes)) > 0


def test_a_primer_at_the_top_of_the_range_is_kept_whole(tmp_path):
    """B major at the top of the range: moving it up to C would push B5 out; the octave below keeps all."""
    b_major = [71, 73, 75, 76, 78, 80, 82, 83]
    codec = MelodyEncoding(48, 83, key=0)
    notes, _ = primer(codec, primer_midi=tune(b_major, tmp_path / "b.mid"))
    assert [n.pitch for n in notes] == b_major  # never refused, nothing dropped
    view = codec.view_for(notes)
    assert all(view.min_pitch <= p <= view.max_pitch for p in b_major)


def test_a_primer_that_cannot_be_fitted_names_its_own_range(tmp_path):
    codec = MelodyEncoding(61, 61, key=0)  # C#4 only: no note of a diatonic tune moved to C lands there
    path = tune([60, 64, 67, 72], tmp_path / "c.mid")
    with pytest.raises(ValueError, match=r"c\.mid: its melody \(C4-C5\) cannot be fitted"):
        primer(codec, primer_midi=path)


def test_a_long_primer_is_cut_with_one_line(tmp_path):
    path = tune([60 + i % 12 for i in range(600)], tmp_path / "long.mid")  # 2,400 steps
    said = []
    notes, source = primer(MelodyEncoding(48, 83), primer_midi=path, note=said.append)
    assert max(n.end for n in notes) <= MAX_PRIMER_STEPS and len(notes) == MAX_PRIMER_STEPS // 4
    assert len(said) == 1 and "long.mid is 2,400 steps long; its first 1,024" in said[0]
    assert source.total_steps <= MAX_PRIMER_STEPS


def test_melody_report_names_tracks_and_flags_chords(tmp_path):
    notes = [Note(4 * i, 4 * i + 4, 72 + i % 5, voice=0) for i in range(8)]
    notes += [Note(8 * i, 8 * i + 8, p, voice=1) for i in range(4) for p in (48, 52, 53)]  # a chord track
    notes += [Note(4 * i, 4 * i + 4, 8 + i % 3, voice=2) for i in range(4)]  # G#-A#: no octave of them fits
    voices = [Voice("Right hand"), Voice("Left hand"), Voice("Rumble")]
    path = write_midi(NoteSequence(notes, voices=voices), tmp_path / "piano.mid")
    pieces, report = extract(MelodyEncoding(60, 66), path)
    assert len(pieces) == 2 and report.counts[CHORDS] == 1
    line = [x for x in report.lines("training data") if "piano.mid" in x][0]
    assert line == ("  piano.mid: melodies from 'Right hand', 'Left hand' (chords: top line); "
                    "left out 'Rumble' (out of range)")


def test_the_slowest_tempo_and_metre_changes_survive_generation_and_qpm_is_checked_first(tmp_path):
    slow = tune([60, 62, 64, 65], tmp_path / "slow.mid", tempos=[(0, MIN_QPM)], time_signature=(2, 4),
                time_signature_changes=[(8, 3, 4)])
    mid = mido.MidiFile(slow)  # make it the slowest tempo a file can state: 0xFFFFFF us per quarter
    for track in mid.tracks:
        for msg in track:
            if msg.type == "set_tempo":
                msg.tempo = 0xFFFFFF
    mid.save(slow)
    out = tmp_path / "out.mid"
    cmd = [sys.executable, "-m", "guigen", "generate", "-m", "bach-melody", "--steps", "8", "--seed", "1"]
    r = subprocess.run(cmd + ["--primer-midi", str(slow), "-o", str(out)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    back = read_midi(out)
    assert back.qpm == MIN_QPM and (back.time_signature, back.time_signature_changes) == ((2, 4), [(8, 3, 4)])
    r = subprocess.run(cmd + ["--qpm", "1", "-o", str(tmp_path / "never.mid")], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2 and "--qpm" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "never.mid").exists()
