"""Sound for note sequences: a General MIDI SoundFont through FluidSynth when one is available,
a small built-in additive synthesiser otherwise, so there is always sound; WAV files written atomically.

FluidSynth comes from pyfluidsynth (pure Python, in the dependencies) over the system's
libfluidsynth; a SoundFont is a path the user gives, $GUIGEN_SOUNDFONT, or one found in the usual
system places (Debian's fluid-soundfont-gm or timgm6mb-soundfont, for example).
"""

from __future__ import annotations

import os
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from guigen.core.files import atomic_path, refuse_overwrite
from guigen.music.events import NoteSequence

SAMPLE_RATE = 44100
TAIL_SECONDS = 1.0  # let the last notes ring out
SOUNDFONT_PLACES = [
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/sounds/sf3/default-GM.sf3",
    "/usr/local/share/soundfonts/default.sf2",
    "/opt/homebrew/share/soundfonts/default.sf2",
    "~/Library/Audio/Sounds/Banks/FluidR3_GM.sf2",
]


@dataclass
class Audio:
    samples: np.ndarray  # (frames, 2) float32 in [-1, 1]
    sample_rate: int
    engine: str  # what made it, for people: "SoundFont FluidR3_GM.sf2" or "built-in synthesiser"

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.sample_rate


def find_soundfont() -> Path | None:
    """$GUIGEN_SOUNDFONT, else the first General MIDI SoundFont in the usual places, else None."""
    env = os.environ.get("GUIGEN_SOUNDFONT")
    if env:
        return Path(env).expanduser() if Path(env).expanduser().is_file() else None
    for place in SOUNDFONT_PLACES:
        p = Path(place).expanduser()
        if p.is_file():
            return p.resolve()
    return None


def fluidsynth_available() -> bool:
    try:
        import fluidsynth  # noqa: F401  (the import fails when libfluidsynth is missing)
    except (ImportError, OSError):
        return False
    return True


def render(seq: NoteSequence, soundfont=None, engine: str = "auto", sample_rate: int = SAMPLE_RATE) -> Audio:
    """Render a sequence. engine: "auto" (SoundFont if one and FluidSynth are found), "soundfont", "builtin"."""
    if engine not in ("auto", "soundfont", "builtin"):
        raise ValueError(f"unknown audio engine {engine!r}")
    if soundfont is not None:
        soundfont = Path(soundfont).expanduser()
        if not soundfont.is_file():
            raise FileNotFoundError(f"{soundfont}: no such SoundFont file")
        engine = "soundfont" if engine == "auto" else engine
    if engine != "builtin":
        sf = soundfont or find_soundfont()
        if sf is not None and fluidsynth_available():
            return Audio(_fluidsynth(seq, sf, sample_rate), sample_rate, f"SoundFont {sf.name}")
        if engine == "soundfont":
            why = "no SoundFont found (give one with --soundfont)" if sf is None else (
                "FluidSynth is not installed (Debian/Ubuntu: apt install libfluidsynth3; macOS: brew install fluid-synth)")
            raise ValueError(f"cannot render with a SoundFont: {why}")
    return Audio(synthesise(seq, sample_rate), sample_rate, "built-in synthesiser")


def _events(seq: NoteSequence):
    """(seconds, is_on, channel, pitch, velocity), note-offs before note-ons at the same time."""
    out = []
    for n in seq.notes:
        ch = 9 if n.drum else 0 if n.voice >= 15 else n.voice + (n.voice >= 9)
        out.append((seq.seconds(n.start), 1, ch, n.pitch, n.velocity))
        out.append((seq.seconds(n.end), 0, ch, n.pitch, 0))
    return sorted(out)


