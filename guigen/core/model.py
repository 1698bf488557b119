"""The LSTM language model in PyTorch (used for training and as the reference for the fast path)."""

from __future__ import annotations

import torch
from torch import nn

from guigen.core.config import ModelConfig


class LSTMModel(nn.Module):
    """Embedding -> stacked LSTM -> dropout -> linear head over the token classes."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.embed)
        self.lstm = nn.LSTM(
            cfg.embed, cfg.hidden, cfg.layers, batch_first=True, dropout=cfg.dropout if cfg.layers > 1 else 0.0
        )
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.hidden, cfg.vocab_size)

    def forward(self, ids: torch.Tensor, state=None):
        """ids (batch, time) -> logits (batch, time, vocab), new state (h, c)."""
        x = self.embed(ids)
        p = self.cfg.dropout
        if not (self.training and p > 0 and x.device.type == "cpu"):  # GPUs: cuDNN's fused layers and masks
            out, state = self.lstm(x, state)
            return self.head(self.drop(out)), state
        # training on the CPU: the same network, with dropout's masks drawn four to a random number;
        # torch's own (bernoulli_) draws one number per element, 10% of a bf16 step at 2x512
        layers, hidden = self.cfg.layers, self.cfg.hidden
        if state is None:
            zeros = x.new_zeros(layers, x.shape[0], hidden)
            state = (zeros, zeros)
        hs, cs = [], []
        # torch._VF.lstm is what nn.LSTM.forward calls; here one layer at a time, on the same parameters
        weights = self.lstm._flat_weights  # layer l: w_ih, w_hh, b_ih, b_hh at 4l..4l+3
        for layer in range(layers):
            x, h, c = torch._VF.lstm(x, (state[0][layer : layer + 1], state[1][layer : layer + 1]),
                                     weights[4 * layer : 4 * layer + 4], True, 1, 0.0, True, False, True)
            hs.append(h)
            cs.append(c)
            if layer < layers - 1:
                x = dropout_cpu(x, p)
        return self.head(dropout_cpu(x, p)), (torch.cat(hs), torch.cat(cs))

    @classmethod
    def from_loaded(cls, loaded) -> LSTMModel:
        """A torch model with the weights of a LoadedModel (for evaluation and as a reference)."""
        model = cls(loaded.config)
        model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in loaded.weights.items()})
        return model.eval()

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def dropout_cpu(x: torch.Tensor, p: float) -> torch.Tensor:
    """Dropout (training) with a mask from 16-bit slices of 64-bit random numbers: an element is kept
    with probability 1 - p to within 2**-16, and scaled by 1 / (1 - p). Twice as fast as F.dropout on
    a CPU, forward and backward."""
    n = x.numel()
    bits = torch.randint(-(2**63), 2**63 - 1, ((n + 3) // 4,), dtype=torch.int64, device=x.device)
    bits = bits.view(torch.int16)[:n].view(x.shape)
    keep = (bits >= round(p * 65536) - 32768).to(x.dtype).mul_(1 / (1 - p))
    return x * keep
