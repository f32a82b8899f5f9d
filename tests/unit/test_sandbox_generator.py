"""Tests of the sandbox shop generator against its own ground truth."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.records import COLUMNS, ShopRecords
from sandbox import PATTERNS, SandboxShop, generate
from sandbox.catalog import allocate_patterns
from sandbox.matching import TRIP_PATIENCE
from sandbox.model import PATTERN_MIX

SMALL = dict(n_skus=150, n_customers=1500, n_days=420, n_locations=2)


@pytest.fixture(scope="module")
def shop() -> SandboxShop:
    return generate(seed=7, **SMALL)


@pytest.fixture(scope="module")
def sales(shop: SandboxShop) -> pd.DataFrame:
    """Lines of non-cancelled orders with their order's day, location and customer."""
    o = shop.records.orders
    live = o[o.cancelled_at.isna()]
    lines = shop.records.order_lines.merge(
        live[["external_id", "created_at", "location_external_id", "customer_external_id"]],
        left_on="order_external_id", right_on="external_id", suffixes=("", "_order"))
    lines["date"] = lines.created_at.dt.tz_localize(None).dt.normalize()
    return lines


@pytest.fixture(scope="module")
def daily_sales(sales: pd.DataFrame) -> pd.DataFrame:
    return (sales.groupby(["sku", "location_external_id", "date"]).quantity.sum()
            .rename("sold").reset_index())


def _frames(s: SandboxShop) -> dict[str, pd.DataFrame]:
    out = {f"records.{n}": getattr(s.records, n) for n in s.records.entities()}
    for name in ("expected_demand", "wanted", "lost_sales", "skus", "campaigns", "customers",
                 "customer_products"):
        out[f"truth.{name}"] = getattr(s.truth, name)
    out["receipts"] = s.receipts
    return out


def test_same_seed_same_output_and_other_seed_differs():
    tiny = dict(n_skus=40, n_customers=300, n_days=120, n_locations=2)
    a, b, c = generate(seed=3, **tiny), generate(seed=3, **tiny), generate(seed=4, **tiny)
    fa, fb = _frames(a), _frames(b)
    for name in fa:
        pd.testing.assert_frame_equal(fa[name], fb[name], obj=name)
    assert (a.start, a.end, a.seed) == (b.start, b.end, b.seed)
    cols = ["created_at", "total"]
    assert not a.records.orders[cols].equals(c.records.orders[cols])
    assert not a.truth.expected_demand.expected_units.equals(c.truth.expected_demand.expected_units)


def test_records_validate_with_canonical_columns_and_types(shop):
    valid = shop.records.validate()
    assert isinstance(valid, ShopRecords)
    for name in shop.records.entities():
        assert list(getattr(shop.records, name).columns) == COLUMNS[name], name
    for name, cols in [("orders", ["created_at", "processed_at", "cancelled_at"]),
                       ("customers", ["created_at"]), ("products", ["created_at"]),
                       ("variants", ["created_at"]), ("campaigns", ["starts_at", "ends_at"])]:
        for col in cols:
            assert str(getattr(shop.records, name)[col].dt.tz) == "UTC", (name, col)
    assert shop.records.inventory.date.dtype == np.dtype("datetime64[ns]")
    for name, col in [("orders", "external_id"), ("order_lines", "external_id"),
                      ("customers", "external_id"), ("variants", "external_id"),
                      ("orders", "location_external_id"), ("inventory", "location_external_id")]:
        assert shop.records.__getattribute__(name)[col].map(type).eq(str).all(), (name, col)
    assert shop.records.variants.sku.is_unique
    assert len(shop.records.variants) == SMALL["n_skus"]
    assert shop.end - shop.start == pd.Timedelta(days=SMALL["n_days"] - 1)
    assert shop.end == pd.Timestamp("2026-11-15")


