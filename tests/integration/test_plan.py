"""A plan over a small sandbox shop (SQLite and PostgreSQL), and plan edge cases."""
import pandas as pd
import pytest
from sqlalchemy import func, select

from core.ingest import load_records
from core.plan import run_plan
from core.records import ShopRecords
from core.shops import get_or_create_shop
from core.storage import (PlanLine, PurchaseOrder, PurchaseOrderLine, SupplierItem, Variant,
                          session_scope)
from sandbox.load import load_sandbox

KNOBS = dict(seed=4, n_skus=30, n_customers=2500, n_days=420, n_locations=2)


@pytest.fixture
def planned(sessions):
    with session_scope(sessions) as s:
        shop, _ = load_sandbox(s, "small", **KNOBS)
        run = run_plan(s, shop)
        return shop.id, run.id


def test_plan_covers_active_skus_and_respects_pack_rules(sessions, planned):
    shop_id, run_id = planned
    from sandbox import generate

    sb = generate(**KNOBS)
    with session_scope(sessions) as s:
        lines = s.scalars(select(PlanLine).where(PlanLine.plan_run_id == run_id)).all()
        rules = {v: (m, c) for v, m, c in s.execute(
            select(SupplierItem.variant_id, SupplierItem.moq, SupplierItem.case_pack))}
        archived = set(s.scalars(select(Variant.sku).where(Variant.status == "archived")))
    sold = sb.records.order_lines.merge(sb.records.orders[["external_id", "cancelled_at"]],
                                        left_on="order_external_id", right_on="external_id")
    sold_skus = set(sold.loc[sold["cancelled_at"].isna(), "sku"]) - archived
    planned_skus = {l.sku for l in lines}
    assert sold_skus <= planned_skus
    assert not (planned_skus & archived)
    assert {l.list for l in lines} <= {"staple", "seasonal"}
    for l in lines:
        moq, case = rules[l.variant_id]
        assert l.recommended_qty == 0 or (l.recommended_qty >= moq and
                                          l.recommended_qty % case == 0), l.sku
        assert l.order_up_to >= l.safety_stock >= 0
        position = l.on_hand + l.on_order - l.committed
        if l.recommended_qty > 0:  # up to S within half a case, never below the ROP
            after = position + l.recommended_qty
            assert after >= l.reorder_point - 0.5
            assert after >= l.order_up_to - case / 2 - 0.5
            assert after < l.order_up_to + max(moq, case) + 0.5
    assert any(l.recommended_qty > 0 for l in lines)


def test_draft_purchase_orders_group_the_recommendations(sessions, planned):
    shop_id, run_id = planned
    with session_scope(sessions) as s:
        rec = s.execute(select(PlanLine.supplier_id, PlanLine.location_id,
                               func.sum(PlanLine.recommended_qty))
                        .where(PlanLine.plan_run_id == run_id, PlanLine.recommended_qty > 0)
                        .group_by(PlanLine.supplier_id, PlanLine.location_id)).all()
        pos = s.execute(select(PurchaseOrder.supplier_id, PurchaseOrder.location_id,
                               func.sum(PurchaseOrderLine.quantity))
                        .join(PurchaseOrderLine)
                        .where(PurchaseOrder.status == "draft")
                        .group_by(PurchaseOrder.supplier_id, PurchaseOrder.location_id)).all()
        assert sorted(rec) == sorted(pos)
        # planning again replaces the drafts instead of adding to them
        from core.storage import Shop

        run_plan(s, s.get(Shop, shop_id))
        assert s.scalar(select(func.count()).select_from(PurchaseOrder)) == len(pos)


def test_short_history_and_no_sales_get_a_status_not_a_crash(sessions):
    days = pd.date_range("2026-03-01", periods=10)
    rec = ShopRecords(
        locations=pd.DataFrame({"external_id": ["1"], "name": ["WH"]}),
        products=pd.DataFrame({"external_id": ["p"], "title": ["P"]}),
        variants=pd.DataFrame({"external_id": ["a", "b"], "product_external_id": ["p", "p"],
                               "sku": ["NEW", "IDLE"]}),
        orders=pd.DataFrame({"external_id": [f"o{i}" for i in range(10)],
                             "created_at": days.tz_localize("UTC"),
                             "location_external_id": "1"}),
        order_lines=pd.DataFrame({"external_id": [f"o{i}:1" for i in range(10)],
                                  "order_external_id": [f"o{i}" for i in range(10)],
                                  "sku": "NEW", "quantity": 2}),
        inventory=pd.DataFrame({"sku": ["NEW", "IDLE"], "location_external_id": "1",
                                "date": [days[-1], days[-1]], "available": [5, 40],
                                "on_hand": [5, 40]}))
    with session_scope(sessions) as s:
        shop = get_or_create_shop(s, "tiny")
        load_records(s, shop.id, rec)
        run = run_plan(s, shop)
        got = {l.sku: l for l in s.scalars(select(PlanLine).where(PlanLine.plan_run_id == run.id))}
    assert got["NEW"].status == "insufficient_history"
    assert got["NEW"].forecast_daily == pytest.approx(2.0)  # the mean of what it has
    assert got["IDLE"].status == "insufficient_history" and got["IDLE"].forecast_daily == 0
    assert got["NEW"].recommended_qty == 0  # no supplier: nothing to order from
