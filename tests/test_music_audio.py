"""Sound: a rendered C major scale has its spectral peaks at the scale's pitches; WAV files are sound."""

import subprocess
import sys
import wave

import numpy as np
import pytest

from guigen.music import audio
from guigen.music.events import Note, NoteSequence, Voice
from guigen.music.midi import write_midi

SCALE = [60, 62, 64, 65, 67, 69, 71, 72]  # C4 D4 E4 F4 G4 A4 B4 C5, a quarter note each at 120 qpm


def scale(program=0):
    notes = [Note(4 * i, 4 * i + 4, p, 100) for i, p in enumerate(SCALE)]
    return NoteSequence(notes, [(0, 120.0)], voices=[Voice("scale", program)])


def peak_cents(samples, sample_rate):
    """For each half-second note: cents from the expected pitch to the strongest spectral peak."""
    out = []
    for i, p in enumerate(SCALE):
        seg = samples[int((0.5 * i + 0.05) * sample_rate): int((0.5 * i + 0.45) * sample_rate), 0]
        spectrum = np.abs(np.fft.rfft(seg * np.hanning(len(seg)), n=1 << 16))  # padded: fine bins
        f = np.fft.rfftfreq(1 << 16, 1 / sample_rate)[spectrum.argmax()]
        out.append(1200 * np.log2(f / (440 * 2 ** ((p - 69) / 12))))
    return np.array(out)


def test_builtin_synth_plays_the_written_pitches():
    a = audio.render(scale(), engine="builtin")
    assert a.engine == "built-in synthesiser" and a.samples.shape[1] == 2 and a.samples.dtype == np.float32
    assert a.seconds == pytest.approx(4.0 + audio.TAIL_SECONDS, abs=0.01)
    assert np.abs(a.samples).max() <= 1.0
    assert np.abs(peak_cents(a.samples, a.sample_rate)).max() < 10  # a tenth of a semitone


@pytest.mark.skipif(audio.find_soundfont() is None or not audio.fluidsynth_available(),
                    reason="no SoundFont or no libfluidsynth (apt install libfluidsynth3 timgm6mb-soundfont)")
def test_soundfont_plays_the_written_pitches():
    a = audio.render(scale())
    assert a.engine.startswith("SoundFont")
    cents = peak_cents(a.samples, a.sample_rate)
    # a real instrument's strongest partial may be an octave above the fundamental: same pitch class
    assert np.abs((cents + 600) % 1200 - 600).max() < 20


def test_soundfont_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such SoundFont"):
        audio.render(scale(), soundfont=tmp_path / "missing.sf2")


def test_wav_file_written_atomically(tmp_path):
    a = audio.render(scale(), engine="builtin")
    path = audio.write_wav(tmp_path / "s.wav", a)
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, 44100)
        assert w.getnframes() == len(a.samples)
    assert [p.name for p in tmp_path.iterdir()] == ["s.wav"]
    with pytest.raises(FileExistsError):
        audio.write_wav(path, a)


def test_render_command(tmp_path):
    mid = write_midi(scale(program=73), tmp_path / "scale.mid")
    wav = tmp_path / "scale.wav"
    cmd = [sys.executable, "-m", "guigen", "render", str(mid), str(wav), "--builtin-synth"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "built-in synthesiser" in r.stderr
    with wave.open(str(wav)) as w:
        samples = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2) / 32768
        assert np.abs(peak_cents(samples, w.getframerate())).max() < 10
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "exists" in r.stderr  # no --force: the file is kept


# -- loudness and streaming (issue 13 item 7, issue 11 item 3) ---------------------------------------
def read_wav(path):
    with wave.open(str(path)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2) / 32768, w.getframerate()


def strongest_hz(samples, sample_rate, start_s=0.1, end_s=0.9):
    seg = samples[int(start_s * sample_rate):int(end_s * sample_rate), 0]
    spectrum = np.abs(np.fft.rfft(seg * np.hanning(len(seg)), n=1 << 17))
    return np.fft.rfftfreq(1 << 17, 1 / sample_rate)[spectrum.argmax()]


ENGINES = ["builtin"] + (["soundfont"] if audio.find_soundfont() and audio.fluidsynth_available() else [])


@pytest.mark.parametrize("engine", ENGINES)
def test_both_back_ends_peak_near_minus_1_dbfs_at_the_right_pitch(tmp_path, engine):
    a4 = NoteSequence([Note(0, 8, 69, 100)], [(0, 120.0)], voices=[Voice("a", 0)])  # A4 for a second
    mid = write_midi(a4, tmp_path / "a4.mid")
    info = audio.render_midi_file(mid, tmp_path / "a4.wav", engine=engine)
    samples, rate = read_wav(tmp_path / "a4.wav")
    peak_dbfs = 20 * np.log10(np.abs(samples).max())
    assert -3 <= peak_dbfs <= -0.1, peak_dbfs
    assert peak_dbfs == pytest.approx(audio.PEAK_DBFS, abs=0.05)
    hz = strongest_hz(samples, rate)
    cents = 1200 * np.log2(hz / 440.0)
    assert abs((cents + 600) % 1200 - 600) < 20, hz  # A (a SoundFont piano's strongest partial may be A5)
    if engine == "builtin":
        assert abs(cents) < 10
    assert info.seconds == pytest.approx(1.0 + audio.TAIL_SECONDS, abs=0.01)
    in_memory = audio.render(a4, engine=engine)  # the app's playback: the same target
    assert 20 * np.log10(np.abs(in_memory.samples).max()) == pytest.approx(audio.PEAK_DBFS, abs=0.05)


def test_a_long_render_streams_in_bounded_memory(tmp_path):
    """25 minutes, mostly rest: memory does not follow the duration (a 265 MB WAV, the process far less)."""
    minutes = 25
    seq = NoteSequence([Note(0, 4, 60), Note(8 * 60 * minutes - 8, 8 * 60 * minutes, 67)], [(0, 120.0)])
    mid = write_midi(seq, tmp_path / "long.mid")
    # VmHWM: this process image's own peak (ru_maxrss would count the copy of pytest it was forked from)
    code = ("import re, sys; from guigen.music.audio import render_midi_file; "
            "r = render_midi_file(sys.argv[1], sys.argv[2], engine='builtin'); "
            "peak = re.search(r'VmHWM:\\s*(\\d+)', open('/proc/self/status').read()).group(1); "
            "print(r.seconds, int(peak) // 1024)")
    out = subprocess.run([sys.executable, "-c", code, str(mid), str(tmp_path / "long.wav")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    seconds, peak_mb = map(float, out.stdout.split())
    assert seconds == pytest.approx(60 * minutes + audio.TAIL_SECONDS, abs=0.1)
    assert peak_mb < 200, peak_mb  # the audio alone would be 530 MB as float32
    with wave.open(str(tmp_path / "long.wav")) as w:
        assert abs(w.getnframes() - seconds * 44100) < 2
        w.setpos(w.getnframes() - 44100 * 2)
        end = np.frombuffer(w.readframes(44100), "<i2")
    assert np.abs(end).max() > 0.5 * 32767  # the last note sounds, scaled like the first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.mid", "long.wav"]  # no scratch left behind
