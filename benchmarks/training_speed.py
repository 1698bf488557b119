"""Training throughput (chars/s): guigen's Trainer against a plain PyTorch loop of the same model."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as `guigen train` does

DEFAULT_TEXT = Path(__file__).resolve().parents[2] / "shared" / "data" / "text" / "tinyshakespeare.txt"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--text", type=Path, default=DEFAULT_TEXT)
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--steps", type=int, default=12, help="timed steps per method")
    args = p.parse_args(argv)

    import torch
    from torch import nn

    from guigen.core.config import ModelConfig
    from guigen.core.data import text_data
    from guigen.core.train import Progress, Trainer, TrainConfig, set_threads

    threads = set_threads()
    data = text_data([args.text], 0.05, 0.05)
    cfg = ModelConfig(data.codec.num_classes, 64, args.hidden, args.layers, 0.2)
    tcfg = TrainConfig(seq_len=args.seq_len, batch=args.batch, epochs=1)
    chars_per_step = args.batch * args.seq_len

    trainer = Trainer(data, cfg, tcfg, Path("/tmp/guigen-bench.safetensors"))
    events = (ev for ev in trainer.run() if isinstance(ev, Progress))
    next(events), next(events)  # warm-up
    t0 = time.perf_counter()
    for _ in range(args.steps):
        next(events)
    ours = args.steps * chars_per_step / (time.perf_counter() - t0)

    # the reference: the textbook loop, same model and batch, fresh random windows, no state carried
    torch.manual_seed(0)
    emb, lstm = nn.Embedding(cfg.vocab_size, 64), nn.LSTM(64, args.hidden, args.layers, batch_first=True, dropout=0.2)
    head = nn.Linear(args.hidden, cfg.vocab_size)
    params = [*emb.parameters(), *lstm.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=2e-3)
    ids = torch.from_numpy(data.train)

    def plain_step():
        starts = torch.randint(0, len(ids) - args.seq_len - 1, (args.batch,))
        x = torch.stack([ids[s : s + args.seq_len] for s in starts])
        y = torch.stack([ids[s + 1 : s + args.seq_len + 1] for s in starts])
        out, _ = lstm(emb(x))
        loss = nn.functional.cross_entropy(head(out).reshape(-1, cfg.vocab_size), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()

    plain_step(), plain_step()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        plain_step()
    plain = args.steps * chars_per_step / (time.perf_counter() - t0)
    print(f"{args.layers}x{args.hidden} LSTM, batch {args.batch} x {args.seq_len}, {threads} threads, torch {torch.__version__}")
    print(f"guigen Trainer        {ours:8,.0f} chars/s")
    print(f"plain PyTorch loop    {plain:8,.0f} chars/s")
    print(f"ratio                 {ours / plain:8.2f}")


if __name__ == "__main__":
    main()
