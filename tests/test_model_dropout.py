"""The CPU training path of LSTMModel: nn.LSTM's layers one at a time, with dropout_cpu's masks between."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from guigen.core.config import ModelConfig
from guigen.core.model import LSTMModel, dropout_cpu


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5])
def test_dropout_cpu_keeps_one_minus_p_and_scales(p):
    torch.manual_seed(1)
    x = torch.ones(2000, 1000, requires_grad=True)
    y = dropout_cpu(x, p)
    kept = (y != 0).float().mean().item()
    assert abs(kept - (1 - p)) < 5e-3  # 2M draws: the standard error is under 4e-4
    assert torch.allclose(y[y != 0], torch.tensor(1 / (1 - p)))
    assert abs(y.mean().item() - 1.0) < 1e-2  # the expectation is kept
    y.sum().backward()
    assert torch.equal(x.grad, y.detach())  # the gradient goes through the same mask, scaled alike
    # neighbouring elements (slices of one random number) are independent: kept pairs at (1 - p)^2
    pairs = ((y[:, 0::2] != 0) & (y[:, 1::2] != 0)).float().mean().item()
    assert abs(pairs - (1 - p) ** 2) < 5e-3


def test_dropout_cpu_draws_from_torchs_generator():
    torch.manual_seed(5)
    a = dropout_cpu(torch.ones(64, 64), 0.5)
    torch.manual_seed(5)
    assert torch.equal(a, dropout_cpu(torch.ones(64, 64), 0.5))  # seeded runs and resumes repeat exactly
    assert not torch.equal(a, dropout_cpu(torch.ones(64, 64), 0.5))


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_the_layer_by_layer_path_is_nn_lstm(layers):
    """With a dropout too small to drop anything, the CPU training path gives nn.LSTM's outputs, state
    and gradients exactly."""
    torch.manual_seed(0)
    cfg = ModelConfig(40, 8, 16, layers, 0.0)
    model = LSTMModel(cfg).train()
    ids = torch.randint(0, 40, (3, 11))
    state = (torch.randn(layers, 3, 16), torch.randn(layers, 3, 16))
    results = []
    for dropout in (0.0, 1e-9):  # 0: nn.LSTM; 1e-9: the layer path, every element kept
        model.cfg = dataclasses.replace(cfg, dropout=dropout)
        model.zero_grad()
        logits, (h, c) = model(ids, state)
        (logits.sum() + h.sum() + c.sum()).backward()
        results.append([logits, h, c, *(q.grad for q in model.parameters())])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_dropout_between_layers_and_on_the_output_in_training_only():
    torch.manual_seed(0)
    model = LSTMModel(ModelConfig(40, 8, 16, 2, 0.5))
    ids = torch.randint(0, 40, (4, 9))
    model.train()
    a, b = model(ids)[0], model(ids)[0]
    assert not torch.equal(a, b)  # fresh masks each call
    model.eval()
    assert torch.equal(model(ids)[0], model(ids)[0])  # none in evaluation
