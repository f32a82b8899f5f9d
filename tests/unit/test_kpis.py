"""KPIs on a hand-made shop with hand-computed values, snapshot upserts, trends and the
before / after comparison.

The shop (window of 10 days ending 2026-01-10, data from 2025-12-25):

- A at the warehouse (price 10, cost 4): 2 units a day from 12-25 to 01-07 (the 01-03
  order on the marketplace, the rest web), 1 unit on 01-08, then out of stock; end-of-day
  available in the window 13, 11, 9, 7, 5, 3, 1, 0, 0, 0. Lost: 01-08 is lifted from 1 to
  the trailing uncensored mean 2, 01-09 and 01-10 from 0 to 2 -> 5 units.
- B at the store (price 20, cost 10): 1 unit a day by POS, available 5 every day; the
  01-05 line is refunded (units still count, revenue does not).
- C archived with no stock and D active but never stocked: not counted in the stockout
  rate. E (no cost, no stock) carries the customer orders of the repurchase cohort.
"""
from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sqlalchemy import select

from core.ingest import load_records
from core.kpis import (channel_of, compare_periods, compute_kpis, dims_key, kpi_series,
                       read_kpi_data, snapshot_kpis, welch)
from core.records import ShopRecords
from core.shops import get_or_create_shop
from core.storage import Customer, CustomerScore, KpiSnapshot, PlanRun, session_scope

DAY = date(2026, 1, 10)
WINDOW = 10


def _ts(d):
    return pd.Timestamp(d).tz_localize("UTC") + pd.Timedelta(hours=12)


def _records() -> ShopRecords:
    orders, lines = [], []

    def order(day, sku, qty, source="web", loc="1", customer=None, refunded=0, cancelled=False,
              price=None):
        oid = f"O{len(orders) + 1}"
        orders.append(dict(external_id=oid, created_at=_ts(day), source=source,
                           location_external_id=loc, customer_external_id=customer,
                           cancelled_at=_ts(day) + pd.Timedelta(minutes=5) if cancelled else None))
        lines.append(dict(external_id=f"L{len(lines) + 1}", order_external_id=oid, sku=sku,
                          quantity=qty, refunded_quantity=refunded, price=price, discount=0.0))

    prices = {"A": 10.0, "B": 20.0, "E": 5.0}
    for d in pd.date_range("2025-12-25", "2026-01-07"):
        order(d, "A", 2, source="marketplace" if d == pd.Timestamp("2026-01-03") else "web",
              price=prices["A"])
    order("2026-01-08", "A", 1, price=prices["A"])
    order("2026-01-02", "A", 5, cancelled=True, price=prices["A"])
    for d in pd.date_range("2025-12-25", "2026-01-10"):
        order(d, "B", 1, source="pos", loc="2", price=prices["B"],
              refunded=1 if d == pd.Timestamp("2026-01-05") else 0,
              customer="c2" if d == pd.Timestamp("2026-01-09") else None)
    for cust, days in {"c1": ["2025-10-05", "2025-11-20"], "c2": ["2025-10-10"],
                       "c3": ["2025-10-04", "2025-10-11", "2025-12-01"],
                       "c4": ["2025-09-01", "2025-12-01"]}.items():
        for d in days:
            order(d, "E", 1, customer=cust, price=prices["E"])

    inv = []
    a_window = [13, 11, 9, 7, 5, 3, 1, 0, 0, 0]
    for i, d in enumerate(pd.date_range("2025-12-25", "2026-01-10")):
        a = 15 if i < 7 else a_window[i - 7]
        inv += [dict(sku="A", location_external_id="1", date=d, available=a, on_hand=a),
                dict(sku="B", location_external_id="2", date=d, available=5, on_hand=5),
                dict(sku="C", location_external_id="1", date=d, available=0, on_hand=0),
                dict(sku="D", location_external_id="1", date=d, available=0, on_hand=0)]
    variants = pd.DataFrame({
        "external_id": ["vA", "vB", "vC", "vD", "vE"], "product_external_id": "p1",
        "sku": ["A", "B", "C", "D", "E"], "price": [10.0, 20.0, 5.0, 5.0, 5.0],
        "unit_cost": [4.0, 10.0, 2.0, 2.0, None],
        "status": ["active", "active", "archived", "active", "active"]})
    return ShopRecords(
        locations=pd.DataFrame({"external_id": ["1", "2"], "name": ["WH", "Shop 1"],
                                "kind": ["warehouse", "store"]}),
        products=pd.DataFrame({"external_id": ["p1"], "title": ["Thing"]}),
        variants=variants,
        customers=pd.DataFrame({"external_id": ["c1", "c2", "c3", "c4"]}),
        orders=pd.DataFrame(orders), order_lines=pd.DataFrame(lines),
        inventory=pd.DataFrame(inv))


