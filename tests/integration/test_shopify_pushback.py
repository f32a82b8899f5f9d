"""Push-back of customer signals, reminders and webhook subscriptions against the Shopify fake
on loopback, with the real AdminClient and a migrated SQLite database built by hand."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from connector.adapters.shopify.client import AdminClient
from connector.adapters.shopify.pushback import (REMINDER_TAG, discount_code, draft_tag,
                                                 push_customer_signals, push_reminders)
from connector.adapters.shopify.subscriptions import (COMPLIANCE_TOPICS, make_on_installed,
                                                      subscribe_webhooks)
from core.storage import (Customer, CustomerScore, Product, PushRecord, Reminder, Shop, Variant,
                          make_engine, make_sessionmaker, upgrade)
from sandbox import generate
from sandbox.shopify_fake import get_fake, make_fake_app, serve_fake
from webhooks.shopify import TOPICS

DOMAIN = "sandbox.myshopify.com"
TOKEN = "shpat_test"
DAY = date(2026, 11, 16)


class Boom(RuntimeError):
    """The crash injected between a remote call and its commit."""


@pytest.fixture(scope="module")
def sandbox_shop():
    return generate(seed=5, n_skus=10, n_customers=60, n_days=60, n_locations=1)


@pytest.fixture
def fake(sandbox_shop):
    app = make_fake_app(sandbox_shop, TOKEN)
    url, stop = serve_fake(app)
    yield get_fake(app), AdminClient(DOMAIN, TOKEN, admin_url=url, max_retries=1), url
    stop()


@pytest.fixture
def db(tmp_path, fake):
    """A migrated DB with a shop, 3 customers (``c`` not subscribed), 2 variants, scores and
    one candidate reminder per customer (``b``'s with a substitute)."""
    store = fake[0].store
    engine = make_engine(f"sqlite:///{tmp_path}/push.db")
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    subscribed = [c for c in store.customers.values()
                  if c.marketing_state == "SUBSCRIBED" and c.email]
    unsubscribed = next(c for c in store.customers.values() if c.marketing_state != "SUBSCRIBED")
    variants = [v for v in store.variants.values() if v.sku][:2]
    with sessions() as s:
        shop = Shop(name=DOMAIN, domain=DOMAIN)
        s.add(shop)
        s.flush()
        rows = {}
        for key, fc, consent in (("a", subscribed[0], True), ("b", subscribed[1], True),
                                 ("c", unsubscribed, False)):
            rows[key] = Customer(shop_id=shop.id, external_id=str(fc.id), email=fc.email,
                                 accepts_marketing=consent)
        s.add_all(rows.values())
        vrows = []
        for v in variants:
            fp = store.products[v.product_id]
            p = s.scalar(select(Product).where(Product.external_id == str(fp.id)))
            if p is None:
                p = Product(shop_id=shop.id, external_id=str(fp.id), title=fp.title)
                s.add(p)
                s.flush()
            vrows.append(Variant(shop_id=shop.id, external_id=str(v.id), product_id=p.id,
                                 sku=v.sku, title=v.title, price=v.price))
        s.add_all(vrows)
        s.flush()
        for i, (key, segment) in enumerate((("a", "champions"), ("b", "at_risk"),
                                            ("c", "lost"))):
            s.add(CustomerScore(shop_id=shop.id, customer_id=rows[key].id, scored_on=DAY,
                                segment=segment, predicted_clv=100.5 + i,
                                next_order_date=DAY + timedelta(days=10 + i)))
            s.add(Reminder(shop_id=shop.id, customer_id=rows[key].id, variant_id=vrows[0].id,
                           due_date=DAY + timedelta(days=3), status="candidate",
                           substitute_variant_id=vrows[1].id if key == "b" else None))
        s.commit()
        ids = {k: int(c.external_id) for k, c in rows.items()}
    yield sessions, ids, [v.sku for v in variants]
    engine.dispose()


def _shop(session):
    return session.scalar(select(Shop).where(Shop.name == DOMAIN))


def _reminders(sessions):
    with sessions() as s:
        return {r.customer_id: (r.status, r.reason, r.sent_at)
                for r in s.scalars(select(Reminder))}


def test_signals_land_as_typed_metafields(fake, db):
    shopify, client, _ = fake
    sessions, ids, _ = db
    with sessions() as s:
        counts = push_customer_signals(s, _shop(s), client)
    assert counts["customers"] == 3 and counts["metafields"] == 9 and counts["calls"] == 1
    mf = shopify.store.metafields
    owner = f"gid://shopify/Customer/{ids['a']}"
    assert mf[(owner, "restock", "next_order_date")]["type"] == "date"
    assert mf[(owner, "restock", "next_order_date")]["value"] == (DAY + timedelta(10)).isoformat()
    assert mf[(owner, "restock", "predicted_clv")]["type"] == "number_decimal"
    assert mf[(owner, "restock", "predicted_clv")]["value"] == "100.50"
    assert mf[(owner, "restock", "segment")] == {**mf[(owner, "restock", "segment")],
                                                  "type": "single_line_text_field",
                                                  "value": "champions"}
    with sessions() as s:
        again = push_customer_signals(s, _shop(s), client, scored_on=DAY)
        keys = set(s.scalars(select(PushRecord.idempotency_key)))
    assert again["skipped"] == 3 and again["calls"] == 0
    assert f"signals:{ids['a']}:{DAY.isoformat()}" in keys


def test_signals_batch_25_metafields_per_call(fake, db):
    shopify, client, _ = fake
    sessions, _, _ = db
    with sessions() as s:
        shop = _shop(s)
        extra = [c for c in shopify.store.customers.values()
                 if str(c.id) not in set(s.scalars(select(Customer.external_id)))][:10]
        for c in extra:
            row = Customer(shop_id=shop.id, external_id=str(c.id))
            s.add(row)
            s.flush()
            s.add(CustomerScore(shop_id=shop.id, customer_id=row.id, scored_on=DAY,
                                segment="new", predicted_clv=1.0, next_order_date=DAY))
        s.commit()
        counts = push_customer_signals(s, shop, client)
    assert counts["customers"] == 13 and counts["metafields"] == 39
    assert counts["calls"] == 2  # 8 customers x 3 = 24, then 15
    assert [c["operation"] for c in shopify.calls].count("MetafieldsSet") == 2


def test_reminders_respect_consent_and_are_pushed_once(fake, db):
    shopify, client, _ = fake
    sessions, ids, skus = db
    store = shopify.store
    with sessions() as s:
        counts = push_reminders(s, _shop(s), client, draft_orders=True, discount_pct=15)
    assert counts["sent"] == 2 and counts["suppressed"] == 1 and counts["failed"] == 0
    # unsubscribed: nothing at all
    assert REMINDER_TAG not in store.customers[ids["c"]].tags
    assert all(t["payload"]["customer_id"] != ids["c"] for t in store.flow_triggers)
    assert all(d.customer_id != ids["c"] for d in store.draft_orders.values())
    assert all(ids["c"] not in d["customers"] for d in store.discounts.values())
    # subscribed: tag, flow trigger, draft order with the code, invoice, discount
    for key in ("a", "b"):
        assert REMINDER_TAG in store.customers[ids[key]].tags
    assert len(store.flow_triggers) == 2 and len(store.draft_orders) == 2
    assert len(store.discounts) == 2 and len(store.invoices) == 2
    trig = {t["payload"]["customer_id"]: t for t in store.flow_triggers}
    assert trig[ids["a"]]["handle"] == "restock-reminder-due"
    assert trig[ids["a"]]["payload"]["sku"] == skus[0]
    assert trig[ids["a"]]["payload"]["substitute_sku"] is None
    assert trig[ids["b"]]["payload"]["substitute_sku"] == skus[1]
    assert trig[ids["a"]]["payload"]["product_title"]
    draft_b = next(d for d in store.draft_orders.values() if d.customer_id == ids["b"])
    assert [li["sku"] for li in draft_b.lines] == [skus[1]]  # the substitute is offered
    assert draft_b.status == "INVOICE_SENT"
    disc = next(d for d in store.discounts.values() if d["customers"] == [ids["b"]])
    assert draft_b.discount_codes == [disc["code"]] and disc["usage_limit"] == 1
    assert disc["percentage"] == pytest.approx(0.15)
    states = _reminders(sessions)
    assert sorted(st for st, _, _ in states.values()) == ["sent", "sent", "suppressed"]
    assert any(st == "suppressed" and reason == "no_marketing_consent"
               for st, reason, _ in states.values())
    assert all(sent_at is not None for st, _, sent_at in states.values() if st == "sent")
    # a second run (also with a reminder reset to candidate) creates nothing new
    with sessions() as s:
        s.execute(Reminder.__table__.update().where(Reminder.status == "sent")
                  .values(status="candidate"))
        s.commit()
        again = push_reminders(s, _shop(s), client, draft_orders=True, discount_pct=15)
    assert again["flow_triggers"] == again["draft_orders"] == again["discounts"] == 0
    assert len(store.flow_triggers) == 2 and len(store.draft_orders) == 2
    assert len(store.discounts) == 2 and len(store.invoices) == 2


def test_unsubscribed_in_shopify_is_rechecked_at_push_time(fake, db):
    shopify, client, _ = fake
    sessions, ids, _ = db
    shopify.store.set_marketing(ids["a"], "UNSUBSCRIBED")
    with sessions() as s:
        counts = push_reminders(s, _shop(s), client)
    assert counts["sent"] == 1 and counts["suppressed"] == 2
    assert REMINDER_TAG not in shopify.store.customers[ids["a"]].tags
    assert {t["payload"]["customer_id"] for t in shopify.store.flow_triggers} == {ids["b"]}
    assert not shopify.store.draft_orders


@pytest.mark.parametrize("crash_on", ["draft", "discount", "invoice"])
def test_crash_after_create_before_commit_never_duplicates(fake, db, crash_on):
    shopify, client, _ = fake
    sessions, ids, _ = db
    store = shopify.store

    def crash(key, remote_id):
        if key.endswith(f":{crash_on}"):
            raise Boom(key)

    with sessions() as s:
        with pytest.raises(Boom):
            push_reminders(s, _shop(s), client, draft_orders=True, discount_pct=10,
                           on_remote=crash)
        s.rollback()
    assert len(store.draft_orders) + len(store.discounts) >= 1
    with sessions() as s:
        counts = push_reminders(s, _shop(s), client, draft_orders=True, discount_pct=10)
        recs = {r.idempotency_key: r for r in s.scalars(select(PushRecord))}
    assert counts["failed"] == 0 and counts["reused"] >= 1
    assert len(store.draft_orders) == 2 and len(store.discounts) == 2
    assert len(store.invoices) == 2 and len(store.flow_triggers) == 2
    assert {r.status for r in recs.values()} == {"done"}
    with sessions() as s:
        first = s.scalar(select(Reminder).order_by(Reminder.id))
        cust = s.get(Customer, first.customer_id)
        code = discount_code(_shop(s).id, first, cust)
    assert recs[f"reminder:{first.id}:discount"].payload["code"] == code
    draft = next(d for d in store.draft_orders.values() if draft_tag(first) in d.tags)
    assert recs[f"reminder:{first.id}:draft"].remote_id == f"gid://shopify/DraftOrder/{draft.id}"


def test_duplicate_discount_code_is_rejected_by_the_fake(fake):
    _, client, _ = fake
    from connector.adapters.shopify.queries import DISCOUNT_CODE_BASIC_CREATE

    cid = next(iter(get_store_ids(fake)))
    body = {"discount": {"title": "t", "code": "DUP-1", "startsAt": "2026-11-16T00:00:00Z",
                         "context": {"customers": {"add": [f"gid://shopify/Customer/{cid}"]}},
                         "customerGets": {"value": {"percentage": 0.1}, "items": {"all": True}}}}
    first = client.execute(DISCOUNT_CODE_BASIC_CREATE, body)["discountCodeBasicCreate"]
    assert first["codeDiscountNode"]["id"] and first["userErrors"] == []
    second = client.execute(DISCOUNT_CODE_BASIC_CREATE, body)["discountCodeBasicCreate"]
    assert second["codeDiscountNode"] is None
    assert second["userErrors"][0]["code"] == "TAKEN"


def get_store_ids(fake):
    return list(fake[0].store.customers)


def test_subscribe_webhooks_once_per_topic_and_rerun_is_fine(fake):
    shopify, client, _ = fake
    url = "https://restock.example.com/webhooks/shopify"
    first = subscribe_webhooks(client, url)
    expected = [t for t in TOPICS if t not in COMPLIANCE_TOPICS]
    assert sorted(first) == sorted(expected) and set(first.values()) == {"created"}
    assert sorted(w["topic"] for w in shopify.store.webhooks.values()) == sorted(
        t.replace("/", "_").upper() for t in expected)
    again = subscribe_webhooks(client, url)
    assert set(again.values()) == {"exists"}
    assert len(shopify.store.webhooks) == len(expected)


def test_on_installed_hook_subscribes_the_app_url(fake):
    shopify, _, admin_url = fake
    hook = make_on_installed("https://restock.example.com/", admin_url=admin_url)
    hook(DOMAIN, TOKEN)
    hook(DOMAIN, TOKEN)
    uris = {w["uri"] for w in shopify.store.webhooks.values()}
    assert uris == {"https://restock.example.com/webhooks/shopify"}
    assert len(shopify.store.webhooks) == len(set(TOPICS) - COMPLIANCE_TOPICS)


def test_cli_push_runs_signals_and_reminders(fake, db, tmp_path, monkeypatch, capsys):
    import argparse

    from connector.cli_pushback import register

    shopify, _, admin_url = fake
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/push.db")
    parser = argparse.ArgumentParser(prog="restock")
    register(parser.add_subparsers(dest="cmd"))
    args = parser.parse_args(["shopify", "push", "--shop", DOMAIN, "--admin-url", admin_url,
                              "--token", TOKEN, "--draft-orders", "--discount-pct", "12"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "signals for 3 customers" in out and "2 sent, 1 suppressed" in out
    assert len(shopify.store.draft_orders) == 2 and len(shopify.store.discounts) == 2
