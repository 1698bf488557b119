"""`guigen prepare text|music SOURCES... -o DIR`: tokenise a corpus once into memory-mapped shards.

Every CPU core reads files (a process pool), with a progress bar. Run it again over a grown
folder and only new or changed files are read (by size and time, then content hash); the
others keep their tokens where they are. `guigen train text|music --data DIR` then trains from
the shards with flat memory.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from guigen.cli import CliError
from guigen.core.data import DataError

TEXT_SUFFIXES = {".txt"}
BLOCK_BYTES = 1 << 24  # a text file is decoded in blocks of this many bytes: a huge file never sits in memory


def add_parser(sub):
    p = sub.add_parser("prepare", help="tokenise a large corpus once into shards for `train --data`",
                       description="Read text or music files once, with every core, into memory-mapped token "
                       "shards and a manifest (vocabulary or encoding, split, counts, what was skipped and why). "
                       "Train from them with `guigen train text|music --data DIR`.")
    kinds = p.add_subparsers(dest="kind", metavar="KIND", required=True)
    t = kinds.add_parser("text", help="UTF-8 text files (folders: every *.txt in them)")
    t.add_argument("files", nargs="+", type=Path, metavar="SOURCE", help="text files or folders")
    t.add_argument("--val-frac", type=float, default=0.05, help="fraction after the training part used for validation")
    t.add_argument("--test-frac", type=float, default=0.0, help="fraction at the end held out entirely (default 0)")
    _common(t)
    try:
        from guigen.cli import music_data as music_dataset
    except ImportError:
        return
    m = kinds.add_parser("music", help="folders of MIDI files, as `train music` reads them")
    music_dataset.add_arguments(m)
    _common(m)


def _common(p):
    p.add_argument("-o", "--output", required=True, type=Path, metavar="DIR", help="folder for the shards and manifest")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help=f"processes reading files, 1 to the number of CPUs (default: every core, {os.cpu_count()} here)")
    p.add_argument("--rebuild", action="store_true", help="read every file again, even those already prepared")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


# -- per file, in the worker processes --------------------------------------------------------------
_job: dict = {}  # set in each worker by _init: the kind, options and what earlier runs prepared


def _init(job: dict) -> None:
    _job.clear()
    _job.update(job)
    if job["kind"] == "music":
        from guigen.music.encodings import make_encoding

        o = job["options"]
        _job["codec"] = make_encoding(o["encoding"], o["min_pitch"], o["max_pitch"], o["key"])


def _known(path: str, st) -> str | None:
    """The content hash of an unchanged file an earlier run prepared, without reading it."""
    prev = _job["by_path"].get(path)
    if prev and prev[0] == st.st_size and prev[1] == st.st_mtime_ns:
        return prev[2]
    return None


def _task(path: str) -> dict:
    """What one file gives: its hash and tokens, or why it was skipped. Never raises."""
    from guigen.core.shards import file_sha256

    try:
        st = os.stat(path)
        entry = {"path": path, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
        sha = _known(path, st)
        if sha is None:
            sha = file_sha256(Path(path))
        entry["sha256"] = sha
        if sha in _job["by_sha"]:
            return {**entry, "cached": True}
        return {**entry, **(_text(path) if _job["kind"] == "text" else _music(path))}
    except OSError as e:
        return {"path": path, "sha256": "", "why": f"can't read it ({e.strerror or e})"}
    except Exception as e:  # one bad file is reported in the manifest, never the end of a long run
        return {"path": path, "sha256": "", "why": f"{type(e).__name__}: {e}"}


def _text(path: str) -> dict:
    """Code points of a UTF-8 file (a BOM dropped): in memory when small, else in a file beside the shards."""
    import codecs
    import tempfile

    import numpy as np

    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    chars, blocks, n, spill, done = set(), [], 0, None, 0
    try:
        with open(path, "rb") as f:
            while True:
                data = f.read(BLOCK_BYTES)
                text = decoder.decode(data, final=not data)
                if text:
                    chars.update(text)
                    points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
                    n += len(points)
                    if spill is None and len(blocks) >= 2:  # a big file: its code points go to disk
                        spill = tempfile.NamedTemporaryFile(dir=_job["out"], prefix=".prepare-", suffix=".u32",
                                                            delete=False)
                        for b in blocks:
                            spill.write(b.tobytes())
                        blocks = []
                    if spill is not None:
                        spill.write(points.tobytes())
                    else:
                        blocks.append(points)
                done += len(data)
                if not data:
                    break
    except UnicodeDecodeError as e:
        if spill is not None:
            spill.close()
            os.unlink(spill.name)
        return {"why": f"not UTF-8 text ({e.reason} at byte {done + e.start})"}
    if not n:
        return {"why": "empty"}
    if spill is not None:
        spill.close()
        return {"tokens_file": spill.name, "count": n, "chars": "".join(sorted(chars))}
    return {"tokens": np.concatenate(blocks), "chars": "".join(sorted(chars))}


def _music(path: str) -> dict:
    import numpy as np

    from guigen.music.dataset import extract

    codec = _job["codec"]
    pieces, report = extract(codec, Path(path))  # the reader `train music` uses, whatever the file's format
    counts = dict(report.counts)
    if not pieces:
        return {"why": report.rejected[0][1] if report.rejected else "no usable notes", "counts": counts}
    return {"pieces": [(np.asarray(codec.encode(p), dtype=np.uint16), min(n.pitch for n in p), max(n.pitch for n in p))
                       for p in pieces], "counts": counts}


# -- the whole run ------------------------------------------------------------------------------------
def _sources(args) -> tuple[list[Path], set]:
    """The files in order, and the indices of those for validation (music: --valid, else every 10th)."""
    if args.kind == "text":
        files = []
        for p in args.files:
            if p.is_dir():
                files += sorted(f for f in p.rglob("*") if f.suffix.lower() in TEXT_SUFFIXES and f.is_file())
            elif p.is_file():
                files.append(p)
            else:
                raise CliError(f"{p}: no such file or folder")
        if not files:
            raise CliError(f"no text files (*.txt) in {', '.join(map(str, args.files))}")
        return files, set()
    from guigen.music.dataset import _held_out, midi_files

    if not args.folders:
        raise CliError("give the folders (or files) of MIDI, ABC or MusicXML music to prepare")
    files = midi_files(args.folders)
    if args.valid:
        valid = midi_files(args.valid)
        return files + valid, set(range(len(files), len(files) + len(valid)))  # as train music: listed twice if in both
    if len(files) < 2:
        raise CliError("one file can't be split into training and validation; add files or give --valid")
    held = {str(f) for f in _held_out(files)[1]}
    return files, {i for i, f in enumerate(files) if str(f) in held}


def _options(args) -> dict:
    if args.kind == "text":
        if not (0 < args.val_frac < 0.5 and 0 <= args.test_frac < 0.5):
            raise CliError("validation and test fractions must each be below 0.5 (validation above 0)")
        return {"val_frac": args.val_frac, "test_frac": args.test_frac}
    low, high = args.transpose
    if args.to_key is not None and (low, high) != (0, 0):
        print("note: --transpose is not used when every piece is moved to one key (--to-key)", file=sys.stderr)
        low = high = 0
    return {"encoding": args.encoding, "min_pitch": args.min_pitch, "max_pitch": args.max_pitch, "key": args.to_key,
            "transpose": [low, high], "valid": [str(v) for v in args.valid] if args.valid else None}


def run(args) -> int:
    from guigen.core.runlock import LockedError, RunLock
    from guigen.core.shards import MANIFEST, read_manifest

    out = args.output
    if out.exists() and not out.is_dir():
        raise CliError(f"{out} is a file; -o names a folder for the shards")
    cpus = os.cpu_count() or 1
    if not 1 <= args.workers <= cpus:  # more processes than CPUs only costs memory (and forks by the thousand)
        raise CliError(f"--workers must be between 1 and {cpus} (the CPUs here), not {args.workers}")
    files, valid = _sources(args)
    options = _options(args)
    out.mkdir(parents=True, exist_ok=True)
    from guigen.core.manifest import check_manifest_slot

    check_manifest_slot(out)  # a FIFO, device or link out of the folder where the manifest goes: refused
    old = None
    if (out / MANIFEST).exists() and not args.rebuild:
        try:
            old = read_manifest(out)
        except DataError as e:  # nothing of a bad manifest is carried forward
            print(f"note: {e}; reading every file again".replace("; run `guigen prepare --rebuild` to make the "
                                                                   "folder again", ""), file=sys.stderr)
            old = None
        if old is not None and (old["kind"] != args.kind or old["options"] != options):
            was = ", ".join(f"{k.replace('_', '-')} {v}" for k, v in old["options"].items() if v is not None)
            print(f"note: {out} was prepared with other options ({old['kind']}: {was}); "
                  "reading every file again", file=sys.stderr)
            old = None
    try:
        with RunLock(out / MANIFEST):
            return _prepare(args, out, files, valid, options, old)
    except LockedError as e:
        raise CliError(str(e).replace("is being trained", "is being prepared")) from None


def _prepare(args, out, files, valid, options, old) -> int:
    import concurrent.futures
    import time

    import numpy as np
    from tqdm import tqdm

    from guigen.core.safetext import one_line
    from guigen.core.shards import ShardWriter, bytes_of, write_manifest

    for leftover in out.glob(".prepare-*.u32"):  # a killed run's spilled text (we hold the lock)
        leftover.unlink(missing_ok=True)
    entries_before = old["files"] if old else []
    job = {"kind": args.kind, "options": options, "out": str(out),
           "by_path": {e["path"]: (e.get("size"), e.get("mtime_ns"), e["sha256"]) for e in entries_before},
           "by_sha": {e["sha256"]: e for e in entries_before if e["sha256"]}}
    generation = old["generation"] + 1 if old else 0
    writer = ShardWriter(out, generation, np.uint32 if args.kind == "text" else np.uint16)
    paths = [str(f) for f in files]
    bar = tqdm(total=len(paths), unit="file", disable=args.quiet, dynamic_ncols=True, file=sys.stderr,
               mininterval=0.5, desc="preparing")
    t0 = time.perf_counter()
    entries, new, cached = [], 0, 0
    pool = concurrent.futures.ProcessPoolExecutor(args.workers, initializer=_init, initargs=(job,)) \
        if args.workers > 1 else None
    try:
        if pool is None:
            _init(job)
            results = map(_task, paths)
        else:
            results = pool.map(_task, paths, chunksize=max(1, min(64, len(paths) // (8 * args.workers))))
        for i, r in enumerate(results):
            bar.update()
            entry = {k: v for k, v in r.items() if k not in ("tokens", "tokens_file", "count", "pieces", "cached")}
            if r.get("cached"):
                was = job["by_sha"][r["sha256"]]
                entry = {**{k: v for k, v in was.items() if k != "split"}, **entry}
                cached += 1
            elif "tokens" in r:
                entry["spans"] = [list(writer.add(r["tokens"]))]
                new += 1
            elif "tokens_file" in r:  # a big text file, copied a block at a time
                spilled = np.memmap(r["tokens_file"], dtype=np.uint32, mode="r", shape=(r["count"],))
                entry["spans"] = [list(writer.add(spilled[a : a + BLOCK_BYTES])) for a in range(0, r["count"], BLOCK_BYTES)]
                del spilled
                os.unlink(r["tokens_file"])
                new += 1
            elif "pieces" in r:
                entry["pieces"] = [[*writer.add(ids), int(low), int(high)] for ids, low, high in r["pieces"]]
                new += 1
            if args.kind == "music":
                entry["split"] = "val" if i in valid else "train"
            entries.append(entry)
    finally:
        bar.close()
        writer.close()
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    seconds = time.perf_counter() - t0
    manifest = _manifest(args, out, entries, options, generation)
    shards_before = {p.name for p in out.glob("shard-*.npy")}
    write_manifest(out, manifest)
    for name in shards_before - set(manifest["shards"]):  # left by removed or changed files, or a killed run
        (out / name).unlink(missing_ok=True)
    used = [e for e in entries if e.get("spans") or e.get("pieces")]
    skipped = [e for e in entries if e.get("why")]
    tokens = manifest["counts"]["tokens"]
    print(f"prepared {len(entries):,} file{'' if len(entries) == 1 else 's'} in {seconds:.1f} s ({len(entries) / max(seconds, 1e-9):,.0f} files/s, "
          f"{args.workers} process{'es' if args.workers > 1 else ''}): {new:,} read, {cached:,} unchanged, "
          f"{len(skipped):,} skipped", file=sys.stderr)
    print(f"{tokens:,} tokens from {len(used):,} file{'' if len(used) == 1 else 's'} in {len(manifest['shards'])} shard(s) "
          f"({bytes_of(tokens, np.uint32 if args.kind == 'text' else np.uint16)}); {manifest['describe']}",
          file=sys.stderr)
    for e in skipped[:20]:
        print(f"  skipped {one_line(e['path'])}: {one_line(e['why'])}", file=sys.stderr)
    if len(skipped) > 20:
        print(f"  ... and {len(skipped) - 20:,} more (listed in {out / 'manifest.json'})", file=sys.stderr)
    print(f"train with: guigen train {args.kind} --data {out} -o MODEL.safetensors", file=sys.stderr)
    return 0


def _manifest(args, out, entries, options, generation) -> dict:
    from collections import Counter

    from guigen.core.data import DataError
    from guigen.core.shards import FORMAT, corpus_hash, split_positions

    used = [e for e in entries if e.get("spans") or e.get("pieces")]
    shards = sorted({s[0] for e in used for s in e.get("spans", []) + e.get("pieces", [])})
    skipped = [{"path": e["path"], "why": e["why"]} for e in entries if e.get("why")]
    manifest = {"format": FORMAT, "version": 1, "kind": args.kind, "options": options, "generation": generation,
                "shards": shards, "skipped": skipped, "corpus_sha256": corpus_hash(used)}
    if args.kind == "text":
        from guigen.core.vocab import CharVocab

        if not used:
            raise DataError("none of the files could be used (see the skipped files above)")
        chars = sorted(set().union(*(e["chars"] for e in used)))
        n = sum(s[2] for e in used for s in e["spans"])
        manifest["codec"] = CharVocab(chars).to_meta()
        manifest["split"] = split_positions(n, options["val_frac"], options["test_frac"])
        manifest["counts"] = {"files": len(entries), "used": len(used), "skipped": len(skipped), "tokens": n,
                              **{k: b - a for k, (a, b) in manifest["split"].items()}}
        manifest["describe"] = (f"{len(chars)} characters (every character of the corpus); split by position: "
                                + ", ".join(f"{k} {b - a:,}" for k, (a, b) in manifest["split"].items()))
    else:
        from guigen.music.encodings import make_encoding
        from guigen.music.polyphony import PolyphonyEncoding

        codec = make_encoding(options["encoding"], options["min_pitch"], options["max_pitch"], options["key"])
        train = [p for e in used if e["split"] == "train" for p in e["pieces"]]
        val = [p for e in used if e["split"] == "val" for p in e["pieces"]]
        if not train or not val:
            raise DataError(f"no usable {'training' if not train else 'validation'} pieces (see the skipped files)")
        low, high = options["transpose"]
        if codec.name == "polyphony":  # the pitches a model will know: the training range, transpositions included
            codec = PolyphonyEncoding(codec.key, 0, max(0, min(p[3] for p in train) + low),
                                      min(127, max(p[4] for p in train) + high))
        manifest["codec"] = codec.to_meta()

        def report(part):
            counts = Counter()
            for e in entries:
                if e.get("split") == part:
                    counts.update(e.get("counts", {}))
            files = [e for e in entries if e.get("split") == part]
            return {"files": sum(1 for e in files if e.get("pieces")),
                    "pieces": sum(len(e.get("pieces", [])) for e in files),
                    "rejected": sum(1 for e in files if e.get("why")), **counts}

        manifest["summary"] = {"valid_data": [Path(v).name for v in options["valid"] or []] or ["every 10th file held out"],
                               "encoding": codec.name, "transpose": [low, high],
                               "train_files": report("train"), "valid_files": report("val")}
        n_train, n_val = sum(p[2] for p in train), sum(p[2] for p in val)
        manifest["counts"] = {"files": len(entries), "used": len(used), "skipped": len(skipped),
                              "tokens": n_train + n_val, "train": n_train, "val": n_val,
                              "train_pieces": len(train), "val_pieces": len(val)}
        manifest["split"] = {"by": "file", "val": options["valid"] or "every 10th file"}
        from guigen.cli.info import describe_encoding

        manifest["describe"] = (f"{describe_encoding(codec.to_meta(), codec.num_classes)}; split by file: train {n_train:,} events ({len(train):,} pieces), "
                                f"validation {n_val:,} ({len(val):,})")
    manifest["files"] = entries
    return manifest
