"""Empirical lead-time demand quantiles against cases with known answers."""
import numpy as np
import pytest

from core.policy_empirical import empirical_levels


def test_no_errors_and_fixed_lead_time_gives_the_forecast():
    ss, rop, s = empirical_levels(np.full(60, 4.0), np.zeros(28), 0.95, lead_time=5,
                                  review_days=7)
    assert (ss, rop, s) == (pytest.approx(0.0), pytest.approx(20.0), pytest.approx(48.0))


def test_constant_under_forecast_shifts_the_quantile_exactly():
    # every day the forecast misses by +1: demand over P = 12 days is 12 more
    ss, _, s = empirical_levels(np.full(60, 4.0), np.ones(28), 0.95, 5, 7)
    assert s == pytest.approx(48 + 12) and ss == pytest.approx(12)


def test_lead_time_variability_raises_the_level():
    base = empirical_levels(np.full(60, 10.0), np.zeros(28), 0.95, 10, 7)[2]
    varied = empirical_levels(np.full(60, 10.0), np.zeros(28), 0.95, 10, 7, lead_time_std=3)[2]
    # 95% quantile of round(N(10, 3)) is about 15 days: S about 10 * (15 + 7)
    assert base == pytest.approx(170)
    assert varied == pytest.approx(220, abs=15)


def test_symmetric_errors_match_the_normal_approximation():
    rng = np.random.default_rng(3)
    resid = rng.normal(0, 2, 2000)
    ss, _, _ = empirical_levels(np.full(60, 10.0), resid, 0.95, 9, 7, samples=4000)
    # independent errors with sigma 2 over 16 days: 1.645 * 2 * 4 = 13.2
    assert ss == pytest.approx(1.645 * 2 * 4, rel=0.12)
