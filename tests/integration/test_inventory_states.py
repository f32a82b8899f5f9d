"""Reserved stock, untracked items and order channels through storage and the plan.

Expected values are set by hand here (a reserved quantity, an untracked item, the channel
of each sandbox source), never read back from the code under test.
"""
from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import func, select, update

from core.channels import CHANNELS, channel_for_source
from core.ingest import load_records
from core.plan import PlanSettings, compute_plan
from core.plan_inputs import read_inputs
from core.records import ShopRecords
from core.storage import (InventorySnapshot, Location, Order, OrderLine, Variant,
                          session_scope)
from sandbox import generate
from sandbox.load import load_sandbox

KNOBS = dict(seed=5, n_skus=10, n_customers=400, n_days=240, n_locations=2)


@pytest.mark.parametrize("source, channel", [
    ("web", "online_store"), ("checkout_next", "online_store"), ("pos", "pos"),
    ("POS", "pos"), ("shopify_draft_order", "draft_order"), ("iphone", "mobile_app"),
    ("android", "mobile_app"), ("2329312", "marketplace"), ("amazon", "marketplace"),
    ("marketplace", "marketplace"), ("my-erp-import", "api"), ("", "unknown"),
    (None, "unknown"), (float("nan"), "unknown")])
def test_channel_table(source, channel):
    assert channel_for_source(source) == channel
    assert channel in CHANNELS


def test_sandbox_orders_get_their_channel_and_keep_the_source(sessions):
    truth = generate(**KNOBS).records.orders
    expected = truth["source"].map({"web": "online_store", "pos": "pos",
                                    "marketplace": "marketplace"})
    assert expected.notna().all()
    with session_scope(sessions) as s:
        shop, _ = load_sandbox(s, "channels", **KNOBS)
        got = dict(s.execute(select(Order.external_id, Order.channel)
                             .where(Order.shop_id == shop.id)).all())
        sources = dict(s.execute(select(Order.external_id, Order.source)
                                 .where(Order.shop_id == shop.id)).all())
    assert got == dict(zip(truth["external_id"], expected))
    assert sources == dict(zip(truth["external_id"], truth["source"]))


def test_a_given_channel_is_kept_and_an_unknown_source_value_never_erases_it(sessions):
    with session_scope(sessions) as s:
        shop, _ = load_sandbox(s, "keep", **KNOBS)
        oid = s.scalar(select(Order.external_id).where(Order.shop_id == shop.id).limit(1))
        created = pd.Timestamp(s.scalar(select(Order.created_at)
                                        .where(Order.external_id == oid)))
        created = created.tz_localize("UTC") if created.tzinfo is None else created
        load_records(s, shop.id, ShopRecords(orders=pd.DataFrame([{
            "external_id": oid, "created_at": created,
            "source": "7000001", "channel": "api"}])))
        assert s.scalar(select(Order.channel).where(Order.external_id == oid)) == "api"
        load_records(s, shop.id, ShopRecords(orders=pd.DataFrame([{
            "external_id": oid, "created_at": created}])))
        assert s.scalar(select(Order.channel).where(Order.external_id == oid)) == "api"


def _plan_rows(s, shop, skus, location_id):
    inp = read_inputs(s, shop, shop_cutoff(s, shop), skus=skus)
    lines, _ = compute_plan(inp, PlanSettings())
    return lines[lines["location_id"] == location_id].set_index("sku")


def shop_cutoff(s, shop):
    from core.plan_inputs import last_order_day

    return last_order_day(s, shop)


def test_reserved_is_subtracted_and_untracked_items_get_no_order(sessions):
    with session_scope(sessions) as s:
        shop, _ = load_sandbox(s, "states", **KNOBS)
        wh = s.scalar(select(Location.id).where(Location.shop_id == shop.id,
                                                Location.external_id == "1"))
        at_wh = InventorySnapshot.location_id == wh
        # the best seller is the one an empty shelf would make the plan reorder
        top = s.execute(select(Variant.sku, Variant.id)
                        .join(OrderLine, OrderLine.variant_id == Variant.id)
                        .where(Variant.shop_id == shop.id, Variant.status != "archived")
                        .group_by(Variant.sku, Variant.id)
                        .order_by(func.sum(OrderLine.quantity).desc(), Variant.sku)).all()
        (sku_r, vid_r), (sku_u, vid_u) = top[0], top[1]
        last_day = s.scalar(select(func.max(InventorySnapshot.day))
                            .where(InventorySnapshot.shop_id == shop.id))
        snap = s.execute(select(InventorySnapshot.on_hand, InventorySnapshot.committed)
                         .where(InventorySnapshot.variant_id == vid_r, at_wh,
                                InventorySnapshot.day == last_day)).one()
        s.execute(update(InventorySnapshot).where(
            InventorySnapshot.variant_id == vid_r, at_wh, InventorySnapshot.day == last_day)
            .values(reserved=3))
        # a fake zero: Shopify reports 0 for an item whose stock it does not count
        s.execute(update(InventorySnapshot).where(
            InventorySnapshot.variant_id == vid_u, at_wh, InventorySnapshot.day == last_day)
            .values(on_hand=0, available=0, committed=0, incoming=0))
        before = _plan_rows(s, shop, [sku_u], wh)
        assert before.loc[sku_u, "recommended_qty"] > 0  # tracked: the zero is believed
        s.execute(update(Variant).where(Variant.id == vid_u).values(tracked=False))
        rows = _plan_rows(s, shop, [sku_r, sku_u], wh)
    assert rows.loc[sku_u, "status"] == "untracked"
    assert rows.loc[sku_u, "recommended_qty"] == 0
    # committed on the plan line is committed + reserved: position drops by the 3 reserved
    assert rows.loc[sku_r, "committed"] == pytest.approx((snap.committed or 0) + 3)
    assert rows.loc[sku_r, "on_hand"] == pytest.approx(snap.on_hand)
