"""core.ltv on sandbox shops: weights, apply_ltv on a stored plan run, stockout impact.

Customer values come from the sandbox truth (an oracle standing in for core.clv): predicted
CLV = alive at the end x (trips a year x mean order value + each active consumable habit's
units a year x price); segments by CLV quantile. The stockout studies stratify on the true
purchase rate instead (known before the events; see core.ltv.stockout_impact).
"""
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from core.ltv import apply_ltv, ltv_weight_table, shop_stockout_impact, stockout_events
from core.ltv.data import read_customer_lines, read_stock
from core.ltv.stockout_impact import compare, stockout_impact
from core.plan import PlanSettings, compute_plan, run_plan
from core.plan_inputs import read_inputs
from core.storage import (Customer, Location, PlanLine, make_engine, make_sessionmaker,
                          session_scope, upgrade)
from sandbox import generate
from sandbox.load import load_sandbox

KNOBS = dict(seed=7, n_skus=60, n_customers=800, n_days=540, n_locations=2)


def oracle_values(sb, id_of: dict) -> pd.DataFrame:
    t = sb.truth.customers
    o = sb.records.orders
    aov = float(o.loc[o["customer_external_id"].notna(), "subtotal"].mean())
    price = sb.records.variants.set_index("sku")["price"]
    cp = sb.truth.customer_products
    cp = cp[cp["next_purchase_date"].notna()]
    habit = (365.0 / cp["cycle_days"] * cp["sku"].map(price)).groupby(
        cp["customer_external_id"]).sum()
    habit_90 = (90.0 / cp["cycle_days"] / cp["last_quantity"]).groupby(
        cp["customer_external_id"]).sum()
    alive = t["alive_at_end"].astype(float).to_numpy()
    ext = t["external_id"]
    clv = alive * (t["rate_per_day"] * 365 * aov + ext.map(habit).fillna(0.0)).to_numpy()
    q = pd.Series(clv).rank(pct=True).to_numpy()
    return pd.DataFrame({
        "customer_id": ext.map(id_of).to_numpy(),
        "p_alive": alive,
        "expected_purchases_90d": alive * (t["rate_per_day"] * 90
                                           + ext.map(habit_90).fillna(0.0)).to_numpy(),
        "predicted_clv": clv,
        "segment": np.where(q > 0.8, "champions", np.where(q > 0.5, "loyal", "others")),
    })


def rate_segments(sb, id_of=None) -> pd.DataFrame:
    """Segments by the true purchase rate (top 20 %, next 40 %, rest): known before any
    stockout, unlike a segment scored at the end."""
    t = sb.truth.customers
    q = t["rate_per_day"].rank(pct=True)
    ids = t["external_id"].map(id_of) if id_of else pd.to_numeric(t["external_id"])
    return pd.DataFrame({"customer_id": ids.to_numpy(),
                         "segment": np.where(q > 0.8, "champions",
                                             np.where(q > 0.4, "loyal", "others"))})


@pytest.fixture(scope="module")
def shop_run(tmp_path_factory):
    eng = make_engine(f"sqlite:///{tmp_path_factory.mktemp('ltv')}/restock.db")
    upgrade(eng)
    sessions = make_sessionmaker(eng)
    with session_scope(sessions) as s:
        shop, _ = load_sandbox(s, "ltv", **KNOBS)
        run = run_plan(s, shop)
        ids = dict(s.execute(select(Customer.external_id, Customer.id)).all())
        shop_id, run_id = shop.id, run.id
    yield sessions, shop_id, run_id, generate(**KNOBS), ids
    eng.dispose()


