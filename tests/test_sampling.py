"""The sampling maths, checked numerically: temperature, greedy limit, top-k, top-p, the draw."""

import math

import numpy as np
import pytest

from conftest import softmax

from guigen.core.sampling import SamplingSettings, check_temperature, distribution, distributions, draw, entropy

RNG = np.random.default_rng(0)
LOGITS = RNG.normal(0, 3, size=(4, 50))


@pytest.mark.parametrize("t", [0.05, 0.3, 1.0, 2.0, 5.0])
def test_temperature_matches_formula(t):
    q = distribution(LOGITS, SamplingSettings(temperature=t))
    expected = np.exp(LOGITS / t) / np.exp(LOGITS / t).sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(q, expected, rtol=1e-10, atol=1e-300)


def test_t1_is_the_model_distribution():
    np.testing.assert_allclose(distribution(LOGITS, SamplingSettings(1.0)), softmax(LOGITS), rtol=1e-12)


def test_t0_is_exactly_greedy_and_small_t_approaches_it():
    q0 = distribution(LOGITS, SamplingSettings(0))
    assert set(np.unique(q0)) == {0.0, 1.0}
    assert (q0.argmax(-1) == LOGITS.argmax(-1)).all()
    q_small = distribution(LOGITS, SamplingSettings(1e-3))
    np.testing.assert_allclose(q_small, q0, atol=1e-12)


def test_large_t_approaches_uniform_and_huge_logits_do_not_overflow():
    q = distribution(LOGITS, SamplingSettings(1e6))
    np.testing.assert_allclose(q, 1 / 50, rtol=1e-4)
    huge = np.array([[1e4, 0.0, -1e4]])
    q = distribution(huge, SamplingSettings(0.5))
    assert np.isfinite(q).all() and q[0, 0] == pytest.approx(1.0)


def test_sharpening_lowers_entropy():
    ents = [entropy(distribution(LOGITS, SamplingSettings(t))).mean() for t in (0.25, 0.5, 1, 2, 4)]
    assert all(a < b for a, b in zip(ents, ents[1:]))
    assert entropy(np.full((1, 8), 1 / 8))[0] == pytest.approx(math.log(8))


@pytest.mark.parametrize("bad", [-1, -1e-9, float("nan"), float("inf"), "warm", None])
def test_bad_temperature_is_refused(bad):
    with pytest.raises(ValueError, match="temperature"):
        check_temperature(bad)
    with pytest.raises(ValueError):
        SamplingSettings(temperature=bad)


@pytest.mark.parametrize("k", [1, 5, 49])
def test_top_k_keeps_k_and_renormalises(k):
    base = distribution(LOGITS, SamplingSettings(0.7))
    q = distribution(LOGITS, SamplingSettings(0.7, top_k=k))
    assert ((q > 0).sum(-1) == k).all()
    np.testing.assert_allclose(q.sum(-1), 1)
    for row_b, row_q in zip(base, q):
        kept = row_q > 0
        assert row_b[kept].min() >= row_b[~kept].max()  # the k likeliest survive
        np.testing.assert_allclose(row_q[kept], row_b[kept] / row_b[kept].sum())


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9, 0.99])
def test_top_p_keeps_the_smallest_set_with_that_mass(p):
    base = distribution(LOGITS, SamplingSettings(1.3))
    q = distribution(LOGITS, SamplingSettings(1.3, top_p=p))
    for row_b, row_q in zip(base, q):
        kept = np.sort(row_b[row_q > 0])[::-1]
        assert kept.sum() >= p - 1e-12  # enough mass
        assert kept[:-1].sum() < p  # and no token more than needed
        assert row_b[row_q > 0].min() >= row_b[row_q == 0].max(initial=0)


def test_top_k_then_top_p_compose_after_temperature():
    q = distribution(LOGITS, SamplingSettings(2.0, top_k=10, top_p=0.5))
    assert ((q > 0).sum(-1) <= 10).all()
    np.testing.assert_allclose(q.sum(-1), 1)


def test_bad_top_k_top_p_are_refused():
    for kw in ({"top_k": -1}, {"top_p": 0}, {"top_p": 1.5}, {"top_k": 2.5}):
        with pytest.raises(ValueError):
            SamplingSettings(**kw)


def test_draw_follows_the_distribution_and_never_picks_zero_mass():
    probs = np.array([0.5, 0.0, 0.3, 0.2, 0.0])
    rng = np.random.default_rng(1)
    tokens = draw(np.tile(probs, (100_000, 1)), rng)
    freq = np.bincount(tokens, minlength=5) / len(tokens)
    np.testing.assert_allclose(freq, probs, atol=0.01)
    assert freq[1] == 0 and freq[4] == 0


def test_draw_is_reproducible_with_a_seed():
    probs = softmax(LOGITS)
    a = [draw(probs, np.random.default_rng(7)) for _ in range(2)]
    np.testing.assert_array_equal(a[0], a[1])


@pytest.mark.parametrize("settings", [SamplingSettings(1.0), SamplingSettings(0), SamplingSettings(0.6),
                                      SamplingSettings(1.0, top_k=7), SamplingSettings(1.7, top_k=12, top_p=0.8),
                                      SamplingSettings(0.4, top_p=0.9)])
def test_one_pass_gives_the_raw_distribution_its_entropy_and_rows_alone_agree(settings):
    probs, raw, ent = distributions(LOGITS, settings)
    np.testing.assert_allclose(raw, softmax(LOGITS), rtol=1e-12)
    np.testing.assert_allclose(ent, entropy(softmax(LOGITS)), rtol=1e-12)
    # a batch of rows and each row alone (the fast path) give the same distribution
    for row in range(len(LOGITS)):
        alone = distributions(LOGITS[row], settings)
        np.testing.assert_allclose(alone[0][0], probs[row], rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(alone[1][0], raw[row], rtol=1e-12)
    assert (probs >= 0).all() and np.allclose(probs.sum(axis=-1), 1)
    masked = LOGITS.copy()  # the grammar's ruled-out events: probability exactly 0 everywhere
    masked[:, :5] = -1e9
    probs, raw, _ = distributions(masked, settings)
    assert (probs[:, :5] == 0).all() and (raw[:, :5] == 0).all()
