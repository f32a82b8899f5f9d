"""core.ltv on hand-made cases with known answers."""
import math

import pandas as pd
import pytest

from core.ltv import customer_demand, excess, ltv_weight_table, ltv_weights, protect
from core.ltv.common import demand_between, units_between
from core.ltv.stockout_impact import compare, rebuy_due_days, stockout_events

DAY = pd.Timestamp("2026-06-30")


def _lines(rows):
    return pd.DataFrame(rows, columns=["order_id", "customer_id", "sku", "day", "revenue"])


# --- weights -------------------------------------------------------------------------------

@pytest.fixture
def two_skus():
    # A: customer 1 (CLV 100) spent 30, customer 2 (CLV 300) spent 10
    # B: customer 2 spent 20, a guest spent 50; an old line of A (> 365 days ago) is ignored
    lines = _lines([
        (1, 1, "A", DAY, 30.0), (2, 2, "A", DAY - pd.Timedelta(days=10), 10.0),
        (3, 2, "B", DAY, 20.0), (4, None, "B", DAY, 50.0),
        (5, 1, "A", DAY - pd.Timedelta(days=400), 999.0)])
    values = pd.DataFrame({"customer_id": [1, 2], "predicted_clv": [100.0, 300.0]})
    return lines, values


def test_weights_exact_without_shrinkage(two_skus):
    lines, values = two_skus
    # L_A = (30*100 + 10*300) / 40 = 150; L_B = 20*300 / 20 = 300
    # L = (3000 + 3000 + 6000) / 60 = 200 -> w_A = 0.75, w_B = 1.5
    t = ltv_weight_table(lines, values, DAY, shrink_k=0).set_index("sku")
    assert t.loc["A", "buyer_value"] == pytest.approx(150.0)
    assert t.loc["B", "buyer_value"] == pytest.approx(300.0)
    assert t.loc["A", "weight"] == pytest.approx(0.75)
    assert t.loc["B", "weight"] == pytest.approx(1.5)
    assert list(t["buyers"]) == [2, 1]
    # centred on 1 by revenue: (40 * 0.75 + 20 * 1.5) / 60 = 1
    assert (t["revenue"] * t["weight"]).sum() / t["revenue"].sum() == pytest.approx(1.0)


def test_weights_shrink_toward_one(two_skus):
    lines, values = two_skus
    # k = 2: A has 2 buyers -> 1 + 2/4 * (0.75 - 1) = 0.875; B has 1 -> 1 + 1/3 * 0.5
    w = ltv_weights(lines, values, DAY, shrink_k=2)
    assert w.name == "ltv_weight" and w.index.name == "sku"
    assert w["A"] == pytest.approx(0.875)
    assert w["B"] == pytest.approx(1 + 0.5 / 3)


def test_weights_guests_at_mean_guest_value(two_skus):
    lines, values = two_skus
    # one guest order of 50 -> guest value 50
    # L_B = (20*300 + 50*50) / 70 = 8500/70; L = (12000 + 2500) / 110 = 14500/110
    w = ltv_weights(lines, values, DAY, shrink_k=0, guests="mean")
    assert w["A"] == pytest.approx(150 / (14500 / 110))
    assert w["B"] == pytest.approx((8500 / 70) / (14500 / 110))


def test_weights_are_clipped_and_guest_only_skus_neutral():
    lines = _lines([(1, 1, "RICH", DAY, 10.0), (2, 2, "POOR", DAY, 90.0),
                    (3, None, "GUEST", DAY, 40.0)])
    values = pd.DataFrame({"customer_id": [1, 2], "predicted_clv": [1000.0, 10.0]})
    # L = (10000 + 900) / 100 = 109; RICH raw 1000/109 = 9.17 -> 2.0; POOR 10/109 -> 0.5
    w = ltv_weights(lines, values, DAY, shrink_k=0)
    assert w["RICH"] == 2.0 and w["POOR"] == 0.5 and w["GUEST"] == 1.0


# --- protection ----------------------------------------------------------------------------

def _line(on_hand, forecast_daily=1.5, **kw):
    row = dict(sku="S", location_id=1, on_hand=on_hand, committed=0.0, on_order=0.0,
               lead_time_days=10.0, forecast_daily=forecast_daily)
    row.update(kw)
    return pd.DataFrame([row])


@pytest.fixture
def demand():
    # customer 1: a champion due in 3 days for 4 units; customer 2: top CLV, 0.2 units a day
    # (2 units in the 10-day window); customer 3: low value, 0.3 a day - not eligible
    return pd.DataFrame([
        dict(customer_id=1, sku="S", location_id=1, due_in_days=3, units=4.0,
             units_per_day=0.0, predicted_clv=500.0, segment="champions"),
        dict(customer_id=2, sku="S", location_id=1, due_in_days=None, units=0.0,
             units_per_day=0.2, predicted_clv=800.0, segment="others"),
        dict(customer_id=3, sku="S", location_id=1, due_in_days=None, units=0.0,
             units_per_day=0.3, predicted_clv=10.0, segment="others"),
    ])


