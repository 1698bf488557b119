"""The hostile cases of issue 22, each run once through the real `guigen` in a subprocess: a table of
what happens now (exit status, lines on stderr, seconds, peak RSS of the command, its message).

    .venv/bin/python -m benchmarks.hostile_cases [--out table.md]

Inputs are built in a temporary folder (zip bombs with zipfile, long tunes as strings, FIFOs,
edited manifests). Seconds are wall time on whatever machine runs it (shared machines are slow);
peak RSS is the command's own high-water mark (VmHWM) and its children's (tests/hostile.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from tests.hostile import run
from tests.test_hostile_inputs import _lying_zip, _zip_bomb, musicxml, tune

ROOT = Path(__file__).resolve().parent.parent
CHORALES = ROOT / "data" / "midi" / "jsb_chorales"
ALICE = ROOT / "data" / "text" / "alice_in_wonderland.txt"
TINY = ["--hidden", "8", "--layers", "1", "--embed", "4", "--batch", "2", "--seq-len", "16", "--quiet", "--epochs", "1"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="also write the table here (markdown)")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)

        def case(name, argv, cwd=d, **kw):
            try:
                r = run(argv, cwd, **kw)
            except subprocess.TimeoutExpired as e:
                rows.append((name, "timeout", 0, e.timeout, 0, ""))
                return None
            msg = (r.lines[-1] if r.lines else "").replace("|", "/")
            rows.append((name, r.rc, len(r.lines), r.seconds, r.peak_mb, msg[:150]))
            print(f"{name}: {r.rc} {r.seconds:.1f}s {r.peak_mb:.0f}MB {msg[:100]}", flush=True)
            return r

        # prepared folders
        (d / "corpus").mkdir()
        (d / "corpus" / "a.txt").write_text(ALICE.read_text(encoding="utf-8-sig")[:60_000], encoding="utf-8")
        (d / "midi").mkdir()
        for f in sorted((CHORALES / "train").glob("*.mid"))[:6]:
            shutil.copy(f, d / "midi" / f.name)
        assert run(["prepare", "text", d / "corpus", "-o", d / "text", "--workers", "1", "--quiet"], d).rc == 0
        assert run(["prepare", "music", d / "midi", "-o", d / "music", "--workers", "1", "--quiet"], d).rc == 0
        outside = d / "outside.npy"
        np.save(outside, np.arange(50_000, dtype=np.uint32) % 60 + 32)

        def edited(kind, edit, name):
            folder = d / name
            shutil.copytree(d / kind, folder)
            m = json.loads((folder / "manifest.json").read_text())
            edit(m, folder)
            if m is not None:
                (folder / "manifest.json").write_text(json.dumps(m))
            return folder

        def point(m, name):
            old = m["shards"][0]
            m["shards"][0] = name
            for e in m["files"]:
                for row in e.get("spans", []) + e.get("pieces", []):
                    row[0] = name if row[0] == old else row[0]

        def first_span(m):
            return next(e for e in m["files"] if e.get("spans"))["spans"][0]

        text_cases = {
            "manifest: absolute shard path": lambda m, f: point(m, str(outside)),
            "manifest: ../../../../etc/passwd": lambda m, f: point(m, "../../../../etc/passwd"),
            "manifest: unlisted shard (was KeyError)": lambda m, f: first_span(m).__setitem__(0, "shard-999-00000.npy"),
            "manifest: files a string (was AttributeError)": lambda m, f: m.update(files="abc"),
            "manifest: codec a string (was AttributeError)": lambda m, f: m.update(codec="abc"),
            "manifest: short codec.chars (was IndexError)": lambda m, f: m["codec"].update(chars=m["codec"]["chars"][:5]),
            "manifest: span past the shard (was RuntimeError)": lambda m, f: first_span(m).__setitem__(1, 59_990),
            "manifest: split [0, 1e12]": lambda m, f: m["split"].update(train=[0, 10 ** 12]),
            "manifest: split [-500, -100] (was 'too few tokens (-8)')": lambda m, f: m["split"].update(train=[-500, -100]),
            "manifest: span of 1e9": lambda m, f: first_span(m).__setitem__(2, 10 ** 9),
        }
        for i, (name, edit) in enumerate(text_cases.items()):
            folder = edited("text", edit, f"t{i}")
            case(name, ["train", "text", "--data", folder, "-o", d / f"t{i}.safetensors", *TINY])
        music_cases = {
            "manifest: missing split (was KeyError)": lambda m, f: m["files"][0].pop("split"),
            "manifest: pitch range -1e9": lambda m, f: m["files"][0]["pieces"][0].__setitem__(3, -10 ** 9),
            "manifest: transpose [0, 1e8] (was 10.3 GB)": lambda m, f: m["options"].update(transpose=[0, 100_000_000]),
            "manifest: transpose [5, 0] (was 'need at least one array to stack')":
                lambda m, f: m["options"].update(transpose=[5, 0]),
        }
        for i, (name, edit) in enumerate(music_cases.items()):
            folder = edited("music", edit, f"m{i}")
            case(name, ["train", "music", "--data", folder, "-o", d / f"m{i}.safetensors", *TINY])
        folder = edited("music", lambda m, f: None, "ids")
        shard = np.load(folder / "shard-000-00000.npy", mmap_mode="r+")
        shard[3] = 65535
        shard.flush()
        del shard
        case("shard: id 65535 (was IndexError)", ["train", "music", "--data", folder, "-o", d / "i.safetensors", *TINY])
        folder = edited("text", lambda m, f: None, "deep")
        (folder / "manifest.json").write_text('{"format": "guigen-shards", "x": ' + "[" * 200_000 + "]" * 200_000 + "}")
        case("manifest: 200k deep (was RecursionError)", ["train", "text", "--data", folder, "-o", d / "x.safetensors", *TINY])
        folder = edited("text", lambda m, f: None, "link")
        (folder / "shard-000-00000.npy").unlink()
        (folder / "shard-000-00000.npy").symlink_to(outside)
        case("shard: symlink out of the folder", ["train", "text", "--data", folder, "-o", d / "x.safetensors", *TINY])
        folder = edited("music", lambda m, f: None, "fifo")
        (folder / "shard-000-00000.npy").unlink()
        os.mkfifo(folder / "shard-000-00000.npy")
        case("shard: a FIFO", ["train", "music", "--data", folder, "-o", d / "x.safetensors", *TINY])
        (folder / "manifest.json").unlink()
        os.mkfifo(folder / "manifest.json")
        case("manifest.json: a FIFO (train)", ["train", "music", "--data", folder, "-o", d / "x.safetensors", *TINY])
        case("manifest.json: a FIFO (prepare -o)", ["prepare", "music", d / "midi", "-o", folder, "--quiet"])
        folder = edited("text", lambda m, f: point(m, str(outside)), "rerun")
        r = case("prepare re-run over an absolute-path manifest", ["prepare", "text", d / "corpus", "-o", folder, "--quiet"])
        assert str(outside) not in (folder / "manifest.json").read_text(), "carried forward"
        case("prepare --workers 100000", ["prepare", "text", d / "corpus", "-o", d / "w", "--workers", "100000"])

        # notation
        _zip_bomb(d / "bomb.mxl", 1024)
        for cmd in (["generate", "-m", "bach-chorales", "--primer-file", d / "bomb.mxl", "-o", d / "o.mid"],
                    ["harmonize", d / "bomb.mxl", "-o", d / "h.mid"], ["eval", "-m", "bach-chorales", d / "bomb.mxl"]):
            case(f".mxl 1 GiB of zeros ({cmd[0]})", cmd)
        _lying_zip(d / "liar.mxl")
        case(".mxl declaring 1 KB, inflating to 64 MB", ["harmonize", d / "liar.mxl", "-o", d / "h.mid"])
        import zipfile

        with zipfile.ZipFile(d / "noxml.mxl", "w") as z:
            z.writestr("readme.txt", "x")
        case(".mxl without a score (was TypeError)", ["harmonize", d / "noxml.mxl", "-o", d / "h.mid"])
        for n in (1_000, 2_000, 10_000, 100_000):
            (d / f"{n}.abc").write_text(tune(n))
            case(f"ABC tune of {n:,} notes (generate primer)",
                 ["generate", "-m", "bach-chorales", "--primer-file", d / f"{n}.abc", "-n", "16", "-o", d / f"{n}.mid"])
        (d / "100k.musicxml").write_text(musicxml(100_000))
        case("MusicXML of 100,000 notes (10 MB)", ["harmonize", d / "100k.musicxml", "-o", d / "h.mid"])
        for header in ("M:1000/1", "M:5000/1", "M:3/5", "Q:0", "Q:-5", "L:1/1024"):
            base = {"M": "M:4/4", "L": "L:1/8", "Q": "Q:1/4=100"}
            base[header[0]] = header
            (d / "h.abc").write_text(tune(64, "\n".join(base.values()), title="Odd"))
            case(f"ABC {header}", ["harmonize", d / "h.abc", "-o", d / "h.mid"])
        (d / "x.abc").write_text("X:" + "9" * 5000 + "\nT:Big\nM:4/4\nL:1/8\nK:C\nCDEF|\n")
        case("ABC X: of 5,000 digits (was 'Exceeds the limit')", ["harmonize", d / "x.abc", "-o", d / "h.mid", "--force"])
        (d / "esc.abc").write_text('X:1\nT:Evil \x1b[2J\nM:4/4\nL:1/8\nK:C\n"\x1b[31mred\nchord" [[[ CDEF |\n')
        case("ABC chord holding ESC and a newline", ["harmonize", d / "esc.abc", "-o", d / "h.mid", "--force"])
        (d / "nopitch.abc").write_text("X:1\nT:Odd\nM:4/4\nL:1/4\nK:C\nC D [ E F |\n")
        case("ABC with an unclosed chord", ["harmonize", d / "nopitch.abc", "-o", d / "h.mid", "--force"])
        (d / "book.abc").write_text("\n".join(tune(32, "M:4/4\nL:1/8", i, f"Tune {i}") for i in range(1, 2001)))
        case("2,000-tune book, --tune 1500", ["generate", "-m", "bach-chorales", "--primer-file", d / "book.abc",
                                              "--tune", "1500", "-n", "16", "-o", d / "b.mid"])
        os.mkfifo(d / "pipe.abc")
        case("a FIFO as the melody", ["harmonize", d / "pipe.abc", "-o", d / "h.mid"])
        # options
        for name, extra in [("-t 1e-320", ["-t", "1e-320"]), ("-t 1e10", ["-t", "1e10"]), ("-t 1e308", ["-t", "1e308"]),
                            ("--beam-size 1000000", ["--beam-size", "1000000"]),
                            ("--branch-factor 1000000", ["--beam-size", "2", "--branch-factor", "1000000"]),
                            ("--qpm 0", ["--qpm", "0"])]:
            case(f"harmonize {name}", ["harmonize", "--pitches", "67:4,69:4,71:8", *extra, "-o", d / "h.mid", "--force"])
        for spec in ("67:99999999999999999999", "67:1000000", "67:100000000", "0:4"):
            case(f"harmonize --pitches {spec}", ["harmonize", "--pitches", spec, "-o", d / "h.mid", "--force"])
        case("harmonize 10,000-note melody to MusicXML", ["harmonize", "--pitches", ",".join(["67:1"] * 10_000),
                                                          "-o", d / "h.musicxml"])
        # outputs
        shutil.copy(ROOT / "models" / "shakespeare.safetensors", d / "m.safetensors")
        os.link(d / "m.safetensors", d / "hard.safetensors")
        (d / "primer.abc").write_text(tune(16))
        case("--trace naming the model", ["generate", "-m", d / "m.safetensors", "--trace", d / "m.safetensors", "--force"])
        case("--trace naming a hard link to the model",
             ["generate", "-m", d / "m.safetensors", "--trace", d / "hard.safetensors", "--force"])
        case("--trace naming the primer", ["generate", "-m", "bach-chorales", "--primer-file", d / "primer.abc",
                                           "--trace", d / "primer.abc", "--force", "-o", d / "p.mid"])
        case("--trace - (text on stdout too)", ["generate", "-m", d / "m.safetensors", "-n", "5", "--trace", "-"])
        # cells
        (d / "ctl.txt").write_text("Alice \x1b[31msaid\x00 \u202eevil\u202c.\n" * 20)
        case("cells --top 100000", ["cells", "-m", "shakespeare", d / "ctl.txt", "--top", "100000"])
        case("cells page of ESC, NUL, U+202E", ["cells", "-m", "shakespeare", d / "ctl.txt", "--html", d / "c.html"])
        page = (d / "c.html").read_text()
        print("page raw controls:", any(c in page for c in "\x1b\x00\u202e"))
        (d / "300k.txt").write_text(ALICE.read_text(encoding="utf-8-sig")[:150_000] * 2, encoding="utf-8")
        case("cells on a 300 KB text (shakespeare)", ["cells", "-m", "shakespeare", d / "300k.txt", "--html", d / "p.html",
                                                      "--top", "64"], timeout=1800)
    lines = ["| case | exit | stderr lines | seconds | peak MB | message |", "|---|---|---|---|---|---|"]
    lines += [f"| {n} | {rc} | {k} | {s:.1f} | {mb:.0f} | {m} |" for n, rc, k, s, mb, m in rows]
    print("\n".join(lines))
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
