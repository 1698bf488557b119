"""BLAS threads: generation's small products run on one BLAS thread (set through threadpoolctl,
put back afterwards), also when the Generator runs in a worker thread as the app's does."""

import subprocess
import sys
import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from guigen.core import fastlstm
from guigen.core.config import ModelConfig
from guigen.core.fastlstm import FastLSTM, blas_threads


def blas_counts() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def tiny_net(hidden=32, vocab=11, layers=2) -> FastLSTM:
    rng = np.random.default_rng(0)
    w = {"embed.weight": rng.standard_normal((vocab, 8)), "head.weight": rng.standard_normal((vocab, hidden)),
         "head.bias": rng.standard_normal(vocab)}
    for layer in range(layers):
        w[f"lstm.weight_ih_l{layer}"] = rng.standard_normal((4 * hidden, 8 if layer == 0 else hidden))
        w[f"lstm.weight_hh_l{layer}"] = rng.standard_normal((4 * hidden, hidden))
        w[f"lstm.bias_ih_l{layer}"] = rng.standard_normal(4 * hidden)
        w[f"lstm.bias_hh_l{layer}"] = rng.standard_normal(4 * hidden)
    cfg = ModelConfig(vocab_size=vocab, embed=8, hidden=hidden, layers=layers)
    return FastLSTM(cfg, w)


@pytest.fixture
def two_blas_threads():
    if not blas_counts():
        pytest.skip("numpy's BLAS is not one threadpoolctl can drive")
    with threadpool_limits(limits=2, user_api="blas"):
        if set(blas_counts()) != {2}:
            pytest.skip("BLAS cannot be set to 2 threads here")
        yield


def test_a_step_in_a_worker_thread_uses_one_blas_thread_and_puts_the_count_back(two_blas_threads):
    net = tiny_net()
    seen = []
    inner = net._step

    def spy(tokens, state):
        seen.append(blas_counts())
        return inner(tokens, state)

    net._step = spy
    state = net.zero_state(1)
    worker = threading.Thread(target=lambda: [net.step(np.array([3]), state) for _ in range(3)])
    worker.start()
    worker.join()
    assert seen == [[1] * len(seen[0])] * 3  # every library at one thread during each step
    assert set(blas_counts()) == {2}  # and back afterwards


def test_holds_nest_and_large_batches_keep_blas_own_count(two_blas_threads):
    with blas_threads(1):
        with blas_threads(8):
            assert set(blas_counts()) == {1}
        assert set(blas_counts()) == {1}  # the inner hold's end does not undo the outer one
    assert set(blas_counts()) == {2}
    with blas_threads(fastlstm.ONE_THREAD_MAX_BATCH + 1):
        assert set(blas_counts()) == {2}


def test_same_logits_with_one_thread_or_many():
    net = tiny_net()
    tokens = np.array([1, 2, 3, 4])
    a = net.step(tokens, net.zero_state(4))
    with threadpool_limits(limits=2, user_api="blas"):
        b = net._step(tokens, net.zero_state(4))
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_importing_the_engine_sets_no_thread_environment_variables():
    code = ("import os; before = dict(os.environ); import guigen.core.generate, guigen.core.fastlstm; "
            "changed = {k for k in os.environ if os.environ.get(k) != before.get(k)}; print(sorted(changed))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