def _fluidsynth(seq: NoteSequence, soundfont: Path, sample_rate: int) -> np.ndarray:
    import fluidsynth

    synth = fluidsynth.Synth(gain=0.5, samplerate=float(sample_rate))
    try:
        sfid = synth.sfload(str(soundfont))
        if sfid < 0:
            raise ValueError(f"{soundfont}: FluidSynth could not load this SoundFont")
        for v, voice in enumerate(seq.voices[:15]):
            ch = 9 if voice.drum else v + (v >= 9)
            synth.program_select(ch, sfid, 128 if voice.drum else 0, voice.program)
        chunks, done = [], 0
        for seconds, on, ch, pitch, velocity in _events(seq):
            frame = int(round(seconds * sample_rate))
            if frame > done:
                chunks.append(synth.get_samples(frame - done))
                done = frame
            if on:
                synth.noteon(ch, pitch, velocity)
            else:
                synth.noteoff(ch, pitch)
        chunks.append(synth.get_samples(int(TAIL_SECONDS * sample_rate)))
    finally:
        synth.delete()
    return (np.concatenate(chunks).reshape(-1, 2).astype(np.float32) / 32768.0)


def synthesise(seq: NoteSequence, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The built-in synthesiser: a few decaying harmonics per note, a noise burst per drum hit.

    The fundamental is always the strongest partial, so the pitch heard is the pitch written.
    """
    end = max((seq.seconds(n.end) for n in seq.notes), default=0.0)
    out = np.zeros(int((end + TAIL_SECONDS) * sample_rate) + 1, dtype=np.float32)
    release = int(0.08 * sample_rate)
    rng = np.random.default_rng(0)  # drum noise, the same every time
    for n in seq.notes:
        start = int(seq.seconds(n.start) * sample_rate)
        length = max(1, int(seq.seconds(n.end) * sample_rate) - start)
        amp = 0.25 * n.velocity / 127
        if n.drum:
            k = min(int(0.08 * sample_rate), len(out) - start)
            out[start:start + k] += amp * rng.standard_normal(k).astype(np.float32) * np.exp(-np.arange(k) / (0.02 * sample_rate))
            continue
        k = min(length + release, len(out) - start)
        t = np.arange(k) / sample_rate
        f0 = 440.0 * 2 ** ((n.pitch - 69) / 12)
        wave_ = np.zeros(k)
        for h, weight in enumerate((1.0, 0.5, 0.3, 0.18, 0.1, 0.06), start=1):
            if h * f0 < sample_rate / 2:
                wave_ += weight * np.sin(2 * np.pi * h * f0 * t)
        env = np.minimum(1.0, t / 0.005) * np.exp(-t / 1.5)  # 5 ms attack, slow decay like a struck string
        tail = np.arange(k) >= length
        env[tail] *= np.maximum(0.0, 1 - (np.arange(k)[tail] - length) / release)
        out[start:start + k] += (amp * wave_ * env).astype(np.float32)
    peak = float(np.abs(out).max()) if len(out) else 0.0
    if peak > 0.9:  # many voices at once: scale down instead of clipping
        out *= 0.9 / peak
    return np.repeat(out[:, None], 2, axis=1)


def write_wav(path, audio: Audio, overwrite: bool = False) -> Path:
    """16-bit stereo PCM WAV, written atomically."""
    path = Path(path)
    refuse_overwrite(path, overwrite)
    pcm = (np.clip(audio.samples, -1, 1) * 32767).astype("<i2")
    with atomic_path(path) as tmp:
        with wave.open(str(tmp), "wb") as w:
            w.setnchannels(pcm.shape[1])
            w.setsampwidth(2)
            w.setframerate(audio.sample_rate)
            w.writeframes(pcm.tobytes())
    return path


def render_midi_file(midi_path, wav_path, soundfont=None, engine: str = "auto", overwrite: bool = False) -> Audio:
    """Read a MIDI file on a fine grid (96 steps per quarter, so timing survives) and render it to WAV."""
    from guigen.music.midi import read_midi

    refuse_overwrite(wav_path, overwrite)
    audio = render(read_midi(midi_path, steps_per_quarter=96), soundfont, engine)
    write_wav(wav_path, audio, overwrite)
    return audio
