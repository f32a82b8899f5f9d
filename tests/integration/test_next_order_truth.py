"""Next-order dates against the sandbox's ground truth, plus hand-made checks of the rules.

Measures (printed with ``pytest -s``):

* customer x consumable: MAE in days of the predicted re-buy date against
  ``truth.customer_products.next_purchase_date`` (pairs the customer still buys), per RFM
  segment, next to the naive "last purchase + shop-wide median gap";
* customer: MAE in days of the next order date against ``truth.customers
  .next_purchase_date`` for every customer alive at the end. The truth only looks 365 days
  ahead (NaT = no purchase within a year), so both truth and prediction are censored at
  the horizon: a missing truth counts as the horizon. Dropping the NaT customers instead
  would keep exactly those who happened to buy soon and reward predicting "soon" for
  everybody. The naive baseline is "last purchase + shop-wide median gap", moved to the
  day after the end when that is already past (unmoved it scores worse). The oracle
  knows each customer's true trip rate and true re-buy date (``as_of + E[min(W, D)]``,
  ``W ~ Exp(rate)``): what the mean can reach with the process known.

Tolerances. Re-buys: the sandbox scales each re-buy's supply by LogNormal(0, 0.1) noise,
about +-4 days on a 40-day supply, delays re-buys up to 14 days when the SKU did not sell
and stacks early purchases on the remaining supply, so a few days of error is the floor;
we ask for MAE <= 14 days overall, <= 15 per segment (segments with >= 20 pairs; seeds 5,
8, 21 and 33 give 10.9-11.8 overall, at most 12.6 in a segment) and at most half the
baseline's. Customers: trips are exponential, so even the oracle's mean is off by about
0.74 / rate; a one-order customer's rate is known only through the shop's prior, which
the oracle skips (seeds 5, 8, 21, 33: model / oracle = 1.22-1.44 overall, up to 2.5 for
"new"). We ask for <= 1.5 x the oracle and <= 0.5 x the baseline overall, and for every
segment less than 0.75 x the baseline (seen: at most 0.6).
"""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from core import next_order as no
from core.segments import clv_frame, score_customers
from core.storage import (Customer, make_engine, make_sessionmaker, session_scope, upgrade)
from sandbox import generate
from sandbox.load import load_sandbox

KNOBS = dict(seed=21, n_skus=80, n_customers=3000, n_days=500, n_locations=1)
HORIZON = 365


def evaluate(sb, lines: pd.DataFrame, ext_of: dict, clv: pd.DataFrame | None):
    """(product table, customer table): MAE per segment and overall ("all")."""
    as_of = sb.end.date()
    end = pd.Timestamp(sb.end)
    orders = no.orders_from_lines(lines)
    cons = no.detect_consumables(lines)
    dues = no.product_dues(lines, as_of, clv, cons)
    nxt = no.customer_next_orders(orders, as_of, clv, dues=dues,
                                  rebuys=no.rebuy_days(lines, cons))
    scores = score_customers(orders, as_of, clv, next_orders=nxt)
    scores["external_id"] = scores["customer_id"].map(ext_of)
    gap = pd.Timedelta(days=round(no.typical_interval(orders)))

    tp = sb.truth.customer_products.dropna(subset=["next_purchase_date"])
    d = dues.assign(external_id=dues["customer_id"].map(ext_of))
    p = tp.rename(columns={"next_purchase_date": "truth"}).merge(
        d, left_on=["customer_external_id", "sku"], right_on=["external_id", "sku"])
    p = p.merge(scores[["customer_id", "segment"]], on="customer_id")
    p["model"] = (p["next_purchase_date"] - p["truth"]).dt.days.abs()
    p["baseline"] = (p["last_purchase_date_y"] + gap - p["truth"]).dt.days.abs()
    products = _table(p, ["model", "baseline"])
    products.attrs["coverage"] = len(p) / len(tp)

    h = end + pd.Timedelta(days=HORIZON)
    tc = sb.truth.customers[sb.truth.customers["alive_at_end"]]
    c = tc.merge(scores, on="external_id")
    truth = c["next_purchase_date"].fillna(h).clip(upper=h)
    base = c["last_order"] + gap
    base = base.where(base > end, end + pd.Timedelta(days=1))
    ahead = ((c["next_rebuy_date"] - end).dt.days.clip(lower=0)).to_numpy(dtype=float)
    mean = 1.0 / c["rate_per_day"].to_numpy()
    wait = np.where(np.isnan(ahead), mean, (1.0 - np.exp(-np.nan_to_num(ahead) / mean)) * mean)
    oracle = end + pd.to_timedelta(np.round(np.minimum(wait, 10 * HORIZON)), unit="D")
    for name, pred in (("model", c["next_order_date"]), ("baseline", base),
                       ("oracle", pd.Series(oracle, index=c.index))):
        c[name] = (pred.clip(upper=h) - truth).dt.days.abs()
    c["censored"] = c["next_purchase_date"].isna().astype(float)
    customers = _table(c, ["model", "baseline", "oracle", "censored"])
    return products, customers


