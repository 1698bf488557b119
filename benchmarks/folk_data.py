"""Write the folk model's data: the public-domain tune books of music21's corpus as MIDI files, split by tune.

    python benchmarks/folk_data.py OUT [--seed 1337] [--jobs 2]

reads O'Neill's Music of Ireland (music21 corpus `oneills1850`) and Ryan's Mammoth Collection
(`ryansMammoth`) through guigen.music.notation (repeats written out, 16th-note grid), keeps tunes
in 2/4, 3/4, 4/4, 6/8 and 9/8 (the rest counted and skipped), keeps one version of tunes that
appear twice (same O'Neill number, or the same opening: the first 16 notes' intervals and
durations), splits the tunes 90/5/5 with the seed, and writes each tune's top line (the highest
note where a fiddle plays two) as a single-line MIDI file with our MIDI writer.

Tunes in 2/2 (cut time: most of the reels) are kept too: on the 16th-note grid a bar of 2/2 is a
bar of 4/4 (the melody encoding has no metre; their MIDI files say 2/2, as the books do). So that
the first split stays as it was (the validation and test tunes the folk model was chosen and
scored on), they are split apart from it: a 2/2 tune that repeats a tune of the other metres (same
O'Neill number or opening) is left out, the rest are shuffled with the same seed on their own and
split 90/5/5, their 90% added to OUT/train after the others, their 5% and 5% written to
OUT/valid-22 and OUT/test-22 (reels the model never trains on, reported apart):

    OUT/train/*.mid  OUT/valid/*.mid  OUT/test/*.mid  OUT/valid-22/*.mid  OUT/test-22/*.mid
    OUT/test-44-68/*.mid  the test tunes in 4/4 and 6/8 again (the metres of the issue's held-out set)
    OUT/other/*.mid  Aird's Selection (airdsAirs, 1782-1803) in 4/4 and 6/8, minus any tune whose
                     opening is in the books: a differently sourced check, never trained on
    OUT/heldout/KIND/*.mid  tunes of other collections, none in the books, never trained on or used to
                     choose a model: Aird's Selection (Scottish, English, Irish, 1782-1803), Northumbrian
                     Minstrelsy (1882) and Colonial and Civil War American fife tunes (music21 `miscFolk`),
                     in the metres the books have (2/4, 3/4, 4/4, 6/8, 9/8, 2/2), by kind: the first of
                     reel, jig, hornpipe, waltz, strathspey, march (also quick step), minuet, polka
                     that the tune's R: line or title names; air for the others (songs and airs, as the
                     books call them); OUT/heldout.json lists them
    OUT/report.json  what was read, skipped and why (with file and X: number)

Then `guigen train music OUT/train --valid OUT/valid --encoding melody ...` (see models/folk.md).
The data are not committed: they come with music21 (`pip install 'guigen[notation]'`).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from guigen.music.events import NoteSequence, Voice
from guigen.music.melody import MelodyEncoding
from guigen.music.midi import write_midi
from guigen.music.notation import read_tunes

BOOKS = ("oneills1850", "ryansMammoth")
OTHER = ("airdsAirs",)
METRES = {(2, 4), (3, 4), (4, 4), (6, 8), (9, 8)}
CUT_TIME = (2, 2)  # a 2/2 bar is a 4/4 bar on the 16th-note grid; split apart (see above)
OTHER_METRES = {(4, 4), (6, 8)}
HELDOUT = ("airdsAirs", "miscFolk")
KINDS = {"reel": ("reel",), "jig": ("jig",), "hornpipe": ("hornpipe",), "waltz": ("waltz",),
         "strathspey": ("strathspey",), "march": ("march", "quick step", "quickstep"), "minuet": ("minuet",),
         "polka": ("polka",)}
OPENING = 16  # notes that identify a tune


def corpus_dir() -> Path:
    import music21

    return Path(music21.__file__).parent / "corpus"


def _read(path: str):
    """(path, [(number, title, seq or None, error, changes, key)]) for one book file, in a worker."""
    out = []
    for t in read_tunes(path):
        out.append((t.number, t.title, t.seq, t.error, dict(t.changes), t.key))
    return path, out


def opening(notes) -> tuple:
    """Intervals and durations of the first notes: the same tune in another key or book matches."""
    head = notes[:OPENING + 1]
    return tuple((b.pitch - a.pitch, a.end - a.start) for a, b in zip(head, head[1:]))


def top_line(seq: NoteSequence):
    """The highest note where two sound together, whole tune (the melody a whistle plays)."""
    notes, dropped = MelodyEncoding(0, 127).fit(seq.pitched())
    return notes or [], dropped


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:40] or "tune"


def collect(folders, jobs: int, report: Counter, skipped: list, metres) -> list[dict]:
    files = [str(f) for d in folders for f in sorted((corpus_dir() / d).glob("*.abc"))]
    tunes = []
    with ProcessPoolExecutor(jobs) as pool:
        for path, read in pool.map(_read, files):
            book = Path(path).parent.name
            for number, title, seq, error, changes, key in read:
                where = f"{book}/{Path(path).name} X:{number} {title!r}"
                report["tunes read"] += 1
                if seq is None:
                    report["tunes that could not be parsed, skipped"] += 1
                    skipped.append(f"{where}: {error}")
                    continue
                report.update(changes)
                if seq.time_signature not in metres:
                    report[f"tunes in {seq.time_signature[0]}/{seq.time_signature[1]}, skipped"] += 1
                    continue
                if changes.get("notes off the 16th-note grid, rounded"):
                    report["tunes with notes off the grid (kept, rounded)"] += 1
                notes, dropped = top_line(seq)
                report.update(dropped)
                if len(notes) < 8:
                    report["tunes with fewer than 8 notes, skipped"] += 1
                    continue
                tunes.append({"book": book, "file": Path(path).name, "number": number, "title": title,
                              "key": key, "seq": seq, "notes": notes})
    return tunes


def dedupe(tunes, report: Counter, seen: set | None = None) -> list[dict]:
    """One version of each tune: O'Neill's files overlap (two transcriptions of some numbers).
    `seen` (updated) holds the ids of tunes kept before, in another call."""
    seen = set() if seen is None else seen
    kept = []
    for t in tunes:
        ids = {("open", opening(t["notes"]))}
        if t["book"] == "oneills1850" and t["number"] is not None:
            ids.add(("oneill", t["number"]))
        if ids & seen:
            report["duplicate tunes (same O'Neill number or opening), left out"] += 1
            continue
        seen |= ids
        kept.append(t)
    return kept


def rhythms(path: str) -> dict:
    """X: number -> the tune's R: line (its kind, where the transcriber wrote one)."""
    out, number = {}, None
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("X:"):
            number = int(re.sub(r"\D", "", line) or -1)
        elif line.startswith("R:") and number is not None:
            out[number] = line[2:].strip()
    return out


