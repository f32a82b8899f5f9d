"""restock's service and stock goals on a small sandbox shop, in the policy simulator.

The sandbox (seed 7, the generator's default; 120 SKUs, 500 days, 1 location) is replayed
over its last 90 days with its true demand (``truth.wanted``), lost sales, the true
lead-time distributions and weekly reviews (see :mod:`core.simulator.truth`). Classes are
the sandbox's ground-truth demand patterns. Runs in ~20-40 s (two restock runs: a model
selection per review).

The stock goal (<= 0.90x the velocity rule at equal fill on smooth SKUs) is asserted twice:
for restock as it is (with a margin) and for restock's policy told the true daily mean
instead of its forecast (the safety-stock side alone, held to the goal itself).
"""
import numpy as np
import pytest

from core.simulator import (RestockPolicy, VelocityPolicy, fill_and_stock, match_fill,
                            simulate, truth_scenario)
from sandbox import generate

TARGET = 0.95
MARGIN = 0.03
REVIEW = 7
SEED = 1  # lead-time draws


class _TrueMeanRestock(RestockPolicy):
    """restock's policy and sigma with the forecast replaced by the true daily mean."""

    def __init__(self, mean, *args):
        super().__init__(*args)
        self.true_mean = mean

    def prepare(self, t, history):
        super().prepare(t, history)
        s = t - self.ctx.t0
        for i in list(self._fc):
            self._fc[i] = self.true_mean[i, s:]


@pytest.fixture(scope="module")
def shop_truth():
    shop = generate(seed=7, n_skus=120, n_days=500, n_locations=1, n_customers=300)
    return truth_scenario(shop, simulate_days=90)


@pytest.fixture(scope="module")
def runs(shop_truth):
    ts = shop_truth
    restock = simulate(ts.scenario, RestockPolicy(TARGET, "fill"), REVIEW, SEED)
    pattern = ts.pattern.to_numpy()
    return ts.scenario, restock, {c: np.flatnonzero(pattern == c)
                                  for c in ("smooth", "intermittent")}


def _ratio_to_velocity(scen, result, rows, label):
    fill, stock = fill_and_stock(result, rows)
    sub = scen.subset(rows)
    vel = match_fill(lambda n: fill_and_stock(simulate(sub, VelocityPolicy(n), REVIEW, SEED)),
                     fill, 0.0, 120.0, 12)
    print(f"{label}: stock {stock:.0f} at fill {fill:.3f}; velocity {vel.stock:.0f} "
          f"with N = {vel.param:.1f} days; ratio {stock / vel.stock:.2f}")
    assert vel.exact
    return fill, stock / vel.stock


@pytest.mark.parametrize("cls", ["smooth", "intermittent"])
def test_restock_fill_rate_is_near_its_target(runs, cls):
    _, restock, rows = runs
    assert len(rows[cls]) >= 15
    fill, _ = fill_and_stock(restock, rows[cls])
    print(f"{cls}: {len(rows[cls])} SKUs, restock fill rate {fill:.3f} (target {TARGET})")
    assert abs(fill - TARGET) <= MARGIN


def test_restock_holds_less_stock_than_velocity_at_equal_fill_on_smooth(runs):
    # the goal is 0.90x; 0.93 is its margin on this small shop. On the 300-SKU benchmark
    # restock is at 0.96x (forecast of 2026-11-22) and the goal is not met there yet: see
    # benchmarks/bench_policies.py and the next test.
    scen, restock, rows = runs
    _, ratio = _ratio_to_velocity(scen, restock, rows["smooth"], "smooth, restock")
    assert ratio <= 0.93


def test_policy_side_holds_less_stock_than_velocity_given_the_true_mean(shop_truth, runs):
    # restock's (R, S) policy and sigma with a perfect level: what the policy side alone
    # achieves (0.83x on the 300-SKU benchmark). Its fill overshoots the target by 2-4
    # points (the backorder fill-rate formula is conservative under lost sales), so only
    # the stock at equal fill is asserted here.
    scen, _, rows = runs
    tm = simulate(scen, _TrueMeanRestock(shop_truth.mean, TARGET, "fill"), REVIEW, SEED)
    _, ratio = _ratio_to_velocity(scen, tm, rows["smooth"], "smooth, restock/true mean")
    assert ratio <= 0.90
