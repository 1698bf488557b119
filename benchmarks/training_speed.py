"""Training throughput (chars/s): guigen's Trainer against a plain PyTorch loop of the same model,
against the compute ceiling (the time the step's matrix products alone take, each timed on its
own at the same shapes on the same device; also, more strictly, as if every product ran at the
rate of the largest), and with 2 processes (DDP, gloo) against 1 on the CPU.

These are float32 figures. On a CPU that multiplies bfloat16 in hardware (Intel AMX), where
`--precision auto` trains in bf16 mixed precision, the Trainer is also timed so, against float32
and against the ceiling of bf16 products of the same shapes (--bf16 times it on other CPUs too).

With --teachers N it also times distillation from N copies of the shipped Shakespeare model:
the teachers read the text once ahead of training (what `guigen train text --teacher` does),
against the same teachers running beside the student at every step (what music training does).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from guigen.core.devices import set_openmp_waiting  # torch-free

set_openmp_waiting()  # as `guigen train` does, before torch loads

DEFAULT_TEXT = Path(__file__).resolve().parents[1] / "data" / "text" / "tinyshakespeare.txt"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--text", type=Path, default=DEFAULT_TEXT)
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--steps", type=int, default=12, help="timed steps per method")
    p.add_argument("--teachers", type=int, default=3, help="time distillation from this many teachers (0: don't)")
    p.add_argument("--ahead-chars", type=int, default=150_000,
                   help="characters of the text the read-ahead pass is timed on")
    p.add_argument("--ddp", type=int, default=2, help="also time this many processes (DDP, gloo) against 1 (0: don't)")
    p.add_argument("--quick", action="store_true", help="a 2x256 model, 6 steps, no distillation part")
    p.add_argument("--bf16", action="store_true",
                   help="time bf16 mixed precision even where the CPU has no AMX (there it is emulated, slower)")
    p.add_argument("--device", default="cpu",
                   help="also time the Trainer on this device (e.g. cuda) against the CPU: the ratio, and the "
                        "projected wall time of the shipped Shakespeare recipe's 20 epochs")
    args = p.parse_args(argv)
    if args.quick:
        args.hidden, args.steps, args.teachers = 256, 6, 0
    from guigen.core.devices import DeviceError, autocast_dtype, cpu_has_fast_bf16, describe, resolve_device

    try:
        device = resolve_device(args.device)  # a device that is not there: one line, before any timing
    except DeviceError as e:
        raise SystemExit(f"training_speed.py: {e}") from None
    print(f"load before: {loadavg()}  ({os.cpu_count()} cores)")

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

    def timed(trainer) -> float:
        events = (ev for ev in trainer.run() if isinstance(ev, Progress))
        next(events), next(events)  # warm-up
        t0 = time.perf_counter()
        for _ in range(args.steps):
            next(events)
        return args.steps * chars_per_step / (time.perf_counter() - t0)

    ours = timed(Trainer(data, cfg, tcfg, Path("/tmp/guigen-bench.safetensors"), precision="fp32"))

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
    print(f"guigen Trainer        {ours:8,.0f} chars/s   (float32, as the plain loop)")
    print(f"plain PyTorch loop    {plain:8,.0f} chars/s")
    print(f"ratio                 {ours / plain:8.2f}")
    shaped, ceiling, flops, best = matmul_ceiling(args.batch, args.seq_len, 64, args.hidden, args.layers,
                                                  cfg.vocab_size, args.steps)
    achieved = ours * flops / (args.batch * args.seq_len)
    print(f"compute ceiling       {shaped:8,.0f} chars/s  (the step's {flops / 1e9:.2f} GFLOP of matrix products, each "
          f"timed on its own with torch.mm at its shape: {flops * shaped / (args.batch * args.seq_len) / 1e9:.1f} GFLOP/s)")
    print(f"ratio to the ceiling  {ours / shaped:8.2f}   ({achieved / 1e9:.1f} GFLOP/s; target 0.75 on the CPU)")
    print(f"stricter: every product at the best rate measured ({best / 1e9:,.1f} GFLOP/s, the largest shape): "
          f"{ceiling:,.0f} chars/s, ratio {ours / ceiling:.2f}   (load: {loadavg()})")
    lstm_s, lstm_products_s = lstm_alone(args.batch, args.seq_len, 64, args.hidden, args.layers, args.steps)
    print(f"nn.LSTM alone         forward + backward {lstm_s * 1e3:.0f} ms a step, its products alone "
          f"{lstm_products_s * 1e3:.0f} ms: {lstm_products_s / lstm_s:.2f} of its ceiling (oneDNN's kernel, where "
          f"the step spends most of its time)")
    if args.bf16 or cpu_has_fast_bf16():
        half = timed(Trainer(data, cfg, tcfg, Path("/tmp/guigen-bench-bf16.safetensors"), precision="bf16"))
        half_shaped, _, _, half_best = matmul_ceiling(args.batch, args.seq_len, 64, args.hidden, args.layers,
                                                     cfg.vocab_size, args.steps, torch.bfloat16)
        print(f"bf16 mixed precision  {half:8,.0f} chars/s   {half / ours:.2f}x float32 "
              f"({'what --precision auto picks on this CPU: it has AMX' if cpu_has_fast_bf16() else 'emulated: no AMX'}); "
              f"{half / shaped:.2f} of the float32 ceiling")
        print(f"  its own ceiling     {half_shaped:8,.0f} chars/s  (the same products in bf16, best "
              f"{half_best / 1e9:,.0f} GFLOP/s): ratio {half / half_shaped:.2f}   (load: {loadavg()})")
    if args.device != "cpu":
        on_device = timed(Trainer(data, cfg, tcfg, Path("/tmp/guigen-bench-dev.safetensors"), device=device))
        epochs = 20 * len(data.train)  # the shipped recipe: 20 epochs over the training part
        print(f"guigen Trainer on {describe(device, autocast_dtype(device))}: {on_device:,.0f} chars/s, "
              f"{on_device / ours:.1f}x the CPU; 20 epochs of this text: {epochs / on_device / 60:.1f} min "
              f"(CPU: {epochs / ours / 60:.0f} min)")
    if args.ddp > 1:
        ddp_scaling(args)
    if args.teachers:
        distillation(args, timed, cfg, tcfg, ours)


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return "n/a"


def matmul_ceiling(batch, seq_len, embed, hidden, layers, vocab, reps, dtype=None):
    """Chars/s if a step took only its matrix products' time (each timed at its shape), chars/s if every
    product ran at the best rate measured (the ceiling), FLOPs per step, and that best FLOP/s.

    Forward: per layer the input projection of all steps at once (B*T x in x 4H) and one
    recurrent product per step (B x H x 4H); the head (B*T x H x V). Backward: for each, the
    gradient of its input (same size) and of its weight, summed over the window in one product.
    """
    bt = batch * seq_len
    shapes = lstm_shapes(batch, seq_len, embed, hidden, layers)
    shapes += [(bt, hidden, vocab, 1), (bt, vocab, hidden, 1), (hidden, bt, vocab, 1)]  # head
    total, flops, best = 0.0, 0, 0.0
    for m, k, n, count in shapes:
        t = mm_seconds(m, k, n, max(3, reps // 2), dtype=dtype)
        total += t * count
        flops += 2 * m * k * n * count
        best = max(best, 2 * m * k * n / t)
    return bt / total, bt * best / flops, flops, best


def lstm_shapes(batch, seq_len, embed, hidden, layers) -> list[tuple[int, int, int, int]]:
    """(m, k, n, count) of the LSTM's products in a training step, layer by layer (see matmul_ceiling)."""
    bt = batch * seq_len
    shapes = []
    for layer in range(layers):
        n_in = embed if layer == 0 else hidden
        shapes += [(bt, n_in, 4 * hidden, 1), (bt, 4 * hidden, n_in, 1), (n_in, bt, 4 * hidden, 1)]  # input projection
        shapes += [(batch, hidden, 4 * hidden, seq_len), (batch, 4 * hidden, hidden, seq_len),  # recurrent
                   (hidden, bt, 4 * hidden, 1)]
    return shapes