@pytest.fixture
def shop(sessions):
    with session_scope(sessions) as s:
        sh = get_or_create_shop(s, "kpi", timezone="UTC")
        load_records(s, sh.id, _records())
        cid = dict(s.execute(select(Customer.external_id, Customer.id)
                             .where(Customer.shop_id == sh.id)).all())
        scores = [("2026-01-01", "c1", "champions", 500.0),
                  ("2026-01-05", "c1", "champions", 100.0),
                  ("2026-01-05", "c2", "champions", 50.0),
                  ("2026-01-05", "c3", "at_risk", 30.0),
                  ("2026-01-05", "c4", None, 999.0),
                  ("2026-01-20", "c1", "champions", 1.0)]
        for d, c, seg, clv in scores:
            s.add(CustomerScore(shop_id=sh.id, customer_id=cid[c], scored_on=date.fromisoformat(d),
                                segment=seg, predicted_clv=clv))
        for cut, status, m, w, b in [("2026-01-03", "done", 0.9, 0.4, 0.1),
                                     ("2026-01-08", "done", 0.8, 0.3, -0.05),
                                     ("2026-01-09", "failed", 5.0, 5.0, 5.0),
                                     ("2026-01-12", "done", 0.1, 0.1, 0.1)]:
            s.add(PlanRun(shop_id=sh.id, data_cutoff=date.fromisoformat(cut), status=status,
                          settings={}, mase=m, wape=w, bias=b))
    return sessions, sh


def _kpis(session, sh):
    return {(n, dims_key(d)): v for n, d, v in
            compute_kpis(read_kpi_data(session, sh, DAY, WINDOW))}


def test_hand_computed_kpis(shop):
    sessions, sh = shop
    with session_scope(sessions) as s:
        k = _kpis(s, sh)
    sold, lost = 15 + 10, 5.0
    cogs = 15 * 4 + 10 * 10
    avg_value = (4 * (13 + 11 + 9 + 7 + 5 + 3 + 1) + 10 * 5 * 10) / 10  # 69.6
    assert k[("stockout_rate", "")] == pytest.approx(3 / 20)  # A out 3 of 10 days, B never
    assert k[("units_sold", "")] == sold
    assert k[("lost_units", "")] == pytest.approx(lost)
    assert k[("fill_rate", "")] == pytest.approx(sold / (sold + lost))  # 0.8333
    assert k[("revenue", "")] == pytest.approx(15 * 10 + 10 * 20 - 20)
    assert k[("cogs", "")] == pytest.approx(cogs)
    assert k[("inventory_value", "")] == pytest.approx(5 * 10)
    assert k[("inventory_turnover", "")] == pytest.approx(cogs * 365 / WINDOW / avg_value)
    assert k[("days_of_cover", "")] == pytest.approx(50 / (cogs / WINDOW))  # 3.125
    assert k[("lost_revenue", "")] == pytest.approx(lost * 10)
    # cohort R = 2025-10-03..10-12: c1 (again 11-20), c2 (only after 90 days), c3 (12-01)
    assert k[("repurchase_rate", "")] == pytest.approx(2 / 3)
    assert k[("repurchase_cohort", "")] == 3
    assert k[("ltv_mean", "segment=champions")] == pytest.approx(75.0)
    assert k[("ltv_mean", "segment=at_risk")] == pytest.approx(30.0)
    assert k[("segment_customers", "segment=champions")] == 2
    assert ("ltv_mean", "segment=None") not in k
    assert (k[("forecast_mase", "")], k[("forecast_wape", "")], k[("forecast_bias", "")]) == \
        pytest.approx((0.8, 0.3, -0.05))


def test_channel_breakdown(shop):
    sessions, sh = shop
    with session_scope(sessions) as s:
        k = _kpis(s, sh)
    pos = "channel=pos,location=Shop 1"
    assert k[("channel_units", "channel=web")] == 13
    assert k[("channel_units", "channel=marketplace")] == 2
    assert k[("channel_units", pos)] == 10
    assert k[("channel_revenue", "channel=web")] == pytest.approx(130)
    assert k[("channel_revenue", pos)] == pytest.approx(180)
    # A's 5 lost units split by A's channel shares over the read range: 27 web, 2 marketplace
    assert k[("channel_lost_units", "channel=web")] == pytest.approx(5 * 27 / 29)
    assert k[("channel_lost_units", "channel=marketplace")] == pytest.approx(5 * 2 / 29)
    assert k[("channel_lost_units", pos)] == 0
    assert k[("channel_fill_rate", "channel=web")] == pytest.approx(13 / (13 + 5 * 27 / 29))
    assert k[("channel_fill_rate", pos)] == 1.0