def test_protect_reserves_high_ltv_demand_and_leaves_the_rest_open(demand):
    # stock 10 < forecast 1.5 x 10 days = 15: short; high-LTV customers expect 4 + 2 = 6
    p = protect(_line(10), demand, threshold=300.0).iloc[0]
    assert p["shortfall"] and p["demand"] == pytest.approx(15.0)
    assert p["protected_units"] == 6 and p["open_units"] == 4
    assert p["reserved_for"] == [(2, 2), (1, 4)]  # highest CLV first


def test_protect_below_their_demand_serves_highest_clv_first(demand):
    p = protect(_line(5), demand, threshold=300.0).iloc[0]
    assert p["protected_units"] == 5 and p["open_units"] == 0
    assert p["reserved_for"] == [(2, 2), (1, 3)]


def test_protect_nothing_when_stock_covers_demand(demand):
    p = protect(_line(10, forecast_daily=0.5), demand, threshold=300.0).iloc[0]
    assert not p["shortfall"]
    assert p["protected_units"] == 0 and p["reserved_for"] == [] and p["open_units"] == 10


def test_protect_repeat_buyers_and_next_receipt(demand):
    d = demand.copy()
    d.loc[0, ["predicted_clv", "segment"]] = [20.0, "others"]  # a low-value re-buyer
    assert protect(_line(10), d, threshold=300.0).iloc[0]["protected_units"] == 6
    assert protect(_line(10), d, threshold=300.0,
                   include_repeat=False).iloc[0]["protected_units"] == 2
    # the next receipt in 2 days: window 2, stock = on hand only (the PO is the receipt);
    # demand 3 > 2 units; customer 2 expects 0.4 -> rounds to 0; customer 1 is due after it
    p = protect(_line(2, on_order=50.0, next_receipt_days=2.0, arriving_units=0.0), demand,
                threshold=300.0).iloc[0]
    assert p["window_days"] == 2 and p["stock"] == 2 and p["shortfall"]
    assert p["protected_units"] == 0 and p["open_units"] == 2


def test_customer_demand_from_due_dates_and_rates():
    lines = pd.DataFrame({
        "order_id": [1, 2, 3, 4], "customer_id": [1, 1, 2, 2], "sku": ["S", "T", "S", "S"],
        "location_id": [1, 1, 2, 2], "day": [DAY] * 4, "qty": [2, 1, 1, 3]})
    values = pd.DataFrame({"customer_id": [1, 2], "predicted_clv": [100.0, 50.0],
                           "segment": ["a", "b"], "expected_purchases_90d": [9.0, 4.5],
                           "p_alive": [0.5, 1.0]})
    due = pd.DataFrame({"customer_id": [1], "sku": ["S"],
                        "next_purchase_date": [DAY + pd.Timedelta(days=5)], "last_quantity": [2]})
    cd = customer_demand(lines, values, DAY, due=due).set_index(["customer_id", "sku"])
    # customer 1 x S from its due date: 2 units x p_alive 0.5, at its last location
    assert cd.loc[(1, "S"), "due_in_days"] == 5 and cd.loc[(1, "S"), "units"] == 1.0
    # customer 1 x T: 9/90 orders a day x 1 unit of T per 2 orders = 0.05 a day
    assert cd.loc[(1, "T"), "units_per_day"] == pytest.approx(0.05)
    # customer 2 x S: 4.5/90 x 4 units / 2 orders = 0.1 a day, at location 2
    assert cd.loc[(2, "S"), "units_per_day"] == pytest.approx(0.1)
    assert cd.loc[(2, "S"), "location_id"] == 2
    assert units_between(cd.reset_index(), 0, 10).tolist() == pytest.approx([1.0, 0.5, 1.0])


# --- excess --------------------------------------------------------------------------------

def _stock(on_hand, safety_stock, forecast_daily=0.2, price=20.0, unit_cost=8.0):
    return pd.DataFrame([dict(sku="E", location_id=1, on_hand=on_hand, committed=0.0,
                              on_order=0.0, safety_stock=safety_stock, price=price,
                              unit_cost=unit_cost, forecast_daily=forecast_daily)])


def test_excess_markdown_wins():
    # 0.2 a day: D(0, 90) = 18, D(90, 270) = 36. E = 130 - 18 - 10 = 102, U = min(102, 36) = 36
    # now:  102 x (20 x 0.70 - 8) = 612
    # hold: 36 x (20 - 8) = 432 minus holding 8 x 0.25 x (36 x 180 + 66 x 270) / 365
    #       = 2 x 24300 / 365 = 133.15 -> 298.85; 612 > 298.85: sell now
    r = excess(_stock(130, 10)).iloc[0]
    assert r["excess_units"] == 102 and r["later_units"] == pytest.approx(36)
    assert r["value_now"] == pytest.approx(612.0)
    assert r["holding_cost"] == pytest.approx(2 * 24300 / 365)
    assert r["value_hold"] == pytest.approx(432 - 2 * 24300 / 365)
    assert r["action"] == "sell_now"
    assert "102 units" in r["reason"] and "$612.00" in r["reason"] and "sell now" in r["reason"]


