"""Listen-by-numbers for the shipped Bach models, each beside Bach's own test chorales in the same run.

Four-part writing, as a teacher of chorale harmony would count it (guigen/music/quality.py):
share of steps with four voices, parallel fifths and octaves per 100 voice-pair moves, voice
crossings, each voice's range, share of note-time in one key. Measured on
- Bach's test chorales (his own four voices, from the files' tracks);
- chorales bach-chorales writes freely (voices assigned by guigen/music/voices.py);
- bach-chorales' harmonisations of the test chorales' soprano lines (guigen harmonize), plain
  sampling and beam search. Targets (issue 13): >= 90% of steps in four voices, parallel fifths
  and octaves at most twice Bach's rate.
And bach-melody's tunes: share of note-time in one key.

Usage: python benchmarks/music_quality.py [SEEDS | --seeds 5] [--chorales 77] [--jobs 1]
       [--harmonize "1.0:1:free,1.0:1,0.8:1,0.8:4"]   (temperature:beam size, beam search branching
       2 ways; ":free" harmonises without the rules against parallels and incomplete chords)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from guigen.core import registry
from guigen.core.sampling import SamplingSettings
from guigen.music import quality
from guigen.music.events import pitch_name, remove_overlaps
from guigen.music.generate import generate_events, primer
from guigen.music.harmonize import harmonize, melody_of
from guigen.music.midi import read_midi
from guigen.music.voices import split_voices

STEPS = 128
TEST = Path(__file__).resolve().parents[1] / "data" / "midi" / "jsb_chorales" / "test"


def summary(label: str, pieces: list[dict]) -> dict:
    """One line: means over the pieces, parallels pooled over all their voice-pair moves."""
    voiced = [p for p in pieces if "moves" in p]
    moves = sum(p["moves"] for p in voiced)
    row = {"label": label, "pieces": len(pieces), "four_voices": np.mean([p["four_voices"] for p in pieces]),
           "four_voices_min": np.min([p["four_voices"] for p in pieces]),
           "key_share": np.mean([p["key_share"] for p in pieces]), "voiced": len(voiced),
           "fifths": 100 * sum(p["fifths"] for p in voiced) / max(moves, 1),
           "octaves": 100 * sum(p["octaves"] for p in voiced) / max(moves, 1),
           "crossings": np.mean([p["crossings"] for p in voiced]) if voiced else float("nan")}
    spans = []
    for v in range(4):  # the middle 90% of each voice's notes, and (in brackets) its lowest and highest
        r = [x for p in voiced for x in p["pitches"][v]]
        low, high = np.percentile(r, [5, 95]).round().astype(int) if r else (0, 0)
        spans.append(f"{pitch_name(low)}-{pitch_name(high)} ({pitch_name(min(r))}-{pitch_name(max(r))})" if r else "-")
    row["ranges"] = ", ".join(spans)
    row.update({k: np.mean([p[k] for p in pieces]) for k in ("loglik", "seconds") if all(k in p for p in pieces)})
    return row


def show(row: dict) -> None:
    extra = "".join(f", {k} {row[k]:.3f}" for k in ("loglik", "seconds") if k in row)
    print(f"{row['label']:<34} n={row['pieces']:<3} four voices {row['four_voices']:.3f} (min {row['four_voices_min']:.3f})"
          f" | per 100 moves: fifths {row['fifths']:.2f} octaves {row['octaves']:.2f} ({row['voiced']} in four voices)"
          f" | crossings {row['crossings']:.3f} | in key {row['key_share']:.3f} | S, A, T, B: {row['ranges']}{extra}",
          flush=True)


def bach(paths, assigned: bool = False) -> list[dict]:
    """Bach's chorales in his own four voices (the files' tracks), or in the voices our code
    assigns to the merged notes, as it does to the model's (how much that assignment adds)."""
    out = []
    for path in paths:
        seq = read_midi(path)
        notes, _ = remove_overlaps(seq.pitched())  # as the encoding holds them: unisons merged
        parts = ([sorted(n for n in seq.notes if n.voice == v) for v in range(4)] if not assigned
                 else split_voices(notes))
        out.append(quality.measure(notes, parts))
    return out


