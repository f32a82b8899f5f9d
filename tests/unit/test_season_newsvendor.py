"""Newsvendor math (core.newsvendor) against hand-computed values and numerical integration."""
import math

import pytest
from scipy import integrate
from scipy.stats import norm

from core.newsvendor import SeasonDemand, critical_ratio, stock_level
from core.plan import PlanSettings


def test_critical_ratio_half_gives_the_mean_of_a_normal():
    # Cu = 10 - 6 = 4, Co = 6 - 2 = 4 -> CR = 4 / 8
    cr = critical_ratio(10.0, 6.0, 2.0)
    assert cr == pytest.approx(0.5)
    d = SeasonDemand(100.0, 20.0)
    assert d.kind == "normal"
    level, capped = stock_level(d, cr, 0.80)
    assert level == pytest.approx(100.0, abs=1e-9) and not capped


def test_critical_ratio_080_adds_z_times_sigma():
    # Cu = 10 - 2 = 8, Co = 2 - 0 = 2 -> CR = 0.8, z(0.8) = 0.8416
    cr = critical_ratio(10.0, 2.0, 0.0)
    assert cr == pytest.approx(0.8)
    level, capped = stock_level(SeasonDemand(100.0, 20.0), cr, 0.80)
    assert level == pytest.approx(100.0 + 20.0 * 0.8416, abs=0.01)
    assert not capped  # sell-through at 116.8 is 97.77 / 116.83 = 0.837 (hand-computed)
    assert SeasonDemand(100.0, 20.0).sell_through(level) == pytest.approx(0.837, abs=0.001)


def test_sell_through_target_caps_the_level():
    d = SeasonDemand(100.0, 20.0)
    level, capped = stock_level(d, 0.8, 0.90)
    # by hand: 100 - 20 G(z) = 0.9 (100 + 20 z) between z = 0.22 (0.9007) and 0.23 (0.8997)
    assert capped and 104.4 < level < 104.6
    # the sell-through at the capped level, by numerical integration of E[min(D, Q)]
    sales, _ = integrate.quad(lambda x: min(x, level) * norm.pdf(x, 100, 20), -100, 300,
                              points=[level], limit=200)
    assert sales / level == pytest.approx(0.90, abs=1e-4)


def test_low_volume_season_is_gamma_with_exact_exponential_values():
    # mean 4, sd 4: gamma of shape 1 = exponential with mean 4
    d = SeasonDemand(4.0, 4.0)
    assert d.kind == "gamma"
    assert d.quantile(0.5) == pytest.approx(4 * math.log(2), rel=1e-9)
    assert d.expected_sales(3.0) == pytest.approx(4 * (1 - math.exp(-3 / 4)), rel=1e-9)
    # at the median the sell-through is 2 / 2.77 = 0.72 < 0.8: the cap binds where
    # (1 - e^-x) / x = 0.8, x between 0.46 (0.8016) and 0.47 (0.7979)
    level, capped = stock_level(d, 0.5, 0.80)
    assert capped and 4 * 0.46 < level < 4 * 0.47


def test_margin_and_salvage_edge_cases():
    assert critical_ratio(5.0, 6.0, 2.0) == 0.0  # no margin: buy nothing
    assert critical_ratio(10.0, 6.0, 6.0) == 1.0  # leftovers lose nothing
    assert stock_level(SeasonDemand(50.0, 10.0), 0.0, 0.8) == (0.0, False)
    assert SeasonDemand(30.0, 0.0).quantile(0.9) == 30.0


@pytest.mark.parametrize("args, words", [
    ((-1.0, 6.0, 2.0), "price"), ((10.0, float("nan"), 2.0), "unit cost"),
])
def test_bad_prices_are_refused(args, words):
    with pytest.raises(ValueError, match=words):
        critical_ratio(*args)


def test_bad_demand_and_targets_are_refused():
    with pytest.raises(ValueError, match="mean"):
        SeasonDemand(-1.0, 2.0)
    with pytest.raises(ValueError, match="sell-through"):
        stock_level(SeasonDemand(10.0, 2.0), 0.5, 1.0)
    with pytest.raises(ValueError, match="season_sell_through"):
        PlanSettings(season_sell_through=1.2)
    with pytest.raises(ValueError, match="season_salvage_share"):
        PlanSettings(season_salvage_share=-0.1)
