"""Listen-by-numbers checks of the shipped Bach models:
chorales generated at T = 1 stay in the training range, mostly have 3-4 voices, mostly use one key."""

import numpy as np

from guigen.core.sampling import SamplingSettings
from guigen.music.generate import generate_events, primer
from music_helpers import in_best_key, shipped

TRAIN_CHORALES = (36, 81)  # the training chorales' lowest and highest pitch, before any transposition


def sounding_per_step(notes, steps):
    count = np.zeros(steps, dtype=int)
    for n in notes:
        count[n.start:min(n.end, steps)] += 1
    return count


def test_bach_chorales_by_numbers():
    model = shipped("bach-chorales")
    codec = model.codec
    results = generate_events(model, codec.primer(primer(codec)[0]), 128, SamplingSettings(1.0), seed=0, outputs=4)
    low, high = codec.min_pitch, codec.max_pitch  # measured on the training data, transpositions included
    assert TRAIN_CHORALES[0] - 6 <= low and high <= TRAIN_CHORALES[1] + 6
    keys = []
    for r in results:
        notes = codec.decode(r.ids)
        assert notes and all(low <= n.pitch <= high for n in notes)
        assert np.isin(sounding_per_step(notes, 128), [3, 4]).mean() >= 0.6  # Bach's test chorales: >= 0.92
        keys.append(in_best_key(notes))
    assert np.mean(keys) >= 0.8  # Bach's test chorales: 0.94 on average, 0.86 at least


def test_bach_melody_by_numbers():
    model = shipped("bach-melody")
    codec = model.codec
    notes, _ = primer(codec, primer_pitches="67,67,69,71")
    view = codec.view_for(notes)  # as the CLI and the app: a model trained in C plays in the primer's key
    results = generate_events(model, view.primer(notes), 128, SamplingSettings(1.0), seed=0, outputs=4)
    tunes = [view.decode(r.ids) for r in results]
    assert all([(n.start, n.pitch) for n in t[:4]] == [(n.start, n.pitch) for n in notes] for t in tunes)
    assert all(len(t) >= 16 for t in tunes)
    assert np.mean([in_best_key(t) for t in tunes]) >= 0.8
