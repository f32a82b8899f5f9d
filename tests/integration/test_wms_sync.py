"""wms_sync against the ShipBob fake on loopback: stock per fulfillment center, WRO receipts
through core.receiving (idempotent re-polls, status moves, learned lead times).

Expected numbers come from the fake's hand-made state, not from the code under test.
"""
from __future__ import annotations

import argparse
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from connector.adapters.shipbob import adapter
from connector.adapters.shipbob.client import ShipBobClient
from connector.adapters.shipbob.sync import receipt_id, wms_sync
from core.shops import get_or_create_shop
from core.storage import (InventorySnapshot, Location, PODelivery, Product, PurchaseOrder,
                          PurchaseOrderLine, Receipt, Supplier, SupplierItem, Variant,
                          make_engine, make_sessionmaker, session_scope, upgrade)
from sandbox.shipbob_fake import ShipBobFake, serve

TOKEN = "pat-wms-token"
FC_CHI, FC_RNO = 10, 11
DAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
#: inventory_id, sku, fc, on_hand, committed, awaiting
STOCK = [(501, "TEA-GREEN", FC_CHI, 120, 15, 40), (501, "TEA-GREEN", FC_RNO, 30, 2, 0),
         (502, "MUG-BLUE", FC_RNO, 55, 5, 10), (503, "NOT-IN-SHOP", FC_CHI, 7, 0, 0)]
SKUS = ("TEA-GREEN", "MUG-BLUE")


@pytest.fixture
def fake():
    fake = ShipBobFake(token=TOKEN)
    fake.state.add_fulfillment_center(FC_CHI, "Chicago (IL)")
    fake.state.add_fulfillment_center(FC_RNO, "Reno (NV)")
    for inv, sku, fc, on_hand, committed, awaiting in STOCK:
        fake.state.add_inventory(inv, sku, fc, on_hand=on_hand, committed=committed,
                                 awaiting=awaiting)
    yield fake
    assert fake.internal_errors == []


@pytest.fixture
def server(fake):
    srv = serve(fake)
    yield srv
    srv.stop()


@pytest.fixture
def client(server):
    return ShipBobClient(server.url, TOKEN, max_retries=1, sleep=lambda s: None, timeout=10)


