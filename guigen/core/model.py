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
        out, state = self.lstm(self.embed(ids), state)
        return self.head(self.drop(out)), state

    @classmethod
    def from_loaded(cls, loaded) -> LSTMModel:
        """A torch model with the weights of a LoadedModel (for evaluation and as a reference)."""
        model = cls(loaded.config)
        model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in loaded.weights.items()})
        return model.eval()

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
