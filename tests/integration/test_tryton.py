"""The Tryton adapter against a real trytond 8.2 server on 127.0.0.1 (one per module).

The server, its database and its data come from scripts/tryton_server.py; expected values
come from that script's DEFAULT_SEED, not from the adapter under test.
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import threading
import time
import uuid
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

try:
    import trytond  # noqa: F401
    HAVE_TRYTOND = True
except ImportError:
    HAVE_TRYTOND = False

NO_TRYTOND = ("skipped: trytond is not installed (pip install 'trytond>=8.2,<8.3' "
              "'trytond-stock>=8.2,<8.3' 'trytond-purchase>=8.2,<8.3' "
              "'trytond-stock-supply>=8.2,<8.3')")
pytestmark = pytest.mark.slow

from connector.adapters.tryton.adapter import (pull, pull_receipts, push_purchase,  # noqa: E402
                                               tryton_id)
from connector.adapters.tryton.client import (TrytonAuthError, TrytonClient,  # noqa: E402
                                              TrytonError, TrytonUnavailable)
from connector.adapters.tryton.sync import (apply_receipts, erp_sync,  # noqa: E402
                                            send_purchase_order)
from core.shops import get_or_create_shop  # noqa: E402
from core.storage import (InventorySnapshot, Location, PurchaseOrder,  # noqa: E402
                          PurchaseOrderLine, Receipt, Supplier, SupplierItem, Variant,
                          make_engine, make_sessionmaker, session_scope, upgrade)

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "tryton_server.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("restock_tryton_server", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ts = _load_script()
SEED = ts.DEFAULT_SEED
SKUS = {p["code"] + v["suffix"] for p in SEED["products"] for v in p["variants"]}


def _expected_stock() -> dict[tuple[str, str], float]:
    """(warehouse code, sku) -> quantity, zero where the seed put nothing."""
    out = {(w["code"], sku): 0.0 for w in SEED["warehouses"] for sku in SKUS}
    for part in ("inventory", "incoming"):
        for code, quantities in SEED[part].items():
            for sku, q in quantities.items():
                out[(code, sku)] += q
    return out


@pytest.fixture(scope="module")
def tryton():
    """A running, seeded server: (url, user, password, seeded ids, seconds to start)."""
    if not HAVE_TRYTOND:
        pytest.skip(NO_TRYTOND)
    started = time.perf_counter()
    with ts.running_tryton(db_name="restock_it") as (url, user, password):
        took = time.perf_counter() - started
        ids = ts.seed(TrytonClient(url, user, password))
        yield {"url": url, "user": user, "password": password, "ids": ids, "start_s": took}


@pytest.fixture(scope="module")
def client(tryton):
    c = TrytonClient(tryton["url"], tryton["user"], tryton["password"])
    c.login()
    return c


@pytest.fixture(scope="module")
def restock_db(tmp_path_factory, tryton, client):
    """A migrated SQLite restock database with the Tryton data synced into shop 'erp'."""
    path = tmp_path_factory.mktemp("restock") / "restock.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    counts = erp_sync(sessions, "erp", client)
    yield {"sessions": sessions, "counts": counts, "url": f"sqlite:///{path}"}
    engine.dispose()


def test_server_started_and_reports_its_version(tryton):
    r = requests.post(tryton["url"].rsplit("/", 1)[0] + "/rpc/", timeout=5,
                      json={"id": 1, "method": "common.server.version", "params": []})
    assert r.json()["result"].startswith("8.")
    assert tryton["start_s"] < 600


def test_timedelta_travels_as_seconds(tryton, client):
    """Raw wire format of product_supplier.lead_time, and the client's decoding of it."""
    ps = tryton["ids"]["product_suppliers"][("COF-250", "Acme Beans")]
    body = {"id": 7, "method": "model.purchase.product_supplier.read",
            "params": [[ps], ["lead_time"], client.context]}
    raw = client.http.post(client.rpc_url, data=json.dumps(body), timeout=10, headers={
        "Content-Type": "application/json", "Authorization": client._auth}).json()
    assert raw["result"][0]["lead_time"] == {"__class__": "timedelta", "seconds": 7 * 86400.0}
    assert client.read("purchase.product_supplier", [ps], ["lead_time"])[0]["lead_time"] \
        == dt.timedelta(days=7)


