"""Generation speed at batch 1: guigen's streaming API against references measured in the same run.

(a) the Keras example's way: re-run the model over a 40-token window for every new token;
(b) a plain torch.nn.LSTM stepping loop carrying state, with softmax and torch.multinomial;
(c) the memory-bandwidth bound: weight bytes read per token / bandwidth of reading that many bytes.
Also: what the histogram's per-step distribution (sampled + raw T = 1 + entropy) costs of a step.

This machine's memory bandwidth drifts by 2x over seconds (other tenants), so the measurements are
interleaved: every round times each method briefly, the ratios are taken within a round, and the
medians over rounds are printed.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def rate(fn, seconds: float, min_calls: int = 5) -> float:
    """Calls per second of fn(), best of three timed bursts (after a warm-up call)."""
    fn()
    best = 0.0
    for _ in range(3):
        n, t0 = 0, time.perf_counter()
        while n < min_calls or time.perf_counter() - t0 < seconds / 3:
            fn()
            n += 1
        best = max(best, n / (time.perf_counter() - t0))
    return best


def bandwidth(nbytes: int, seconds: float) -> float:
    """Bytes/s of reading a float32 array of nbytes once: the best of a plain sum (one thread)
    and a BLAS matrix-vector product over it (all threads), which is how a step reads weights."""
    a = np.random.default_rng(0).random(nbytes // 4, dtype=np.float32)
    cols = 1024
    m = a[: (a.size // cols) * cols].reshape(-1, cols)
    v = np.ones(cols, dtype=np.float32)
    by_sum = rate(lambda: a.sum(), seconds / 2, 20) * a.nbytes
    by_gemv = rate(lambda: m @ v, seconds / 2, 20) * m.nbytes
    return max(by_sum, by_gemv)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-m", "--model", default="shakespeare")
    p.add_argument("--seconds", type=float, default=3.0, help="time spent per method, over all rounds")
    p.add_argument("--rounds", type=int, default=6, help="interleaved rounds; medians are printed")
    args = p.parse_args(argv)

    import torch

    from guigen.core import registry
    from guigen.core.generate import Generator
    from guigen.core.model import LSTMModel
    from guigen.core.sampling import SamplingSettings, distributions

    model = registry.load(args.model)
    cfg = model.config
    print(f"model {model.name}: {cfg.layers}x{cfg.hidden} LSTM, {model.num_parameters():,} parameters, "
          f"{cfg.vocab_size} classes; torch {torch.__version__}, {torch.get_num_threads()} torch threads")

    gen = Generator(model, SamplingSettings(1.0), seed=0, undo_depth=0)
    gen.feed([0])
    with_undo = Generator(model, SamplingSettings(1.0), seed=0)  # as the app runs it
    with_undo.feed([0])

    net = LSTMModel.from_loaded(model)
    x = torch.zeros(1, 1, dtype=torch.long)
    state = [None]

    @torch.no_grad()
    def torch_step():  # (b): the plain way with state
        logits, state[0] = net(x, state[0])
        probs = torch.softmax(logits[0, -1], -1)
        x[0, 0] = torch.multinomial(probs, 1)[0]

    window = torch.zeros(1, 40, dtype=torch.long)

    @torch.no_grad()
    def keras_step():  # (a): no state, the whole window again each token
        logits, _ = net(window)
        nxt = torch.multinomial(torch.softmax(logits[0, -1], -1), 1)
        window[0, :-1] = window[0, 1:].clone()
        window[0, -1] = nxt[0]

    nbytes = gen.net.weight_bytes()
    st = gen.net.zero_state(1)
    tok = np.zeros(1, dtype=np.int64)
    logits = gen.logits
    plain_t = SamplingSettings(0.8)
    filtered = SamplingSettings(0.8, top_k=20, top_p=0.95)
    methods = {
        "ours": (gen.step, 50),
        "ours_app": (with_undo.step, 50),
        "plain": (torch_step, 5),
        "keras": (keras_step, 5),
        "forward": (lambda: gen.net.step(tok, st), 50),
        "dist": (lambda: distributions(logits, plain_t), 50),
        "dist_f": (lambda: distributions(logits, filtered), 50),
    }
    per = args.seconds / args.rounds
    rounds = []
    for _ in range(args.rounds):
        r = {name: rate(fn, per, n) for name, (fn, n) in methods.items()}
        r["bound"] = bandwidth(nbytes, per) / nbytes
        rounds.append(r)

    def med(f):
        return float(np.median([f(r) for r in rounds]))

    ours, bound = med(lambda r: r["ours"]), med(lambda r: r["bound"])
    print(f"\n{'method (median of ' + str(args.rounds) + ' interleaved rounds)':58s} {'tokens/s':>10s} {'vs (b)':>8s}")
    rows = [
        ("guigen Generator.step (streaming API, CLI settings)", "ours"),
        ("guigen Generator.step with undo history (as the app runs)", "ours_app"),
        ("(a) Keras example: model over a 40-token window per token", "keras"),
        ("(b) plain torch.nn.LSTM step with state + multinomial", "plain"),
        ("(c) memory-bandwidth bound", "bound"),
    ]
    for name, key in rows:
        print(f"{name:58s} {med(lambda r: r[key]):10,.0f} {med(lambda r: r[key] / r['plain']):7.1f}x")
    share = [100 * r["ours"] / r["bound"] for r in rounds]
    gbs = [r["bound"] * nbytes / 1e9 for r in rounds]
    print(f"\nweights read per token: {nbytes / 1e6:.2f} MB; read bandwidth {bound * nbytes / 1e9:.1f} GB/s "
          f"(rounds: {min(gbs):.0f}-{max(gbs):.0f})")
    print(f"guigen reaches {np.median(share):.0f}% of the bandwidth bound (rounds: {min(share):.0f}-{max(share):.0f}%; "
          f"target >= 50%) and {med(lambda r: r['ours'] / r['plain']):.1f}x the plain nn.LSTM loop (target >= 30x)")
    print(f"the histogram's distributions (sampled at T = 0.8, raw T = 1, entropy) cost "
          f"{med(lambda r: 100 * r['ours'] / r['dist']):.1f}% of a step (target <= 10%); "
          f"{med(lambda r: 100 * r['ours'] / r['dist_f']):.1f}% with top-k 20 and top-p 0.95 too")
    print(f"the LSTM forward pass alone runs at {med(lambda r: r['forward']):,.0f} steps/s "
          f"({med(lambda r: 100 * r['forward'] / r['bound']):.0f}% of the bound); a whole step at {ours:,.0f}")

if __name__ == "__main__":
    main()