def kind(tune) -> str:
    """The tune's kind from its R: line or title (see KINDS); air for the rest."""
    text = f"{tune.get('rhythm', '')} {tune['title']}".lower()
    return next((k for k, words in KINDS.items() if any(w in text for w in words)), "air")


def write_heldout(out: Path, jobs: int, book_openings: set) -> dict:
    """OUT/heldout/KIND/: the other collections' tunes in the books' metres, not in the books."""
    report, skipped = Counter(), []
    read = collect(HELDOUT, jobs, report, skipped, METRES | {CUT_TIME})
    fresh = [t for t in dedupe(read, report) if opening(t["notes"]) not in book_openings]
    report["tunes also in the training books, left out"] = len(read) - len(fresh)
    files = {}
    for t in fresh:
        path = str(corpus_dir() / t["book"] / t["file"])
        files.setdefault(path, rhythms(path))
        t["rhythm"] = files[path].get(t["number"], "")
    kinds = Counter(kind(t) for t in fresh)
    listing = []
    for k in kinds:
        part = [t for t in fresh if kind(t) == k]
        write(part, out / "heldout" / k)
        listing += [{"kind": k, "book": t["book"], "file": t["file"], "number": t["number"], "title": t["title"],
                     "metre": f"{t['seq'].time_signature[0]}/{t['seq'].time_signature[1]}"} for t in part]
    summary = {"books": list(HELDOUT), "kinds": dict(kinds), "counts": dict(sorted(report.items())),
               "skipped": skipped, "tunes": listing}
    (out / "heldout.json").write_text(json.dumps(summary, indent=1))
    return summary