def test_excess_hold_wins():
    # E = 40 - 18 - 4 = 18, U = min(18, 36) = 18
    # now:  18 x 6 = 108;  hold: 18 x 12 = 216 - 2 x 18 x 180 / 365 = 216 - 17.75 = 198.25
    r = excess(_stock(40, 4)).iloc[0]
    assert r["excess_units"] == 18
    assert r["value_now"] == pytest.approx(108.0)
    assert r["value_hold"] == pytest.approx(216 - 2 * 3240 / 365)
    assert r["action"] == "hold" and r["reason"].endswith("so hold.")


def test_excess_customer_orders_floor_the_later_sales():
    # no forecast; high-LTV customers expect 10 units after the horizon: E = 20 - 0 - 0
    # now 20 x 6 = 120; hold 10 x 12 = 120 - 2 x (10 x 180 + 10 x 270) / 365 = 95.34
    lines = _stock(20, 0, forecast_daily=0.0)
    cu = pd.DataFrame({"sku": ["E"], "location_id": [1], "units": [10.0]})
    r = excess(lines, cu).iloc[0]
    assert r["later_units"] == 10 and r["action"] == "sell_now"
    assert r["value_hold"] == pytest.approx(120 - 2 * 4500 / 365)
    assert "predicted orders" in r["reason"]


def test_no_excess_and_unknown_cost():
    r = excess(_stock(20, 5)).iloc[0]  # 20 - 18 - 5 < 0
    assert r["excess_units"] == 0 and r["action"] is None and r["reason"] is None
    r = excess(_stock(100, 0, unit_cost=None)).iloc[0]
    assert r["excess_units"] == 82 and r["action"] is None and "unit cost" in r["reason"]


def test_demand_between_extends_with_the_last_week():
    daily = [1.0] * 7 + [0, 0, 0, 0, 0, 7, 7]  # last week's mean = 2
    assert demand_between(daily, 0, 14) == pytest.approx(21.0)
    assert demand_between(daily, 14, 24) == pytest.approx(20.0)


# --- stockout impact -----------------------------------------------------------------------

def test_compare_is_the_two_proportion_interval_in_one_stratum():
    ev = pd.DataFrame({"exposed": [True] * 10 + [False] * 50,
                       "y": [1] * 3 + [0] * 7 + [1] * 10 + [0] * 40, "s": "x"})
    r = compare(ev, "y", ("s",))
    se = math.sqrt(0.3 * 0.7 / 10 + 0.2 * 0.8 / 50)
    assert r["diff"] == pytest.approx(0.1)
    assert r["ci_low"] == pytest.approx(0.1 - 1.959964 * se, abs=1e-6)
    assert r["ci_high"] == pytest.approx(0.1 + 1.959964 * se, abs=1e-6)


def test_rebuy_due_days_and_events():
    d0 = pd.Timestamp("2026-01-01")
    day = lambda n: d0 + pd.Timedelta(days=n)  # noqa: E731
    lines = pd.DataFrame({
        "customer_id": [1, 1, 2, 3, 3, 3],
        "sku": ["X", "Z", "X", "Y", "Y", "Y"],
        "location_id": [1, 1, 2, 1, 1, 1],
        "day": [day(10), day(50), day(10), day(0), day(30), day(90)]})
    due = rebuy_due_days(lines)
    # customer 3: gap 30 -> due on day 60 (re-bought on 90, later); then median(30, 60) = 45
    assert due["day"].tolist() == [day(60), day(135)]
    # X is out at location 1 on day 10, in stock at location 2; nothing else has snapshots
    stock = pd.DataFrame({"sku": "X", "location_id": [1, 2], "day": [day(10)] * 2,
                          "available": [0, 5]})
    ev = stockout_events(lines, stock, day(400)).set_index("customer_id")
    assert sorted(ev.index) == [1, 2]
    assert ev.loc[1, "exposed"] and not ev.loc[2, "exposed"]
    assert ev.loc[1, "repurchase_90d"] == 1 and ev.loc[1, "churn_180d"] == 0
    assert ev.loc[2, "repurchase_90d"] == 0 and ev.loc[2, "churn_180d"] == 1
    assert ev.loc[1, "frequency"] == 0 and ev.loc[1, "kind"] == "order"
    assert set(ev["freq_bin"]) == {"0"} and set(ev["segment"]) == {"all"}