def test_catalog_suppliers_and_locations(shop):
    r = shop.records
    assert r.locations.set_index("external_id").kind.to_dict() == {"1": "warehouse", "2": "store"}
    items = r.supplier_items
    assert items.sku.is_unique and set(items.sku) == set(r.variants.sku)
    assert 3 <= len(r.suppliers) <= 20
    assert ((items.case_pack >= 1) & (items.moq >= 1)).all()
    margin = 1 - r.variants.unit_cost / r.variants.price
    assert margin.between(0.29, 0.71).all()
    truth = shop.truth.skus
    assert (truth.lead_time_mean.between(3, 30)).all()
    assert (truth.lead_time_std <= 0.3 * truth.lead_time_mean + 1e-9).all()
    cons = truth[truth.consumable]
    assert len(cons) > 0 and cons.cycle_days.between(20, 60).all()


def test_channels_match_locations(shop):
    o = shop.records.orders
    assert set(o.source) == {"web", "marketplace", "pos"}
    assert (o.loc[o.source != "pos", "location_external_id"] == "1").all()
    assert (o.loc[o.source == "pos", "location_external_id"] != "1").all()
    assert o.name.is_unique and o.name.iloc[0] == "#1001"
    pos_guest = o.loc[o.source == "pos", "customer_external_id"].isna().mean()
    assert pos_guest > 0.5  # most POS orders are walk-ins


def test_single_location_has_no_pos():
    s = generate(seed=5, n_skus=30, n_customers=200, n_days=90, n_locations=1)
    assert list(s.records.locations.kind) == ["warehouse"]
    assert "pos" not in set(s.records.orders.source)
    assert set(s.records.inventory.location_external_id) == {"1"}


def test_every_pattern_present_and_mix_allocation(shop):
    assert set(shop.truth.skus.pattern) == set(PATTERNS)
    counts = allocate_patterns(1000)
    assert sum(counts.values()) == 1000
    for p in PATTERNS:
        assert abs(counts[p] - 1000 * PATTERN_MIX[p]) <= 1
    assert min(allocate_patterns(7).values()) == 1


def test_intermittent_skus_have_adi_above_1_32(shop, daily_sales):
    skus = shop.truth.skus.set_index("sku")
    per_day = daily_sales.groupby(["sku", "date"]).sold.sum()
    for sku in skus.index[skus.pattern == "intermittent"]:
        first = max(skus.loc[sku, "created_date"], shop.start)
        n_days = (shop.end - first).days + 1
        n_sale_days = int((per_day.get(sku, pd.Series(dtype=float)) > 0).sum())
        assert n_sale_days == 0 or n_days / n_sale_days > 1.32, sku


def test_lumpy_sizes_vary_more_than_intermittent(shop):
    w = shop.truth.wanted.merge(shop.truth.skus[["sku", "pattern"]])
    cv2 = w.groupby(["pattern", "sku"]).wanted_units.agg(
        lambda x: x.var() / x.mean() ** 2 if len(x) > 4 else np.nan)
    assert cv2["lumpy"].median() > 0.49
    assert cv2["intermittent"].median() < 0.49


def test_season_window_skus_have_no_demand_outside_window(shop, daily_sales):
    skus = shop.truth.skus
    win = skus[skus.pattern == "season_window"]
    assert len(win) > 0
    md = lambda dates: dates.dt.strftime("%m-%d")  # noqa: E731
    for frame, col in [(shop.truth.expected_demand, "expected_units"),
                       (shop.truth.wanted, "wanted_units"), (daily_sales, "sold")]:
        f = frame.merge(win[["sku", "season_start", "season_end"]])
        inside = (md(f.date) >= f.season_start) & (md(f.date) <= f.season_end)
        assert (f.loc[~inside, col] == 0).all(), col
        assert f.loc[inside, col].sum() > 0, col


