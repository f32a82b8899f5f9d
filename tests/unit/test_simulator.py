"""The simulation engine, its policies and the ``simulate`` command on hand-made cases."""
import json

import numpy as np
import pandas as pd
import pytest

from connector.cli_simulate import main as simulate_cli
from core.simulator import (History, Item, LookaheadError, MinMaxPolicy, OraclePolicy, Policy,
                            RestockPolicy, Scenario, VelocityPolicy, draw_lead_times,
                            fill_rate_k, fill_rate_of_k, normal_loss, simulate)
from core.simulator.measures import measure


def scenario(history: np.ndarray, demand: np.ndarray, lead=2.0, lead_std=0.0, moq=1,
             case_pack=1, cost=1.0) -> Scenario:
    history, demand = np.atleast_2d(history).astype(float), np.atleast_2d(demand).astype(float)
    n = history.shape[0]
    days = pd.date_range("2025-01-01", periods=history.shape[1] + demand.shape[1])
    items = [Item(index=i, sku=f"S{i}", lead_time_days=lead, lead_time_std_days=lead_std,
                  moq=moq, case_pack=case_pack, unit_cost=cost) for i in range(n)]
    return Scenario(days=days, history_sold=history, demand=demand, items=items)


# constant demand 5/day, L = 2, R = 7: S = 5 x 9 = 45. Each review at day 7k orders 35 that
# arrives on day 7k + 2, just as the shelf empties at the end of day 7k + 1.
CYCLE = [40, 35, 30, 25, 20, 15, 10]
STEADY = [5, 0, 30, 25, 20, 15, 10]


def test_oracle_constant_demand_exact_path():
    res = simulate(scenario(np.full(60, 5), np.full(28, 5)), OraclePolicy(np.full((1, 28), 5.0)))
    # the last order (day 21, arriving day 23) only covers days 23..27: 25 units
    expected = CYCLE + STEADY + STEADY + [5, 0, 20, 15, 10, 5, 0]
    np.testing.assert_allclose(res.on_hand[0], expected)
    assert res.skus.loc["S0", "fill_rate"] == 1.0 and res.skus.loc["S0", "lost_units"] == 0
    np.testing.assert_allclose(res.orders[0, [7, 14, 21]], [35, 35, 25])


def test_restock_constant_demand_exact_path():
    res = simulate(scenario(np.full(200, 5), np.full(28, 5)), RestockPolicy(0.95))
    np.testing.assert_allclose(res.on_hand[0], CYCLE + STEADY * 3, atol=1e-9)
    out = res.skus.loc["S0"]
    assert out["fill_rate"] == 1.0 and out["cycle_service_level"] == 1.0
    assert out["stockout_days"] == 0 and out["demand_units"] == 140
    assert out["avg_on_hand_units"] == pytest.approx((sum(CYCLE) + 3 * sum(STEADY)) / 28)


def test_velocity_without_extra_days_loses_sales_under_variable_demand():
    rng = np.random.default_rng(3)
    hist, dem = rng.poisson(4, (5, 120)), rng.poisson(4, (5, 84))
    lean = simulate(scenario(hist, dem, lead=5, lead_std=1.5), VelocityPolicy(0), seed=2)
    padded = simulate(scenario(hist, dem, lead=5, lead_std=1.5), VelocityPolicy(14), seed=2)
    assert lean.overall["lost_units"] > 0 and lean.overall["fill_rate"] < 0.97
    assert padded.overall["fill_rate"] > lean.overall["fill_rate"]
    assert padded.overall["avg_on_hand_units"] > lean.overall["avg_on_hand_units"]


def test_velocity_orders_up_to_thirty_day_sales_times_cover():
    res = simulate(scenario(np.full(40, 3), np.full(14, 3), lead=4), VelocityPolicy(5))
    assert res.on_hand[0, 0] == 3 * (4 + 7 + 5) - 3  # warm start at S = v (L + R + N)
    assert res.orders[0, 7] == 21  # IP = 48 - 21 = 27 on day 7: back up to 48


