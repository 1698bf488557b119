"""Write the folk model's data: the public-domain tune books of music21's corpus as MIDI files, split by tune.

    python benchmarks/folk_data.py OUT [--seed 1337] [--jobs 2]

reads O'Neill's Music of Ireland (music21 corpus `oneills1850`) and Ryan's Mammoth Collection
(`ryansMammoth`) through guigen.music.notation (repeats written out, 16th-note grid), keeps tunes
in 2/4, 3/4, 4/4, 6/8 and 9/8 (the rest counted and skipped), keeps one version of tunes that
appear twice (same O'Neill number, or the same opening: the first 16 notes' intervals and
durations), splits the tunes 90/5/5 with the seed, and writes each tune's top line (the highest
note where a fiddle plays two) as a single-line MIDI file with our MIDI writer:

    OUT/train/*.mid  OUT/valid/*.mid  OUT/test/*.mid
    OUT/test-44-68/*.mid  the test tunes in 4/4 and 6/8 again (the metres of the issue's held-out set)
    OUT/other/*.mid  Aird's Selection (airdsAirs, 1782-1803) in 4/4 and 6/8, minus any tune whose
                     opening is in the books: a differently sourced check, never trained on
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
OTHER_METRES = {(4, 4), (6, 8)}
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


def dedupe(tunes, report: Counter) -> list[dict]:
    """One version of each tune: O'Neill's files overlap (two transcriptions of some numbers)."""
    seen, kept = set(), []
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
    args = p.parse_args(argv)
    report, skipped = Counter(), []
    tunes = dedupe(collect(BOOKS, args.jobs, report, skipped, METRES), report)
    rng = random.Random(args.seed)
    rng.shuffle(tunes)
    n = len(tunes)
    n_valid = n_test = round(0.05 * n)
    splits = {"test": tunes[:n_test], "valid": tunes[n_test:n_test + n_valid], "train": tunes[n_test + n_valid:]}
    for name, part in splits.items():
        write(part, args.out / name)
    write([t for t in splits["test"] if t["seq"].time_signature in OTHER_METRES], args.out / "test-44-68")
    # a differently sourced check: tunes of Aird's Selection whose opening is not in the books
    other_report, other_skipped = Counter(), []
    book_openings = {opening(t["notes"]) for t in tunes}
    other = collect(OTHER, args.jobs, other_report, other_skipped, OTHER_METRES)
    fresh = [t for t in dedupe(other, other_report) if opening(t["notes"]) not in book_openings]
    other_report["tunes also in the training books, left out"] = len(other) - len(fresh)
    write(fresh, args.out / "other")
    pitches = [x.pitch for t in tunes for x in t["notes"]]
    metres = Counter(f"{t['seq'].time_signature[0]}/{t['seq'].time_signature[1]}" for t in tunes)
    modes = Counter(t["key"].split(" ")[-1] if t["key"] else "?" for t in tunes)
    summary = {"books": list(BOOKS), "seed": args.seed, "tunes": n,
               "split": {k: len(v) for k, v in splits.items()}, "other": len(fresh),
               "pitch_range": [min(pitches), max(pitches)],
               "pitch_percentiles_0.1_99.9": [sorted(pitches)[len(pitches) // 1000],
                                              sorted(pitches)[-len(pitches) // 1000]],
               "metres": dict(metres), "modes": dict(modes),
               "counts": dict(sorted(report.items())), "other_counts": dict(sorted(other_report.items())),
               "skipped": skipped, "other_skipped": other_skipped}
    (args.out / "report.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps({k: v for k, v in summary.items() if "skipped" not in k}, indent=1))
    print(f"{len(skipped)} tunes could not be parsed (listed in {args.out / 'report.json'})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