def _table(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    g = df.groupby("segment")
    t = pd.concat([g.size().rename("n"), g[cols].mean()], axis=1)
    t.loc["all"] = [len(df), *df[cols].mean()]
    t["n"] = t["n"].astype(int)
    return t.round(1)


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    eng = make_engine(f"sqlite:///{tmp_path_factory.mktemp('nx')}/nx.db")
    upgrade(eng)
    sessions = make_sessionmaker(eng)
    sb = generate(**KNOBS)
    with session_scope(sessions) as s:
        shop, _ = load_sandbox(s, "nx", **KNOBS)
        lines = no.read_order_lines(s, shop, sb.end.date())
        ext_of = dict(s.execute(select(Customer.id, Customer.external_id)
                                .where(Customer.shop_id == shop.id)).all())
    clv = clv_frame(no.orders_from_lines(lines), sb.end.date())
    products, customers = evaluate(sb, lines, ext_of, clv)
    print(f"\nre-buy date MAE (days) per segment, {products.attrs['coverage']:.0%} of the "
          f"truth's due pairs predicted:\n{products}")
    print(f"\nnext order MAE (days, censored at {HORIZON} days), alive customers, "
          f"{'with' if clv is not None else 'without'} core.clv:\n{customers}")
    return sb, lines, products, customers


@pytest.mark.slow
def test_rebuy_dates_match_truth(measured):
    _, _, products, _ = measured
    assert products.attrs["coverage"] > 0.95
    overall = products.loc["all"]
    assert overall["model"] <= 14.0
    assert overall["model"] <= 0.5 * overall["baseline"]
    big = products[(products["n"] >= 20) & (products.index != "all")]
    assert len(big) >= 1
    assert (big["model"] <= 15.0).all() and (big["model"] <= 0.5 * big["baseline"]).all()


@pytest.mark.slow
def test_next_order_dates_match_truth(measured):
    _, _, _, customers = measured
    overall = customers.loc["all"]
    assert overall["model"] <= 1.5 * overall["oracle"]
    assert overall["model"] <= 0.5 * overall["baseline"]
    seg = customers.drop(index="all")
    assert len(seg) == 7 and (seg["n"] >= 100).all()
    assert (seg["model"] < 0.75 * seg["baseline"]).all()


@pytest.mark.slow
def test_consumables_detected(measured):
    sb, lines, _, _ = measured
    found = set(lines[lines["variant_id"].isin(list(no.detect_consumables(lines)))]["sku"])
    sold = set(lines["sku"])
    truth = set(sb.truth.skus.loc[sb.truth.skus["consumable"], "sku"]) & sold
    assert len(found & truth) >= 0.9 * len(truth)
    assert len(found - truth) <= 0.1 * len(found)


def _lines(rows) -> pd.DataFrame:
    """Hand-made lines: (customer, order, day, variant, quantity, amount)."""
    df = pd.DataFrame(rows, columns=["customer_id", "order_id", "order_date", "variant_id",
                                     "quantity", "amount"])
    df["order_date"] = pd.to_datetime(df["order_date"])
    df["sku"] = "V" + df["variant_id"].astype(str)
    return df[no.LINE_COLUMNS]


def test_due_is_quantity_adjusted_and_shrunk_to_the_product_median():
    rows = [  # customer 1: 30-day units; 2: 20-day units (3 gaps); 3: one purchase of 2 units
        (1, 1, "2026-01-01", 7, 1, 10), (1, 2, "2026-01-31", 7, 2, 20),
        (1, 3, "2026-04-01", 7, 1, 10),
        (2, 4, "2026-01-01", 7, 1, 10), (2, 5, "2026-01-21", 7, 1, 10),
        (2, 6, "2026-02-10", 7, 1, 10), (2, 7, "2026-03-02", 7, 3, 30),
        (3, 8, "2026-03-01", 7, 2, 20)]
    dues = no.product_dues(_lines(rows), date(2026, 4, 1), consumables=[7]).set_index(
        "customer_id")
    m = float(np.median([30, 30, 20, 20, 20]))  # every gap / units of the earlier purchase
    assert dues.loc[1, "product_cycle_days"] == m == 20.0
    assert dues.loc[1, "cycle_days"] == pytest.approx((2 * 30 + no.KAPPA * m) / (2 + no.KAPPA))
    assert dues.loc[2, "cycle_days"] == pytest.approx((3 * 20 + no.KAPPA * m) / (3 + no.KAPPA))
    assert dues.loc[3, "cycle_days"] == m  # one purchase: the product's median only
    assert dues.loc[3, "next_purchase_date"] == pd.Timestamp("2026-03-01") + pd.Timedelta(days=40)
    u2 = dues.loc[2, "cycle_days"]
    assert dues.loc[2, "next_purchase_date"] == (pd.Timestamp("2026-03-02")
                                                 + pd.Timedelta(days=round(3 * u2)))
    assert dues.loc[1, "last_quantity"] == 1 and dues.loc[2, "purchases"] == 4


def test_next_order_uses_the_clv_rate_and_a_due_rebuy():
    orders = pd.DataFrame({"customer_id": [1, 1, 2], "order_id": [1, 2, 3],
                           "order_date": pd.to_datetime(["2026-01-01", "2026-03-01",
                                                         "2026-02-01"]),
                           "amount": [10.0, 10.0, 5.0]})
    clv = pd.DataFrame({"customer_id": [1, 2], "p_alive": [0.5, 1.0],
                        "expected_purchases_90d": [1.5, 0.9], "predicted_clv": [1.0, 1.0]})
    as_of = date(2026, 4, 1)
    nxt = no.customer_next_orders(orders, as_of, clv).set_index("customer_id")
    # customer 1: rate = 1.5 / (90 * 0.5) = 1/30 a day -> as_of + 30 (memoryless)
    assert nxt.loc[1, "next_order_date"] == pd.Timestamp("2026-05-01")
    assert nxt.loc[2, "next_order_date"] == pd.Timestamp("2026-04-01") + pd.Timedelta(days=100)
    assert nxt.loc[1, "p_alive"] == 0.5
    dues = pd.DataFrame({"customer_id": [2], "purchases": [3],
                         "next_purchase_date": [pd.Timestamp("2026-04-11")]})
    both = no.customer_next_orders(orders, as_of, clv, dues=dues).set_index("customer_id")
    # E[min(W, 10)] with W ~ Exp(mean 100): (1 - exp(-0.1)) * 100 = 9.5 days
    assert both.loc[2, "next_order_date"] == pd.Timestamp("2026-04-11")
    assert both.loc[2, "next_due_date"] == pd.Timestamp("2026-04-11")
    assert both.loc[1, "next_order_date"] == pd.Timestamp("2026-05-01")


def test_residual_wait_of_gamma_gaps():
    assert no.residual_wait(np.array([40.0]), np.array([100.0]))[0] == 40.0  # memoryless
    # Gamma(k=4) gaps are regular: just after a purchase the wait is about the mean, long
    # overdue it falls toward theta = mean / k
    fresh, late = no.residual_wait(np.array([40.0, 40.0]), np.array([0.0, 200.0]), shape=4.0)
    assert fresh == pytest.approx(40.0)
    assert 10.0 < late < 15.0


def test_next_order_weighs_trial_rebuys_by_their_chance():
    orders = pd.DataFrame({"customer_id": [1], "order_id": [1],
                           "order_date": pd.to_datetime(["2026-03-01"]), "amount": [10.0]})
    clv = pd.DataFrame({"customer_id": [1], "p_alive": [1.0], "expected_purchases_90d": [0.9],
                        "predicted_clv": [1.0]})
    dues = pd.DataFrame({"customer_id": [1, 1], "purchases": [1, 1], "p_rebuy": [0.4, 0.4],
                         "next_purchase_date": pd.to_datetime(["2026-04-21", "2026-04-11"])})
    nxt = no.customer_next_orders(orders, date(2026, 4, 1), clv, dues=dues).iloc[0]
    # W ~ Exp(mean 100); re-buys in 10 and 20 days, each with chance 0.4
    e = 0.4 * (1 - np.exp(-0.1)) * 100 + 0.6 * 0.4 * (1 - np.exp(-0.2)) * 100 + 0.36 * 100
    assert nxt["next_order_date"] == pd.Timestamp("2026-04-01") + pd.Timedelta(days=round(e))
    assert pd.isna(nxt["next_due_date"])  # no habit yet
    assert nxt["next_trip_date"] == pd.Timestamp("2026-04-01") + pd.Timedelta(days=100)


def test_rebuy_days_are_left_out_of_the_trip_rate():
    rows = [(1, i, f"2026-0{1 + i}-01", 7, 1, 10) for i in range(4)]  # monthly re-buys only
    rows += [(2, 10, "2026-01-01", 8, 1, 10), (2, 11, "2026-03-01", 8, 1, 10)]
    lines = _lines(rows)
    rb = no.rebuy_days(lines, [7])
    assert len(rb) == 3 and set(rb["customer_id"]) == {1}
    orders = no.orders_from_lines(lines)
    with_rb = no.customer_next_orders(orders, date(2026, 4, 15), rebuys=rb).set_index(
        "customer_id")
    without = no.customer_next_orders(orders, date(2026, 4, 15)).set_index("customer_id")
    # counted as trips, the monthly re-buys make customer 1 look like a frequent shopper
    assert with_rb.loc[1, "rate_per_day"] < without.loc[1, "rate_per_day"]
