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


def test_case_pack_rounds_to_nearest_unless_that_leaves_position_below_rop():
    from core.policy import apply_pack_rules

    # need 13 with cases of 12: nearest is 12, position 50 + 12 stays above ROP 40
    assert apply_pack_rules(13, position=50, reorder_point=40, mu=2, case_pack=12) == (12, None)
    # same need, but 12 would leave 25 + 12 = 37 < ROP 40: round up to 24
    assert apply_pack_rules(13, position=25, reorder_point=40, mu=2, case_pack=12) == (24, None)
    assert apply_pack_rules(19, position=50, reorder_point=40, mu=2, case_pack=12) == (24, None)


def test_moq_rule_raises_only_when_urgent_or_surplus_sells_soon():
    from core.policy import apply_pack_rules

    # surplus 50 - 10 = 40 units at 1/day = 40 days <= 60: raise to the MOQ
    assert apply_pack_rules(10, position=30, reorder_point=20, mu=1.0, moq=50) == (50, None)
    # at 0.2/day the surplus lasts 200 days and nothing is urgent: wait, with a reason
    qty, note = apply_pack_rules(10, position=30, reorder_point=20, mu=0.2, moq=50)
    assert qty == 0 and "below the MOQ 50" in note and "200 days" in note
    # urgent (position at or below ROP): order the MOQ anyway
    assert apply_pack_rules(10, position=20, reorder_point=20, mu=0.2, moq=50) == (50, None)
    # MOQ 50 with cases of 12 becomes 60
    assert apply_pack_rules(10, position=5, reorder_point=20, mu=1, moq=50, case_pack=12)[0] == 60


def test_service_level_by_class_and_ltv_weight():
    from core.policy import service_level_for

    levels = {"A": 0.97, "AX": 0.98, "C": 0.90}
    assert service_level_for(0.95, levels, "A", "X") == 0.98
    assert service_level_for(0.95, levels, "A", "Z") == 0.97
    assert service_level_for(0.95, levels, "B", "Y") == 0.95
    # weight 2 halves the shortage probability: 1 - 0.10 / 2 = 0.95
    assert service_level_for(0.95, levels, "C", "X", ltv_weight=2.0) == pytest.approx(0.95)
    assert service_level_for(0.95, {}, "C", "X", ltv_weight=0.5) == pytest.approx(0.90)
    assert service_level_for(0.95, {}, "C", "X", ltv_weight=10) == pytest.approx(0.975)  # w<=2
    assert service_level_for(0.99, {}, "A", "X", ltv_weight=2) == 0.995  # capped
