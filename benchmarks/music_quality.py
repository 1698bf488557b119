"""Listen-by-numbers for the shipped Bach models, over more seeds than tests/test_music_shipped.py:
how much note-time lies in one key, how many steps have 3-4 voices, the pitch range.

Usage: python benchmarks/music_quality.py [SEEDS]   (4 samples of 128 steps at T = 1 per seed)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_music_shipped import in_best_key, sounding_per_step  # noqa: E402  (the tests' own measures)

from guigen.core import registry  # noqa: E402
from guigen.core.sampling import SamplingSettings  # noqa: E402
from guigen.music.generate import generate_events, primer  # noqa: E402

STEPS = 128


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    seeds = range(int(argv[0]) if argv else 5)
    model = registry.load("bach-chorales")
    codec = model.codec
    keys, voices, ll = [], [], []
    for s in seeds:
        for r in generate_events(model, codec.primer([]), STEPS, SamplingSettings(1.0), seed=s, outputs=4):
            notes = codec.decode(r.ids)
            keys.append(in_best_key(notes))
            voices.append(np.isin(sounding_per_step(notes, STEPS), [3, 4]).mean())
            ll.append(r.logprob / r.events)
    print(f"bach-chorales, {len(keys)} samples of {STEPS} steps at T = 1: in best key {np.mean(keys):.3f} "
          f"(min {np.min(keys):.3f}), 3-4 voices {np.mean(voices):.3f} of steps (min {np.min(voices):.3f}), "
          f"range {codec.min_pitch}-{codec.max_pitch}, log-likelihood {np.mean(ll):.3f} nats/event")

    model = registry.load("bach-melody")
    notes, _ = primer(model.codec, primer_pitches="67,67,69,71")
    view = model.codec.view_for(notes)  # the model plays in C; we hear the primer's key
    keys, lengths = [], []
    for s in seeds:
        for r in generate_events(model, view.primer(notes), STEPS, SamplingSettings(1.0), seed=s, outputs=4):
            tune = view.decode(r.ids)
            keys.append(in_best_key(tune))
            lengths.append(len(tune))
    print(f"bach-melody, {len(keys)} samples of {STEPS} steps at T = 1 after 67,67,69,71: in best key "
          f"{np.mean(keys):.3f} (min {np.min(keys):.3f}), {np.mean(lengths):.1f} notes each")


if __name__ == "__main__":
    main()
