"""Shopify webhooks end to end: receiver, inbox drain, compliance.

Payloads start from Shopify's own example payloads (``tests/fixtures/shopify/webhooks``)
with small, consistent ids put in, so expected quantities are worked out by hand here.
"""
from __future__ import annotations

import copy
import io
import json
import random
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import sessionmaker

from connector.app import create_app
from connector.config import Settings
from connector.context import Context, build_context
from connector.jobs.inbox import drain_inbox
from core.storage import (Base, Customer, InventorySnapshot, Location, Order, OrderLine,
                          PODelivery, Product, PurchaseOrder, PurchaseOrderLine, Shop,
                          ShopCredential, Supplier, Variant, WebhookEvent, make_sessionmaker)
from webhooks.shopify import TOPICS, shopify_webhooks, sign

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "shopify" / "webhooks"
SECRET = "test-secret"
DOMAIN = "restock-test.myshopify.com"
OTHER = "other-shop.myshopify.com"


def example(topic: str) -> dict:
    return json.loads((FIXTURES / f"{topic.replace('/', '_')}.example.json").read_text())


@pytest.fixture
def app(engine, tmp_path):
    """The web app on SQLite (built from settings) and, when it answers, PostgreSQL."""
    if engine.dialect.name == "sqlite":
        ctx = build_context(Settings(database_url=f"sqlite:///{tmp_path}/w.db", env="test"))
    else:  # conftest's throw-away, migrated PostgreSQL schema
        ctx = Context(settings=Settings(database_url="postgresql://", env="test"),
                      engine=engine, sessions=make_sessionmaker(engine))
    app = create_app(config={"TESTING": True, "SHOPIFY_API_SECRET": SECRET}, context=ctx)
    if "shopify_webhooks" not in app.blueprints:
        app.register_blueprint(shopify_webhooks)
    return app


@pytest.fixture
def sessions(app):
    return app.extensions["restock"].sessions


@pytest.fixture
def client(app):
    return app.test_client()


_counter = iter(range(1, 10**6))


