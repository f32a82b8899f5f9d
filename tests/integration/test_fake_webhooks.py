"""The Shopify fake sends webhooks as its clock advances; restock receives and applies them.

End to end on loopback: the fake (replaying the sandbox's last days) -> signed POSTs ->
``POST /webhooks/shopify`` of the real Flask app -> inbox -> drain -> the database. The
expected state is the fake's own state and the sandbox's ground truth, never restock's
output.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from flask import Flask, request
from sqlalchemy import func, select

from connector.adapters.shopify.client import AdminClient
from connector.adapters.shopify.subscriptions import subscribe_webhooks
from connector.adapters.shopify.sync import sync_shop
from connector.app import create_app
from connector.config import Settings
from connector.context import build_context
from connector.jobs.inbox import drain_inbox
from core.storage import (InventorySnapshot, Location, Order, OrderLine, Shop, Variant,
                          WebhookEvent)
from sandbox import generate
from sandbox.shopify_fake import get_fake, make_fake_app, serve_fake
from sandbox.shopify_fake.deliveries import WebhookDispatcher
from webhooks.shopify import shopify_webhooks

DOMAIN = "sandbox.myshopify.com"
TOKEN = "shpat_test"
SECRET = "fake-app-secret"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "shopify" / "webhooks"
REPLAY_DAYS = 6


@pytest.fixture(scope="module")
def sandbox_shop():
    return generate(seed=11, n_skus=12, n_customers=300, n_days=90, n_locations=2)


@pytest.fixture
def restock(tmp_path):
    """The real web app on a migrated SQLite database, served on loopback."""
    ctx = build_context(Settings(database_url=f"sqlite:///{tmp_path}/r.db", env="test"))
    app = create_app(config={"TESTING": True, "SHOPIFY_API_SECRET": SECRET}, context=ctx)
    if "shopify_webhooks" not in app.blueprints:
        app.register_blueprint(shopify_webhooks)
    url, stop = serve_fake(app)
    yield url, app.extensions["restock"].sessions
    stop()


@pytest.fixture
def shopify(sandbox_shop):
    start_day = (sandbox_shop.end - pd.Timedelta(days=REPLAY_DAYS)).date()
    app = make_fake_app(sandbox_shop, TOKEN, webhook_secret=SECRET, replay_from=start_day,
                        webhook_retry_base=0.01, shop_domain=DOMAIN)
    url, stop = serve_fake(app)
    client = AdminClient(DOMAIN, TOKEN, admin_url=url, timeout=10, max_retries=3)
    yield client, get_fake(app), url
    stop()


def level_rows(sessions) -> pd.DataFrame:
    """Each SKU x location's latest snapshot in the database."""
    with sessions() as s:
        rows = s.execute(select(Variant.sku, Location.external_id, InventorySnapshot.day,
                                InventorySnapshot.available, InventorySnapshot.on_hand,
                                InventorySnapshot.committed, InventorySnapshot.reserved)
                         .join(Variant, Variant.id == InventorySnapshot.variant_id)
                         .join(Location, Location.id == InventorySnapshot.location_id)).all()
    frame = pd.DataFrame(rows, columns=["sku", "location", "day", "available", "on_hand",
                                        "committed", "reserved"])
    return frame.sort_values("day").groupby(["sku", "location"]).tail(1).set_index(
        ["sku", "location"])


def fake_levels(fake) -> dict:
    sku = {v.item_id: v.sku for v in fake.store.variants.values()}
    tracked = {v.item_id: v.tracked for v in fake.store.variants.values()}
    return {(sku[i], str(loc)): dict(lv.quantities)
            for (i, loc), lv in fake.store.levels.items() if tracked[i]}


