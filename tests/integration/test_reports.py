"""Product-level reconciliation and the portfolio grid over a planned sandbox shop."""
import pandas as pd
import pytest

from core.plan import run_plan
from core.portfolio import portfolio_grid
from core.reports import ADDITIVE, order_list
from core.storage import session_scope
from sandbox.load import load_sandbox


@pytest.fixture
def planned(sessions):
    with session_scope(sessions) as s:
        shop, _ = load_sandbox(s, "rep", seed=8, n_skus=24, n_customers=800, n_days=300,
                               n_locations=2)
        run = run_plan(s, shop)
        result = order_list(s, run), order_list(s, run, level="product")
    return result


def test_product_level_adds_up_to_sku_level(planned):
    skus, products = planned
    assert len(products) < len(skus)
    for col in ADDITIVE:
        assert products[col].sum() == pytest.approx(skus[col].sum(), rel=1e-9, abs=1e-6), col
    one = products.iloc[0]
    members = skus[(skus["product"] == one["product"]) & (skus["location"] == one["location"])]
    assert one["skus"] == members["sku"].nunique()
    assert one["recommended_qty"] == members["recommended_qty"].sum()
    assert one["list"] in ("staple", "seasonal", "mixed")


def test_portfolio_grid_partitions_the_lines(planned):
    skus, _ = planned
    grid = portfolio_grid(skus)
    assert grid["lines"].sum() == len(skus)
    assert set(grid["abc"]) <= {"A", "B", "C"} and set(grid["xyz"]) <= {"X", "Y", "Z"}
    assert grid["on_hand_units"].sum() == pytest.approx(skus["on_hand"].sum())
    with pytest.raises(ValueError, match="level must be"):
        order_list(None, None, level="brand")
