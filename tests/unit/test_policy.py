"""Policy formulas against hand-computed values."""
import math

import numpy as np
import pytest

from core.policy import demand_over, plan_item, round_order, sigma_over, z_value


def test_z_value_matches_normal_table():
    assert z_value(0.95) == pytest.approx(1.644854, abs=1e-5)
    assert z_value(0.5) == pytest.approx(0.0, abs=1e-12)
    assert z_value(0.99) == pytest.approx(2.326348, abs=1e-5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        z_value(1.0)


def test_sigma_over_includes_lead_time_variability():
    # sqrt(4 * 2^2 + (10 * 1)^2) = sqrt(116)
    assert sigma_over(4, 2.0, 10.0, 1.0) == pytest.approx(math.sqrt(116))
    assert sigma_over(9, 2.0, 10.0) == pytest.approx(6.0)  # classic sigma * sqrt(L)


def test_demand_over_interpolates_and_extends():
    assert demand_over(np.array([1.0, 2.0, 3.0]), 2.5) == pytest.approx(4.5)
    assert demand_over(np.array([1.0, 2.0]), 4) == pytest.approx(7.0)
    assert demand_over(np.array([1.0, 2.0]), 0) == 0.0


@pytest.mark.parametrize("raw,moq,case,expected", [
    (0.4, 1, 1, 0), (0.5, 1, 1, 1), (-3, 10, 6, 0), (3.5, 10, 1, 10), (13, 1, 6, 18),
    (3, 10, 6, 12), (24, 1, 12, 24),
])
def test_round_order(raw, moq, case, expected):
    assert round_order(raw, moq, case) == expected


def test_plan_item_hand_computed():
    # mu = 10/day, sigma_d = 3, z(0.95) = 1.644854, L = 5, R = 7
    r = plan_item(np.full(30, 10.0), 3.0, 0.95, 5, 7, on_hand=50, on_order=20, committed=5,
                  case_pack=12)
    z = 1.6448536
    assert r.safety_stock == pytest.approx(z * 3 * math.sqrt(12), rel=1e-6)      # 17.094
    assert r.reorder_point == pytest.approx(50 + z * 3 * math.sqrt(5), rel=1e-6)  # 61.03
    assert r.order_up_to == pytest.approx(120 + z * 3 * math.sqrt(12), rel=1e-6)  # 137.09
    assert r.inventory_position == 65
    assert r.recommended_qty == 72  # 137.09 - 65 = 72.09 -> 72, a multiple of 12


def test_plan_item_no_order_when_position_covers():
    r = plan_item(np.full(30, 1.0), 0.5, 0.95, 3, 7, on_hand=100, on_order=0, committed=0,
                  moq=50)
    assert r.recommended_qty == 0