def test_weights_exist_for_sold_skus_and_average_one(shop_run):
    sessions, shop_id, run_id, sb, ids = shop_run
    from core.storage import PlanRun, Shop

    values = oracle_values(sb, ids)
    with session_scope(sessions) as s:
        shop, run = s.get(Shop, shop_id), s.get(PlanRun, run_id)
        lines = read_customer_lines(s, shop, None, run.data_cutoff)
        table = ltv_weight_table(lines, values, run.data_cutoff)
        recent = lines[lines["day"] > pd.Timestamp(run.data_cutoff) - pd.Timedelta(days=365)]
        assert set(table["sku"]) == set(recent["sku"])
        assert table["weight"].between(0.5, 2.0).all()
        mean = (table["revenue"] * table["weight"]).sum() / table["revenue"].sum()
        raw = (table["revenue"] * table["raw_weight"]).sum() / table["revenue"].sum()
        print(f"\nweights: {len(table)} SKUs, revenue-weighted mean {mean:.3f} "
              f"(raw {raw:.3f}), range {table['weight'].min():.2f}-{table['weight'].max():.2f}")
        assert raw == pytest.approx(1.0)
        assert mean == pytest.approx(1.0, abs=0.05)
        assert table["weight"].std() > 0.01  # buyers do differ
        # the weights move the plan's service levels as core.policy says
        inp = read_inputs(s, shop, run.data_cutoff)
        inp.ltv_weight = table.set_index("sku")["weight"]
        planned, _ = compute_plan(inp, PlanSettings(service_level=0.9))
        by_sku = planned.groupby("sku")["service_level"].first()
        hi = table.loc[table["weight"] > 1.05, "sku"]
        lo = table.loc[table["weight"] < 0.95, "sku"]
        assert (by_sku.reindex(hi).dropna() > 0.9).all()
        assert (by_sku.reindex(lo).dropna() < 0.9).all()


def test_apply_ltv_fills_the_plan_lines(shop_run):
    sessions, shop_id, run_id, sb, ids = shop_run
    from core.storage import PlanRun, Shop

    values = oracle_values(sb, ids)
    with session_scope(sessions) as s:
        shop, run = s.get(Shop, shop_id), s.get(PlanRun, run_id)
        out = apply_ltv(s, shop, run, values)
    with session_scope(sessions) as s:
        stored = s.scalars(select(PlanLine).where(PlanLine.plan_run_id == run_id)).all()
    assert len(out) == len(stored) > 0
    got = {l.id: l for l in stored}
    for r in out.itertuples(index=False):
        line = got[r.id]
        assert line.excess_units is not None and line.excess_units >= 0
        if r.shortfall:
            assert line.protected_units is not None
            assert 0 <= line.protected_units <= max(r.stock, 0)
            assert r.open_units == pytest.approx(np.floor(max(r.stock, 0)) - r.protected_units)
        else:
            assert line.protected_units is None
        if line.excess_units > 0:
            assert line.excess_action in ("sell_now", "hold") and line.excess_reason
        else:
            assert line.excess_action is None
    assert sum(l.ltv_weight is not None for l in stored) >= 0.9 * len(stored)
    short, reserved = out[out["shortfall"]], out[out["protected_units"] > 0]
    actions = out["excess_action"].value_counts().to_dict()
    print(f"\napply_ltv: {len(out)} lines, {len(short)} short, {len(reserved)} with "
          f"{reserved['protected_units'].sum():.0f} units reserved for "
          f"{sum(len(x) for x in reserved['reserved_for'])} customers; excess {actions}")
    for reason in out["excess_reason"].dropna().head(2):
        print("  ", reason)
    assert len(reserved) > 0 and set(actions) == {"sell_now", "hold"}


def test_stockout_impact_on_the_shop(shop_run):
    sessions, shop_id, run_id, sb, ids = shop_run
    from core.storage import PlanRun, Shop

    with session_scope(sessions) as s:
        shop, run = s.get(Shop, shop_id), s.get(PlanRun, run_id)
        impact = shop_stockout_impact(s, shop, rate_segments(sb, ids), run.data_cutoff)
        lines = read_customer_lines(s, shop, None, run.data_cutoff)
        stock = read_stock(s, shop, None, run.data_cutoff)
        loc_ext = dict(s.execute(select(Location.id, Location.external_id)).all())
    print("\n" + impact.round(3).to_string())
    assert set(impact["metric"]) == {"repurchase_90d", "churn_180d"}
    assert "all" in set(impact["segment"])
    row = impact[impact["segment"] == "all"].iloc[0]
    assert row["n_exposed"] > 0 and row["ci_low"] <= row["diff"] <= row["ci_high"]
    # direction against the truth: met stockouts fall on days with true lost sales (the
    # snapshot is taken at the end of the day: many exposed customers got the last units)
    ev = stockout_events(lines, stock, run.data_cutoff)
    lost = sb.truth.lost_sales.assign(
        location_id=lambda f: f["location_external_id"].map({v: k for k, v in loc_ext.items()}))
    lost_days = set(zip(lost["sku"], lost["location_id"], pd.to_datetime(lost["date"])))
    ev["true_lost"] = [(k, l, d) in lost_days for k, l, d in
                       zip(ev["sku"], ev["location_id"], ev["day"])]
    share = ev.groupby("exposed")["true_lost"].mean()
    print(f"events with true lost sales that day: exposed {share[True]:.2f}, "
          f"not exposed {share[False]:.2f}")
    assert share[True] > 0.25 and share[False] < 0.02