def test_pull_equals_the_seed(tryton, client):
    rec = pull(client)
    assert set(rec.variants["sku"]) == SKUS
    by_sku = rec.variants.set_index("sku")
    for p in SEED["products"]:
        for v in p["variants"]:
            row = by_sku.loc[p["code"] + v["suffix"]]
            assert row["title"] == p["name"]
            assert row["price"] == pytest.approx(float(p["list_price"]))
            assert row["unit_cost"] == pytest.approx(float(v["cost_price"]))
    wh = tryton["ids"]["warehouses"]
    assert set(rec.locations["external_id"]) == {f"tryton:{i}" for i in wh.values()}
    code_of = {f"tryton:{i}": code for code, i in wh.items()}
    got = {(code_of[r.location_external_id], r.sku): r.on_hand
           for r in rec.inventory.itertuples()}
    assert got == _expected_stock()
    assert (rec.inventory["available"] == rec.inventory["on_hand"]).all()
    assert set(rec.inventory["date"]) == {dt.datetime.combine(dt.date.today(), dt.time())}

    sup = rec.suppliers.set_index("name")
    assert set(sup.index) == {s["name"] for s in SEED["suppliers"]}
    for s in SEED["suppliers"]:
        assert (sup.loc[s["name"], "email"] or None) == s["email"]
        assert sup.loc[s["name"], "external_id"] == \
            f"tryton:{tryton['ids']['suppliers'][s['name']]}"
    name_of = dict(zip(rec.suppliers["external_id"], rec.suppliers["name"]))
    items = {(name_of[r.supplier_external_id], r.sku): r for r in rec.supplier_items.itertuples()}
    assert set(items) == {(ps["supplier"], ps["sku"]) for ps in SEED["product_suppliers"]}
    for ps in SEED["product_suppliers"]:
        item = items[(ps["supplier"], ps["sku"])]
        assert item.lead_time_days == pytest.approx(ps["lead_time_days"])
        assert (item.supplier_sku or None) == ps["code"]
        if ps["price"] is None:
            assert item.unit_cost is None or item.unit_cost != item.unit_cost  # None / NaN
        else:
            assert item.unit_cost == pytest.approx(float(ps["price"]))


def test_erp_sync_loads_into_restock(tryton, restock_db, client):
    sessions = restock_db["sessions"]
    assert restock_db["counts"]["variants"] == len(SKUS)
    assert restock_db["counts"]["tryton_suppliers"] == len(SEED["suppliers"])
    with session_scope(sessions) as s:
        shop = get_or_create_shop(s, "erp")
        assert set(s.scalars(select(Variant.sku).where(Variant.shop_id == shop.id))) == SKUS
        rows = s.execute(select(Location.external_id, Variant.sku, InventorySnapshot.on_hand)
                         .join(Location, Location.id == InventorySnapshot.location_id)
                         .join(Variant, Variant.id == InventorySnapshot.variant_id)
                         .where(InventorySnapshot.shop_id == shop.id)).all()
        code_of = {f"tryton:{i}": c for c, i in tryton["ids"]["warehouses"].items()}
        assert {(code_of[loc], sku): q for loc, sku, q in rows} == _expected_stock()
        leads = dict(((name, sku), lead) for name, sku, lead in s.execute(
            select(Supplier.name, Variant.sku, SupplierItem.lead_time_days)
            .join(Supplier, Supplier.id == SupplierItem.supplier_id)
            .join(Variant, Variant.id == SupplierItem.variant_id)))
        assert leads == {(ps["supplier"], ps["sku"]): ps["lead_time_days"]
                         for ps in SEED["product_suppliers"]}
        for supplier in s.scalars(select(Supplier).where(Supplier.shop_id == shop.id)):
            assert supplier.delivery == {"method": "tryton",
                                         "party_id": tryton_id(supplier.external_id)}
        before = s.scalar(select(func.count()).select_from(InventorySnapshot))
    again = erp_sync(sessions, "erp", client)  # a re-sync is idempotent
    assert again["variants"] == len(SKUS)
    with session_scope(sessions) as s:
        assert s.scalar(select(func.count()).select_from(InventorySnapshot)) == before
        assert s.scalar(select(func.count()).select_from(Variant)) == len(SKUS)


