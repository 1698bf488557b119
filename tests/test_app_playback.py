"""Playback end to end on a real audio device: a private PulseAudio daemon with a null sink.

The app (in a child process, offscreen) plays a C major scale; parec records the sink's monitor
to a WAV; the recording must be loud enough and each note's spectral peak must be the note played.
Needs apt packages pulseaudio and pulseaudio-utils (parec); skipped with the reason when the
daemon cannot be started (not installed, no permission, a sandbox without sockets).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from app_helpers import make_music_model

HERE = Path(__file__).resolve().parent
SCALE = [60, 62, 64, 65, 67, 69, 71, 72]
NOTE_S = 0.5  # a quarter note at 120 qpm
SINK = "guigen_test"


def _pactl(env, *args):
    return subprocess.run(["pactl", *args], env=env, capture_output=True, text=True, timeout=10)


@pytest.fixture(scope="module")
def pulse(tmp_path_factory):
    """The environment of a private PulseAudio server whose default sink is a null sink."""
    missing = [tool for tool in ("pulseaudio", "pactl", "parec") if not shutil.which(tool)]
    if missing:
        pytest.skip(f"no {', '.join(missing)}: apt-get install pulseaudio pulseaudio-utils for the playback test")
    root = tmp_path_factory.mktemp("pulse")
    runtime = root / "run"
    runtime.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    # a private server: its own runtime folder and home, so it meets no other daemon or user config
    env.update(XDG_RUNTIME_DIR=str(runtime), HOME=str(root), XDG_CONFIG_HOME=str(root / "config"),
               QT_QPA_PLATFORM="offscreen", OMP_NUM_THREADS="1")
    # -n: no default script, only the modules named; as root PulseAudio warns but runs (no --system needed)
    cmd = ["pulseaudio", "-n", "--daemonize=yes", "--exit-idle-time=-1", "--use-pid-file=yes",
           "--log-target=stderr", "--log-level=error",
           "-L", "module-native-protocol-unix",
           "-L", f"module-null-sink sink_name={SINK} rate=44100 channels=2"]
    try:
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        pytest.skip(f"could not start pulseaudio: {e}")
    pid_file = runtime / "pulse" / "pid"
    if r.returncode != 0 or not pid_file.exists():
        pytest.skip(f"could not start pulseaudio (status {r.returncode}): {r.stderr.strip()[-300:]}")
    pid = int(pid_file.read_text().split()[0])
    try:
        if _pactl(env, "set-default-sink", SINK).returncode != 0 or SINK not in _pactl(env, "list", "short", "sinks").stdout:
            pytest.skip("pulseaudio started, but the null sink could not be set up")
        yield env
    finally:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


def read_wav(path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as f:
        assert f.getsampwidth() == 2
        x = np.frombuffer(f.readframes(f.getnframes()), "<i2").astype(np.float64) / 32768.0
        return x.reshape(-1, f.getnchannels()).mean(axis=1), f.getframerate()


def peak_hz(x: np.ndarray, sr: int) -> float:
    """The strongest frequency in x, interpolated between FFT bins."""
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)), n=8 * len(x)))
    k = int(np.argmax(spec[1:-1])) + 1
    a, b, c = np.log(spec[k - 1:k + 2] + 1e-12)
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * sr / (8 * len(x))


def midi_of(hz: float) -> float:
    return 69 + 12 * np.log2(hz / 440.0)


@pytest.mark.parametrize("sound", ["builtin", "soundfont"])
def test_play_a_scale_into_a_null_sink(pulse, tmp_path, sound):
    from guigen.music.audio import find_soundfont, fluidsynth_available

    if sound == "soundfont":
        sf = find_soundfont()
        if sf is None or not fluidsynth_available():
            pytest.skip("no SoundFont or FluidSynth (apt-get install libfluidsynth3 timgm6mb-soundfont)")
        choice = str(sf)
    else:
        choice = "builtin"
    model = make_music_model(tmp_path / "melody.safetensors", "melody")
    rec = tmp_path / "recording.wav"
    parec = subprocess.Popen(["parec", "-d", f"{SINK}.monitor", "--rate=44100", "--channels=1", "--format=s16le",
                              "--file-format=wav", str(rec)], env=pulse, stderr=subprocess.PIPE)
    try:
        time.sleep(0.3)  # recording before the app starts, so the first note is not missed
        child = subprocess.run([sys.executable, str(HERE / "app_play_child.py"), str(model),
                                str(tmp_path / "settings.ini"), choice],
                               env=pulse, capture_output=True, text=True, timeout=90)
        time.sleep(0.3)
    finally:
        parec.send_signal(signal.SIGINT)  # parec closes the WAV file properly on SIGINT
        parec.wait(10)
    assert child.returncode == 0, child.stderr[-2000:]
    result = json.loads(child.stdout.strip().splitlines()[-1])
    assert result["device"], f"Qt saw no audio output on the PulseAudio server: {result}"
    assert result["errors"] == [], result["errors"]
    assert result["finished"], "playback never reported its end"
    assert result["notes"] == [[4 * i, 4 * i + 4, p] for i, p in enumerate(SCALE)]
    assert result["engine"] == ("built-in synthesiser" if sound == "builtin" else f"SoundFont {Path(choice).name}")

    x, sr = read_wav(rec)
    loud = np.abs(x) > 0.2 * np.abs(x).max()
    assert np.abs(x).max() > 0.01, f"the recording is silent (peak {np.abs(x).max():.5f})"
    onset = int(np.argmax(loud))
    heard = x[onset:onset + int(len(SCALE) * NOTE_S * sr)]
    assert len(heard) == int(len(SCALE) * NOTE_S * sr), "the recording stops before the scale ends"
    rms = float(np.sqrt(np.mean(heard ** 2)))
    assert rms > 0.003, f"the scale is too quiet to be playback (RMS {rms:.5f})"
    for i, pitch in enumerate(SCALE):  # the middle of each note, away from the onsets
        a = onset + int((i * NOTE_S + 0.1) * sr)
        hz = peak_hz(x[a:a + int(0.3 * sr)], sr)
        if sound == "builtin":  # the built-in synth's fundamental is its strongest partial
            assert abs(midi_of(hz) - pitch) < 0.3, f"note {i}: heard {hz:.1f} Hz ({midi_of(hz):.2f}), played {pitch}"
        else:  # a sampled instrument may peak on a harmonic: the peak must be one of the note's
            k = max(1, round(hz / (440 * 2 ** ((pitch - 69) / 12))))
            assert abs(midi_of(hz / k) - pitch) < 0.3, f"note {i}: heard {hz:.1f} Hz, not a harmonic of {pitch}"


def test_a_variation_card_highlights_while_it_plays_and_its_button_stops_it(pulse, tmp_path):
    """Issue 21: a card that plays is highlighted and its button is Stop (■); Stop, or the end of
    the piece, puts both back. On the real PulseAudio null sink, read off the real card widgets."""
    model = make_music_model(tmp_path / "melody.safetensors", "melody")
    child = subprocess.run([sys.executable, str(HERE / "app_variation_play_child.py"), str(model),
                            str(tmp_path / "settings.ini")], env=pulse, capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr[-2000:]
    result = json.loads(child.stdout.strip().splitlines()[-1])
    assert result["device"], f"Qt saw no audio output on the PulseAudio server: {result}"
    assert result["errors"] == [] and result["timeouts"] == [], result
    idle = {"playing": False, "highlighted": False, "button": "▶", "tooltip": "Play this variation"}
    playing = {"playing": True, "highlighted": True, "button": "■", "tooltip": "Stop playing"}
    moments = result["moments"]
    assert moments["made"] == [idle, idle]
    assert moments["card 1 playing"] == [playing, idle]
    assert moments["card 1 stopped"] == [idle, idle]  # stopped from its own button
    assert moments["card 2 playing"] == [idle, playing]
    assert moments["card 2 ended"] == [idle, idle]  # the end of the piece
    assert result["played_s"] > 1.0  # it ran out (a bar at 120 qpm is 2 s), it was not cut short
