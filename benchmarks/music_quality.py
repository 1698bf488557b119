"""Listen-by-numbers for the shipped Bach models, each beside Bach's own test chorales in the same run.

By default (issue 24): `guigen harmonize` with its defaults over the sopranos of Bach's validation
and test chorales (data/midi/jsb_chorales/{valid,test}) and over folk tunes from Ryan's Mammoth
Collection (music21's corpus `ryansMammoth`, 1883, public domain; the chorale model never saw
them), each beside Bach's own chorales, pooled over the pieces: share of four-voice steps whose
pitch classes form a triad or seventh chord (guigen/music/chords.py), soprano-alto or alto-tenor
wider than an octave (share of steps with S, A and T sounding), voice crossings (mean share of
steps), parallel fifths and octaves per 100 voice-pair moves, four-voice steps, endings on the
tonic triad with its root in the bass (the key: Krumhansl-Kessler over the soprano, among the
keys whose tonic triad holds its last note; the same key for Bach's and ours), melody exact,
and onsets kept (the soprano's onsets in the written MIDI file, read back by pretty_midi, equal
the melody's, pickups and leading rests included).
`--html PAGE` also writes a listening sheet: piano rolls (inline SVG) and audio (WAV files beside
the page, rendered by guigen/music/audio.py) of 8 harmonisations beside Bach's own, and 8 tunes
the folk model plays on from the first two bars of held-out tunes (Aird's Selection, music21's
`airdsAirs`, kept out of the folk model's training) beside the tunes themselves, next to the counts.

Four-part writing, as a teacher of chorale harmony would count it (guigen/music/quality.py):
share of steps with four voices, parallel fifths and octaves per 100 voice-pair moves, voice
crossings, each voice's range, share of note-time in one key. Measured on
- Bach's test chorales (his own four voices, from the files' tracks);
- chorales bach-chorales writes freely (voices assigned by guigen/music/voices.py);
- bach-chorales' harmonisations of the test chorales' soprano lines (guigen harmonize), plain
  sampling and beam search. Targets (issue 13): >= 90% of steps in four voices, parallel fifths
  and octaves at most twice Bach's rate.
And bach-melody's tunes: share of note-time in one key.

Usage: python benchmarks/music_quality.py [--splits valid,test] [--folk 30] [--html sheet.html]
       [SEEDS | --seeds 0] [--chorales 77] [--jobs 1] [--harmonize "1.0:1:free,1.0:1,0.8:1,0.8:4"]
       (--seeds and --harmonize: the earlier rows of models/bach-chorales.md: free chorales, and
       harmonisations at temperature:beam size, beam search branching 2 ways; ":free" harmonises
       without the rules)
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
CHORALES = Path(__file__).resolve().parents[1] / "data" / "midi" / "jsb_chorales"
TEST = CHORALES / "test"
FOLK_BOOK = "ryansMammoth"
FOLK_METRES = {(2, 4), (3, 4), (4, 4), (6, 8), (2, 2), (9, 8)}


# -- issue 24's counts -----------------------------------------------------------------------------
def counts(notes, melody, parts, written=None, exact: bool = True) -> dict:
    """One piece's counts (see the docstring); written: the soprano onsets read back from its MIDI file."""
    from guigen.music.chords import is_ending, melody_key

    m = quality.measure(notes, parts)
    m["tonic_end"] = is_ending(quality.final_chord(notes, melody), melody_key(melody))
    m["exact"] = {n.key for n in melody} <= {n.key for n in notes} if exact else None
    m["onsets"] = written == sorted(n.start for n in melody) if written is not None else None
    m["pickup"] = melody[0].start > 0
    return m