def test_erp_sync_keeps_a_variant_the_shop_already_has(tmp_path, client, tryton):
    """A SKU that came from Shopify keeps its row; Tryton's stock attaches to it by SKU."""
    from core.storage import Product

    engine = make_engine(f"sqlite:///{tmp_path}/mixed.db")
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with session_scope(sessions) as s:
        shop = get_or_create_shop(s, "mixed")
        product = Product(shop_id=shop.id, external_id="gid://shopify/Product/1",
                          title="Coffee (Shopify)")
        s.add(product)
        s.flush()
        s.add(Variant(shop_id=shop.id, external_id="gid://shopify/ProductVariant/1",
                      product_id=product.id, sku="COF-250", title="250 g", price=13.0))
    counts = erp_sync(sessions, "mixed", client)
    assert counts["skus_kept_from_shop"] == 1
    with session_scope(sessions) as s:
        kept = s.scalar(select(Variant).where(Variant.sku == "COF-250"))
        assert (kept.external_id, kept.title, kept.price) == \
            ("gid://shopify/ProductVariant/1", "250 g", 13.0)
        wh = f"tryton:{tryton['ids']['warehouses']['WH']}"
        on_hand = s.scalar(select(InventorySnapshot.on_hand)
                           .join(Location, Location.id == InventorySnapshot.location_id)
                           .where(InventorySnapshot.variant_id == kept.id,
                                  Location.external_id == wh))
        assert on_hand == _expected_stock()[("WH", "COF-250")]
        assert s.scalar(select(func.count()).select_from(SupplierItem)
                        .where(SupplierItem.variant_id == kept.id)) == 1
    engine.dispose()


@pytest.fixture(scope="module")
def pushed(tryton, restock_db, client):
    """An approved restock PO to Acme Beans for the EAST warehouse, sent twice."""
    sessions = restock_db["sessions"]
    key = uuid.uuid4().hex
    expected = dt.date.today() + dt.timedelta(days=10)
    east = f"tryton:{tryton['ids']['warehouses']['EAST']}"
    acme = f"tryton:{tryton['ids']['suppliers']['Acme Beans']}"
    with session_scope(sessions) as s:
        shop = get_or_create_shop(s, "erp")
        supplier = s.scalar(select(Supplier).where(Supplier.external_id == acme))
        location = s.scalar(select(Location).where(Location.external_id == east))
        variants = dict(s.execute(select(Variant.sku, Variant.id)).all())
        po = PurchaseOrder(shop_id=shop.id, number="PO-IT-001", supplier_id=supplier.id,
                           location_id=location.id, status="approved", idempotency_key=key,
                           expected_at=expected)
        s.add(po)
        s.flush()
        s.add_all([PurchaseOrderLine(purchase_order_id=po.id, variant_id=variants["COF-250"],
                                     sku="COF-250", quantity=30, unit_cost=4.8),
                   PurchaseOrderLine(purchase_order_id=po.id, variant_id=variants["COF-1K"],
                                     sku="COF-1K", quantity=5, unit_cost=None)])
        s.flush()
        first = send_purchase_order(s, client, po)
        assert po.status == "sent"
    with session_scope(sessions) as s:  # a retry, e.g. after a lost answer
        po = s.scalar(select(PurchaseOrder).where(PurchaseOrder.idempotency_key == key))
        second = send_purchase_order(s, client, po)
        lines = s.scalars(select(PurchaseOrderLine).where(
            PurchaseOrderLine.purchase_order_id == po.id)).all()
        third = push_purchase(client, po, lines, tryton_id(acme), tryton_id(east), key)
    return {"key": key, "ids": (first, second, third), "expected": expected}


def test_push_twice_makes_one_draft_purchase(tryton, client, pushed):
    first, second, third = pushed["ids"]
    assert first == second == third
    assert client.search("purchase.purchase", [["reference", "=", pushed["key"]]]) == [first]
    purchase, = client.read("purchase.purchase", [first],
                            ["state", "party", "warehouse", "reference", "description"])
    assert purchase["state"] == "draft"
    assert purchase["party"] == tryton["ids"]["suppliers"]["Acme Beans"]
    assert purchase["warehouse"] == tryton["ids"]["warehouses"]["EAST"]
    assert purchase["description"] == "restock PO-IT-001"
    lines = client.search_read("purchase.line", [["purchase", "=", first]],
                               ["product.code", "quantity", "unit_price", "delivery_date"])
    got = {line["product."]["code"]: (line["quantity"], line["unit_price"],
                                      line["delivery_date"]) for line in lines}
    cost_1k = Decimal(SEED["products"][0]["variants"][1]["cost_price"])  # falls back to cost
    assert got == {"COF-250": (30.0, Decimal("4.8000"), pushed["expected"]),
                   "COF-1K": (5.0, cost_1k, pushed["expected"])}