def test_replay_webhooks_reach_the_database_and_match_the_fake(restock, shopify,
                                                                sandbox_shop, tmp_path):
    url, sessions = restock
    client, fake, _ = shopify
    rec = sandbox_shop.records
    held = len(rec.orders) - len(fake.store.orders)
    assert held > 0 and fake.replay.pending > 0

    sync_shop(sessions, DOMAIN, client, now=fake.store.now(), poll_interval=0.02)
    subscribe_webhooks(client, f"{url}/webhooks/shopify")
    store = fake.store
    # changes by hand on top of the replay, each with its own topic
    first = min(store.orders)
    lines = store.orders[first].line_ids
    refund_line = next(lid for lid in sorted(store.lines)
                       if store.lines[lid].order_id != first
                       and store.refunded_quantity(lid) == 0
                       and store.orders[store.lines[lid].order_id].cancelled_at is None)
    store.cancel_order(first)
    store.add_refund(store.lines[refund_line].order_id, [(refund_line, 1)])
    skus = sorted(v.sku for v in store.variants.values())
    reserved_sku, untracked_sku = skus[0], skus[1]
    level = store.levels[(store.variant_by_sku(reserved_sku).item_id, 1)].quantities
    store.set_inventory(reserved_sku, 1, reserved=2, available=level["available"] - 2)
    store.update_inventory_item(untracked_sku, tracked=False)
    pid = store.variant_by_sku(skus[2]).product_id
    store.update_product(pid, prices={skus[2]: 123.45})
    customer = next(iter(store.customers))
    store.set_marketing(customer, "SUBSCRIBED")

    released = fake.advance(days=REPLAY_DAYS + 1)
    assert released["order"] == held and fake.replay.pending == 0
    assert fake.dispatcher.flush(60)
    assert not fake.dispatcher.failures
    topics = Counter(d.topic for d in fake.dispatcher.deliveries)
    assert topics["orders/create"] == held
    for topic in ("orders/cancelled", "orders/updated", "refunds/create",
                  "inventory_levels/update", "inventory_items/update", "products/update",
                  "customers/update"):
        assert topics[topic] >= 1, topic
    assert len({d.event_id for d in fake.dispatcher.deliveries}) == len(
        fake.dispatcher.deliveries)

    result = drain_inbox(sessions, limit=100_000, export_dir=tmp_path / "exports")
    assert result.failed == 0 and result.dead == 0
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(WebhookEvent)) == \
            len(fake.dispatcher.deliveries)
        orders = dict(s.execute(select(Order.external_id, Order.cancelled_at)).all())
        refunded = dict(s.execute(select(OrderLine.external_id,
                                         OrderLine.refunded_quantity)).all())
        tracked = dict(s.execute(select(Variant.sku, Variant.tracked)).all())
        price = s.scalar(select(Variant.price).where(Variant.sku == skus[2]))
        channels = Counter(s.scalars(select(Order.channel)))
    # orders: the sandbox's ground truth, all of it, plus nothing
    assert set(orders) == set(rec.orders["external_id"]) == {str(o) for o in store.orders}
    assert {k for k, v in orders.items() if v is not None} == \
        {str(o.id) for o in store.orders.values() if o.cancelled_at is not None}
    assert refunded == {str(lid): store.refunded_quantity(lid) for lid in store.lines}
    truth = dict(zip(rec.order_lines["external_id"], rec.order_lines["refunded_quantity"]))
    truth[str(refund_line)] += 1
    assert refunded == truth
    assert {s: bool(t) if t is not None else True for s, t in tracked.items()} == \
        {v.sku: v.tracked for v in store.variants.values()}
    assert tracked[untracked_sku] is False and price == pytest.approx(123.45)
    by_source = {"web": "online_store", "pos": "pos", "marketplace": "marketplace"}
    assert channels == Counter(rec.orders["source"].map(by_source))
    # levels: `available` from the webhooks; the position on hand - committed - reserved
    # equals it; the replayed days' stock is the sandbox's last day
    db = level_rows(sessions)
    want = fake_levels(fake)
    for key, q in want.items():
        assert db.loc[key, "available"] == q["available"], key
        got = db.loc[key]
        assert got.on_hand - (got.committed or 0) - (got.reserved or 0) == q["available"], key
    last = rec.inventory[rec.inventory["date"] == sandbox_shop.end]
    for r in last.itertuples():
        if r.sku != untracked_sku and (r.sku, r.location_external_id) != (reserved_sku, "1"):
            assert want[(r.sku, r.location_external_id)]["available"] == r.available
    # a sync afterwards brings the states the webhook does not carry (reserved), and
    # nothing else changes
    sync_shop(sessions, DOMAIN, client, now=fake.store.now(), poll_interval=0.02)
    db = level_rows(sessions)
    for key, q in want.items():
        assert (db.loc[key, "available"], db.loc[key, "on_hand"], db.loc[key, "committed"],
                db.loc[key, "reserved"]) == (q["available"], q["on_hand"], q["committed"],
                                             q["reserved"]), key
    assert db.loc[(reserved_sku, "1"), "reserved"] == 2
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Order)) == len(rec.orders)


