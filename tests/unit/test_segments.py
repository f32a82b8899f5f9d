"""RFM scores and segment names, the CPM grid, segment movement and persisted scores."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from core.segments import (CPM_GROUPS, SEGMENTS, cpm_groups, quintile_scores,
                           score_customers, score_shop, segment_movement, segment_name,
                           segment_sizes)
from core.storage import Customer, CustomerScore, Order, OrderLine, Shop, session_scope

AS_OF = date(2026, 6, 30)
#: customer: (days since last order, orders, total spend, days between orders)
PEOPLE = {
    1: (5, 1, 50.0, 0), 2: (10, 8, 900.0, 30), 3: (15, 6, 700.0, 100), 4: (20, 2, 60.0, 400),
    5: (40, 4, 300.0, 20), 6: (60, 3, 200.0, 200), 7: (120, 7, 800.0, 60),
    8: (200, 5, 400.0, 50), 9: (300, 1, 30.0, 0), 10: (150, 2, 100.0, 250)}
# worked out by hand from the rule "1 + floor(5 x share strictly worse)"
R = {1: 5, 2: 5, 3: 4, 4: 4, 5: 3, 6: 3, 7: 2, 8: 1, 9: 1, 10: 2}
F = {1: 1, 2: 5, 3: 4, 4: 2, 5: 3, 6: 3, 7: 5, 8: 4, 9: 1, 10: 2}
M = {1: 1, 2: 5, 3: 4, 4: 2, 5: 3, 6: 3, 7: 5, 8: 4, 9: 1, 10: 2}
NAMES = {1: "new", 2: "champions", 3: "champions", 4: "promising", 5: "loyal", 6: "loyal",
         7: "at_risk", 8: "at_risk", 9: "lost", 10: "hibernating"}
# typical interval = median of the 29 gaps = 60 days: active when last order <= 120 days
# ago; median spend 250; frequent = established, high and mean gap <= 60 days
CPM = {1: "active_new_low", 2: "active_new_high", 3: "active_established_high",
       4: "active_established_low", 5: "active_new_high", 6: "active_established_low",
       7: "active_established_high_frequent", 8: "lapsed_established_high_frequent",
       9: "lapsed_new_low", 10: "lapsed_established_low"}


def orders_frame(people=PEOPLE, as_of=AS_OF) -> pd.DataFrame:
    rows, oid = [], 0
    for cid, (recency, n, spend, gap) in people.items():
        last = pd.Timestamp(as_of) - pd.Timedelta(days=recency)
        for k in range(n):
            oid += 1
            rows.append((cid, oid, last - pd.Timedelta(days=gap * (n - 1 - k)), spend / n))
    return pd.DataFrame(rows, columns=["customer_id", "order_id", "order_date", "amount"])


def test_quintiles_of_distinct_values_and_ties():
    assert quintile_scores(pd.Series(range(10))).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert quintile_scores(pd.Series(range(10)), higher_is_better=False).tolist() == \
        [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    # 7 of 10 bought once: they share the lowest score, the rest rank above them
    assert quintile_scores(pd.Series([1] * 7 + [2, 3, 9])).tolist() == [1] * 7 + [4, 5, 5]


@pytest.mark.parametrize("r", range(1, 6))
@pytest.mark.parametrize("f", range(1, 6))
@pytest.mark.parametrize("m", range(1, 6))
def test_segment_rule_table(r, f, m):
    fm = int(np.floor((f + m) / 2 + 0.5))
    grid = {5: ["promising", "promising", "loyal", "champions", "champions"],
            4: ["promising", "promising", "loyal", "champions", "champions"],
            3: ["promising", "promising", "loyal", "loyal", "loyal"],
            2: ["hibernating", "hibernating", "at_risk", "at_risk", "at_risk"],
            1: ["lost", "lost", "at_risk", "at_risk", "at_risk"]}
    expected = "new" if r >= 4 and f == 1 else grid[r][fm - 1]
    assert segment_name(r, f, m) == expected


def test_scores_and_segments_of_hand_made_customers():
    s = score_customers(orders_frame(), AS_OF).set_index("customer_id")
    assert s["recency_score"].to_dict() == R
    assert s["frequency_score"].to_dict() == F
    assert s["monetary_score"].to_dict() == M
    assert s["segment"].to_dict() == NAMES
    assert set(s["segment"]) == set(SEGMENTS)
    assert s.loc[7, "rfm"] == "255" and s.loc[7, "recency_days"] == 120
    assert s.loc[2, "orders"] == 8 and s.loc[2, "monetary"] == pytest.approx(900.0)
    assert s["next_order_date"].notna().all()
    assert (s["next_order_date"] >= pd.Timestamp(AS_OF)).all()


def test_cpm_groups_of_hand_made_customers():
    s = score_customers(orders_frame(), AS_OF).set_index("customer_id")
    assert s["cpm_group"].to_dict() == CPM


def test_cpm_groups_reach_all_ten_and_partition():
    now = pd.Timestamp(AS_OF)
    table = pd.DataFrame({  # lapsed new high, lapsed established high (not frequent)
        "first_order": [now - pd.Timedelta(days=300), now - pd.Timedelta(days=900)],
        "last_order": [now - pd.Timedelta(days=200), now - pd.Timedelta(days=500)],
        "purchase_days": [3, 3], "monetary": [500.0, 600.0],
        "recency_days": [200, 500], "tenure_days": [300, 900]})
    table = pd.concat([table, table.assign(monetary=[1.0, 2.0])], ignore_index=True)
    assert cpm_groups(table, 30.0).tolist() == ["lapsed_new_high", "lapsed_established_high",
                                                "lapsed_new_low", "lapsed_established_low"]
    rng = np.random.default_rng(3)
    people = {i: (int(rng.integers(0, 700)), int(rng.integers(1, 12)),
                  float(rng.gamma(2.0, 80.0)), int(rng.integers(5, 90))) for i in range(1, 401)}
    s = score_customers(orders_frame(people), AS_OF)
    sizes = segment_sizes(s, "cpm_group")
    assert list(sizes.index) == list(CPM_GROUPS) and len(CPM_GROUPS) == 10
    assert sizes["customers"].sum() == len(s) == 400 and s["cpm_group"].isin(CPM_GROUPS).all()
    assert (sizes["customers"] > 0).sum() == 10
    assert sizes["share"].sum() == pytest.approx(1.0, abs=1e-3)
    seg = segment_sizes(s)
    assert list(seg.index) == list(SEGMENTS) and seg["customers"].sum() == 400


def test_orders_after_the_day_are_ignored_and_clv_is_merged():
    o = orders_frame()
    later = pd.DataFrame({"customer_id": [9, 11], "order_id": [900, 901],
                          "order_date": pd.to_datetime(["2026-07-02", "2026-07-03"]),
                          "amount": [1000.0, 5.0]})
    clv = pd.DataFrame({"customer_id": [2, 9], "p_alive": [0.9, 0.2],
                        "expected_purchases_90d": [2.7, 0.1], "predicted_clv": [400.0, 3.0]})
    s = score_customers(pd.concat([o, later]), AS_OF, clv).set_index("customer_id")
    assert len(s) == 10 and s.loc[9, "segment"] == "lost"
    assert s.loc[2, "p_alive"] == 0.9 and np.isnan(s.loc[3, "p_alive"])
    # customer 2 buys at 2.7 / (90 x 0.9) = 1/30 a day: next order 30 days out
    assert s.loc[2, "next_order_date"] == pd.Timestamp(AS_OF) + pd.Timedelta(days=30)
    assert segment_sizes(s.reset_index()).loc["champions", "predicted_clv"] == 400.0


def test_segment_movement_matrix():
    prev = pd.DataFrame({"customer_id": [1, 2, 3], "segment": ["new", "champions", "loyal"]})
    curr = pd.DataFrame({"customer_id": [1, 2, 4], "segment": ["promising", "champions", "new"]})
    m = segment_movement(prev, curr)
    assert list(m.index) == list(m.columns) == [*SEGMENTS, "(none)"]
    assert m.loc["new", "promising"] == 1 and m.loc["champions", "champions"] == 1
    assert m.loc["loyal", "(none)"] == 1 and m.loc["(none)", "new"] == 1
    assert m.to_numpy().sum() == 4
    o = orders_frame()
    before = score_customers(o, AS_OF - timedelta(days=30))
    after = score_customers(o, AS_OF)
    move = segment_movement(before, after)
    assert move.to_numpy().sum() == 10
    assert move.loc["(none)"].sum() == 1  # only customer 1 first ordered in the 30 days
    assert move.loc["(none)", "new"] == 1  # customer 1, first order 5 days ago
    grid = segment_movement(before, after, "cpm_group")
    assert grid.shape == (11, 11) and grid.to_numpy().sum() == 10


def _shop(session) -> Shop:
    shop = Shop(name="seg")
    session.add(shop)
    session.flush()
    t0 = datetime(2026, 1, 5, 12, tzinfo=timezone.utc)
    for i in range(1, 5):
        c = Customer(shop_id=shop.id, external_id=f"c{i}", accepts_marketing=True)
        session.add(c)
        session.flush()
        for k in range(i):
            o = Order(shop_id=shop.id, external_id=f"o{i}-{k}", customer_id=c.id,
                      created_at=t0 + timedelta(days=20 * k + i))
            session.add(o)
            session.flush()
            session.add(OrderLine(shop_id=shop.id, external_id=f"l{i}-{k}", order_id=o.id,
                                  sku="X", quantity=2, refunded_quantity=1 if k == 1 else 0,
                                  price=10.0, discount=2.0))
    session.add(Order(shop_id=shop.id, external_id="cancelled", customer_id=c.id,
                      created_at=t0, cancelled_at=t0))
    return shop


def test_score_shop_writes_one_row_per_customer_and_day(sessions):
    clv = None
    with session_scope(sessions) as s:
        shop = _shop(s)
        ids = dict(s.execute(select(Customer.external_id, Customer.id)).all())
        clv = pd.DataFrame({"customer_id": [ids["c4"]], "p_alive": [0.8],
                            "expected_purchases_90d": [1.2], "predicted_clv": [55.0]})
        first = score_shop(s, shop, date(2026, 4, 1), clv)
    with session_scope(sessions) as s:
        shop = s.scalar(select(Shop))
        again = score_shop(s, shop, date(2026, 4, 1), clv)
        score_shop(s, shop, date(2026, 4, 2), clv)
    pd.testing.assert_frame_equal(first, again)
    with session_scope(sessions) as s:
        per_day = dict(s.execute(select(CustomerScore.scored_on, func.count())
                                 .group_by(CustomerScore.scored_on)).all())
        assert per_day == {date(2026, 4, 1): 4, date(2026, 4, 2): 4}
        row = s.scalar(select(CustomerScore)
                       .join(Customer, Customer.id == CustomerScore.customer_id)
                       .where(Customer.external_id == "c4",
                              CustomerScore.scored_on == date(2026, 4, 1)))
        assert row.p_alive == 0.8 and row.predicted_clv == 55.0 and row.segment in SEGMENTS
        assert row.next_order_date is not None and row.cpm_group in CPM_GROUPS
    c4 = first.set_index("customer_id").loc[ids["c4"]]
    # 4 orders of 2 units x 10 - 2 discount; the second had 1 unit refunded: 18 x 3 + 9
    assert c4["orders"] == 4 and c4["monetary"] == pytest.approx(63.0)