def test_minmax_orders_to_max_when_position_falls_below_min():
    # a = 2/day, L = 4, R = 7: min = 8, max = 22, checked daily; IP = 8 on day 7 is not
    # below min, IP = 6 on day 8 is: order 22 - 6 = 16, arriving on day 12
    res = simulate(scenario(np.full(90, 2), np.full(20, 2), lead=4), MinMaxPolicy())
    assert res.on_hand[0, 0] == 20
    assert res.orders[0, :8].sum() == 0 and res.orders[0, 8] == 16
    assert res.served[0, 11] == 0 and res.served[0, 12] == 2  # no safety stock: day 11 lost


def test_oracle_serves_everything_with_random_lead_times():
    rng = np.random.default_rng(5)
    dem = rng.poisson(3, (4, 70)) * rng.integers(0, 2, (4, 70))
    sc = scenario(rng.poisson(2, (4, 60)), dem, lead=6, lead_std=3, moq=5, case_pack=5)
    res = simulate(sc, OraclePolicy(dem), seed=4)
    assert res.overall["fill_rate"] == 1.0
    vel = simulate(sc, VelocityPolicy(20), seed=4)
    assert vel.overall["avg_on_hand_units"] > res.overall["avg_on_hand_units"]


class Peeker(Policy):
    def __init__(self, how):
        self.how = how

    def decide(self, t, history, on_hand, pipeline, item):
        if self.how == "day":
            return history.day(item.index, t)
        if self.how == "index":
            return history.sold[item.index, t]
        history.sold[item.index, 0] = 1.0  # "write"
        return 0.0


@pytest.mark.parametrize("how, error", [("day", LookaheadError), ("index", IndexError),
                                        ("write", ValueError)])
def test_a_policy_that_peeks_or_writes_raises(how, error):
    with pytest.raises(error):
        simulate(scenario(np.full(10, 1), np.full(14, 1)), Peeker(how))


def test_policy_sees_exactly_the_sales_before_its_day():
    seen = []

    class Recorder(VelocityPolicy):
        def decide(self, t, history, on_hand, pipeline, item):
            assert isinstance(history, History) and history.sold.shape[1] == t == history.t
            seen.append((t, history.sold[item.index].copy()))
            return super().decide(t, history, on_hand, pipeline, item)

    rng = np.random.default_rng(1)
    sc = scenario(rng.poisson(3, 30), rng.poisson(6, 21), lead=3)
    res = simulate(sc, Recorder(0))
    for t, sold in seen:
        np.testing.assert_array_equal(sold[:30], sc.history_sold[0])
        np.testing.assert_array_equal(sold[30:], res.served[0, :t - 30])  # sales, not demand
    assert [t for t, _ in seen] == [30, 37, 44]


def test_lead_times_are_seeded_whole_days_of_at_least_one():
    items = [Item(index=0, sku="A", lead_time_days=2, lead_time_std_days=3)]
    a, b = draw_lead_times(items, 500, seed=9), draw_lead_times(items, 500, seed=9)
    np.testing.assert_array_equal(a, b)
    assert a.min() == 1 and a.dtype.kind == "i" and abs(a.mean() - 2.6) < 0.5


def test_fill_rate_k_inverts_the_loss_function():
    assert normal_loss(0.0) == pytest.approx(0.39894, abs=1e-5)
    assert normal_loss(1.0) == pytest.approx(0.08332, abs=1e-5)  # SPP table B.1
    for target, mu_r, sigma_p in [(0.95, 70, 18), (0.99, 5, 9), (0.8, 2, 1)]:
        k = fill_rate_k(target, mu_r, sigma_p)
        assert fill_rate_of_k(k, mu_r, sigma_p) == pytest.approx(target, abs=1e-6)
    assert fill_rate_k(0.95, 10, 0.0) == 0.0
    assert fill_rate_k(0.999, 1, 50) > fill_rate_k(0.95, 1, 50)


def test_measures_by_hand():
    dem = np.array([[2, 2, 0, 4, 1, 1]], float)
    served = np.array([[2, 1, 0, 4, 0, 1]], float)
    on_hand = np.array([[3, 0, 0, 2, 0, 4]], float)
    m = measure(["A"], dem, served, on_hand, np.array([2.0]), review_days=3).loc["A"]
    assert m["fill_rate"] == pytest.approx(8 / 10) and m["lost_units"] == 2
    assert m["stockout_days"] == 2 and m["cycle_service_level"] == 0.0  # both cycles short
    assert m["avg_on_hand_units"] == pytest.approx(1.5) and m["avg_on_hand_value"] == 3.0
    assert m["turnover"] == pytest.approx(8 * 2 * 365 / 6 / 3.0)