def test_delivery_channel_pushes_an_order_document_once(tryton, client):
    """The ``tryton`` channel for connector.delivery, fed a duck-typed order document."""
    from types import SimpleNamespace as NS

    from connector.adapters.tryton.sync import make_channel

    ids = tryton["ids"]
    doc = NS(number="PO-IT-002", idempotency_key=uuid.uuid4().hex,
             supplier_external_id=f"tryton:{ids['suppliers']['Kettle & Co']}",
             ship_to_external_id=f"tryton:{ids['warehouses']['WH']}",
             expected_date=dt.date.today() + dt.timedelta(days=21),
             lines=(NS(sku="TEA-100", quantity=40, unit_cost=2.25),))
    send = make_channel(lambda config: client)
    call = NS(order=doc, config={"method": "tryton"})
    ref = send(call)
    assert send(call) == ref
    lines = client.search_read("purchase.line", [["purchase", "=", int(ref)]],
                               ["product.code", "quantity", "unit_price", "delivery_date"])
    assert [(x["product."]["code"], x["quantity"], x["unit_price"], x["delivery_date"])
            for x in lines] == [("TEA-100", 40.0, Decimal("2.25"), doc.expected_date)]


def _receive(client, purchase_id: int, quantities: dict[str, float]) -> None:
    """As a warehouse clerk would: a supplier shipment with the purchase's moves, done."""
    moves = client.search_read("stock.move", [["purchase", "=", purchase_id]],
                               ["product.code"])
    for m in moves:
        client.write("stock.move", [m["id"]], {"quantity": quantities[m["product."]["code"]]})
    purchase, = client.read("purchase.purchase", [purchase_id], ["party", "warehouse"])
    wh, = client.read("stock.location", [purchase["warehouse"]],
                      ["input_location", "storage_location"])
    shipment, = client.create("stock.shipment.in", [{
        "supplier": purchase["party"], "warehouse": purchase["warehouse"],
        "warehouse_input": wh["input_location"], "warehouse_storage": wh["storage_location"],
        "incoming_moves": [["add", [m["id"] for m in moves]]]}])
    for step in ("receive", "do"):
        client.execute_confirming("stock.shipment.in", step, [shipment])


def test_receipts_come_back_after_confirm_and_receive(tryton, restock_db, client, pushed):
    purchase_id = pushed["ids"][0]
    for step in ("quote", "confirm"):
        client.execute_confirming("purchase.purchase", step, [purchase_id])
    client.execute_confirming("purchase.purchase", "process", [purchase_id])
    assert client.read("purchase.purchase", [purchase_id], ["state"])[0]["state"] \
        == "processing"
    _receive(client, purchase_id, {"COF-250": 25, "COF-1K": 5})

    receipts = pull_receipts(client)
    mine = {r["sku"]: r["quantity"] for r in receipts if r["reference"] == pushed["key"]}
    assert mine == {"COF-250": 25.0, "COF-1K": 5.0}
    assert all(r["reference"] == pushed["key"] for r in receipts)  # seeded moves have no PO
    assert all(r["effective_date"] == dt.date.today() for r in receipts)
    assert pull_receipts(client, since=dt.date.today() + dt.timedelta(days=1)) == []

    sessions = restock_db["sessions"]
    with session_scope(sessions) as s:
        shop = get_or_create_shop(s, "erp")
        assert apply_receipts(s, shop.id, receipts) == 2
        assert apply_receipts(s, shop.id, receipts) == 0
        po = s.scalar(select(PurchaseOrder).where(PurchaseOrder.idempotency_key
                                                  == pushed["key"]))
        got = dict(s.execute(select(PurchaseOrderLine.sku, PurchaseOrderLine.received_quantity)
                             .where(PurchaseOrderLine.purchase_order_id == po.id)).all())
        assert got == {"COF-250": 25, "COF-1K": 5}
        assert po.status == "partially_received"
        rows = s.execute(select(Receipt.external_id, Receipt.quantity, Receipt.source,
                                Receipt.received_at)
                         .where(Receipt.purchase_order_id == po.id)).all()
        moves = {r["sku"]: r["move_id"] for r in receipts}
        assert sorted((x[0], x[1], x[2]) for x in rows) == sorted(
            (f"move:{moves[sku]}:{sku}", q, "tryton") for sku, q in got.items())
        assert {x[3].date() for x in rows} == {dt.date.today()}
    counts = erp_sync(sessions, "erp", client)  # receipts already recorded: nothing new
    assert counts["receipt_lines"] == 0 and counts["receipt_problems"] == 0
    with session_scope(sessions) as s:
        assert s.scalar(select(func.count()).select_from(Receipt)) == 2

    east = f"tryton:{tryton['ids']['warehouses']['EAST']}"
    stock = {r.sku: r.on_hand for r in pull(client).inventory.itertuples()
             if r.location_external_id == east}
    assert stock["COF-250"] == _expected_stock()[("EAST", "COF-250")] + 25
    assert stock["COF-1K"] == _expected_stock()[("EAST", "COF-1K")] + 5


