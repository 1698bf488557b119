"""`guigen prepare` and `guigen train --data`: shards on disk, the same training as from files, re-runs
that read only what changed, and music from a folder of real chorales."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from guigen.cli import main
from tests.conftest import CHORALES

TINY = ["--hidden", "24", "--layers", "1", "--embed", "8", "--dropout", "0", "--batch", "4", "--seq-len", "32",
        "--quiet", "--epochs", "1"]


@pytest.fixture()
def corpus(alice_slice, tmp_path) -> Path:
    """Two text files and one that is not UTF-8."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    text = alice_slice.read_text(encoding="utf-8")
    (folder / "a.txt").write_text(text[:20_000], encoding="utf-8")
    (folder / "b.txt").write_text(text[20_000:30_000], encoding="utf-8")
    (folder / "c.txt").write_bytes(b"\xff\xfe not text")
    return folder


def test_text_from_shards_trains_exactly_as_from_the_files(corpus, tmp_path, capsys):
    shards = tmp_path / "shards"
    assert main(["prepare", "text", str(corpus), "-o", str(shards), "--workers", "2", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "2 read, 0 unchanged, 1 skipped" in err and "c.txt: not UTF-8" in err
    manifest = json.loads((shards / "manifest.json").read_text())
    assert manifest["counts"]["tokens"] == 30_000 and manifest["skipped"][0]["path"].endswith("c.txt")
    shard = np.load(shards / manifest["shards"][0], mmap_mode="r")  # code points, as the text has them
    assert shard.dtype == np.uint32 and "".join(map(chr, shard[:200])) == (corpus / "a.txt").read_text()[:200]
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    assert main(["train", "text", "--data", str(shards), "-o", str(a), *TINY]) == 0
    assert main(["train", "text", str(corpus / "a.txt"), str(corpus / "b.txt"), "-o", str(b), *TINY]) == 0
    from guigen.core.modelfile import load_model

    ma, mb = load_model(a), load_model(b)
    assert ma.codec.to_meta() == mb.codec.to_meta()
    for k in ma.weights:
        np.testing.assert_array_equal(ma.weights[k], mb.weights[k])


def test_a_rerun_reads_only_new_and_changed_files(corpus, tmp_path, capsys):
    shards = tmp_path / "shards"
    assert main(["prepare", "text", str(corpus), "-o", str(shards), "--quiet"]) == 0
    first = json.loads((shards / "manifest.json").read_text())
    capsys.readouterr()
    assert main(["prepare", "text", str(corpus), "-o", str(shards), "--quiet"]) == 0
    assert "0 read, 3 unchanged" in capsys.readouterr().err
    (corpus / "d.txt").write_text("Ωμέγα! " * 300, encoding="utf-8")  # new characters too
    (corpus / "b.txt").write_text((corpus / "b.txt").read_text(encoding="utf-8")[:5000], encoding="utf-8")
    assert main(["prepare", "text", str(corpus), "-o", str(shards), "--quiet"]) == 0
    assert "2 read, 2 unchanged, 1 skipped" in capsys.readouterr().err
    second = json.loads((shards / "manifest.json").read_text())
    a_before, a_after = (next(e for e in m["files"] if e["path"].endswith("a.txt")) for m in (first, second))
    assert a_after["spans"] == a_before["spans"]  # a.txt's tokens stayed where they were
    assert "Ω" in second["codec"]["chars"] and second["counts"]["tokens"] == 20_000 + 5_000 + 2_100
    from guigen.core.shards import text_shard_data

    data = text_shard_data(shards)
    whole = np.concatenate([data.train[:], data.val[:]])
    expected = "".join((corpus / n).read_text(encoding="utf-8") for n in ("a.txt", "b.txt", "d.txt"))
    assert data.codec.decode(whole) == expected[: len(whole)]
    # a moved copy with the same content is not read again (content hash)
    shutil.move(corpus / "d.txt", corpus / "e.txt")
    assert main(["prepare", "text", str(corpus), "-o", str(shards), "--quiet"]) == 0
    assert "0 read, 4 unchanged, 1 skipped" in capsys.readouterr().err


def test_bad_uses_are_one_line(corpus, tmp_path, capsys):
    shards = tmp_path / "shards"
    assert main(["prepare", "text", str(corpus), "-o", str(shards), "--quiet"]) == 0
    capsys.readouterr()
    for argv, says in ((["train", "text", "--data", str(shards), str(corpus / "a.txt")], "give no files"),
                       (["train", "text", "--data", str(shards), "--val-frac", "0.1"], "--val-frac: fixed when"),
                       (["train", "text"], "or --data DIR"),
                       (["train", "text", "--data", str(tmp_path)], "no manifest.json"),
                       (["train", "music", "--data", str(shards)], "holds prepared text")):
        assert main([*argv, "-o", str(tmp_path / "m.safetensors"), *TINY]) == 2
        err = capsys.readouterr().err
        assert says in err and len(err.strip().splitlines()) == 1, err


def test_music_prepared_from_chorales_trains_and_matches_the_in_memory_data(tmp_path, capsys):
    folder = tmp_path / "midi"
    folder.mkdir()
    for f in sorted((CHORALES / "train").glob("*.mid"))[:30]:
        shutil.copy(f, folder / f.name)
    (folder / "broken.mid").write_bytes(b"MThd not really")
    shards = tmp_path / "shards"
    assert main(["prepare", "music", str(folder), "-o", str(shards), "--transpose", "3", "--quiet"]) == 0
    assert "broken.mid" in capsys.readouterr().err
    from guigen.core.shards import music_shard_data
    from guigen.music.dataset import music_data
    from guigen.music.events import transpose

    ours = music_shard_data(shards)
    theirs = music_data([folder], transpose_range=(-3, 3), log=None)
    assert ours.codec.to_meta() == theirs.codec.to_meta()
    np.testing.assert_array_equal(ours.val[:], theirs.val)
    assert len(ours.train) == len(theirs.train)
    # an epoch's stream: every piece once, each moved within its allowed shifts
    stream = ours.train_tokens(0, np.random.default_rng(1))[:]
    assert len(stream) == len(theirs.train)
    starts = np.flatnonzero(stream == 0)  # START of each piece
    assert len(starts) == len(theirs.pieces)
    piece = theirs.pieces[0]
    encoded = {tuple(theirs.codec.encode(transpose(piece, s))) for s in range(-3, 4)}
    ends = list(starts[1:]) + [len(stream)]
    assert any(tuple(stream[a:b]) in encoded for a, b in zip(starts, ends))
    out = tmp_path / "m.safetensors"
    assert main(["train", "music", "--data", str(shards), "-o", str(out), *TINY]) == 0
    assert main(["generate", "-m", str(out), "--steps", "16", "-o", str(tmp_path / "m.mid")]) == 0
    import pretty_midi

    assert pretty_midi.PrettyMIDI(str(tmp_path / "m.mid")).instruments


def test_training_from_shards_keeps_no_token_array_in_memory(corpus, tmp_path):
    from guigen.core.shards import TokenStream, text_shard_data

    shards = tmp_path / "shards"
    assert main(["prepare", "text", str(corpus), "-o", str(shards), "--quiet"]) == 0
    data = text_shard_data(shards)
    for stream in (data.train, data.val):
        assert isinstance(stream, TokenStream)
        assert all(isinstance(s, np.memmap) for s in stream.shards)
        assert stream.span_len.nbytes < 100  # a few numbers per file, not the tokens


def test_a_big_text_file_goes_through_disk_in_blocks(alice_slice, tmp_path, monkeypatch):
    from guigen.cli import prepare
    from guigen.core.shards import text_shard_data

    monkeypatch.setattr(prepare, "BLOCK_BYTES", 4096)  # "big" = more than two blocks; in this process (--workers 1)
    text = alice_slice.read_text(encoding="utf-8")[:30_000] + "ünïcödé ✓ " * 500  # blocks split characters
    (tmp_path / "big.txt").write_text(text, encoding="utf-8-sig")
    shards = tmp_path / "shards"
    assert main(["prepare", "text", str(tmp_path / "big.txt"), "-o", str(shards), "--workers", "1", "--quiet"]) == 0
    manifest = json.loads((shards / "manifest.json").read_text())
    assert len(manifest["files"][0]["spans"]) > 1 and not list(shards.glob(".prepare-*"))
    data = text_shard_data(shards)
    assert data.codec.decode(np.concatenate([data.train[:], data.val[:]])) == text


def test_abc_tunes_are_prepared_as_train_music_reads_them(tmp_path):
    pytest.importorskip("music21")
    folder = tmp_path / "tunes"
    folder.mkdir()
    (folder / "book.abc").write_text(
        "X:1\nT:One\nM:4/4\nL:1/8\nK:G\nGABc dedB|dedB dedB|c2ec B2dB|c2A2 A2BA|\n\n"
        "X:2\nT:Two\nM:3/4\nL:1/8\nK:D\nA2 FA df|ed cB AF|G2 EG ce|dc BA GE|\n", encoding="utf-8")
    valid = sorted((CHORALES / "valid").glob("*.mid"))[:1]
    shards = tmp_path / "shards"
    assert main(["prepare", "music", str(folder), "--valid", *map(str, valid), "--encoding", "melody",
                 "-o", str(shards), "--workers", "1", "--quiet"]) == 0
    from guigen.core.shards import music_shard_data
    from guigen.music.dataset import music_data

    ours = music_shard_data(shards)
    theirs = music_data([folder], encoding="melody", valid=valid, log=None)
    assert len(ours.pieces) == len(theirs.pieces) == 2  # the book's two tunes
    np.testing.assert_array_equal(ours.train_tokens(0, np.random.default_rng(0))[:],
                                  theirs.train_tokens(0, np.random.default_rng(0)))
    np.testing.assert_array_equal(ours.val[:], theirs.val)