# --- the simulate command -------------------------------------------------------------------

DEMAND = "sku,date,quantity\n" + "".join(
    f"{s},2025-03-{d:02d},{q}\n" for s, q in (("A", 3), ("B", 1)) for d in range(1, 29)
    if not (s == "B" and d % 3))  # B: a sale every third day; the other days are gaps
ITEMS = ("sku,lead_time_days,lead_time_std_days,moq,case_pack,unit_cost,price,"
         "initial_on_hand\nA,3,1,1,1,2.5,5,\nB,2,,1,1,4,9,10\n")


def run_cli(tmp_path, demand=DEMAND, items=ITEMS, *extra):
    (tmp_path / "demand.csv").write_text(demand)
    (tmp_path / "items.csv").write_text(items)
    out = tmp_path / "result.json"
    rc = simulate_cli(["simulate", "--demand", str(tmp_path / "demand.csv"), "--items",
                       str(tmp_path / "items.csv"), "--simulate-days", "14", "--out", str(out),
                       *extra])
    return rc, (json.loads(out.read_text()) if rc == 0 else None)


@pytest.mark.parametrize("policy", ["velocity", "minmax", "oracle", "restock"])
def test_cli_writes_measures(tmp_path, policy):
    rc, res = run_cli(tmp_path, DEMAND, ITEMS, "--policy", policy, "--days-of-stock", "3")
    assert rc == 0
    keys = {"sku", "fill_rate", "cycle_service_level", "stockout_days", "lost_units",
            "avg_on_hand_units", "avg_on_hand_value", "turnover"}
    assert [r["sku"] for r in res["skus"]] == ["A", "B"] and keys <= set(res["skus"][0])
    assert res["skus"][0]["demand_units"] == 42 and res["skus"][1]["demand_units"] == 5
    assert res["overall"]["days"] == 14 and 0 <= res["overall"]["fill_rate"] <= 1
    if policy == "oracle":
        assert res["skus"][0]["fill_rate"] == 1.0


@pytest.mark.parametrize("demand, items, message", [
    (DEMAND + "A,2025-03-05,1\n", ITEMS, "demand.csv line 39, column sku, date: duplicate row "
     "for SKU A on 2025-03-05 (first at line 6)"),
    (DEMAND.replace("A,2025-03-07,3", "A,2025-03-07,-3"), ITEMS,
     "demand.csv line 8, column quantity: negative quantity -3"),
    (DEMAND.replace("A,2025-03-07,3", "A,07/03/2025,3"), ITEMS,
     "demand.csv line 8, column date: '07/03/2025' is not a date"),
    (DEMAND + "C,2025-03-02,1\nD,2025-03-02,1\n", ITEMS,
     "items.csv column sku: no row for 2 SKU(s) of demand.csv (column sku): C (demand.csv "
     "line 39), D (demand.csv line 40)"),
    (DEMAND, ITEMS.replace("B,2,", "B,0,"), "items.csv line 3, column lead_time_days: must "
     "be > 0, got 0"),
    (DEMAND, ITEMS.replace("A,3,1,", "A,,1,"), "items.csv line 2, column lead_time_days: "
     "missing lead time for SKU A"),
    (DEMAND.replace("quantity", "qty"), ITEMS, "demand.csv line 1 (header): missing column(s) "
     "quantity"),
])
def test_cli_bad_input_names_file_line_and_column(tmp_path, capsys, demand, items, message):
    rc, _ = run_cli(tmp_path, demand, items, "--policy", "velocity")
    assert rc == 2
    assert message in capsys.readouterr().err


def test_restock_runs_with_a_young_smooth_series():
    # a 60-day smooth series is too short for the weekly AutoETS of core.forecast; the
    # policy sets it aside with a mean forecast instead of failing
    rng = np.random.default_rng(8)
    hist = rng.poisson(6, (2, 200)).astype(float)
    sc = scenario(hist, rng.poisson(6, (2, 14)), lead=3)
    sc.first_day = np.array([0, 140])
    res = simulate(sc, RestockPolicy(0.95))
    assert res.overall["fill_rate"] > 0.8
