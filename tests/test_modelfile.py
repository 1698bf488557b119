"""Model files: round trip, and a clear ModelFileError for every way a file can be broken."""

import json
import pickle
import subprocess
import sys

import numpy as np
import pytest
from safetensors.numpy import save_file

from guigen.core.config import ModelConfig, parameter_shapes
from guigen.core.modelfile import ModelFileError, load_model, save_model
from guigen.core.vocab import CharVocab

VOCAB = CharVocab("abc \n")
CFG = ModelConfig(vocab_size=5, embed=4, hidden=8, layers=2, dropout=0.1)


def weights(cfg=CFG, seed=0):
    rng = np.random.default_rng(seed)
    return {k: rng.normal(size=s).astype(np.float32) for k, s in parameter_shapes(cfg).items()}


@pytest.fixture()
def good(tmp_path):
    path = tmp_path / "good.safetensors"
    save_model(path, CFG, VOCAB, weights(), {"data": ["x.txt"], "val_loss": 1.5})
    return path


def test_round_trip(good):
    m = load_model(good)
    assert m.config == CFG and m.codec.chars == VOCAB.chars and m.kind == "text"
    assert m.training["val_loss"] == 1.5
    for k, w in weights().items():
        np.testing.assert_array_equal(m.weights[k], w)


def test_unicode_vocabulary_survives(tmp_path):
    vocab = CharVocab(sorted("añ€😀\n "))
    cfg = ModelConfig(vocab_size=vocab.num_classes, embed=4, hidden=8, layers=1)
    save_model(tmp_path / "u.safetensors", cfg, vocab, weights(cfg))
    assert load_model(tmp_path / "u.safetensors").codec.chars == vocab.chars


def expect_error(path, *words):
    with pytest.raises(ModelFileError) as e:
        load_model(path)
    msg = str(e.value)
    assert str(path) in msg
    for w in words:
        assert w in msg, msg
    return msg


def test_missing_file_and_directory(tmp_path):
    expect_error(tmp_path / "nope.safetensors", "no such")
    expect_error(tmp_path, "a folder")


def test_empty_and_truncated(good, tmp_path):
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    expect_error(empty, "too short")
    data = good.read_bytes()
    for cut in (9, 100, len(data) // 2, len(data) - 1):
        bad = tmp_path / f"cut{cut}.safetensors"
        bad.write_bytes(data[:cut])
        expect_error(bad)


def test_random_bytes(tmp_path):
    bad = tmp_path / "random.safetensors"
    bad.write_bytes(np.random.default_rng(3).bytes(5000))
    expect_error(bad, "not a safetensors")


def test_pickle_renamed_is_refused_without_unpickling(tmp_path):
    bad = tmp_path / "evil.safetensors"
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    bad.write_bytes(pickle.dumps(Evil()))
    expect_error(bad, "pickle")
    assert not marker.exists()


def test_torch_save_archive_is_refused(tmp_path):
    import torch

    bad = tmp_path / "model.safetensors"
    torch.save({"w": torch.zeros(3)}, bad)
    expect_error(bad, "pickle")


def test_safetensors_without_our_metadata(tmp_path):
    bad = tmp_path / "foreign.safetensors"
    save_file(weights(), str(bad))
    expect_error(bad, "not a GuiGen model")


def test_bad_metadata_json_and_format(tmp_path):
    bad = tmp_path / "json.safetensors"
    save_file(weights(), str(bad), metadata={"guigen": "{not json"})
    expect_error(bad, "JSON")
    future = tmp_path / "future.safetensors"
    meta = {"format": 99, "config": CFG.to_meta(), "codec": VOCAB.to_meta()}
    save_file(weights(), str(future), metadata={"guigen": json.dumps(meta)})
    expect_error(future, "format")


def test_bad_config_and_codec(tmp_path):
    for i, (cfg, codec) in enumerate([
        ({**CFG.to_meta(), "hidden": -3}, VOCAB.to_meta()),
        ({k: v for k, v in CFG.to_meta().items() if k != "layers"}, VOCAB.to_meta()),
        (CFG.to_meta(), {"kind": "smell"}),
        (CFG.to_meta(), {"kind": "text", "chars": "ab"}),  # 2 classes, model has 5
    ]):
        bad = tmp_path / f"cfg{i}.safetensors"
        save_file(weights(), str(bad), metadata={"guigen": json.dumps({"format": 1, "config": cfg, "codec": codec})})
        expect_error(bad)


def test_wrong_shapes_and_missing_tensors(tmp_path):
    w = weights()
    w["lstm.weight_hh_l1"] = np.zeros((32, 7), np.float32)
    meta = {"guigen": json.dumps({"format": 1, "config": CFG.to_meta(), "codec": VOCAB.to_meta()})}
    bad = tmp_path / "shape.safetensors"
    save_file(w, str(bad), metadata=meta)
    expect_error(bad, "lstm.weight_hh_l1", "shape")
    w = weights()
    del w["head.bias"]
    bad2 = tmp_path / "missing.safetensors"
    save_file(w, str(bad2), metadata=meta)
    expect_error(bad2, "head.bias")


def test_nan_weights(tmp_path):
    w = weights()
    w["head.weight"][0, 0] = np.nan
    bad = tmp_path / "nan.safetensors"
    save_model(bad, CFG, VOCAB, w)
    expect_error(bad, "NaN")


def test_save_is_atomic_and_leaves_no_temp_files(good, tmp_path):
    save_model(good, CFG, VOCAB, weights(seed=1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.safetensors"]
    np.testing.assert_array_equal(load_model(good).weights["head.bias"], weights(seed=1)["head.bias"])


def test_engine_never_imports_qt_and_loading_never_imports_torch(good):
    code = (
        "import sys\n"
        "import guigen.core.modelfile, guigen.core.generate, guigen.core.sampling, guigen.core.registry\n"
        f"m = guigen.core.modelfile.load_model({str(good)!r})\n"
        "g = guigen.core.generate.Generator(m, seed=0); g.feed([0]); g.step()\n"
        "assert 'torch' not in sys.modules, 'loading or generating imported torch'\n"
        "import guigen.core.train, guigen.core.evaluate, guigen.cli, guigen.cli.generate\n"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'shiboken'))]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