def free_chorales(model, seeds) -> list[dict]:
    codec, out = model.codec, []
    for s in seeds:
        for r in generate_events(model, codec.primer([]), STEPS, SamplingSettings(1.0), seed=s, outputs=4):
            notes = codec.decode(r.ids)
            m = quality.measure(notes, split_voices(notes))
            m["loglik"] = r.logprob / r.events
            out.append(m)
    return out


def _harmonize_one(job) -> dict:
    path, temperature, beam, strict, four, seed = job
    model = registry.load("bach-chorales")
    melody = melody_of(read_midi(path))
    t = time.perf_counter()
    h = harmonize(model, melody, SamplingSettings(temperature), seed=seed, beam_size=beam,
                  branch_factor=2 if beam > 1 else 1, strict=strict, four=four)
    m = quality.measure(h.notes, split_voices(h.notes, h.melody))
    m["loglik"], m["seconds"] = h.logprob / h.events, time.perf_counter() - t
    assert {n.key for n in melody} <= {n.key for n in h.notes}  # the melody comes out exactly
    return m


def harmonisations(paths, temperature, beam, strict, four, jobs) -> list[dict]:
    work = [(p, temperature, beam, strict, four, i) for i, p in enumerate(paths)]
    if jobs <= 1:
        return [_harmonize_one(w) for w in work]
    from multiprocessing import Pool

    with Pool(jobs) as pool:
        return pool.map(_harmonize_one, work)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("seeds_given", nargs="?", type=int, metavar="SEEDS", help="the same as --seeds")
    ap.add_argument("--seeds", type=int, default=5, help="free chorales and tunes: 4 samples of 128 steps per seed")
    ap.add_argument("--chorales", type=int, default=77, help="test chorales (of 77) whose sopranos are harmonised")
    ap.add_argument("--harmonize", default="1.0:1:free,1.0:1,0.8:1,0.8:4",
                    help="temperature:beam size, comma-separated; :free harmonises without the rules (--free)")
    ap.add_argument("--jobs", type=int, default=1, help="harmonisations in parallel processes")
    args = ap.parse_args(argv)
    if args.seeds_given is not None:
        args.seeds = args.seeds_given
    paths = sorted(TEST.glob("*.mid"))
    chosen = paths[:args.chorales]
    print(f"load {os.getloadavg()[0]:.2f}; {len(chosen)} test chorales harmonised, {args.seeds * 4} free chorales")
    show(summary("Bach, all 77 test chorales", bach(paths)))
    if len(chosen) < len(paths):
        show(summary(f"Bach, the {len(chosen)} harmonised", bach(chosen)))
    show(summary("Bach, voices as assigned to ours", bach(paths, assigned=True)))
    model = registry.load("bach-chorales")
    show(summary(f"bach-chorales free, {STEPS} steps T=1", free_chorales(model, range(args.seeds))))
    for spec in args.harmonize.split(","):
        temperature, beam, *free = spec.split(":")
        rows = harmonisations(chosen, float(temperature), int(beam), not free, not free, args.jobs)
        show(summary(f"harmonised T={float(temperature):g} beam {int(beam)}{' free' if free else ''}", rows))

    model = registry.load("bach-melody")
    notes, _ = primer(model.codec, primer_pitches="67,67,69,71")
    view = model.codec.view_for(notes)  # the model plays in C; we hear the primer's key
    keys, lengths = [], []
    for s in range(args.seeds):
        for r in generate_events(model, view.primer(notes), STEPS, SamplingSettings(1.0), seed=s, outputs=4):
            tune = view.decode(r.ids)
            keys.append(quality.key_share(tune))
            lengths.append(len(tune))
    print(f"bach-melody, {len(keys)} samples of {STEPS} steps at T = 1 after 67,67,69,71: in best key "
          f"{np.mean(keys):.3f} (min {np.min(keys):.3f}), {np.mean(lengths):.1f} notes each")


if __name__ == "__main__":
    sys.exit(main())
