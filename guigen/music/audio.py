"""Sound for note sequences: a General MIDI SoundFont through FluidSynth when one is available,
a small built-in additive synthesiser otherwise, so there is always sound; WAV files written atomically.

FluidSynth comes from pyfluidsynth (pure Python, in the dependencies) over the system's
libfluidsynth; a SoundFont is a path the user gives, $GUIGEN_SOUNDFONT, or one found in the usual
system places (Debian's fluid-soundfont-gm or timgm6mb-soundfont, for example).

Loudness: both back ends are scaled so that the render's sample peak sits at PEAK_DBFS (-1 dBFS).
A peak target rather than a loudness (LUFS) one, because it can never clip and needs no
filtering; a SoundFont render (FluidSynth alone peaks near -18 dBFS) is then as loud as the
built-in synthesiser's and as anything else a user plays. The scale needs the whole render's
peak, so a WAV is made in two passes over bounded blocks: the audio goes as float32 to a
temporary file (silence as holes, so hours of rest cost nothing), then is scaled into the WAV.
Memory stays the same whatever the duration; audio longer than MAX_SECONDS (half an hour) or of
more than MAX_NOTES notes is refused before anything is rendered, so no file costs more than
seconds of work.
"""

from __future__ import annotations

import os
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from guigen.core.files import atomic_path, refuse_overwrite
from guigen.music.events import NoteSequence

SAMPLE_RATE = 44100
TAIL_SECONDS = 1.0  # let the last notes ring out
PEAK_DBFS = -1.0  # every render is scaled to this sample peak (see the module's docstring)
# What one render may make, refused before any work beyond it (about 10 s of work on a 2-core machine):
MAX_SECONDS = 1800.0  # half an hour of audio, a 318 MB WAV file
MAX_NOTES = 20_000  # notes (a long piano piece holds a few thousand)
BLOCK = 1 << 15  # frames rendered at a time (0.74 s): what memory a render holds
RING_SECONDS = 5.0  # FluidSynth renders at least this long after each event before silence is skipped
SILENT = 1e-5  # a block whose peak is below this (-100 dBFS) has stopped ringing
DECAY_SECONDS = 1.5  # the built-in synthesiser's decay time constant: a note is inaudible after 15 of them
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


@dataclass
class Rendered:
    """What a streamed render wrote: its length, rate, engine and the peak before scaling."""

    frames: int
    sample_rate: int
    engine: str
    peak_dbfs: float  # the back end's own peak, before it was scaled to PEAK_DBFS (-inf: silence)

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate


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


def _choose(soundfont, engine: str) -> Path | None:
    """The SoundFont to render with, or None for the built-in synthesiser."""
    if engine not in ("auto", "soundfont", "builtin"):
        raise ValueError(f"unknown audio engine {engine!r}")
    if soundfont is not None:
        soundfont = Path(soundfont).expanduser()
        if not soundfont.is_file():
            raise FileNotFoundError(f"{soundfont}: no such SoundFont file")
        engine = "soundfont" if engine == "auto" else engine
    if engine == "builtin":
        return None
    sf = soundfont or find_soundfont()
    if sf is not None and fluidsynth_available():
        return sf
    if engine == "soundfont":
        why = "no SoundFont found (give one with --soundfont)" if sf is None else (
            "FluidSynth is not installed (Debian/Ubuntu: apt install libfluidsynth3; macOS: brew install fluid-synth)")
        raise ValueError(f"cannot render with a SoundFont: {why}")
    return None