def test_no_sales_outside_variant_life(shop, sales):
    v = shop.records.variants.set_index("sku")
    truth = shop.truth.skus.set_index("sku")
    created = sales.sku.map(v.created_at)
    assert (sales.created_at >= created).all()
    new = truth.index[truth.pattern == "new"]
    assert (truth.loc[new, "created_date"] > shop.start).all()
    e = shop.truth.expected_demand.merge(truth.loc[new, ["created_date"]], left_on="sku",
                                         right_index=True)
    assert (e.date >= e.created_date).all()
    gone = truth[truth.discontinued_date.notna()]
    assert 1 <= len(gone) <= 2
    assert (v.loc[gone.index, "status"] == "archived").all()
    assert (v.loc[gone.index, "successor_sku"] == gone.successor_sku).all()
    for sku, row in gone.iterrows():
        assert (sales.loc[sales.sku == sku, "date"] < row.discontinued_date).all()
        succ = sales.loc[sales.sku == row.successor_sku, "date"]
        assert len(succ) > 0 and (succ >= row.discontinued_date).all()


def test_sales_plus_lost_equals_wanted(shop, daily_sales):
    t = shop.truth
    keys = ["sku", "location_external_id", "date"]
    m = (t.wanted.merge(daily_sales, on=keys, how="outer").merge(t.lost_sales, on=keys, how="outer")
         .fillna(0))
    assert (m.sold + m.lost_units == m.wanted_units).all()
    assert (t.wanted.wanted_units > 0).all() and (t.lost_sales.lost_units > 0).all()


def test_wanted_is_an_unbiased_draw_of_expected(shop):
    ratio = shop.truth.wanted.wanted_units.sum() / shop.truth.expected_demand.expected_units.sum()
    assert 0.95 < ratio < 1.05


def test_stock_balance_and_never_negative(shop, daily_sales):
    inv = shop.records.inventory
    assert (inv.available >= 0).all() and (inv.on_hand >= 0).all()
    assert (inv.on_hand == inv.available + inv.committed).all()
    keys = ["sku", "location_external_id", "date"]
    rec = (shop.receipts.rename(columns={"received_date": "date"}).groupby(keys).quantity.sum()
           .rename("received").reset_index())
    f = inv.merge(daily_sales, on=keys, how="left").merge(rec, on=keys, how="left").fillna(
        {"sold": 0, "received": 0}).sort_values(keys)
    prev = f.groupby(["sku", "location_external_id"]).available.shift()
    has_prev = prev.notna()
    # sold units never exceed yesterday's available stock plus today's receipts
    assert (f.sold[has_prev] <= prev[has_prev] + f.received[has_prev]).all()
    assert (f.available[has_prev] == prev[has_prev] + f.received[has_prev] - f.sold[has_prev]).all()
    assert ((shop.receipts.received_date - shop.receipts.ordered_date).dt.days >= 1).all()


def test_stockouts_cause_lost_sales(shop):
    lost = shop.truth.lost_sales
    assert lost.lost_units.sum() > 0
    inv = shop.records.inventory.merge(lost, on=["sku", "location_external_id", "date"])
    assert (inv.available == 0).all()  # a lost sale leaves the shelf empty


def test_campaign_skus_sell_more_during_campaigns(shop, daily_sales):
    t, r = shop.truth, shop.records
    assert 1 <= len(t.campaigns) <= 8
    skus_of = r.campaigns.set_index("external_id").skus
    lumpy = set(t.skus.sku[t.skus.pattern == "lumpy"])
    wanted = expected = base = sold_in = sold_pre = 0.0
    for _, c in t.campaigns.iterrows():
        skus = [s for s in skus_of[c.external_id] if s not in lumpy]
        start, end = c.starts_at.tz_localize(None), c.ends_at.tz_localize(None).normalize()
        n_days = (end - start).days + 1
        inside = lambda f: f.sku.isin(skus) & (f.date >= start) & (f.date <= end)  # noqa: E731
        e = t.expected_demand[inside(t.expected_demand)].expected_units.sum()
        expected += e
        base += e / c.uplift
        wanted += t.wanted[inside(t.wanted)].wanted_units.sum()
        ds = daily_sales
        sold_in += ds[inside(ds)].sold.sum() / n_days
        pre = ds.sku.isin(skus) & (ds.date >= start - pd.Timedelta(days=28)) & (ds.date < start)
        sold_pre += ds[pre].sold.sum() / 28
    uplift = expected / base  # exposure-weighted true uplift
    assert uplift > 1.2
    assert abs(wanted / base / uplift - 1) < 0.2
    assert sold_in / sold_pre > 1.15


