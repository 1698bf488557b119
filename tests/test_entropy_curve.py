"""The temperature curve and the distribution summary, against distributions() itself."""

from __future__ import annotations

import math

import numpy as np
import pytest

from guigen.core.sampling import (CURVE_TEMPERATURES, SamplingSettings, distributions, entropy, entropy_curve,
                                  summary)

RNG = np.random.default_rng(5)
LOGITS = RNG.normal(0, 2.0, 65)


@pytest.mark.parametrize("top_k,top_p", [(0, 1.0), (10, 1.0), (0, 0.9), (20, 0.8), (1, 1.0)])
def test_curve_is_the_entropy_of_what_the_sampler_draws_from(top_k, top_p):
    curve = entropy_curve(LOGITS, CURVE_TEMPERATURES, top_k, top_p)
    for t, h in zip(CURVE_TEMPERATURES, curve):
        probs = distributions(LOGITS, SamplingSettings(float(t), top_k, top_p))[0]
        assert h == pytest.approx(entropy(probs)[0], abs=1e-9)


def test_curve_rises_from_zero_to_log_v_and_passes_the_models_own_entropy_at_t_1():
    t = np.geomspace(0.01, 100, 60)
    curve = entropy_curve(LOGITS, t)
    assert np.all(np.diff(curve) > 0)  # monotonic, as DESIGN.md says
    assert curve[0] < 0.05 and curve[-1] == pytest.approx(math.log(65), rel=0.01)
    raw_entropy = distributions(LOGITS, SamplingSettings(1.0))[2][0]
    assert entropy_curve(LOGITS, [1.0])[0] == pytest.approx(raw_entropy, abs=1e-12)
    assert len(CURVE_TEMPERATURES) >= 30 and CURVE_TEMPERATURES[0] == 0.05 and CURVE_TEMPERATURES[-1] == 5.0


def test_ruled_out_tokens_and_log_zero_count_as_probability_zero():
    z = LOGITS.copy()
    z[:5] = -1e9  # an encoding's grammar masks these
    raw = distributions(z, SamplingSettings(1.0))[1][0]
    with np.errstate(divide="ignore"):
        from_probs = entropy_curve(np.log(raw))  # what the app has: the raw distribution
    np.testing.assert_allclose(from_probs, entropy_curve(z), atol=1e-9)
    assert entropy_curve(z, [1e6])[0] == pytest.approx(math.log(60), rel=1e-4)
    with pytest.raises(ValueError):
        entropy_curve(z, [0.0])


def test_summary_counts_survivors_and_tokens_above_a_tenth_of_a_percent():
    probs = np.array([0.5, 0.4985, 0.0009, 0.0006, 0.0, 0.0])
    h, kept, significant = summary(probs)
    assert kept == 4 and significant == 2
    assert h == pytest.approx(-(probs[:4] * np.log(probs[:4])).sum())