def test_channel_names():
    assert channel_of("web") == {"channel": "web"}
    assert channel_of("Online_Store") == {"channel": "web"}
    assert channel_of("pos", "Store 2") == {"channel": "pos", "location": "Store 2"}
    assert channel_of("amazon") == {"channel": "amazon"}
    assert channel_of(None) == {"channel": "unknown"}
    assert dims_key({"location": "S", "channel": "pos"}) == "channel=pos,location=S"
    assert dims_key({}) == ""


def _rows(session, sh):
    return sorted((r.id, r.name, r.dims_key, r.value) for r in session.scalars(
        select(KpiSnapshot).where(KpiSnapshot.shop_id == sh.id, KpiSnapshot.day == DAY)))


def test_snapshot_is_an_idempotent_upsert(shop):
    sessions, sh = shop
    with session_scope(sessions) as s:
        first = snapshot_kpis(s, sh, DAY, WINDOW)
    with session_scope(sessions) as s:
        rows1 = _rows(s, sh)
        again = snapshot_kpis(s, sh, DAY, WINDOW)
    with session_scope(sessions) as s:
        rows2 = _rows(s, sh)
    assert rows1 == rows2 and len(rows1) == first["written"] == again["written"]
    assert first["kpis"]["fill_rate"][""] == pytest.approx(25 / 30)
    # scores gone: the day's segment rows are removed on the next run, the rest updated
    with session_scope(sessions) as s:
        for sc in s.scalars(select(CustomerScore).where(CustomerScore.shop_id == sh.id)):
            s.delete(sc)
    with session_scope(sessions) as s:
        third = snapshot_kpis(s, sh, DAY, WINDOW)
        rows3 = _rows(s, sh)
    assert third["deleted"] == 4
    assert len(rows3) == len(rows1) - 4
    assert {r[0] for r in rows3} <= {r[0] for r in rows1}  # updated in place, not re-inserted


def _put_series(sessions, sh, name, values: dict):
    with session_scope(sessions) as s:
        for d, v in values.items():
            s.add(KpiSnapshot(shop_id=sh.id, day=d, name=name, dims_key="", dims={}, value=v))


def test_kpi_series_and_welch_comparison(shop):
    sessions, sh = shop
    before = [0.80, 0.82, 0.78, 0.81]
    after = [0.90, 0.87, 0.93, 0.91]
    change = date(2026, 2, 10)
    values = {date(2026, 2, 6 + i): v for i, v in enumerate(before)}
    values[change] = 0.5  # the change day itself is left out
    values.update({date(2026, 2, 11 + i): v for i, v in enumerate(after)})
    values[date(2026, 1, 1)] = 0.1  # outside both periods
    _put_series(sessions, sh, "fill_rate_test", values)
    with session_scope(sessions) as s:
        series = kpi_series(s, sh, "fill_rate_test")
        since = kpi_series(s, sh, "fill_rate_test", since=date(2026, 2, 11))
        cmp = compare_periods(s, sh, "fill_rate_test", change, days=4)
    assert list(series["day"]) == sorted(values)
    assert list(since["value"]) == pytest.approx(after)
    assert (cmp["n_before"], cmp["n_after"]) == (4, 4)
    assert cmp["mean_before"] == pytest.approx(np.mean(before))
    assert cmp["difference"] == pytest.approx(np.mean(after) - np.mean(before))
    ref = stats.ttest_ind(after, before, equal_var=False)
    assert cmp["p_value"] == pytest.approx(ref.pvalue)
    se = np.sqrt(np.var(before, ddof=1) / 4 + np.var(after, ddof=1) / 4)
    assert cmp["se"] == pytest.approx(se)
    q = stats.t.ppf(0.975, cmp["df"])
    assert (cmp["ci_low"], cmp["ci_high"]) == pytest.approx(
        (cmp["difference"] - q * se, cmp["difference"] + q * se))
    assert cmp["ci_low"] > 0
    short = welch(np.array([1.0]), np.array([2.0, 3.0]))
    assert short["difference"] == 1.5 and np.isnan(short["ci_low"])


def test_empty_shop(sessions):
    with session_scope(sessions) as s:
        sh = get_or_create_shop(s, "empty", timezone="Europe/Berlin")
        out = snapshot_kpis(s, sh, DAY)
    k = out["kpis"]
    assert k["units_sold"][""] == 0 and k["lost_units"][""] == 0
    for name in ("stockout_rate", "fill_rate", "inventory_turnover", "days_of_cover",
                 "repurchase_rate"):
        assert k[name][""] is None
    assert "forecast_mase" not in k and "channel_units" not in k