def mm_seconds(m, k, n, repeats, inner_max=200, flop_budget=2_000_000_000, dtype=None) -> float:
    """Median seconds of one torch.mm of an (m, k) by a (k, n) matrix (float32 unless dtype), over
    `repeats` timed loops."""
    import torch

    dtype = dtype or torch.float32
    a, b, out = torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype), torch.empty(m, n, dtype=dtype)
    inner = max(1, min(inner_max, flop_budget // (2 * m * k * n)))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            torch.mm(a, b, out=out)
        times.append((time.perf_counter() - t0) / inner)
    return sorted(times)[len(times) // 2]


def lstm_alone(batch, seq_len, embed, hidden, layers, reps):
    """Seconds a step of nn.LSTM's forward and backward takes (oneDNN's kernel on the CPU), and its
    matrix products timed alone as matmul_ceiling times them (the kernel: best of three blocks)."""
    import torch
    from torch import nn

    lstm = nn.LSTM(embed, hidden, layers, batch_first=True)
    x = torch.randn(batch, seq_len, embed, requires_grad=True)  # the embedding's output wants its gradient

    def step():
        out, _ = lstm(x)
        out.sum().backward()

    step()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(max(2, reps // 3)):
            step()
        best = min(best, (time.perf_counter() - t0) / max(2, reps // 3))
    products = sum(mm_seconds(m, k, n, 3, inner_max=50, flop_budget=1_000_000_000) * count
                   for m, k, n, count in lstm_shapes(batch, seq_len, embed, hidden, layers))
    return best, products


def _ddp_worker(rank, world, port, args, queue):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world))
    import torch
    import torch.distributed as dist

    from guigen.core.config import ModelConfig
    from guigen.core.data import text_data
    from guigen.core.train import Progress, Trainer, TrainConfig

    torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))  # the cores shared among the processes
    if world > 1:
        dist.init_process_group("gloo")
    data = text_data([args.text], 0.05, 0.05)
    cfg = ModelConfig(data.codec.num_classes, 64, args.hidden, args.layers, 0.2)
    trainer = Trainer(data, cfg, TrainConfig(seq_len=args.seq_len, batch=args.batch, epochs=1),
                      Path(f"/tmp/guigen-bench-ddp-{os.getpid()}.safetensors"), precision="fp32")
    events = (ev for ev in trainer.run() if isinstance(ev, Progress))
    next(events), next(events)  # warm-up
    t0 = time.perf_counter()
    for _ in range(args.steps):
        next(events)
    rate = args.steps * args.batch * args.seq_len / (time.perf_counter() - t0)
    if rank == 0:
        queue.put(rate)
    if world > 1:
        dist.destroy_process_group()


def ddp_scaling(args):
    """Chars/s of the same global batch trained by 1 process (all cores) and by N (cores shared)."""
    import torch.multiprocessing as mp

    ctx = mp.get_context("spawn")
    rates = {}
    for world in (1, args.ddp):
        queue = ctx.Queue()
        procs = [ctx.Process(target=_ddp_worker, args=(r, world, 29400 + os.getpid() % 500, args, queue))
                 for r in range(world)]
        for proc in procs:
            proc.start()
        rates[world] = queue.get(timeout=600)
        for proc in procs:
            proc.join()
    print(f"DDP on the CPU (gloo), global batch {args.batch}, {os.cpu_count()} cores shared:")
    print(f"  1 process             {rates[1]:8,.0f} chars/s")
    print(f"  {args.ddp} processes           {rates[args.ddp]:8,.0f} chars/s")
    print(f"  ratio {args.ddp} / 1             {rates[args.ddp] / rates[1]:8.2f}   (load: {loadavg()})")


def distillation(args, timed, cfg, tcfg, undistilled):
    import tempfile
    from dataclasses import replace

    from guigen.core import registry
    from guigen.core.data import text_data
    from guigen.core.train import Trainer, TrainConfig

    teachers = [registry.load("shakespeare")] * args.teachers
    with tempfile.TemporaryDirectory() as tmp:
        part = Path(tmp) / "part.txt"  # a slice, so that the read-ahead pass takes seconds, not minutes
        part.write_text(args.text.read_text(encoding="utf-8")[: args.ahead_chars], encoding="utf-8")
        data = text_data([part], 0.05, 0.05, vocab=teachers[0].codec)
        tcfg = TrainConfig(**{**tcfg.__dict__, "teacher_weight": 0.8})
        ahead = Trainer(data, cfg, tcfg, Path(tmp) / "a.safetensors", precision="fp32")
        t0 = time.perf_counter()
        ahead.set_teachers(teachers)  # text: the teachers read the training part once, here
        pass_rate = len(data.train) / (time.perf_counter() - t0)
        with_ahead = timed(ahead)
        # as for music, whose tokens change every epoch: the teachers run beside the student
        beside = Trainer(replace(data, same_every_epoch=False), cfg, tcfg, Path(tmp) / "b.safetensors", precision="fp32")
        beside.set_teachers(teachers)
        with_beside = timed(beside)
    print(f"distillation from {args.teachers} teacher{'s' if args.teachers != 1 else ''} (the shipped 2x512 model):")
    print(f"  teachers beside the student, every step   {with_beside:8,.0f} chars/s   {with_beside / undistilled:5.2f} of undistilled")
    print(f"  teachers read ahead, then a lookup        {with_ahead:8,.0f} chars/s   {with_ahead / undistilled:5.2f} of undistilled")
    print(f"  the read-ahead pass itself                {pass_rate:8,.0f} chars/s   (once per run, not per epoch)")


if __name__ == "__main__":
    main()
