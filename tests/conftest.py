"""Shared fixtures: a tiny real model trained in seconds on a slice of Alice in Wonderland."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
ALICE = DATA / "text" / "alice_in_wonderland.txt"
SHAKESPEARE = DATA / "text" / "tinyshakespeare.txt"
CHORALES = DATA / "midi" / "jsb_chorales"

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see guigen/cli/train.py


def softmax(logits):
    """The textbook formula, as the reference the sampling code is checked against."""
    import numpy as np

    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@pytest.fixture(scope="session")
def alice_slice(tmp_path_factory) -> Path:
    """The first 60,000 characters of Alice: enough for a model to learn words in seconds."""
    text = ALICE.read_text(encoding="utf-8-sig")[:60_000]
    path = tmp_path_factory.mktemp("data") / "alice.txt"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_trained(alice_slice, tmp_path_factory):
    """(model path, list of EpochEnd events) for a 1x128 LSTM trained 4 epochs on the Alice slice."""
    out = tmp_path_factory.mktemp("models") / "alice-tiny.safetensors"
    return out, train_tiny(alice_slice, out)


def train_tiny(text: Path, out: Path, epochs: int = 4, seed: int = 1337) -> list:
    """Train a 1x128 LSTM on a text file into `out`; its EpochEnd events."""
    import torch

    from guigen.core.data import text_data
    from guigen.core.config import ModelConfig
    from guigen.core.train import EpochEnd, Trainer, TrainConfig

    torch.set_num_threads(2)
    data = text_data([text], val_frac=0.1)
    trainer = Trainer(data, ModelConfig(data.codec.num_classes, embed=16, hidden=128, layers=1, dropout=0.0),
                      TrainConfig(seq_len=64, batch=8, epochs=epochs, lr=1e-2, warmup=10, seed=seed), out)
    return [ev for ev in trainer.run() if isinstance(ev, EpochEnd)]


@pytest.fixture(scope="session")
def tiny_model_path(tiny_trained) -> Path:
    return tiny_trained[0]


@pytest.fixture()
def tiny_model(tiny_model_path):
    from guigen.core.modelfile import load_model

    return load_model(tiny_model_path)
