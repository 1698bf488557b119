"""Ensemble model files: several networks in one file, generating from and scored by the mean of their
next-token distributions, exactly as `guigen eval -m A -m B` scores them."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import softmax, train_tiny


@pytest.fixture(scope="module")
def second_model_path(alice_slice, tmp_path_factory):
    """A second network of the tiny model's size, trained with another seed (a real, different network)."""
    out = tmp_path_factory.mktemp("models") / "alice-tiny-b.safetensors"
    train_tiny(alice_slice, out, epochs=2, seed=7)
    return out


def guigen(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "guigen", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def ensemble_path(tiny_model_path, second_model_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("ens") / "pair.safetensors"
    r = guigen("ensemble", "-m", tiny_model_path, "-m", second_model_path, "-o", out)
    assert r.returncode == 0, r.stderr
    assert "ensemble of 2 1x128 LSTMs" in r.stdout
    return out


def test_generation_draws_from_the_mean_of_the_networks(ensemble_path, tiny_model_path, second_model_path):
    from guigen.core.generate import Generator
    from guigen.core.modelfile import load_model
    from guigen.core.sampling import SamplingSettings

    ens = load_model(ensemble_path)
    assert ens.config.members == 2 and len(ens.networks) == 2
    members = [load_model(tiny_model_path), load_model(second_model_path)]
    gen = Generator(ens, SamplingSettings(temperature=0.7), seed=3)
    alone = [Generator(m, SamplingSettings(temperature=1.0), seed=0) for m in members]
    primer = ens.codec.encode("Alice was ")
    for g in (gen, *alone):
        g.feed(primer)
    for _ in range(60):
        step = gen.step()
        mean = np.mean([softmax(a.logits[0]) for a in alone], axis=0)
        np.testing.assert_allclose(step.raw_probs[0], mean, rtol=1e-4, atol=1e-6)
        # the temperature acts on the ensemble's distribution: q_i proportional to mean_i ** (1 / T)
        q = mean ** (1 / 0.7)
        np.testing.assert_allclose(step.probs[0], q / q.sum(), rtol=1e-3, atol=1e-6)
        for a in alone:
            a.step(force=step.token)


def test_eval_of_the_file_equals_eval_of_its_models(ensemble_path, tiny_model_path, second_model_path, alice_slice):
    pair = guigen("eval", "--json", "-m", tiny_model_path, "-m", second_model_path, alice_slice)
    one = guigen("eval", "--json", "-m", ensemble_path, alice_slice)
    assert pair.returncode == 0 and one.returncode == 0, pair.stderr + one.stderr
    a, b = json.loads(pair.stdout), json.loads(one.stdout)
    assert a["chars_scored"] == b["chars_scored"]
    assert b["nats_per_char"] == pytest.approx(a["nats_per_char"], rel=1e-6)
    single = json.loads(guigen("eval", "--json", "-m", tiny_model_path, alice_slice).stdout)
    assert b["nats_per_char"] != pytest.approx(single["nats_per_char"], rel=1e-4)  # it is not one network


def test_info_names_the_networks(ensemble_path):
    r = guigen("info", "-m", ensemble_path)
    assert r.returncode == 0, r.stderr
    assert "ensemble of 2 1x128 LSTMs" in r.stdout
    assert "ensemble    of alice-tiny, alice-tiny-b" in r.stdout


def test_an_ensemble_of_an_ensemble_adds_its_networks(ensemble_path, tiny_model_path, tmp_path):
    out = tmp_path / "three.safetensors"
    r = guigen("ensemble", "-m", ensemble_path, "-m", tiny_model_path, "-o", out)
    assert r.returncode == 0, r.stderr
    assert "ensemble of 3 1x128 LSTMs" in r.stdout and "alice-tiny + alice-tiny-b + alice-tiny" in r.stdout


def test_bad_ensembles_are_refused_in_one_line(ensemble_path, tiny_model_path, tmp_path):
    from guigen.core import registry

    shakespeare = registry.available()["shakespeare"]
    out = tmp_path / "mixed.safetensors"
    r = guigen("ensemble", "-m", tiny_model_path, "-m", shakespeare, "-o", out)
    assert r.returncode == 2 and "another vocabulary" in r.stderr and not out.exists()
    assert len(r.stderr.strip().splitlines()) == 1
    r = guigen("ensemble", "-m", tiny_model_path, "-o", out)
    assert r.returncode == 2 and "at least two networks" in r.stderr
    r = guigen("ensemble", "-m", tiny_model_path, "-m", tiny_model_path, "-o", ensemble_path)
    assert r.returncode != 0 and "exists" in r.stderr  # nothing the user made is overwritten without --force


@pytest.mark.parametrize("members, why", [(3, "wrong tensors"), (0, "members=0"), (17, "members=17"),
                                          (True, "members=True")])
def test_a_file_whose_members_do_not_match_its_tensors_is_refused(ensemble_path, tmp_path, members, why):
    from safetensors.numpy import load_file, save_file

    from guigen.core.modelfile import ModelFileError, load_model, read_header

    meta = json.loads(read_header(ensemble_path).metadata["guigen"])
    meta["config"]["members"] = members
    bad = tmp_path / "bad.safetensors"
    save_file(load_file(str(ensemble_path)), str(bad), metadata={"guigen": json.dumps(meta)})
    with pytest.raises(ModelFileError, match=why):
        load_model(bad)


def test_single_network_files_keep_their_layout(tiny_model_path):
    from guigen.core.modelfile import read_header

    meta = json.loads(read_header(tiny_model_path).metadata["guigen"])
    assert "members" not in meta["config"]  # what earlier GuiGen versions read


def test_fine_tuning_an_ensemble_is_refused_but_it_can_teach(ensemble_path, alice_slice, tmp_path):
    out = tmp_path / "student.safetensors"
    r = guigen("train", "text", alice_slice, "--init", ensemble_path, "--epochs", "1", "-o", out)
    assert r.returncode == 2 and "is an ensemble of 2 networks" in r.stderr
    r = guigen("train", "text", alice_slice, "--teacher", ensemble_path, "--layers", "1", "--hidden", "32",
               "--embed", "8", "--epochs", "1", "--batch", "8", "--seq-len", "32", "-o", out, timeout=300)
    assert r.returncode == 0, r.stderr
    info = guigen("info", "-m", out)
    assert "distilled   from " in info.stdout and "/pair (their mean prediction" in info.stdout


def test_the_cells_view_and_model_card_show_every_network(qtbot, ensemble_path):
    from guigen.app.panel import model_card
    from guigen.core.generate import Generator
    from guigen.core.modelfile import load_model

    ens = load_model(ensemble_path)
    card = model_card(ens)
    assert "ensemble of 2 1&times;128 LSTMs" in card and "ensemble of alice-tiny, alice-tiny-b" in card
    gen = Generator(ens, seed=1)
    gen.feed(ens.codec.encode("Alice"))
    assert gen.state.shape == (2, 2, 1, 128)  # network k's layers at rows k*layers...
