"""`guigen prepare music` throughput, one process against every core, and flat memory when training from shards.

1. Prepare: 10,000 MIDI files (made once in a temp folder by transposing and slicing the Bach
   chorales) read by `guigen prepare music` with --workers 1 and with every core: files/s each,
   and their ratio (the ideal is the number of cores, on an idle machine).
2. Memory: peak resident memory of a training process reading text shards of a corpus of S and
   of 8 S characters (the same few steps of a tiny model; each in a fresh process), against the
   same from the text in memory. Flat means a ratio near 1.0 for the shards.

Print /proc/loadavg beside the figures: the machine is often shared.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
CHORALES = DATA / "midi" / "jsb_chorales"
TEXT = DATA / "text" / "tinyshakespeare.txt"


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return "n/a"


def make_midi_files(folder: Path, count: int) -> list[Path]:
    """count MIDI files: each chorale transposed (-5..+6) and sliced (whole, from a third, from two thirds)."""
    from guigen.music.events import NoteSequence, transpose
    from guigen.music.midi import read_midi, write_midi

    folder.mkdir(parents=True, exist_ok=True)
    have = sorted(folder.glob("*.mid"))
    if len(have) >= count:
        return have[:count]
    sources = sorted(CHORALES.rglob("*.mid"))
    seqs = [(p.stem, read_midi(p)) for p in sources]
    made = []
    for shift in range(-5, 7):
        for part in range(3):
            for stem, seq in seqs:
                if len(made) >= count:
                    return made
                start = part * seq.total_steps // 3
                notes = [n for n in transpose(seq.notes, shift) if n.start >= start]
                notes = [type(n)(n.start - start, n.end - start, n.pitch, n.velocity, n.voice, n.drum) for n in notes]
                out = folder / f"{stem}_t{shift:+d}_p{part}.mid"
                if not out.exists():
                    write_midi(NoteSequence(notes, seq.tempos[:1], seq.time_signature, seq.voices), out)
                made.append(out)
    return made


def time_prepare(folder: Path, out: Path, workers: int) -> float:
    """Files per second of `guigen prepare music` (reading every file: --rebuild)."""
    cmd = [sys.executable, "-m", "guigen", "prepare", "music", str(folder), "-o", str(out), "--workers",
           str(workers), "--rebuild", "--quiet"]
    t0 = time.perf_counter()
    run = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    seconds = time.perf_counter() - t0
    if run.returncode:
        raise SystemExit(run.stderr)
    files = int(run.stderr.split("prepared ")[1].split(" files")[0].replace(",", ""))
    inner = float(run.stderr.split(" files in ")[1].split(" s")[0])
    return files / inner, files / seconds


CHILD = r"""
import resource, sys, time
from pathlib import Path
import torch
from guigen.core.config import ModelConfig
from guigen.core.train import Progress, Trainer, TrainConfig
torch.set_num_threads(1)
source, steps = sys.argv[1], int(sys.argv[2])
if Path(source).is_dir():
    from guigen.core.shards import text_shard_data
    data = text_shard_data(source)
else:
    from guigen.core.data import text_data
    data = text_data([source], 0.05)
trainer = Trainer(data, ModelConfig(data.codec.num_classes, 8, 32, 1, 0.0), TrainConfig(seq_len=64, batch=16, epochs=1),
                  Path(sys.argv[3]))
def anon():  # KiB of memory the process owns (not the shard pages it maps, which the kernel can drop)
    return int(next(l for l in open("/proc/self/status") if l.startswith("RssAnon:")).split()[1])
events = (ev for ev in trainer.run() if isinstance(ev, Progress))
peak = anon()
for _ in range(steps):
    next(events)
    peak = max(peak, anon())
print(peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux
"""


def peak_kib(source: Path, steps: int, tmp: Path) -> tuple[int, int]:
    """(peak anonymous memory, peak resident memory incl. mapped shard pages), KiB."""
    run = subprocess.run([sys.executable, "-c", CHILD, str(source), str(steps), str(tmp / "m.safetensors")],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if run.returncode:
        raise SystemExit(run.stderr)
    anon, rss = run.stdout.strip().splitlines()[-1].split()
    return int(anon), int(rss)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--files", type=int, default=10_000, help="MIDI files to prepare (default 10,000)")
    p.add_argument("--chars", type=int, default=4_000_000, help="the small corpus for the memory part (S)")
    p.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "guigen-bench-midi",
                   help="where the MIDI files are made (kept for later runs)")
    p.add_argument("--quick", action="store_true", help="1,000 files and a 1M-character corpus")
    p.add_argument("--skip-memory", action="store_true")
    args = p.parse_args(argv)
    if args.quick:
        args.files, args.chars = 1_000, 1_000_000
    cores = os.cpu_count() or 1
    print(f"load before: {loadavg()}  ({cores} cores)")
    t0 = time.perf_counter()
    files = make_midi_files(args.folder, args.files)
    print(f"{len(files):,} MIDI files in {args.folder} (made or found in {time.perf_counter() - t0:.0f} s)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sub = tmp / "midi"
        sub.mkdir()
        for f in files:  # exactly these files, whatever else the folder holds
            (sub / f.name).symlink_to(f)
        one, one_wall = time_prepare(sub, tmp / "shards", 1)
        many, many_wall = time_prepare(sub, tmp / "shards", cores)
        print(f"prepare, 1 process           {one:8,.0f} files/s  ({one_wall:,.0f} with start-up)")
        print(f"prepare, {cores} processes{' ' * (11 - len(str(cores)))}{many:8,.0f} files/s  ({many_wall:,.0f} with start-up)")
        print(f"ratio all cores / 1 process  {many / one:8.2f}   (ideal {cores}; load: {loadavg()})")
        if args.skip_memory:
            return
        text = TEXT.read_text(encoding="utf-8")
        rows = []
        for scale in (1, 8):
            corpus = tmp / f"corpus{scale}.txt"
            n = args.chars * scale
            corpus.write_text((text * (n // len(text) + 1))[:n], encoding="utf-8")
            shards = tmp / f"shards{scale}"
            subprocess.run([sys.executable, "-m", "guigen", "prepare", "text", str(corpus), "-o", str(shards), "--quiet"],
                           check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
            rows.append((n, peak_kib(shards, 30, tmp), peak_kib(corpus, 30, tmp)))
        print("peak memory of a training process (30 steps of a 1x32 model, batch 16): owned (anonymous) / "
              "resident incl. mapped shard pages the kernel can drop")
        for n, sharded, memory in rows:
            print(f"  {n / 1e6:5.0f}M chars:  from shards {sharded[0] / 1024:5.0f} / {sharded[1] / 1024:5.0f} MiB   "
                  f"from the text in memory {memory[0] / 1024:5.0f} / {memory[1] / 1024:5.0f} MiB")
        (n1, s1, m1), (n8, s8, m8) = rows
        print(f"ratio {n8 // n1}x corpus / 1x, owned memory:  from shards {s8[0] / s1[0]:5.2f}   in memory "
              f"{m8[0] / m1[0]:5.2f}   (flat = 1.00; load: {loadavg()})")


if __name__ == "__main__":
    main()