def pooled(label: str, pieces: list[dict]) -> dict:
    voiced = [p for p in pieces if "moves" in p]
    moves = sum(p["moves"] for p in voiced)
    kept = [p["onsets"] for p in pieces if p["onsets"] is not None]
    exact = [p["exact"] for p in pieces if p["exact"] is not None]
    return {"label": label, "pieces": len(pieces),
            "chords": sum(p["chords"] for p in pieces) / max(sum(p["four_steps"] for p in pieces), 1),
            "wide": sum(p["wide"] for p in voiced) / max(sum(p["three_steps"] for p in voiced), 1),
            "crossings": float(np.mean([p["crossings"] for p in voiced])) if voiced else float("nan"),
            "parallels": 100 * sum(p["fifths"] + p["octaves"] for p in voiced) / max(moves, 1),
            "four_voices": float(np.mean([p["four_voices"] for p in pieces])),
            "tonic_end": float(np.mean([p["tonic_end"] for p in pieces])),
            "exact": float(np.mean(exact)) if exact else None,
            "onsets": float(np.mean(kept)) if kept else None,
            "pickups": sum(p["pickup"] for p in pieces), "voiced": len(voiced),
            "parallel_count": sum(p["fifths"] + p["octaves"] for p in voiced), "moves": moves}


COLUMNS = (("chords", "triad/7th"), ("wide", "wide S-A/A-T"), ("crossings", "crossings"),
           ("parallels", "par./100"), ("four_voices", "4 voices"), ("tonic_end", "tonic end"),
           ("exact", "melody exact"), ("onsets", "onsets kept"))


def show_counts(row: dict) -> None:
    cells = " | ".join(f"{name} {'-' if row[k] is None else format(row[k], '.3f' if k != 'parallels' else '.2f')}"
                       for k, name in COLUMNS)
    print(f"{row['label']:<44} n={row['pieces']:<3} {cells} | pickups {row['pickups']} | parallels "
          f"{row['parallel_count']} in {row['moves']} moves", flush=True)


def bach_counts(paths) -> list[dict]:
    out = []
    for path in paths:
        seq = read_midi(path)
        notes, _ = remove_overlaps(seq.pitched())
        parts = [sorted(n for n in seq.notes if n.voice == v) for v in range(4)]
        out.append(counts(notes, melody_of(seq), parts, exact=False))  # his own soprano: nothing to keep
    return out


def soprano_onsets(path, qpm: float) -> list[int]:
    """The soprano track's onsets in steps, read back by pretty_midi."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(path))
    soprano = next((i for i in pm.instruments if i.name == "Soprano"), pm.instruments[0])
    return sorted(round(n.start * qpm * 4 / 60) for n in soprano.notes)


def ours(melody, seed: int, time_signature=(4, 4), folder=None):
    """`guigen harmonize`'s defaults on one melody: (counts, the harmonisation)."""
    import tempfile

    from guigen.music.events import NoteSequence
    from guigen.music.export import write_piece

    h = harmonize(registry.load("bach-chorales"), melody, SamplingSettings(0.8), seed=seed)
    seq = NoteSequence(h.notes, [(0, 100.0)], time_signature)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "h.mid"
        write_piece(seq, path, True, melody=h.melody)
        written = soprano_onsets(path, 100.0)
    return counts(h.notes, h.melody, split_voices(h.notes, h.melody), written), h


def _ours_job(job):
    path, seed = job
    seq = read_midi(path)
    return ours(melody_of(seq), seed, seq.time_signature)


def folk_melodies(n: int):
    """The first n tunes of Ryan's Mammoth (by file name) in a common metre that the chorale model
    can take (within its range once moved to C): (label, melody, time signature, seq)."""
    import music21

    from guigen.music.harmonize import model_shift
    from guigen.music.notation import read_tunes

    codec = registry.load("bach-chorales").codec
    folder = Path(music21.__file__).parent / "corpus" / FOLK_BOOK
    out = []
    for path in sorted(folder.glob("*.abc")):
        for tune in read_tunes(path):
            if tune.seq is None or tune.seq.time_signature not in FOLK_METRES:
                continue
            try:
                melody = melody_of(tune.seq)
                model_shift(codec, melody)
            except ValueError:
                continue
            out.append((f"{path.stem} {tune.label}", melody, tune.seq.time_signature, tune.seq))
            break
        if len(out) >= n:
            break
    return out