def test_campaign_orders_carry_code_and_discount(shop, sales):
    r = shop.records
    camp = r.campaigns.explode("skus").rename(columns={"skus": "sku"})
    m = sales.merge(camp[["external_id", "sku", "starts_at", "ends_at", "discount_pct"]],
                    on="sku", suffixes=("", "_cmp"))
    m = m[(m.created_at >= m.starts_at) & (m.created_at <= m.ends_at)]
    assert len(m) > 0
    expected = (m.price * m.quantity * m.discount_pct / 100).round(2)
    assert np.allclose(m.discount, expected, rtol=0, atol=0.011)  # half-cent rounding
    codes = r.orders.set_index("external_id").discount_codes
    truth_codes = shop.truth.campaigns.set_index("external_id").code
    assert (m.order_external_id.map(codes) == m.external_id_cmp.map(truth_codes)).all()
    assert (sales.loc[~sales.external_id.isin(m.external_id), "discount"] == 0).all()


def test_cancellations_and_refunds(shop, sales):
    o, lines = shop.records.orders, shop.records.order_lines
    cancelled = o.cancelled_at.notna()
    assert 0.002 < cancelled.mean() < 0.03
    assert (o.cancelled_at[cancelled] > o.created_at[cancelled]).all()
    assert (lines.refunded_quantity <= lines.quantity).all()
    assert 0.005 < (sales.refunded_quantity > 0).mean() < 0.05


def test_customers_alive_dead_and_next_purchase(shop, sales):
    c = shop.truth.customers
    assert 0.05 < c.alive_at_end.mean() < 0.98
    assert len(shop.records.customers) == SMALL["n_customers"]
    dead = c[~c.alive_at_end]
    assert (dead.dropout_date <= shop.end).all()
    assert dead.next_purchase_date.isna().all()
    assert (c.next_trip_date.dropna() > shop.end).all()
    last = sales.groupby("customer_external_id").date.max()
    gap = ((last.reindex(dead.external_id).to_numpy() - dead.dropout_date.to_numpy())
           / np.timedelta64(1, "D"))
    assert np.nanmax(gap) <= TRIP_PATIENCE  # no purchases after dropping out (a trip may wait)
    share = sales.customer_external_id.notna().mean()
    assert 0.2 < share < 0.95
    created = shop.records.customers.set_index("external_id").created_at
    first = shop.records.orders.groupby("customer_external_id").created_at.min()
    assert (first >= created.reindex(first.index)).all()


def test_heavier_customers_buy_more_often(shop, sales):
    c = shop.truth.customers.set_index("external_id")
    n = (sales.groupby("customer_external_id").order_external_id.nunique()
         .reindex(c.index, fill_value=0))
    until = c.dropout_date.fillna(shop.end).clip(upper=shop.end) + pd.Timedelta(days=1)
    exposure = (until - c.joined_at.dt.tz_localize(None)) / pd.Timedelta(days=1)
    per_day = (n / exposure)[exposure >= 60]
    rate = c.rate_per_day[exposure >= 60]
    heavy = per_day[rate >= rate.quantile(0.75)]
    light = per_day[rate <= rate.quantile(0.25)]
    assert heavy.mean() > 2 * light.mean()


def test_consumable_rebuy_interval_scales_with_quantity(shop, sales):
    cons = shop.truth.skus.loc[shop.truth.skus.consumable, ["sku", "cycle_days"]]
    s = (sales[sales.customer_external_id.notna()].merge(cons, on="sku")
         .sort_values(["customer_external_id", "sku", "date"]))
    s["next"] = s.groupby(["customer_external_id", "sku"]).date.shift(-1)
    s = s[s.next.notna()]
    norm = (s.next - s.date).dt.days / s.cycle_days
    by_qty = norm.groupby(s.quantity).median()
    assert 0.85 < (norm / s.quantity).median() < 1.3
    assert 1.6 < by_qty[2] / by_qty[1] < 2.4
    cp = shop.truth.customer_products
    assert cp.next_purchase_date.notna().any()
    assert set(cp.sku) <= set(cons.sku)
