"""restock's service and stock goals on a small sandbox shop, in the policy simulator.

The sandbox (seed 7, the generator's default; 120 SKUs, 500 days, 1 location) is replayed
over its last 90 days with its true demand (``truth.wanted``), lost sales, the true
lead-time distributions and weekly reviews (see :mod:`core.simulator.truth`). Classes are
the sandbox's ground-truth demand patterns. Runs in ~10-20 s (one restock run: a model
selection per review).
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


@pytest.fixture(scope="module")
def runs():
    shop = generate(seed=7, n_skus=120, n_days=500, n_locations=1, n_customers=300)
    ts = truth_scenario(shop, simulate_days=90)
    restock = simulate(ts.scenario, RestockPolicy(TARGET, "fill"), REVIEW, SEED)
    pattern = ts.pattern.to_numpy()
    return ts.scenario, restock, {c: np.flatnonzero(pattern == c)
                                  for c in ("smooth", "intermittent")}


@pytest.mark.parametrize("cls", ["smooth", "intermittent"])
def test_restock_fill_rate_is_near_its_target(runs, cls):
    _, restock, rows = runs
    assert len(rows[cls]) >= 15
    fill, _ = fill_and_stock(restock, rows[cls])
    print(f"{cls}: {len(rows[cls])} SKUs, restock fill rate {fill:.3f} (target {TARGET})")
    assert abs(fill - TARGET) <= MARGIN


@pytest.mark.xfail(strict=True, reason="not met yet: on smooth SKUs restock holds as much "
                   "stock as the velocity rule at equal fill (1.00x here, 1.00x on the 300-SKU "
                   "benchmark); the known-distribution bound needs ~20% less, so "
                   "the gap is forecast quality. strict: remove this mark once it passes.")
def test_restock_holds_less_stock_than_velocity_at_equal_fill_on_smooth(runs):
    scen, restock, rows = runs
    r = rows["smooth"]
    fill, stock = fill_and_stock(restock, r)
    sub = scen.subset(r)
    vel = match_fill(lambda n: fill_and_stock(simulate(sub, VelocityPolicy(n), REVIEW, SEED)),
                     fill, 0.0, 120.0, 12)
    print(f"smooth: restock stock {stock:.0f} at fill {fill:.3f}; velocity {vel.stock:.0f} "
          f"with N = {vel.param:.1f} days; ratio {stock / vel.stock:.2f}")
    assert vel.exact
    assert stock <= 0.97 * vel.stock