def test_payload_keys_are_shopifys(shopify):
    """Every key the fake sends exists in Shopify's example payload of the topic."""
    _, fake, _ = shopify
    seen: dict[str, dict] = {}
    fake.store.dispatcher = type("Spy", (), {"emit": lambda self, t, p: seen.setdefault(t, p)})()
    store = fake.store
    oid = next(o.id for o in store.orders.values() if o.customer_id in store.customers)
    lid = store.orders[oid].line_ids[0]
    if store.refunded_quantity(lid) < store.lines[lid].quantity:
        store.add_refund(oid, [(lid, 1)])
    else:  # a fully refunded line: refund another order's line instead
        other = next(x for x in store.lines.values()
                     if store.refunded_quantity(x.id) < x.quantity)
        store.add_refund(other.order_id, [(other.id, 1)])
    store.cancel_order(oid)
    sku = next(iter(store.variants.values())).sku
    store.set_inventory(sku, 1, available=5)
    store.update_inventory_item(sku, cost=2.5)
    store.update_product(next(iter(store.products)), title="Renamed")
    store.set_marketing(next(iter(store.customers)), "UNSUBSCRIBED")
    fake.advance(days=REPLAY_DAYS + 1)
    for topic in ("orders/create", "orders/updated", "orders/cancelled", "refunds/create",
                  "inventory_levels/update", "inventory_items/update", "products/update",
                  "customers/create", "customers/update"):
        example = json.loads((FIXTURES / f"{topic.replace('/', '_')}.example.json").read_text())
        payload = seen[topic]
        assert set(payload) <= set(example), (topic, set(payload) - set(example))
        if topic.startswith("orders/"):
            item = example["line_items"][0]
            for li in payload["line_items"]:
                assert set(li) <= set(item), set(li) - set(item)
        if topic == "products/update":
            assert set(payload["variants"][0]) <= set(example["variants"][0])


def test_failed_deliveries_are_retried_with_backoff_and_recorded(shopify):
    _, fake, _ = shopify
    answers = iter([503, 500, 200, 502, 502, 502, 502])
    sent, waits = [], []

    def post(uri, body, headers, timeout):
        sent.append((headers["X-Shopify-Event-Id"], headers["X-Shopify-Webhook-Id"],
                     headers["X-Shopify-Hmac-Sha256"], body))
        return next(answers)

    dispatcher = WebhookDispatcher(fake.store, DOMAIN, SECRET, max_attempts=4, retry_base=0.5,
                                   sleep=waits.append, post=post)
    dispatcher.subscribe("customers/update", "http://127.0.0.1:9/hook")
    fake.store.dispatcher = dispatcher
    customers = list(fake.store.customers)
    fake.store.set_marketing(customers[0], "SUBSCRIBED")
    fake.store.set_marketing(customers[1], "SUBSCRIBED")
    assert dispatcher.flush(10)
    first, second = dispatcher.deliveries
    assert (first.ok, first.attempts, second.ok, second.attempts) == (True, 3, False, 4)
    assert dispatcher.failures == [second] and second.errors[-1] == "attempt 4: HTTP 502"
    assert waits == [0.5, 1.0, 0.5, 1.0, 2.0]
    # retries resend the same event and delivery ids with a valid signature
    assert len({(e, w) for e, w, _, _ in sent[:3]}) == 1
    for _, _, signature, body in sent:
        digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
        assert signature == base64.b64encode(digest).decode()


def test_clock_endpoint_advances_and_reports(shopify):
    import requests

    _, fake, url = shopify
    before = fake.store.now()
    resp = requests.post(f"{url}/_fake/clock", json={"hours": 30}, timeout=30)
    body = resp.json()
    assert resp.status_code == 200
    assert pd.Timestamp(body["now"]) == pd.Timestamp(before + timedelta(hours=30))
    assert body["released"].get("order", 0) > 0
    back = requests.post(f"{url}/_fake/clock", json={"until": "2000-01-01T00:00:00Z"},
                         timeout=10)
    assert back.status_code == 400 and "cannot move the clock back" in back.json()["error"]
