"""Voices, by numbers: agreement of assign_voices with Bach's own parts over the test chorales, and
over generated chorales the steps where a note of a lower voice sounds above one of a higher voice,
as assigned (the music's own crossings) and as shown (voice_labels), with the notes left unlabelled.

    .venv/bin/python benchmarks/voice_labels.py [PIECES] [SEED]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from guigen.core import registry
from guigen.core.sampling import SamplingSettings
from guigen.music.generate import generate_events, primer
from guigen.music.midi import read_midi
from guigen.music.voices import assign_voices, voice_labels

TEST = Path(__file__).resolve().parents[1] / "data" / "midi" / "jsb_chorales" / "test"


def crossing_steps(notes, voices) -> tuple[int, int]:
    at: dict[int, list] = {}
    for n, v in zip(notes, voices):
        if v is not None:
            for s in range(n.start, n.end):
                at.setdefault(s, []).append((n.pitch, v))
    return sum(any(p > q and v > w for p, v in nv for q, w in nv) for nv in at.values()), len(at)


def main(pieces: int = 100, seed: int = 1) -> None:
    agree = total = 0
    t = time.perf_counter()
    for path in sorted(TEST.glob("*.mid")):
        notes = sorted({n.key: n for n in read_midi(path).notes}.values())  # unisons merged, as the encoding
        v = assign_voices(notes)
        agree += sum(a == n.voice for a, n in zip(v, notes))
        total += len(notes)
    took = time.perf_counter() - t
    print(f"Bach's test chorales: {agree / total:.4f} of {total:,} notes in Bach's own voice "
          f"({took / total * 1e3:.3f} ms a note)")
    model = registry.load("bach-chorales")
    notes, _ = primer(model.codec, None, "60,64,67", seed)
    results = generate_events(model, model.codec.primer(notes), 64, SamplingSettings(1.0), seed=seed, outputs=pieces)
    assigned = shown = steps = unlabelled = count = 0
    for r in results:
        piece = model.codec.decode(r.ids)
        a = assign_voices(piece)
        s = voice_labels(piece)
        if a is None:
            continue
        x, n = crossing_steps(piece, a)
        assigned, steps = assigned + x, steps + n
        shown += crossing_steps(piece, s)[0]
        unlabelled += sum(v is None for v in s)
        count += len(s)
    print(f"{pieces} generated chorales (4 bars, seed {seed}): crossed steps as assigned {assigned} of {steps:,}; "
          f"as shown {shown}; notes shown without a voice {unlabelled} of {count:,} ({unlabelled / max(count, 1):.1%})")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