def test_apply_ltv_on_each_database(sessions):
    """A tiny shop on SQLite and PostgreSQL: the reads and the bulk update work on both,
    and applying twice gives the same stored values."""
    knobs = dict(seed=3, n_skus=12, n_customers=150, n_days=200, n_locations=2)
    with session_scope(sessions) as s:
        shop, _ = load_sandbox(s, "tiny", **knobs)
        run = run_plan(s, shop)
        ids = dict(s.execute(select(Customer.external_id, Customer.id)).all())
        values = oracle_values(generate(**knobs), ids)
        first = apply_ltv(s, shop, run, values)
        again = apply_ltv(s, shop, run, values)
        run_id = run.id
    cols = ["id", "ltv_weight", "protected_units", "excess_units", "excess_action"]
    pd.testing.assert_frame_equal(first[cols], again[cols])
    with session_scope(sessions) as s:
        stored = s.scalars(select(PlanLine).where(PlanLine.plan_run_id == run_id)).all()
        assert len(stored) == len(first)
        assert all(l.excess_units is not None for l in stored)
        assert any(l.ltv_weight is not None and l.ltv_weight != 1.0 for l in stored)


def _frames(sb):
    r = sb.records
    o = r.orders[r.orders["cancelled_at"].isna()]
    ln = r.order_lines.merge(o[["external_id", "customer_external_id", "location_external_id",
                                "created_at"]], left_on="order_external_id",
                             right_on="external_id")
    lines = pd.DataFrame({
        "customer_id": pd.to_numeric(ln["customer_external_id"]), "sku": ln["sku"],
        "location_id": ln["location_external_id"].astype(int),
        "day": ln["created_at"].dt.tz_localize(None).dt.normalize()})
    inv = r.inventory
    stock = pd.DataFrame({"sku": inv["sku"], "location_id": inv["location_external_id"].astype(int),
                          "day": inv["date"], "available": inv["available"]})
    return lines, stock


@pytest.mark.slow
def test_stockouts_do_not_change_churn_in_the_sandbox():
    """The sandbox's customers drop out after trips with a fixed probability whatever the
    stock (a re-buy that finds no stock waits up to 14 days, then only that SKU is given
    up), so the measured differences must be near zero, within their intervals - and the
    true dropout of the same customers must not differ either."""
    sb = generate(seed=7)  # the default shop: 300 SKUs, 4000 customers, 730 days
    lines, stock = _frames(sb)
    t = sb.truth.customers.assign(cid=lambda f: pd.to_numeric(f["external_id"]))
    ev = stockout_events(lines, stock, sb.end, customers=rate_segments(sb))
    impact = stockout_impact(None, None, sb.end, events=ev)
    dropout = pd.to_datetime(ev["customer_id"].map(t.set_index("cid")["dropout_date"]))
    ev["true_dropout_180d"] = ((dropout - ev["day"]).dt.days <= 180).astype(int)
    truth = compare(ev, "true_dropout_180d", ("segment", "freq_bin", "kind"))
    print("\n" + impact.round(3).to_string())
    print("true dropout within 180 days, exposed - control: "
          f"{truth['diff']:+.3f} [{truth['ci_low']:+.3f}, {truth['ci_high']:+.3f}]")
    for metric in ("repurchase_90d", "churn_180d"):
        row = impact[(impact["segment"] == "all") & (impact["metric"] == metric)].iloc[0]
        assert row["n_exposed"] >= 100 and row["normal_ok"]
        assert row["ci_low"] < 0 < row["ci_high"], metric
        assert abs(row["diff"]) < 0.05, metric
    assert truth["ci_low"] < 0 < truth["ci_high"]