def write(tunes, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, t in enumerate(tunes):
        seq = NoteSequence(t["notes"], t["seq"].tempos, t["seq"].time_signature, [Voice(t["title"], 0)],
                           name=t["title"])
        name = f"{i:04d}-{t['book']}-{t['number']}-{slug(t['title'])}.mid"
        write_midi(seq, folder / name, overwrite=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out", type=Path)
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--jobs", type=int, default=2, help="processes parsing ABC (music21 is slow)")
    p.add_argument("--heldout-only", action="store_true",
                   help="read the books (to leave their tunes out) but write only OUT/heldout")
    args = p.parse_args(argv)
    report, skipped = Counter(), []
    read = collect(BOOKS, args.jobs, report, skipped, METRES | {CUT_TIME})
    seen = set()
    # the other metres first, exactly as before 2/2 was admitted, so their split is unchanged
    tunes = dedupe([t for t in read if t["seq"].time_signature != CUT_TIME], report, seen)
    cut_report = Counter()
    cut = dedupe([t for t in read if t["seq"].time_signature == CUT_TIME], cut_report, seen)
    report["tunes in 2/2, kept (split apart)"] = len(cut)
    report["tunes in 2/2 repeating a kept tune or each other, left out"] = sum(cut_report.values())
    report["duplicate tunes (same O'Neill number or opening), left out"] += sum(cut_report.values())
    rng = random.Random(args.seed)
    rng.shuffle(tunes)
    n = len(tunes)
    n_valid = n_test = round(0.05 * n)
    splits = {"test": tunes[:n_test], "valid": tunes[n_test:n_test + n_valid], "train": tunes[n_test + n_valid:]}
    random.Random(args.seed).shuffle(cut)
    n_cut = round(0.05 * len(cut))
    cut_splits = {"test-22": cut[:n_cut], "valid-22": cut[n_cut:2 * n_cut], "train": cut[2 * n_cut:]}
    if args.heldout_only:
        held = write_heldout(args.out, args.jobs, {opening(t["notes"]) for t in tunes + cut})
        print(json.dumps({k: v for k, v in held.items() if k in ("kinds", "counts")}, indent=1))
        return 0
    for name, part in splits.items():
        write(part + (cut_splits["train"] if name == "train" else []), args.out / name)
    for name in ("valid-22", "test-22"):
        write(cut_splits[name], args.out / name)
    print(f"train, valid and test written to {args.out}; now Aird's Selection", file=sys.stderr, flush=True)
    write([t for t in splits["test"] if t["seq"].time_signature in OTHER_METRES], args.out / "test-44-68")
    # a differently sourced check: tunes of Aird's Selection whose opening is not in the books
    other_report, other_skipped = Counter(), []
    book_openings = {opening(t["notes"]) for t in tunes + cut}
    other = collect(OTHER, args.jobs, other_report, other_skipped, OTHER_METRES)
    fresh = [t for t in dedupe(other, other_report) if opening(t["notes"]) not in book_openings]
    other_report["tunes also in the training books, left out"] = len(other) - len(fresh)
    write(fresh, args.out / "other")
    held = write_heldout(args.out, args.jobs, book_openings)
    every = tunes + cut
    pitches = [x.pitch for t in every for x in t["notes"]]
    metres = Counter(f"{t['seq'].time_signature[0]}/{t['seq'].time_signature[1]}" for t in every)
    modes = Counter(t["key"].split(" ")[-1] if t["key"] else "?" for t in every)
    summary = {"books": list(BOOKS), "seed": args.seed, "tunes": len(every),
               "split": {k: len(v) for k, v in splits.items()},
               "split_2/2": {k: len(v) for k, v in cut_splits.items()},
               "train": len(splits["train"]) + len(cut_splits["train"]), "other": len(fresh),
               "pitch_range": [min(pitches), max(pitches)],
               "pitch_percentiles_0.1_99.9": [sorted(pitches)[len(pitches) // 1000],
                                              sorted(pitches)[-len(pitches) // 1000]],
               "metres": dict(metres), "modes": dict(modes),
               "counts": dict(sorted(report.items())), "other_counts": dict(sorted(other_report.items())),
               "heldout_kinds": held["kinds"],
               "skipped": skipped, "other_skipped": other_skipped}
    (args.out / "report.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps({k: v for k, v in summary.items() if "skipped" not in k}, indent=1))
    print(f"{len(skipped)} tunes could not be parsed (listed in {args.out / 'report.json'})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
