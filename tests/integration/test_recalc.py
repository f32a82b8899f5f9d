"""Targeted recalculation changes only the touched SKUs and matches a full plan for them."""
import pandas as pd
import pytest
from sqlalchemy import select

from core.ingest import load_records
from core.plan import run_plan
from core.recalc import recalc_skus
from core.records import ShopRecords
from core.storage import PlanLine, Shop, session_scope
from sandbox.load import load_sandbox


def _lines(s, run_id):
    return {(l.sku, l.location_id): l for l in s.scalars(
        select(PlanLine).where(PlanLine.plan_run_id == run_id))}


def test_recalc_touches_only_given_skus_and_sees_new_stock(sessions):
    with session_scope(sessions) as s:
        shop, _ = load_sandbox(s, "r", seed=5, n_skus=20, n_customers=800, n_days=300,
                               n_locations=1)
        run = run_plan(s, shop)
        before = _lines(s, run.id)
    (sku, loc), target = next((k, l) for k, l in sorted(before.items())
                              if l.status == "ok" and l.recommended_qty > 0)
    with session_scope(sessions) as s:
        shop = s.scalar(select(Shop).where(Shop.name == "r"))
        from core.storage import Location

        ext = s.get(Location, loc).external_id
        day = pd.Timestamp(run.data_cutoff)
        # a big delivery lands: the SKU's stock jumps to well above its order-up-to level
        big = int(target.order_up_to) + 500
        load_records(s, shop.id, ShopRecords(inventory=pd.DataFrame({
            "sku": [sku], "location_external_id": [ext], "date": [day], "available": [big],
            "on_hand": [big], "committed": [0], "incoming": [0]})))
        assert recalc_skus(s, shop, [sku]) >= 1
        after = _lines(s, run.id)
    assert after[(sku, loc)].on_hand == big
    assert after[(sku, loc)].recommended_qty == 0
    # same data but the last day's stockout flag: the order-up-to level barely moves
    assert after[(sku, loc)].order_up_to == pytest.approx(target.order_up_to, rel=0.05)
    for key, line in before.items():
        if key[0] != sku:
            assert after[key].recommended_qty == line.recommended_qty
            assert after[key].id == line.id  # untouched rows are not rewritten