def post(client, topic, payload, *, event_id=None, secret=SECRET, shop=DOMAIN,
         triggered="2026-07-01T12:00:00.000000000Z", headers=None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    h = {"X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": shop,
         "X-Shopify-Event-Id": f"evt-{next(_counter)}" if event_id is None else event_id,
         "X-Shopify-Triggered-At": triggered, "Content-Type": "application/json"}
    if secret is not None:
        h["X-Shopify-Hmac-Sha256"] = sign(secret, body)
    h.update(headers or {})
    return client.post("/webhooks/shopify", data=body, headers=h)


def count(sessions, model=WebhookEvent, *where) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


# ------------------------------------------------------------------ receiver
@pytest.mark.parametrize("topic", TOPICS)
def test_every_topic_is_stored_once(client, sessions, topic):
    body = (FIXTURES / f"{topic.replace('/', '_')}.example.json").read_bytes()
    first = post(client, topic, body, event_id="e-1")
    assert first.status_code == 200 and first.json["status"] == "accepted"
    again = post(client, topic, body, event_id="e-1")
    assert again.status_code == 200 and again.json["status"] == "duplicate"
    with sessions() as s:
        rows = s.scalars(select(WebhookEvent)).all()
    assert len(rows) == 1
    ev = rows[0]
    assert (ev.source, ev.event_id, ev.topic, ev.shop_domain, ev.status) == \
        ("shopify", "e-1", topic, DOMAIN, "pending")
    assert ev.payload == body.decode() and ev.triggered_at is not None


def test_signature_json_size_and_topic(client, sessions, app):
    body = json.dumps(example("orders/create")).encode()
    assert post(client, "orders/create", body, secret="wrong").status_code == 401
    assert post(client, "orders/create", body, secret=None).status_code == 401
    assert post(client, "orders/create", body,
                headers={"X-Shopify-Hmac-Sha256": "%%not base64"}).status_code == 401
    assert post(client, "orders/create", b'{"id": 1,').status_code == 400
    assert post(client, "orders/create", b'{"a": NaN}').status_code == 400
    assert post(client, "orders/create", b"\xff\xfe{}").status_code == 400
    big = b'{"x": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    assert post(client, "orders/create", big).status_code == 413
    assert post(client, "orders/deleted", body).status_code == 200
    assert post(client, "", body).status_code == 200
    assert count(sessions) == 0
    app.config["SHOPIFY_WEBHOOK_MAX_BYTES"] = 100
    chunked = client.post("/webhooks/shopify", input_stream=io.BytesIO(body),
                          headers={"Transfer-Encoding": "chunked",
                                   "X-Shopify-Topic": "orders/create",
                                   "X-Shopify-Hmac-Sha256": sign(SECRET, body)},
                          environ_overrides={"wsgi.input_terminated": True})
    assert chunked.status_code == 413


def test_event_id_fallbacks_and_schema_findings(client, sessions):
    from connector.jobs.inbox import drain_inbox

    body = json.dumps(example("products/update")).encode()  # image null: off-schema
    r = post(client, "products/update", body, event_id="",
             headers={"X-Shopify-Webhook-Id": "wh-9"})
    assert r.status_code == 200 and r.json["status"] == "accepted"
    assert post(client, "products/update", body, event_id="",
                headers={"X-Shopify-Webhook-Id": "wh-9"}).json["status"] == "duplicate"
    with sessions() as s:
        event = s.scalar(select(WebhookEvent).where(WebhookEvent.event_id == "wh-9"))
    assert event.topic == "products/update" and event.status == "pending"
    drain_inbox(sessions)  # the schema is checked off the request path, findings recorded
    with sessions() as s:
        event = s.scalar(select(WebhookEvent).where(WebhookEvent.event_id == "wh-9"))
    assert "schema: image" in event.error
    anon = {"X-Shopify-Event-Id": ""}
    assert post(client, "shop/redact", b'{"shop_id": 1}', headers=anon).status_code == 200
    assert post(client, "shop/redact", b'{"shop_id": 1}', headers=anon).json["status"] == \
        "duplicate"
    with sessions() as s:
        redact = s.scalar(select(WebhookEvent).where(WebhookEvent.topic == "shop/redact"))
    assert redact.event_id.startswith("sha256:")


def test_no_input_gives_a_500(client):
    rng = random.Random(20260701)
    pieces = [b"{", b"}", b"[", b"]", b'"', b"\\", b"null", b"1e999", b"-", b"\x00", b"\xc3",
              b'"id"', b":", b",", b"true", b"9" * 30, "é".encode(), b"\n"]
    topics = list(TOPICS) + ["", "orders", "x" * 300, "orders/create ", "Orders/Create\t",
                             "../../etc"]
    for i in range(400):
        kind = rng.random()
        if kind < 0.3:
            body = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        elif kind < 0.6:
            body = json.dumps(rng.choice([[], {}, 1, "s", None, {"id": "x" * 40},
                                          {"customer": [1]}, [[[[]]]] * 5])).encode()
        elif kind < 0.8:
            body = b"[" * 5000 + b"]" * 5000
        else:
            body = bytes(rng.randrange(256) for _ in range(rng.randint(0, 200)))
        headers = {"X-Shopify-Topic": rng.choice(topics),
                   "X-Shopify-Shop-Domain": rng.choice([DOMAIN, "", "x" * 400, "ü.com"]),
                   "X-Shopify-Event-Id": rng.choice(["", "e", "E" * 600, str(i), "ç"]),
                   "X-Shopify-Triggered-At": rng.choice(["", "garbage", "2026-13-45T99:00Z"])}
        secret = rng.choice([SECRET, SECRET, "nope", None])
        r = post(client, headers["X-Shopify-Topic"], body, secret=secret,
                 event_id=headers["X-Shopify-Event-Id"] or None, shop=headers[
                     "X-Shopify-Shop-Domain"], triggered=headers["X-Shopify-Triggered-At"])
        assert r.status_code in (200, 400, 401, 413), (i, r.status_code, body[:80])


def test_database_down_answers_503(client, app, tmp_path):
    dead = create_engine(f"sqlite:///{tmp_path}/missing/dir/x.db")
    app.extensions["restock"].sessions = sessionmaker(bind=dead)
    r = post(client, "shop/redact", {"shop_id": 1, "shop_domain": DOMAIN})
    assert r.status_code == 503


# ------------------------------------------------------------------ drain
def make_shop(sessions, domain=DOMAIN, name="Test Shop"):
    with sessions() as s:
        shop = Shop(name=name, domain=domain, settings={}, timezone="UTC")
        s.add(shop)
        s.commit()
        return shop.id


CUSTOMER = {"id": 207119551, "email": "zebulon.quixby@example.org", "first_name": "Zebulon",
            "last_name": "Quixby", "phone": "+15550001234",
            "admin_graphql_api_id": "gid://shopify/Customer/207119551",
            "email_marketing_consent": {"state": "subscribed"}}


def gid(kind: str, number: int) -> str:
    return f"gid://shopify/{kind}/{number}"


def order(oid, lines, updated, *, cancelled=None, refunds=(), customer=CUSTOMER, tags=None):
    p = copy.deepcopy(example("orders/create"))
    template = p["line_items"][0]
    p.update(id=oid, admin_graphql_api_id=gid("Order", oid), test=False,
             created_at="2026-07-01T09:00:00-04:00", updated_at=updated, cancelled_at=cancelled,
             location_id=905684977, tags=tags, refunds=[refund(oid, *r) for r in refunds],
             line_items=[dict(copy.deepcopy(template), id=lid, sku=sku, quantity=qty,
                              price=str(price), admin_graphql_api_id=gid("LineItem", lid))
                         for lid, sku, qty, price in lines])
    if customer:
        p["customer"] = dict(p["customer"], **customer)
        p.update(email=customer["email"], contact_email=customer["email"])
        name = f"{customer['first_name']} {customer['last_name']}"
        p["billing_address"] = dict(p["billing_address"], first_name=customer["first_name"],
                                    last_name=customer["last_name"], name=name,
                                    phone=customer["phone"])
    return p


def refund(oid, rid, lines):
    p = copy.deepcopy(example("refunds/create"))
    tl = p["refund_line_items"][0]
    items = []
    for i, (lid, sku, qty, ordered) in enumerate(lines):
        item = dict(tl["line_item"], id=lid, sku=sku, quantity=ordered,
                    admin_graphql_api_id=gid("LineItem", lid))
        items.append(dict(copy.deepcopy(tl), id=rid * 10 + i, line_item_id=lid, quantity=qty,
                          line_item=item))
    p.update(id=rid, order_id=oid, admin_graphql_api_id=gid("Refund", rid),
             refund_line_items=items)
    return p


LINES = [(1001, "TEA-GREEN", 3, 12.5), (1002, "TEA-BLACK", 2, 9.0)]
T1, T2, T3 = ("2026-07-01T10:00:00-04:00", "2026-07-01T11:00:00-04:00",
              "2026-07-01T12:00:00-04:00")


def drain(sessions, tmp_path, **kw):
    calls = []
    result = drain_inbox(sessions, recalc=lambda shop_id, skus: calls.append((shop_id, skus)),
                         export_dir=tmp_path / "exports", **kw)
    return result, calls


def test_order_refund_cancel_sequence(client, sessions, tmp_path):
    sid = make_shop(sessions)
    r1 = (509562969, [(1001, "TEA-GREEN", 1, 3)])
    r2 = (509562970, [(1002, "TEA-BLACK", 2, 2)])
    assert post(client, "orders/create", order(450789469, LINES, T1)).status_code == 200
    assert post(client, "refunds/create", refund(450789469, *r1)).status_code == 200
    assert post(client, "orders/cancelled", order(450789469, LINES, T3, cancelled=T3,
                                                  refunds=[r1, r2])).status_code == 200
    result, calls = drain(sessions, tmp_path)
    assert (result.done, result.failed, result.skipped) == (3, 0, 0)
    assert calls == [(sid, {"TEA-GREEN", "TEA-BLACK"})]
    with sessions() as s:
        o = s.scalar(select(Order).where(Order.external_id == "450789469"))
        lines = {li.sku: (li.external_id, li.quantity, li.refunded_quantity)
                 for li in s.scalars(select(OrderLine))}
        cust = s.scalar(select(Customer))
        loc = s.scalar(select(Location))
    assert o.cancelled_at is not None and o.shop_id == sid
    assert lines == {"TEA-GREEN": ("1001", 3, 1), "TEA-BLACK": ("1002", 2, 2)}
    assert (cust.external_id, cust.email, cust.accepts_marketing) == \
        ("207119551", CUSTOMER["email"], True)
    assert loc.external_id == "905684977" and o.location_id == loc.id
    assert drain(sessions, tmp_path)[0].done == 0  # nothing left


def test_refund_before_order_and_stale_update(client, sessions, tmp_path):
    make_shop(sessions)
    r1 = (7001, [(1001, "TEA-GREEN", 2, 3)])
    post(client, "refunds/create", refund(450789469, *r1), triggered="2026-07-01T14:00:00Z")
    post(client, "orders/updated", order(450789469, LINES, T3, tags="new"),
         triggered="2026-07-01T16:00:00Z")
    post(client, "orders/updated", order(450789469, LINES, T2, tags="old"),
         triggered="2026-07-01T16:30:00Z")  # older state, triggered and delivered later
    first, _ = drain(sessions, tmp_path)
    post(client, "orders/updated", order(450789469, LINES, T1, tags="older"),
         triggered="2026-07-01T17:00:00Z")
    second, _ = drain(sessions, tmp_path)
    assert (first.done, first.skipped, second.skipped) == (2, 1, 1)
    with sessions() as s:
        o = s.scalar(select(Order))
        green = s.scalar(select(OrderLine).where(OrderLine.sku == "TEA-GREEN"))
        notes = [e.error for e in s.scalars(select(WebhookEvent)) if e.status == "skipped"]
    assert o.tags == "new" and green.refunded_quantity == 2
    assert all(n.startswith("stale") for n in notes)


def test_products_inventory_and_failures(client, sessions, tmp_path):
    sid = make_shop(sessions)
    p = copy.deepcopy(example("products/update"))
    p["variants"][0].update(sku="TEA-GREEN", inventory_item_id=111, id=31)
    p["variants"][1].update(sku="TEA-BLACK", inventory_item_id=222, id=32)
    for v in p["variants"]:
        v["admin_graphql_api_id"] = f"gid://shopify/ProductVariant/{v['id']}"
    post(client, "products/update", p)
    level = dict(example("inventory_levels/update"), inventory_item_id=111, location_id=5,
                 available=42)
    post(client, "inventory_levels/update", level)
    post(client, "inventory_levels/update", dict(level, inventory_item_id=999))
    item = dict(example("inventory_items/update"), id=222, cost="4.25",
                admin_graphql_api_id="gid://shopify/InventoryItem/222")
    post(client, "inventory_items/update", item)
    result, calls = drain(sessions, tmp_path)
    assert (result.done, result.skipped) == (3, 1)
    assert calls == [(sid, {"TEA-GREEN", "TEA-BLACK"})]
    with sessions() as s:
        snap = s.scalar(select(InventorySnapshot))
        black = s.scalar(select(Variant).where(Variant.sku == "TEA-BLACK"))
    assert snap.available == 42 and black.unit_cost == 4.25 and black.inventory_item_id == "222"
    clash = copy.deepcopy(p)
    clash["variants"][1].update(sku="TEA-GREEN", id=33,
                                admin_graphql_api_id="gid://shopify/ProductVariant/33")
    clash["updated_at"] = "2026-07-02T00:00:00Z"
    post(client, "products/update", clash)
    assert drain(sessions, tmp_path, max_attempts=2)[0].failed == 1
    assert drain(sessions, tmp_path, max_attempts=2)[0].dead == 1
    assert drain(sessions, tmp_path, max_attempts=2)[0].dead == 0


# ------------------------------------------------------------------ compliance
def all_text(sessions) -> str:
    """Every value of every column of every table, as one lower-case string."""
    out = []
    with sessions() as s:
        for table in Base.metadata.sorted_tables:
            for row in s.execute(select(table)):
                out += [str(v) for v in row]
    return "\n".join(out).lower()


def data_request(customer=CUSTOMER, rid=9999, orders=(450789469,)):
    return dict(example("customers/data_request"), shop_domain=DOMAIN,
                customer={k: customer[k] for k in ("id", "email", "phone")},
                orders_requested=list(orders), data_request={"id": rid})


def test_data_request_and_customer_redaction(client, sessions, tmp_path):
    sid = make_shop(sessions)
    cust = dict(example("customers/create"), **CUSTOMER, addresses=[],
                default_address=dict(example("customers/create")["default_address"],
                                     customer_id=CUSTOMER["id"], name="Zebulon Quixby"))
    post(client, "customers/create", cust)
    post(client, "orders/create", order(450789469, LINES, T1))
    post(client, "customers/data_request", data_request())
    result, _ = drain(sessions, tmp_path)
    assert result.done == 3
    export = tmp_path / "exports" / DOMAIN / "9999.json"
    data = json.loads(export.read_text())
    assert [o["external_id"] for o in data["orders"]] == ["450789469"]
    assert {li["sku"] for li in data["orders"][0]["lines"]} == {"TEA-GREEN", "TEA-BLACK"}
    assert data["customers"][0]["email"] == CUSTOMER["email"]
    with sessions() as s:
        note = s.scalar(select(WebhookEvent.error).where(
            WebhookEvent.topic == "customers/data_request"))
    assert note == f"export: {export}"

    redact = dict(example("customers/redact"), shop_domain=DOMAIN,
                  customer={k: CUSTOMER[k] for k in ("id", "email", "phone")},
                  orders_to_redact=[450789469])
    post(client, "customers/redact", redact)
    assert drain(sessions, tmp_path)[0].done == 1
    post(client, "orders/updated", order(450789469, LINES, T2))  # PII must not come back
    assert drain(sessions, tmp_path)[0].done == 1
    text = all_text(sessions)
    for needle in ("zebulon", "quixby", "zebulon.quixby@example.org", "5550001234"):
        assert needle not in text, needle
    assert not export.exists()
    with sessions() as s:
        c = s.scalar(select(Customer).where(Customer.shop_id == sid))
        qty = sorted(s.scalars(select(OrderLine.quantity)))
    assert c.redacted_at is not None and c.email is None and qty == [2, 3]


def test_shop_redact_deletes_every_row(client, sessions, tmp_path):
    sid, other = make_shop(sessions), make_shop(sessions, OTHER, "Other")
    for shop in (DOMAIN, OTHER):
        post(client, "orders/create", order(450789469, LINES, T1), shop=shop)
        post(client, "customers/data_request", dict(data_request(), shop_domain=shop), shop=shop)
    drain(sessions, tmp_path)
    with sessions() as s:
        s.add(ShopCredential(shop_id=sid, grant="token_exchange", access_token_enc=b"x"))
        sup = Supplier(shop_id=sid, external_id="S1", name="Leaf Co")
        s.add(sup)
        s.flush()
        po = PurchaseOrder(shop_id=sid, number="PO-1", supplier_id=sup.id, idempotency_key="k1")
        s.add(po)
        s.flush()
        prod = Product(shop_id=sid, external_id="P1", title="Tea")
        s.add(prod)
        s.flush()
        var = Variant(shop_id=sid, external_id="V1", product_id=prod.id, sku="TEA-X")
        s.add(var)
        s.flush()
        s.add_all([PurchaseOrderLine(purchase_order_id=po.id, variant_id=var.id, sku=var.sku,
                                     quantity=5),
                   PODelivery(purchase_order_id=po.id, channel="email")])
        s.commit()
    post(client, "shop/redact", {"shop_id": 954889, "shop_domain": DOMAIN})
    assert drain(sessions, tmp_path)[0].done == 1
    for table in Base.metadata.sorted_tables:
        if "shop_id" in table.c:
            assert count(sessions, table, table.c.shop_id == sid) == 0, table.name
    assert count(sessions, Shop, Shop.id == sid) == 0
    assert count(sessions, PurchaseOrderLine) == 0 and count(sessions, PODelivery) == 0
    with sessions() as s:
        left = s.scalars(select(WebhookEvent).where(WebhookEvent.shop_domain == DOMAIN)).all()
    assert [(e.topic, e.shop_id) for e in left] == [("shop/redact", None)]
    assert not (tmp_path / "exports" / DOMAIN).exists()
    assert count(sessions, Order, Order.shop_id == other) == 1  # the other shop is untouched
    assert (tmp_path / "exports" / OTHER / "9999.json").exists()


def test_app_uninstalled_drops_tokens(client, sessions, tmp_path):
    sid = make_shop(sessions)
    with sessions() as s:
        s.add(ShopCredential(shop_id=sid, grant="token_exchange", access_token_enc=b"secret",
                             refresh_token_enc=b"refresh"))
        s.commit()
    post(client, "app/uninstalled", example("app/uninstalled"),
         triggered="2099-01-01T00:00:00Z")
    assert drain(sessions, tmp_path)[0].done == 1
    post(client, "orders/create", order(1, LINES, T1))
    assert drain(sessions, tmp_path)[0].skipped == 1
    with sessions() as s:
        cred = s.scalar(select(ShopCredential))
        shop = s.get(Shop, sid)
    assert cred.access_token_enc is None and cred.refresh_token_enc is None
    assert cred.uninstalled_at is not None and shop.settings["uninstalled"] is True
    assert count(sessions, Order) == 0


def test_every_example_drains_without_failure(client, sessions, tmp_path):
    make_shop(sessions)
    last = ("app/uninstalled", "shop/redact")  # they end the shop's data
    for topic in [t for t in TOPICS if t not in last] + list(last):
        assert post(client, topic, example(topic)).status_code == 200
    result, _ = drain(sessions, tmp_path)
    assert (result.failed, result.dead) == (0, 0)
    assert result.done + result.skipped == len(TOPICS)
    with sessions() as s:  # shop/redact leaves only itself
        left = s.execute(select(WebhookEvent.topic, WebhookEvent.status)).all()
    assert [tuple(r) for r in left] == [("shop/redact", "done")]


def test_tracked_flag_derived_level_and_channel(client, sessions, tmp_path):
    """inventory_items/update carries ``tracked``; inventory_levels/update only ``available``
    (the rest comes from the last stored level); an order's channel follows source_name."""
    sid = make_shop(sessions)
    p = copy.deepcopy(example("products/update"))
    p["variants"][0].update(sku="TEA-GREEN", inventory_item_id=111, id=31)
    p["variants"][1].update(sku="TEA-BLACK", inventory_item_id=222, id=32)
    for v in p["variants"]:
        v["admin_graphql_api_id"] = f"gid://shopify/ProductVariant/{v['id']}"
    post(client, "products/update", p)
    drain(sessions, tmp_path)
    with sessions() as s:  # yesterday's synced level: 10 on hand, 2 committed, 3 reserved
        green = s.scalar(select(Variant.id).where(Variant.sku == "TEA-GREEN"))
        loc = Location(shop_id=sid, external_id="5", name="Warehouse", kind="warehouse")
        s.add(loc)
        s.flush()
        s.add(InventorySnapshot(shop_id=sid, variant_id=green, location_id=loc.id,
                                day=pd.Timestamp("2026-06-30").date(), available=5,
                                on_hand=10, committed=2, reserved=3, incoming=4))
        s.commit()
    level = dict(example("inventory_levels/update"), inventory_item_id=111, location_id=5,
                 available=4, updated_at="2026-07-01T10:00:00-04:00")
    post(client, "inventory_levels/update", level)
    item = dict(example("inventory_items/update"), id=222, cost=None, tracked=False,
                admin_graphql_api_id="gid://shopify/InventoryItem/222",
                updated_at="2026-07-01T10:00:00-04:00")
    post(client, "inventory_items/update", item)
    post(client, "orders/create", dict(order(77, [(7701, "TEA-GREEN", 1, 12.5)], T1),
                                       source_name="iphone"))
    post(client, "orders/create", dict(order(78, [(7801, "TEA-GREEN", 1, 12.5)], T1),
                                       source_name="4383523"))
    result, _ = drain(sessions, tmp_path)
    assert (result.done, result.failed) == (4, 0)
    with sessions() as s:
        snap = s.scalar(select(InventorySnapshot).where(
            InventorySnapshot.day == pd.Timestamp("2026-07-01").date()))
        black = s.scalar(select(Variant).where(Variant.sku == "TEA-BLACK"))
        channels = dict(s.execute(select(Order.external_id, Order.channel)).all())
        sources = dict(s.execute(select(Order.external_id, Order.source)).all())
    # 4 available + 2 committed + 3 reserved = 9 on hand; position 9 - 2 - 3 = 4
    assert (snap.available, snap.on_hand, snap.committed, snap.reserved, snap.incoming) == \
        (4, 9, 2, 3, 4)
    assert black.tracked is False and black.unit_cost is None
    assert channels == {"77": "mobile_app", "78": "marketplace"}
    assert sources == {"77": "iphone", "78": "4383523"}
