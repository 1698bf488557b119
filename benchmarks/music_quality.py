"""Listen-by-numbers for the shipped Bach models, over more seeds than tests/test_music_shipped.py:
share of note-time in one key, share of steps with 3-4 voices, pitch range. Usage: music_quality.py [SEEDS]"""
import sys
from pathlib import Path
import numpy as np
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from guigen.core import registry
from guigen.core.sampling import SamplingSettings
from guigen.music.generate import generate_events, primer
from test_music_shipped import in_best_key, sounding_per_step

seeds = range(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
m = registry.load("bach-chorales"); c = m.codec
keys, voices, rng_ok, ll = [], [], [], []
for s in seeds:
    for r in generate_events(m, c.primer(primer(c)[0]), 128, SamplingSettings(1.0), seed=s, outputs=4):
        n = c.decode(r.ids)
        keys.append(in_best_key(n)); voices.append(np.isin(sounding_per_step(n, 128), [3, 4]).mean())
        ll.append(r.logprob / r.events)
print(f"bach-chorales, {len(keys)} samples of 128 steps at T = 1: in best key {np.mean(keys):.3f} (min {np.min(keys):.3f}), "
      f"3-4 voices {np.mean(voices):.3f} of steps (min {np.min(voices):.3f}), range {c.min_pitch}-{c.max_pitch}, "
      f"log-likelihood {np.mean(ll):.3f} nats/event")
m = registry.load("bach-melody"); c = m.codec
notes, _ = primer(c, primer_pitches="67,67,69,71"); v = c.view_for(notes)
keys, lens = [], []
for s in seeds:
    for r in generate_events(m, v.primer(notes), 128, SamplingSettings(1.0), seed=s, outputs=4):
        t = v.decode(r.ids); keys.append(in_best_key(t)); lens.append(len(t))
print(f"bach-melody, {len(keys)} samples of 128 steps at T = 1 after 67,67,69,71: in best key {np.mean(keys):.3f} "
      f"(min {np.min(keys):.3f}), {np.mean(lens):.1f} notes each")