def _frames(seq: NoteSequence, sample_rate: int, name: str = "the music") -> tuple[np.ndarray, np.ndarray, int]:
    """Start and end frames of every note, and the frames of the whole render; refuses audio
    longer than MAX_SECONDS before any is made."""
    if len(seq.notes) > MAX_NOTES:
        raise ValueError(f"{name} holds {len(seq.notes):,} notes; audio is rendered for up to {MAX_NOTES:,}")
    starts = np.array([n.start for n in seq.notes], dtype=np.float64)
    ends = np.array([n.end for n in seq.notes], dtype=np.float64)
    start_s, end_s = seq.seconds_array(starts), seq.seconds_array(ends)
    last = float(end_s.max()) if len(end_s) else 0.0
    if last + TAIL_SECONDS > MAX_SECONDS:
        h, m, s = int(last // 3600), int(last % 3600 // 60), int(last % 60)
        raise ValueError(f"{name} lasts {h}:{m:02d}:{s:02d}; audio is rendered up to {MAX_SECONDS / 60:.0f} minutes")
    return ((start_s * sample_rate).astype(np.int64), (end_s * sample_rate).astype(np.int64),
            int((last + TAIL_SECONDS) * sample_rate) + 1)


def _channel(n) -> int:
    return 9 if n.drum else 0 if n.voice >= 15 else n.voice + (n.voice >= 9)


HARMONICS = (1.0, 0.5, 0.3, 0.18, 0.1, 0.06)  # the built-in synthesiser's partials, fundamental strongest
TABLE_SECONDS = 2.0  # each pitch's sound (tone times envelope) is computed once for this long, then looked up


def _voice(pitch: int, t: np.ndarray, sample_rate: int) -> np.ndarray:
    """A built-in note's sound before release at times t: decaying harmonics, a 5 ms attack."""
    f0 = 440.0 * 2 ** ((pitch - 69) / 12)
    tone = np.zeros(len(t))
    for h, weight in enumerate(HARMONICS, start=1):
        if h * f0 < sample_rate / 2:
            tone += weight * np.sin(2 * np.pi * h * f0 * t)
    return tone * np.minimum(1.0, t / 0.005) * np.exp(-t / DECAY_SECONDS)  # a struck string's decay


def _builtin_blocks(seq: NoteSequence, sample_rate: int, name: str) -> Iterator[np.ndarray | int]:
    """The built-in synthesiser, block by block: a few decaying harmonics per note, a noise burst
    per drum hit; an int stands for that many frames of silence. The fundamental is always the
    strongest partial, so the pitch heard is the pitch written. A note's first TABLE_SECONDS come
    from a table made once per pitch (at most 128 x 350 KB), so a note costs one multiply-add."""
    starts, ends, total = _frames(seq, sample_rate, name)
    release = int(0.08 * sample_rate)
    audible = int(15 * DECAY_SECONDS * sample_rate)  # exp(-15): -130 dB, nothing is heard after
    tabled = int(TABLE_SECONDS * sample_rate)
    tables: dict[int, np.ndarray] = {}
    order = np.argsort(starts, kind="stable")
    notes, active, k = seq.notes, [], 0
    for b0 in range(0, total, BLOCK):
        b1 = min(b0 + BLOCK, total)
        while k < len(order) and starts[order[k]] < b1:
            i = int(order[k])
            length = max(1, int(ends[i] - starts[i]))
            span = int(0.08 * sample_rate) if notes[i].drum else min(length + release, audible)
            active.append((i, int(starts[i]), length, span))
            k += 1
        active = [a for a in active if a[1] + a[3] > b0]
        if not active:
            yield b1 - b0
            continue
        out = np.zeros(b1 - b0, dtype=np.float32)
        for i, start, length, span in active:
            n = notes[i]
            lo, hi = max(start, b0), min(start + span, b1)
            if hi <= lo:
                continue
            amp = np.float32(0.25 * n.velocity / 127)
            a, z = lo - start, hi - start  # the part of the note in this block, in its own samples
            if n.drum:  # the same burst in every block it spans: seeded by the note
                burst = np.random.default_rng(i).standard_normal(span) * np.exp(-np.arange(span) / (0.02 * sample_rate))
                out[lo - b0:hi - b0] += amp * burst[a:z].astype(np.float32)
                continue
            if z <= tabled:
                if n.pitch not in tables:
                    tables[n.pitch] = _voice(n.pitch, np.arange(tabled) / sample_rate, sample_rate).astype(np.float32)
                sound = amp * tables[n.pitch][a:z]
            else:
                sound = (amp * _voice(n.pitch, np.arange(a, z) / sample_rate, sample_rate)).astype(np.float32)
            if z > length:  # the release: a fade over 80 ms after the note ends
                r = max(a, length)
                sound[r - a:] *= np.maximum(0.0, 1 - (np.arange(r, z) - length) / release).astype(np.float32)
            out[lo - b0:hi - b0] += sound
        yield np.repeat(out[:, None], 2, axis=1)


def _float_writer(synth, fluidsynth):
    """frames -> (frames, 2) float32 from FluidSynth: its float output (no clipping, no 16-bit
    rounding before the scaling), or pyfluidsynth's 16-bit one where the library lacks it."""
    import ctypes

    fn = getattr(getattr(fluidsynth, "_fl", None), "fluid_synth_write_float", None)
    if fn is None:
        return lambda n: synth.get_samples(n).reshape(-1, 2).astype(np.float32) / 32768.0
    fn.argtypes = [ctypes.c_void_p, ctypes.c_int] + [ctypes.c_void_p, ctypes.c_int, ctypes.c_int] * 2
    fn.restype = ctypes.c_int

    def write(n: int) -> np.ndarray:
        buf = np.zeros((n, 2), dtype=np.float32)
        ptr = buf.ctypes.data
        fn(synth.synth, n, ptr, 0, 2, ptr, 1, 2)
        return buf

    return write


def _soundfont_blocks(seq: NoteSequence, soundfont: Path, sample_rate: int, name: str) -> Iterator[np.ndarray | int]:
    """FluidSynth, block by block; once the sound has died away (RING_SECONDS after an event, a
    block below SILENT), the silence up to the next event is skipped (an int: that many frames)."""
    import fluidsynth

    starts, ends, total = _frames(seq, sample_rate, name)
    events = sorted([(int(s), 1, _channel(n), n.pitch, n.velocity) for s, n in zip(starts, seq.notes)]
                    + [(int(e), 0, _channel(n), n.pitch, 0) for e, n in zip(ends, seq.notes)])
    events.append((total, -1, 0, 0, 0))  # the end of the render
    synth = fluidsynth.Synth(gain=0.2, samplerate=float(sample_rate))
    try:
        sfid = synth.sfload(str(soundfont))
        if sfid < 0:
            raise ValueError(f"{soundfont}: FluidSynth could not load this SoundFont")
        for v, voice in enumerate(seq.voices[:15]):
            ch = 9 if voice.drum else v + (v >= 9)
            synth.program_select(ch, sfid, 128 if voice.drum else 0, voice.program)
        write = _float_writer(synth, fluidsynth)
        done, quiet_at, last_peak = 0, 0, 1.0
        for frame, on, ch, pitch, velocity in events:
            while done < frame:
                if done >= quiet_at and last_peak < SILENT:
                    yield frame - done  # died away (notes off, or held notes decayed): silent to the next event
                    done = frame
                    break
                block = write(min(BLOCK, frame - done))
                last_peak = float(np.abs(block).max())
                done += len(block)
                yield block
            if on == 1:
                synth.noteon(ch, pitch, velocity)
            elif on == 0:
                synth.noteoff(ch, pitch)
            quiet_at, last_peak = frame + int(RING_SECONDS * sample_rate), 1.0  # let every event ring
    finally:
        synth.delete()


def _blocks(seq: NoteSequence, soundfont: Path | None, sample_rate: int, name: str = "the music"):
    if soundfont is not None:
        return _soundfont_blocks(seq, soundfont, sample_rate, name), f"SoundFont {soundfont.name}"
    return _builtin_blocks(seq, sample_rate, name), "built-in synthesiser"


def _gain(peak: float) -> float:
    return 10 ** (PEAK_DBFS / 20) / peak if peak > 0 else 1.0


def render(seq: NoteSequence, soundfont=None, engine: str = "auto", sample_rate: int = SAMPLE_RATE) -> Audio:
    """Render a sequence in memory (for playback), its peak at PEAK_DBFS. engine: "auto" (SoundFont
    if one and FluidSynth are found), "soundfont", "builtin"."""
    blocks, name = _blocks(seq, _choose(soundfont, engine), sample_rate)
    parts = [np.zeros((b, 2), np.float32) if isinstance(b, int) else b for b in blocks]
    samples = np.concatenate(parts) if parts else np.zeros((0, 2), np.float32)
    peak = float(np.abs(samples).max()) if len(samples) else 0.0
    samples *= np.float32(_gain(peak))
    return Audio(samples, sample_rate, name)


def synthesise(seq: NoteSequence, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The built-in synthesiser's (frames, 2) samples, unscaled (render() scales them)."""
    parts = [np.zeros((b, 2), np.float32) if isinstance(b, int) else b
             for b in _builtin_blocks(seq, sample_rate, "the music")]
    return np.concatenate(parts) if parts else np.zeros((0, 2), np.float32)


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


def render_to_wav(seq: NoteSequence, path, soundfont=None, engine: str = "auto", sample_rate: int = SAMPLE_RATE,
                  overwrite: bool = False, name: str = "the music") -> Rendered:
    """Render straight to a 16-bit stereo WAV in bounded memory, its peak at PEAK_DBFS.

    Pass 1 writes float32 blocks to an unnamed temporary file beside the WAV (silence left as
    holes) and finds the peak; pass 2 scales the blocks into the WAV, written atomically.
    """
    path = Path(path)
    refuse_overwrite(path, overwrite)
    blocks, engine_name = _blocks(seq, _choose(soundfont, engine), sample_rate, name)
    frame_bytes = 2 * 4
    with atomic_path(path) as tmp, tempfile.TemporaryFile(dir=tmp.parent, prefix=".guigen-render-") as scratch:
        spans, frames, peak = [], 0, 0.0  # spans: (frames, sounding) in order
        for b in blocks:
            if isinstance(b, int):
                scratch.seek(b * frame_bytes, os.SEEK_CUR)  # a hole: no disk, reads back as zeros
                spans.append((b, False))
                frames += b
                continue
            peak = max(peak, float(np.abs(b).max()))
            scratch.write(np.ascontiguousarray(b, dtype="<f4").tobytes())
            spans.append((len(b), True))
            frames += len(b)
        gain = np.float32(_gain(peak))
        scratch.seek(0)
        zeros = bytes(BLOCK * 4)
        with wave.open(str(tmp), "wb") as w:
            w.setnchannels(2)
            w.setsampwidth(2)
            w.setframerate(sample_rate)
            for n, sounding in spans:
                if not sounding:
                    scratch.seek(n * frame_bytes, os.SEEK_CUR)
                    while n > 0:
                        k = min(n, BLOCK)
                        w.writeframesraw(zeros[:k * 4])
                        n -= k
                    continue
                b = np.frombuffer(scratch.read(n * frame_bytes), dtype="<f4")
                w.writeframesraw(np.clip(np.rint(b * (gain * 32767)), -32767, 32767).astype("<i2").tobytes())
    return Rendered(frames, sample_rate, engine_name, 20 * np.log10(peak) if peak > 0 else float("-inf"))


def render_midi_file(midi_path, wav_path, soundfont=None, engine: str = "auto", overwrite: bool = False) -> Rendered:
    """Read a MIDI file on a fine grid (96 steps per quarter, so timing survives) and render it
    to WAV, streamed (see render_to_wav)."""
    from guigen.music.midi import read_midi

    refuse_overwrite(wav_path, overwrite)
    seq = read_midi(midi_path, steps_per_quarter=96)
    if not seq.notes:
        raise ValueError(f"{midi_path}: no notes to render")
    return render_to_wav(seq, wav_path, soundfont, engine, overwrite=overwrite, name=str(midi_path))