@pytest.fixture
def sessions(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/wms.db")
    upgrade(engine)
    factory = make_sessionmaker(engine)
    with session_scope(factory) as s:
        shop = get_or_create_shop(s, "wms")
        product = Product(shop_id=shop.id, external_id="p1", title="Tea & mugs")
        supplier = Supplier(shop_id=shop.id, external_id="s1", name="Leaf Co", delivery={})
        s.add_all([product, supplier])
        s.flush()
        for n, sku in enumerate(SKUS):
            v = Variant(shop_id=shop.id, external_id=f"v{n}", product_id=product.id, sku=sku)
            s.add(v)
            s.flush()
            s.add(SupplierItem(shop_id=shop.id, supplier_id=supplier.id, variant_id=v.id,
                               lead_time_days=30.0, lead_time_std_days=0.0))
    yield factory
    engine.dispose()


def sent_po(sessions, client, number: str, sent_at: datetime, quantities: dict[str, int],
            fc: int = FC_CHI) -> int:
    """A sent PO with its WRO at ShipBob and a shipbob PODelivery; returns the WRO id."""
    with session_scope(sessions) as s:
        shop = get_or_create_shop(s, "wms")
        supplier = s.scalar(select(Supplier))
        variants = dict(s.execute(select(Variant.sku, Variant.id)).all())
        po = PurchaseOrder(shop_id=shop.id, number=number, supplier_id=supplier.id,
                           status="sent", sent_at=sent_at, idempotency_key=number,
                           expected_at=(sent_at + timedelta(days=14)).date())
        s.add(po)
        s.flush()
        lines = [PurchaseOrderLine(purchase_order_id=po.id, variant_id=variants[sku], sku=sku,
                                   quantity=q) for sku, q in quantities.items()]
        s.add_all(lines)
        wro = adapter.push_purchase_order(client, po, lines, fc)
        s.add(PODelivery(purchase_order_id=po.id, channel="shipbob", status="sent",
                         remote_ref=str(wro)))
    return wro


def po_state(sessions, number: str):
    with session_scope(sessions) as s:
        po = s.scalar(select(PurchaseOrder).where(PurchaseOrder.number == number))
        got = dict(s.execute(select(PurchaseOrderLine.sku, PurchaseOrderLine.received_quantity)
                             .where(PurchaseOrderLine.purchase_order_id == po.id)).all())
        receipts = s.execute(select(Receipt.external_id, Receipt.quantity, Receipt.source)
                             .where(Receipt.purchase_order_id == po.id)
                             .order_by(Receipt.id)).all()
        return po.status, got, [tuple(r) for r in receipts]


def test_inventory_is_loaded_per_fulfillment_center(sessions, client):
    out = wms_sync(sessions, "wms", client, today=DAY, now=NOW)
    assert (out["locations"], out["inventory"], out["skus_unknown"]) == (2, 3, 1)
    assert out["errors"] == [] and out["orders_polled"] == 0
    with session_scope(sessions) as s:
        rows = s.execute(select(Variant.sku, Location.external_id, Location.name,
                                InventorySnapshot.on_hand, InventorySnapshot.committed,
                                InventorySnapshot.incoming, InventorySnapshot.available,
                                InventorySnapshot.day)
                         .join(Variant, Variant.id == InventorySnapshot.variant_id)
                         .join(Location, Location.id == InventorySnapshot.location_id)).all()
    got = {(r[0], r[1]): tuple(r[2:]) for r in rows}
    assert got == {
        ("TEA-GREEN", "shipbob:10"): ("Chicago (IL)", 120, 15, 40, 105, DAY),
        ("TEA-GREEN", "shipbob:11"): ("Reno (NV)", 30, 2, 0, 28, DAY),
        ("MUG-BLUE", "shipbob:11"): ("Reno (NV)", 55, 5, 10, 50, DAY)}
    wms_sync(sessions, "wms", client, today=DAY, now=NOW)  # same day again: upserted
    with session_scope(sessions) as s:
        assert s.scalar(select(func.count()).select_from(InventorySnapshot)) == 3


def test_wro_receipts_partial_then_complete_and_idempotent(sessions, client, fake):
    wro = sent_po(sessions, client, "PO-W-1", NOW - timedelta(days=9),
                  {"TEA-GREEN": 60, "MUG-BLUE": 24})
    assert wms_sync(sessions, "wms", client, today=DAY, now=NOW)["receipts"] == 0
    assert po_state(sessions, "PO-W-1")[0] == "sent"

    fake.state.receive(wro, {"TEA-GREEN": 40})
    out = wms_sync(sessions, "wms", client, today=DAY, now=NOW)
    assert (out["orders_polled"], out["receipts"], out["units_received"]) == (1, 1, 40)
    status, got, receipts = po_state(sessions, "PO-W-1")
    assert status == "partially_received"
    assert got == {"TEA-GREEN": 40, "MUG-BLUE": 0}
    first = receipt_id(wro, "TEA-GREEN", 40)
    assert first == f"wro:{wro}:TEA-GREEN:40"
    assert receipts == [(f"{first}:TEA-GREEN", 40, "shipbob")]

    out = wms_sync(sessions, "wms", client, today=DAY, now=NOW)  # nothing changed at ShipBob
    assert (out["orders_polled"], out["receipts"], out["units_received"]) == (1, 0, 0)
    assert po_state(sessions, "PO-W-1") == (status, got, receipts)

    fake.state.receive(wro, {"TEA-GREEN": 20, "MUG-BLUE": 24})
    out = wms_sync(sessions, "wms", client, today=DAY, now=NOW)
    assert (out["receipts"], out["units_received"], out["orders_received"]) == (2, 44, 1)
    status, got, receipts = po_state(sessions, "PO-W-1")
    assert status == "received" and got == {"TEA-GREEN": 60, "MUG-BLUE": 24}
    assert receipts == [(f"{first}:TEA-GREEN", 40, "shipbob"),
                        (f"wro:{wro}:MUG-BLUE:24:MUG-BLUE", 24, "shipbob"),
                        (f"wro:{wro}:TEA-GREEN:60:TEA-GREEN", 20, "shipbob")]
    out = wms_sync(sessions, "wms", client, today=DAY, now=NOW)  # received: no longer polled
    assert out["orders_polled"] == 0


def test_lead_times_are_learned_after_three_orders(sessions, client, fake):
    days = [10, 12, 14]
    for n, d in enumerate(days):
        wro = sent_po(sessions, client, f"PO-L-{n}", NOW - timedelta(days=d), {"MUG-BLUE": 5},
                      fc=FC_RNO)
        fake.state.receive(wro, {"MUG-BLUE": 5})
        out = wms_sync(sessions, "wms", client, today=DAY, now=NOW)
        assert out["orders_received"] == 1 and out["errors"] == []
        with session_scope(sessions) as s:
            item = s.scalar(select(SupplierItem).join(Variant, Variant.id
                                                      == SupplierItem.variant_id)
                            .where(Variant.sku == "MUG-BLUE"))
            learned = (item.lead_time_days, item.lead_time_std_days)
        if n < 2:
            assert learned == (30.0, 0.0)  # configured value kept below 3 receipts
    assert learned == (pytest.approx(12.0), pytest.approx(2.0))  # mean 12, sample std 2


def test_errors_are_per_order_and_do_not_stop_others(sessions, client, fake):
    good = sent_po(sessions, client, "PO-E-1", NOW - timedelta(days=5), {"TEA-GREEN": 10})
    sent_po(sessions, client, "PO-E-2", NOW - timedelta(days=5), {"TEA-GREEN": 10})
    with session_scope(sessions) as s:  # PO-E-2 points at a WRO ShipBob does not have
        d = s.scalar(select(PODelivery).join(PurchaseOrder, PurchaseOrder.id
                                             == PODelivery.purchase_order_id)
                     .where(PurchaseOrder.number == "PO-E-2"))
        d.remote_ref = "777777"
    over = sent_po(sessions, client, "PO-E-3", NOW - timedelta(days=5), {"TEA-GREEN": 10})
    fake.state.receive(good, {"TEA-GREEN": 10})
    fake.state.receive(over, {"TEA-GREEN": 15})  # over-receipt, no tolerance set
    out = wms_sync(sessions, "wms", client, today=DAY, now=NOW)
    assert out["receipts"] == 1 and out["orders_received"] == 1
    assert len(out["errors"]) == 2
    assert out["errors"][0].startswith("PO-E-2 (WRO 777777): ShipBob: ")
    assert out["errors"][1].startswith(f"PO-E-3 (WRO {over}): over-receipt of SKU 'TEA-GREEN'")
    assert po_state(sessions, "PO-E-1")[0] == "received"
    assert po_state(sessions, "PO-E-3") == ("sent", {"TEA-GREEN": 0}, [])


def test_cli_wms_sync(server, fake, tmp_path, monkeypatch, capsys):
    from connector.cli_wms import register

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    monkeypatch.setenv("SHIPBOB_TOKEN", TOKEN)
    parser = argparse.ArgumentParser(prog="restock")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["wms", "sync", "--shipbob-url", server.url, "--shop", "cli"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "synced ShipBob into shop cli: 2 locations" in out
    monkeypatch.setenv("SHIPBOB_TOKEN", "wrong")
    assert args.func(args) == 2
    assert "restock: error:" in capsys.readouterr().err