def issue24(splits, folk: int, jobs: int, html=None, limit: int = 77, sheet: int = 8) -> None:
    rows, pieces = [], {}
    for split in splits:
        paths = sorted((CHORALES / split).glob("*.mid"))[:limit]
        bach_rows = bach_counts(paths)
        rows.append(pooled(f"Bach, {len(paths)} {split} chorales", bach_rows))
        show_counts(rows[-1])
        work = [(p, i) for i, p in enumerate(paths)]
        if jobs > 1:
            from multiprocessing import Pool

            with Pool(jobs) as pool:
                done = pool.map(_ours_job, work)
        else:
            done = [_ours_job(w) for w in work]
        rows.append(pooled(f"harmonize (defaults), their {split} sopranos", [d[0] for d in done]))
        show_counts(rows[-1])
        pieces[split] = (paths, done)
    if folk:
        tunes = folk_melodies(folk)
        done = [ours(melody, 1000 + i, ts) for i, (_, melody, ts, _) in enumerate(tunes)]
        rows.append(pooled(f"harmonize (defaults), {len(tunes)} {FOLK_BOOK} tunes", [d[0] for d in done]))
        show_counts(rows[-1])
        pieces["folk"] = (tunes, done)
    if html:
        from listening_sheet import write_sheet

        write_sheet(Path(html), rows, pieces, COLUMNS, sheet)
        print(f"wrote {html}")


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
    ap.add_argument("--splits", default="valid,test", help="chorale splits whose sopranos are harmonised (issue 24's counts)")
    ap.add_argument("--folk", type=int, default=30, help=f"{FOLK_BOOK} tunes harmonised (0: none)")
    ap.add_argument("--html", help="write a listening sheet page here (WAV files in a folder beside it)")
    ap.add_argument("--sheet", type=int, default=8, help="pieces of each kind on the listening sheet")
    ap.add_argument("--seeds", type=int, default=0, help="free chorales and tunes: 4 samples of 128 steps per seed")
    ap.add_argument("--chorales", type=int, default=77, help="chorales of each split whose sopranos are harmonised")
    ap.add_argument("--harmonize", default="",
                    help="temperature:beam size, comma-separated; :free harmonises without the rules (--free)")
    ap.add_argument("--jobs", type=int, default=1, help="harmonisations in parallel processes")
    args = ap.parse_args(argv)
    if args.seeds_given is not None:
        args.seeds = args.seeds_given
    print(f"load {os.getloadavg()[0]:.2f}")
    issue24([s for s in args.splits.split(",") if s], args.folk, args.jobs, args.html, args.chorales, args.sheet)
    if not args.seeds and not args.harmonize:
        return
    paths = sorted(TEST.glob("*.mid"))
    chosen = paths[:args.chorales]
    print(f"load {os.getloadavg()[0]:.2f}; {len(chosen)} test chorales harmonised, {args.seeds * 4} free chorales")
    show(summary("Bach, all 77 test chorales", bach(paths)))
    if len(chosen) < len(paths):
        show(summary(f"Bach, the {len(chosen)} harmonised", bach(chosen)))
    show(summary("Bach, voices as assigned to ours", bach(paths, assigned=True)))
    model = registry.load("bach-chorales")
    if args.seeds:
        show(summary(f"bach-chorales free, {STEPS} steps T=1", free_chorales(model, range(args.seeds))))
    for spec in [x for x in args.harmonize.split(",") if x]:
        temperature, beam, *free = spec.split(":")
        rows = harmonisations(chosen, float(temperature), int(beam), not free, not free, args.jobs)
        show(summary(f"harmonised T={float(temperature):g} beam {int(beam)}{' free' if free else ''}", rows))

    if not args.seeds:
        return
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