def test_erp_sync_applies_receipts_and_moves_status(tryton, restock_db, client):
    """A second order, fully received in Tryton, is recorded by erp_sync alone."""
    sessions = restock_db["sessions"]
    key = uuid.uuid4().hex
    east = f"tryton:{tryton['ids']['warehouses']['EAST']}"
    acme = f"tryton:{tryton['ids']['suppliers']['Acme Beans']}"
    with session_scope(sessions) as s:
        shop = get_or_create_shop(s, "erp")
        supplier = s.scalar(select(Supplier).where(Supplier.external_id == acme))
        location = s.scalar(select(Location).where(Location.external_id == east))
        variant = s.scalar(select(Variant.id).where(Variant.sku == "COF-250"))
        po = PurchaseOrder(shop_id=shop.id, number="PO-IT-003", supplier_id=supplier.id,
                           location_id=location.id, status="approved", idempotency_key=key,
                           expected_at=dt.date.today() + dt.timedelta(days=7))
        s.add(po)
        s.flush()
        s.add(PurchaseOrderLine(purchase_order_id=po.id, variant_id=variant, sku="COF-250",
                                quantity=12, unit_cost=4.8))
        s.flush()
        purchase_id = send_purchase_order(s, client, po)
    for step in ("quote", "confirm", "process"):
        client.execute_confirming("purchase.purchase", step, [purchase_id])
    _receive(client, purchase_id, {"COF-250": 12})
    counts = erp_sync(sessions, "erp", client)
    assert counts["receipt_lines"] == 1 and counts["receipt_problems"] == 0
    with session_scope(sessions) as s:
        po = s.scalar(select(PurchaseOrder).where(PurchaseOrder.idempotency_key == key))
        assert po.status == "received"
        rows = s.execute(select(Receipt.quantity, Receipt.source).where(
            Receipt.purchase_order_id == po.id)).all()
        assert [tuple(r) for r in rows] == [(12, "tryton")]
    assert erp_sync(sessions, "erp", client)["receipt_lines"] == 0


def test_cli_erp_sync(tryton, tmp_path, monkeypatch, capsys):
    from connector.cli_erp import register

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    monkeypatch.setenv("TRYTON_PASSWORD", tryton["password"])
    parser = argparse.ArgumentParser(prog="restock")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["erp", "sync", "--tryton-url", tryton["url"],
                              "--user", tryton["user"]])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert f"into shop default: 2 locations, 2 products, {len(SKUS)} variants" in out
    monkeypatch.setenv("TRYTON_PASSWORD", "not-the-password")
    assert args.func(args) == 2
    assert "wrong user or password" in capsys.readouterr().err


def test_wrong_password_is_a_clear_error(tryton):
    bad = TrytonClient(tryton["url"], tryton["user"], "not-the-password")
    with pytest.raises(TrytonAuthError) as err:
        bad.search("product.product", [])
    assert not isinstance(err.value, TrytonUnavailable)
    assert err.value.status == 401
    assert "wrong user or password" in str(err.value)
    assert "restock_it" in str(err.value)


def test_unknown_database_is_a_clear_error(tryton):
    url = tryton["url"].rsplit("/", 1)[0] + "/no_such_db"
    with pytest.raises(TrytonError, match="no database 'no_such_db'"):
        TrytonClient(url, tryton["user"], tryton["password"]).login()


def test_server_down_is_unavailable():
    url = f"http://127.0.0.1:{ts.free_port()}/restock"
    down = TrytonClient(url, "admin", "x", retries=2, backoff=0.01, timeout=2)
    started = time.monotonic()
    with pytest.raises(TrytonUnavailable, match="did not answer common.db.login after 3"):
        down.login()
    assert time.monotonic() - started < 10


def test_5xx_is_retried_then_unavailable():
    hits = []

    class Busy(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            hits.append(self.path)
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(503)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Busy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = TrytonClient(f"http://127.0.0.1:{server.server_port}/db", "admin", "x",
                              retries=2, backoff=0.01, timeout=5)
        with pytest.raises(TrytonUnavailable, match="HTTP 503"):
            client.login()
    finally:
        server.shutdown()
        server.server_close()
    assert hits == ["/db/rpc/"] * 3
