"""Hostile prepared folders (issue 22): manifests edited by hand to read outside the folder, to crash
the reader or to train on nonsense, FIFOs where files belong, and `prepare` re-run over them. Each
case runs the real `guigen` in a subprocess: one line on stderr naming the folder and the field,
exit 2, bounded time and memory, and nothing outside the test's folder changed."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from guigen.cli import main
from tests.conftest import CHORALES
from tests.hostile import bounded, refused, run, snapshot

TINY = ["--hidden", "8", "--layers", "1", "--embed", "4", "--batch", "2", "--seq-len", "16", "--quiet", "--epochs", "1"]


@pytest.fixture(scope="module")
def prepared(alice_slice, tmp_path_factory):
    """A text folder and a music folder made by `guigen prepare` once, and a sentinel shard outside both."""
    root = tmp_path_factory.mktemp("prepared")
    corpus = root / "corpus"
    corpus.mkdir()
    shutil.copy(alice_slice, corpus / "a.txt")
    assert main(["prepare", "text", str(corpus), "-o", str(root / "text"), "--workers", "1", "--quiet"]) == 0
    midi = root / "midi"
    midi.mkdir()
    for f in sorted((CHORALES / "train").glob("*.mid"))[:6]:
        shutil.copy(f, midi / f.name)
    assert main(["prepare", "music", str(midi), "-o", str(root / "music"), "--workers", "1", "--quiet"]) == 0
    outside = tmp_path_factory.mktemp("outside") / "secret.npy"
    np.save(outside, np.arange(50_000, dtype=np.uint32) % 60 + 32)
    return root, outside


def _copy(prepared, kind: str, tmp_path: Path) -> tuple[Path, dict]:
    folder = tmp_path / "p"
    shutil.copytree(prepared[0] / kind, folder)
    return folder, json.loads((folder / "manifest.json").read_text())


def _save(folder: Path, manifest: dict) -> None:
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _point_shard(m: dict, name: str) -> None:
    old = m["shards"][0]
    m["shards"][0] = name
    for e in m["files"]:
        for row in e.get("spans", []) + e.get("pieces", []):
            if row[0] == old:
                row[0] = name


def _set_span(m, i, value):
    next(e for e in m["files"] if e.get("spans"))["spans"][0][i] = value


# (case, kind, edit(manifest, folder, outside), words the one line must hold)
CASES = [
    ("absolute path", "text", lambda m, f, o: _point_shard(m, str(o)), ["shards[0]"]),
    ("traversal", "text", lambda m, f, o: _point_shard(m, "../../../../etc/passwd"), ["shards[0]", "etc/passwd"]),
    ("unlisted shard", "text", lambda m, f, o: _set_span(m, 0, "shard-999-00000.npy"), ["spans[0]", "does not list"]),
    ("files a string", "text", lambda m, f, o: m.update(files="abc"), ["'files'"]),
    ("codec a string", "text", lambda m, f, o: m.update(codec="abc"), ["'codec'"]),
    ("short codec.chars", "text", lambda m, f, o: m["codec"].update(chars=m["codec"]["chars"][:5]), ["chars"]),
    ("split to 1e12", "text", lambda m, f, o: m.update(split={"train": [0, 10 ** 12], "val": [10 ** 12, 10 ** 12 + 5],
                                                             "test": [10 ** 12 + 5, 10 ** 12 + 5]}), ["split"]),
    ("negative split", "text", lambda m, f, o: m["split"].update(train=[-500, -100]), ["split.train"]),
    ("span of 1e9", "text", lambda m, f, o: _set_span(m, 2, 10 ** 9), ["spans[0]"]),
    ("span past the shard", "text", lambda m, f, o: _set_span(m, 1, 59_990), ["spans[0]"]),
    ("missing split", "music", lambda m, f, o: m["files"][0].pop("split"), ["files[0].split"]),
    ("pitch range 1e9", "music", lambda m, f, o: m["files"][0]["pieces"][0].__setitem__(3, -10 ** 9), ["pieces[0]"]),
    ("transpose 1e8", "music", lambda m, f, o: m["options"].update(transpose=[0, 100_000_000]), ["options.transpose"]),
    ("codec.encoding unknown", "music", lambda m, f, o: m["codec"].update(encoding="nope"), ["codec.encoding"]),
]


@pytest.mark.parametrize("case,kind,edit,words", CASES, ids=[c[0] for c in CASES])
def test_an_edited_manifest_is_one_line_naming_the_field(prepared, tmp_path, case, kind, edit, words):
    folder, m = _copy(prepared, kind, tmp_path)
    before = snapshot(prepared[1])
    edit(m, folder, prepared[1])
    _save(folder, m)
    r = run(["train", kind, "--data", folder, "-o", tmp_path / "m.safetensors", *TINY], tmp_path)
    line = refused(r, str(folder), *words)
    assert "manifest.json" in line or "shard" in line
    assert snapshot(prepared[1]) == before and not (tmp_path / "m.safetensors").exists()


def test_links_fifos_and_deep_nesting_are_refused_without_blocking(prepared, tmp_path):
    outside = prepared[1]
    before = snapshot(outside)
    # a shard that is a symlink out of the folder
    folder, m = _copy(prepared, "text", tmp_path / "a")
    shard = folder / m["shards"][0]
    shard.unlink()
    shard.symlink_to(outside)
    refused(run(["train", "text", "--data", folder, "-o", tmp_path / "a.safetensors", *TINY], tmp_path),
            "leads out of the folder")
    # a shard that is a FIFO, and a manifest that is a FIFO: never opened for a blocking read
    folder, m = _copy(prepared, "music", tmp_path / "b")
    shard = folder / m["shards"][0]
    shard.unlink()
    os.mkfifo(shard)
    refused(run(["train", "music", "--data", folder, "-o", tmp_path / "b.safetensors", *TINY], tmp_path), "FIFO")
    (folder / "manifest.json").unlink()
    os.mkfifo(folder / "manifest.json")
    refused(run(["train", "music", "--data", folder, "-o", tmp_path / "b.safetensors", *TINY], tmp_path), "FIFO")
    # ... nor the manifest `prepare -o` would rewrite
    refused(run(["prepare", "music", CHORALES / "valid", "-o", folder, "--workers", "1", "--quiet"], tmp_path),
            "manifest.json", "FIFO")
    # a manifest nested 200,000 deep: refused before json (no RecursionError)
    folder, m = _copy(prepared, "text", tmp_path / "c")
    (folder / "manifest.json").write_text('{"format": "guigen-shards", "x": ' + "[" * 200_000 + "]" * 200_000 + "}")
    refused(run(["train", "text", "--data", folder, "-o", tmp_path / "c.safetensors", *TINY], tmp_path),
            "nested more than")
    assert snapshot(outside) == before


def test_a_shard_holding_ids_outside_the_vocabulary_is_named_before_training(prepared, tmp_path):
    folder, m = _copy(prepared, "music", tmp_path)
    path = folder / m["shards"][0]
    arr = np.load(path, mmap_mode="r+")
    arr[3] = 65535
    arr.flush()
    del arr
    refused(run(["train", "music", "--data", folder, "-o", tmp_path / "m.safetensors", *TINY], tmp_path),
            m["shards"][0], "outside the vocabulary")


def test_prepare_rerun_never_carries_a_bad_entry_forward(prepared, tmp_path, alice_slice):
    folder, m = _copy(prepared, "text", tmp_path)
    outside = prepared[1]
    _point_shard(m, str(outside))
    _save(folder, m)
    corpus = prepared[0] / "corpus"
    r = run(["prepare", "text", corpus, "-o", folder, "--workers", "1", "--quiet"], tmp_path)
    bounded(r)
    assert r.rc == 0 and "reading every file again" in r.err, r.err
    after = json.loads((folder / "manifest.json").read_text())
    assert str(outside) not in json.dumps(after)
    from guigen.core.shards import read_manifest

    assert read_manifest(folder)["counts"]["tokens"] == len(alice_slice.read_text(encoding="utf-8"))
    # more worker processes than CPUs: refused before any is started
    refused(run(["prepare", "text", corpus, "-o", folder, "--workers", "100000"], tmp_path), "--workers", "CPUs")
