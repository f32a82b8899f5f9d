"""Shopify sync against the fake on loopback, with the real AdminClient and a migrated DB.

Expected numbers come from the sandbox's own records (ground truth), never from the code
under test.
"""
from __future__ import annotations

import hashlib
import threading
from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import func, select

from connector.adapters.shopify.client import AdminClient
from connector.adapters.shopify.streams import STREAMS, bookmark_key
from connector.adapters.shopify.sync import sync_shop
from core.storage import (Customer, InventorySnapshot, Location, Order, OrderLine, Product,
                          Shop, SyncState, Variant)
from sandbox import generate
from sandbox.shopify_fake import ManualClock, get_fake, make_fake_app, serve_fake

DOMAIN = "sandbox.myshopify.com"
TOKEN = "shpat_test"


class Boom(RuntimeError):
    """The crash injected into a sync."""


@pytest.fixture
def sqlite_sessions(tmp_path):
    """A migrated SQLite database (for the slower scenarios; the core ones also run on
    PostgreSQL through the shared ``sessions`` fixture)."""
    from core.storage import make_engine, make_sessionmaker, upgrade

    engine = make_engine(f"sqlite:///{tmp_path}/sync.db")
    upgrade(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def sandbox_shop():
    return generate(seed=3, n_skus=25, n_customers=600, n_days=200, n_locations=2)


@pytest.fixture
def clock(sandbox_shop):
    start = (sandbox_shop.end + timedelta(days=1, hours=6)).tz_localize("UTC").to_pydatetime()
    return ManualClock(start, real_sleep=0.002)


@pytest.fixture
def shopify(sandbox_shop, clock):
    """``start(**knobs) -> (client, fake)`` with the fake served on loopback."""
    stops = []

    def start(client_timeout=10.0, max_retries=6, **knobs):
        app = make_fake_app(sandbox_shop, TOKEN, clock=clock.monotonic, now=clock.now, **knobs)
        url, stop = serve_fake(app)
        stops.append(stop)
        client = AdminClient(DOMAIN, TOKEN, admin_url=url, sleep=clock.sleep,
                             clock=clock.monotonic, rng=lambda: 0.5, timeout=client_timeout,
                             max_retries=max_retries)
        return client, get_fake(app)

    yield start
    for stop in stops:
        stop()


def run_sync(sessions, client, clock, **kw):
    kw.setdefault("now", clock.now())
    return sync_shop(sessions, DOMAIN, client, sleep=clock.sleep, **kw)


def _frame(session, stmt) -> pd.DataFrame:
    result = session.execute(stmt)
    return pd.DataFrame(result.all(), columns=list(result.keys()))


def db_state(sessions, shop: str = DOMAIN) -> dict[str, pd.DataFrame]:
    """Every synced table of a shop as a sorted frame keyed by external ids."""
    with sessions() as s:
        shop_id = s.scalar(select(Shop.id).where(Shop.name == shop))
        loc = Location.__table__.alias("loc")
        cust = Customer.__table__.alias("cust")
        out = {
            "locations": _frame(s, select(Location.external_id, Location.name, Location.kind)
                                .where(Location.shop_id == shop_id)),
            "products": _frame(s, select(Product.external_id, Product.title, Product.status)
                               .where(Product.shop_id == shop_id)),
            "variants": _frame(s, select(Variant.external_id, Variant.sku, Variant.price,
                                         Variant.unit_cost, Variant.barcode, Variant.tracked)
                               .where(Variant.shop_id == shop_id)),
            "customers": _frame(s, select(Customer.external_id, Customer.email,
                                          Customer.accepts_marketing)
                                .where(Customer.shop_id == shop_id)),
            "orders": _frame(s, select(Order.external_id, Order.name, Order.created_at,
                                       Order.cancelled_at, Order.source, Order.total,
                                       Order.discount_codes, Order.tags, Order.channel,
                                       loc.c.external_id.label("location"),
                                       cust.c.external_id.label("customer"))
                             .outerjoin(loc, loc.c.id == Order.location_id)
                             .outerjoin(cust, cust.c.id == Order.customer_id)
                             .where(Order.shop_id == shop_id)),
            "order_lines": _frame(s, select(OrderLine.external_id, Order.external_id.label(
                "order"), OrderLine.sku, OrderLine.quantity, OrderLine.refunded_quantity,
                OrderLine.price, OrderLine.variant_id.is_not(None).label("has_variant"))
                .join(Order, Order.id == OrderLine.order_id)
                .where(OrderLine.shop_id == shop_id)),
            "inventory": _frame(s, select(Variant.sku, Location.external_id.label("location"),
                                          InventorySnapshot.day, InventorySnapshot.available,
                                          InventorySnapshot.on_hand, InventorySnapshot.incoming,
                                          InventorySnapshot.committed,
                                          InventorySnapshot.reserved)
                                .join(Variant, Variant.id == InventorySnapshot.variant_id)
                                .join(Location, Location.id == InventorySnapshot.location_id)
                                .where(InventorySnapshot.shop_id == shop_id)),
        }
    return {k: v.sort_values(list(v.columns[:3])).reset_index(drop=True)
            for k, v in out.items()}


def checksum(state: dict[str, pd.DataFrame]) -> str:
    digest = hashlib.sha256()
    for name in sorted(state):
        digest.update(name.encode())
        digest.update(state[name].to_csv(index=False).encode())
    return digest.hexdigest()


def bookmarks(sessions, shop: str = DOMAIN) -> dict[str, pd.Timestamp]:
    with sessions() as s:
        rows = s.execute(select(SyncState.stream, SyncState.cursor).join(
            Shop, Shop.id == SyncState.shop_id).where(Shop.name == shop)).all()
    return {k: pd.Timestamp(v) for k, v in rows}


def assert_matches_truth(state, shop, day):
    rec = shop.records
    assert len(state["locations"]) == len(rec.locations)
    assert dict(zip(state["locations"].external_id, state["locations"].kind)) == \
        dict(zip(rec.locations.external_id, rec.locations.kind))
    assert sorted(state["variants"].external_id) == sorted(rec.variants.external_id)
    prices = dict(zip(rec.variants.sku, rec.variants.price))
    costs = dict(zip(rec.variants.sku, rec.variants.unit_cost))
    for sku, price, cost in zip(state["variants"].sku, state["variants"].price,
                                state["variants"].unit_cost):
        assert price == pytest.approx(prices[sku]) and cost == pytest.approx(costs[sku])
    assert len(state["products"]) == len(rec.products)
    assert len(state["customers"]) == len(rec.customers)
    consent = dict(zip(rec.customers.external_id, rec.customers.accepts_marketing.astype(bool)))
    assert {k: bool(v) for k, v in zip(state["customers"].external_id,
                                       state["customers"].accepts_marketing)} == consent
    emails = dict(zip(rec.customers.external_id, rec.customers.email))
    assert dict(zip(state["customers"].external_id, state["customers"].email)) == emails

    orders = state["orders"]
    assert len(orders) == len(rec.orders)
    truth_cancelled = set(rec.orders.external_id[rec.orders.cancelled_at.notna()])
    assert set(orders.external_id[orders.cancelled_at.notna()]) == truth_cancelled
    assert len(truth_cancelled) > 0
    pos = rec.orders[rec.orders.source == "pos"]
    got = orders.set_index("external_id")
    assert (got.loc[pos.external_id, "location"].to_numpy()
            == pos.location_external_id.to_numpy()).all()
    assert got.loc[rec.orders.external_id[rec.orders.source != "pos"], "location"].isna().all()
    sources = rec.orders.source.replace({"marketplace": "amazon"})
    assert (got.loc[rec.orders.external_id, "source"].to_numpy() == sources.to_numpy()).all()
    # web -> Online Store, pos -> POS, the marketplace app's "amazon" -> marketplace
    channels = rec.orders.source.map({"web": "online_store", "pos": "pos",
                                      "marketplace": "marketplace"})
    assert got.loc[rec.orders.external_id, "channel"].tolist() == channels.tolist()
    assert state["variants"].tracked.tolist() == [True] * len(state["variants"])
    customers = rec.orders.customer_external_id.where(rec.orders.customer_external_id.notna())
    assert got.loc[rec.orders.external_id, "customer"].fillna("guest").tolist() == \
        customers.fillna("guest").tolist()

    lines = state["order_lines"]
    assert len(lines) == len(rec.order_lines)
    assert lines.has_variant.all()
    units = lines.groupby("sku").quantity.sum()
    truth_units = rec.order_lines.groupby("sku").quantity.sum()
    assert units.sort_index().to_dict() == truth_units.sort_index().to_dict()
    refunded = dict(zip(lines.external_id, lines.refunded_quantity))
    truth_refunded = dict(zip(rec.order_lines.external_id, rec.order_lines.refunded_quantity))
    assert refunded == truth_refunded and sum(truth_refunded.values()) > 0

    inv = state["inventory"]
    last = rec.inventory[rec.inventory.date == shop.end]
    today = inv[inv.day == day].set_index(["sku", "location"])
    for row in last.itertuples():
        got_row = today.loc[(row.sku, row.location_external_id)]
        assert (got_row.available, got_row.on_hand, got_row.incoming, got_row.committed,
                got_row.reserved) == \
            (row.available, row.on_hand, row.incoming, row.committed, 0), row.sku


# ---------------------------------------------------------------------- pure parts
def test_reassemble_puts_children_under_parents_in_any_order():
    from connector.adapters.shopify.streams import numeric_id, reassemble

    lines = [{"id": "gid://shopify/LineItem/2", "__parentId": "gid://shopify/Order/1"},
             {"id": "gid://shopify/Order/1", "name": "#1"},
             {"id": "gid://shopify/Order/3", "name": "#2"},
             {"id": "gid://shopify/LineItem/4", "__parentId": "gid://shopify/Order/1"}]
    roots = reassemble(lines, {"LineItem": "lineItems"})
    assert [r["name"] for r in roots] == ["#1", "#2"]
    assert [li["id"] for li in roots[0]["lineItems"]["nodes"]] == \
        ["gid://shopify/LineItem/2", "gid://shopify/LineItem/4"]
    assert roots[1]["lineItems"] == {"nodes": []}
    assert numeric_id("gid://shopify/InventoryLevel/7?inventory_item_id=9") == "7"
    with pytest.raises(ValueError, match="parent not in the file"):
        reassemble([{"id": "gid://shopify/LineItem/5", "__parentId": "gid://shopify/Order/9"}],
                   {"LineItem": "lineItems"})


# ---------------------------------------------------------------------- full sync
def test_full_bulk_sync_equals_the_sandbox_truth(sessions, shopify, clock, sandbox_shop):
    client, fake = shopify()
    counts = run_sync(sessions, client, clock)
    assert counts["bulk_operations"] == 4
    assert counts["orders"] == len(sandbox_shop.records.orders)
    assert counts["warnings"] == 0
    assert_matches_truth(db_state(sessions), sandbox_shop, clock.now().date())
    marks = bookmarks(sessions)
    assert set(marks) == {bookmark_key(s) for s in STREAMS}
    assert all(v <= pd.Timestamp(clock.now()) for v in marks.values())


def test_full_sync_survives_20_percent_5xx_and_hangs(sqlite_sessions, shopify, clock,
                                                     sandbox_shop):
    sessions = sqlite_sessions
    client, fake = shopify(client_timeout=0.3, max_retries=10, error_rate=0.2, hang_rate=0.02,
                           hang_seconds=0.5, downloads=True, seed=7)
    run_sync(sessions, client, clock)
    assert fake.faults.injected["error"] >= 10
    assert_matches_truth(db_state(sessions), sandbox_shop, clock.now().date())


def test_sync_under_a_small_bucket_waits_and_equals_the_truth(sqlite_sessions, shopify,
                                                             clock, sandbox_shop):
    sessions = sqlite_sessions
    client, fake = shopify(max_available=1000, restore_rate=50)

    def other_app_drains_the_bucket(stream, page):
        if stream == "products" and page == 1:
            fake.bucket.try_take(fake.bucket.status()["currentlyAvailable"])

    counts = run_sync(sessions, client, clock, backfill="pages", on_page=other_app_drains_the_bucket,
                      streams=["locations", "products", "customers"])
    assert counts["pages"] >= 5 and counts["customers"] == len(sandbox_shop.records.customers)
    throttled = [c for c in fake.calls if c["code"] == "THROTTLED"]
    assert throttled, "the drained bucket never answered THROTTLED"
    waited = sum(clock.slept)
    assert waited >= 2 * 700 / 50  # two more pages of 802 points on a 50/s refill
    run_sync(sessions, client, clock)  # inventory and orders: bulk, with refund follow-ups
    assert sum(clock.slept) > waited
    assert all(c["requested"] is None or c["requested"] <= 1000 for c in fake.calls)
    assert_matches_truth(db_state(sessions), sandbox_shop, clock.now().date())


def test_bulk_waiter_can_wait_for_the_finish_webhook(sqlite_sessions, shopify, clock,
                                                     sandbox_shop):
    sessions = sqlite_sessions
    client, fake = shopify(bulk_min_seconds=5)
    done: dict[str, threading.Event] = {}
    lock = threading.Lock()

    def event(op_id):
        with lock:
            return done.setdefault(op_id, threading.Event())

    fake.bulk.listeners.append(lambda payload: event(payload["admin_graphql_api_id"]).set())
    waited = []

    def waiter(op_id, timeout):
        waited.append(op_id)
        while not event(op_id).wait(0.01):
            clock.advance(1)  # the fake's operation needs 5 s of its clock

    run_sync(sessions, client, clock, bulk_waiter=waiter)
    assert len(waited) == 4 and all(event(i).is_set() for i in waited)
    assert_matches_truth(db_state(sessions), sandbox_shop, clock.now().date())


# ---------------------------------------------------------------------- crash and resume
def change_the_shop(fake, rec, clock, n_new=40, n_cancel=10, n_refund=10):
    """Place, cancel and refund orders on the fake, 30 s apart; return the touched ids."""
    touched = set()
    skus = rec.variants.sku.tolist()
    for i in range(n_new):
        clock.advance(30)
        touched.add(str(fake.store.add_order([(skus[i % len(skus)], 1 + i % 3)],
                                             customer_id=7000000001 + i).id))
    live = rec.orders.external_id[rec.orders.cancelled_at.isna()].tolist()
    for ext in live[100:100 + n_cancel]:
        clock.advance(30)
        fake.store.cancel_order(int(ext))
        touched.add(ext)
    lines = rec.order_lines[(rec.order_lines.refunded_quantity == 0)
                            & ~rec.order_lines.order_external_id.isin(touched)]
    for row in lines.iloc[:n_refund].itertuples():
        clock.advance(30)
        fake.store.add_refund(int(row.order_external_id), [(int(row.external_id), 1)])
        touched.add(row.order_external_id)
    return touched


def test_crash_in_incremental_orders_then_resume_equals_a_clean_sync(
        sqlite_sessions, shopify, clock, sandbox_shop):
    sessions = sqlite_sessions
    client, fake = shopify()
    run_sync(sessions, client, clock)
    first_mark = bookmarks(sessions)["shopify:orders"]
    touched = change_the_shop(fake, sandbox_shop.records, clock)
    clock.advance(60)
    start = pd.Timestamp(clock.now())
    marks = []

    def crash_after_three(stream, page):
        if stream == "orders":
            marks.append(bookmarks(sessions)["shopify:orders"])
            if page == 3:
                raise Boom("killed mid-sync")

    with pytest.raises(Boom):
        run_sync(sessions, client, clock, on_page=crash_after_three)
    assert len(marks) == 3 and marks == sorted(marks)
    assert first_mark < marks[-1] <= start
    partial = bookmarks(sessions)["shopify:orders"]

    clock.advance(600)
    counts = run_sync(sessions, client, clock)
    assert 0 < counts["orders"] < len(touched)  # only what the crashed run had not loaded
    assert bookmarks(sessions)["shopify:orders"] > partial

    sync_shop(sessions, "clean.myshopify.com", client, sleep=clock.sleep, now=clock.now())
    assert checksum(db_state(sessions)) == checksum(db_state(sessions, "clean.myshopify.com"))
    state = db_state(sessions)
    cancelled = set(state["orders"].external_id[state["orders"].cancelled_at.notna()])
    assert len(cancelled) == (sandbox_shop.records.orders.cancelled_at.notna().sum() + 10)


def test_crash_in_a_paged_backfill_then_resume(sqlite_sessions, shopify, clock, sandbox_shop):
    sessions = sqlite_sessions
    client, fake = shopify()
    start = pd.Timestamp(clock.now())

    def crash(stream, page):
        if stream == "customers" and page == 2:
            raise Boom("killed during the first customers pages")

    with pytest.raises(Boom):
        run_sync(sessions, client, clock, backfill="pages", on_page=crash,
                 streams=["locations", "products", "customers"])
    mark = bookmarks(sessions)["shopify:customers"]
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Customer)) == 400
    assert mark <= start
    counts = run_sync(sessions, client, clock, backfill="pages",
                      streams=["locations", "products", "customers"])
    assert counts["customers"] == 200 + sum(  # the last page, plus the overlap re-read
        1 for c in fake.store.customers.values()
        if mark - timedelta(minutes=5) < pd.Timestamp(c.updated_at) <= mark)
    state = db_state(sessions)
    assert len(state["customers"]) == len(sandbox_shop.records.customers)


def test_crash_mid_bulk_load_reruns_the_backfill(sqlite_sessions, shopify, clock,
                                                sandbox_shop, monkeypatch):
    from connector.adapters.shopify import sync as sync_module

    sessions = sqlite_sessions
    monkeypatch.setattr(sync_module, "_BULK_BATCH", 500)
    client, fake = shopify()

    def crash(stream, page):
        if stream == "orders" and page == 2:
            raise Boom("killed during the bulk load")

    with pytest.raises(Boom):
        run_sync(sessions, client, clock, on_page=crash)
    assert "shopify:orders" not in bookmarks(sessions)
    counts = run_sync(sessions, client, clock)
    assert counts["bulk_operations"] == 1  # only the orders backfill ran again
    assert_matches_truth(db_state(sessions), sandbox_shop, clock.now().date())


# ---------------------------------------------------------------------- idempotence, increments
def test_rerunning_sync_changes_nothing(sessions, shopify, clock, sandbox_shop):
    client, fake = shopify()
    run_sync(sessions, client, clock)
    first = db_state(sessions)
    marks = bookmarks(sessions)
    clock.advance(300)
    counts = run_sync(sessions, client, clock)
    assert counts["orders"] == counts["customers"] == counts["products"] == 0
    second = db_state(sessions)
    assert {k: len(v) for k, v in first.items()} == {k: len(v) for k, v in second.items()}
    assert checksum(first) == checksum(second)
    assert bookmarks(sessions)["shopify:orders"] == marks["shopify:orders"]
    counts = run_sync(sessions, client, clock, full=True)
    assert checksum(db_state(sessions)) == checksum(first)


def test_incremental_sync_picks_up_exactly_the_changes(sessions, shopify, clock,
                                                       sandbox_shop):
    client, fake = shopify()
    run_sync(sessions, client, clock)
    before = db_state(sessions)
    rec = sandbox_shop.records

    clock.advance(3600)
    sku = rec.variants.sku.iloc[0]
    new = fake.store.add_order([(sku, 3), ("GHOST-SKU", 1)], customer_id=7000000005)
    live = rec.orders[rec.orders.cancelled_at.isna()]
    to_cancel = int(live.external_id.iloc[10])
    fake.store.cancel_order(to_cancel)
    line = rec.order_lines[(rec.order_lines.refunded_quantity == 0)
                           & (rec.order_lines.quantity >= 2)].iloc[3]
    fake.store.add_refund(int(line.order_external_id), [(int(line.external_id), 1)])
    fake.store.set_inventory(sku, 1, available=7, on_hand=9)
    clock.advance(60)

    counts = run_sync(sessions, client, clock)
    assert counts["bulk_operations"] == 0
    changed_orders = {str(new.id), str(to_cancel), str(line.order_external_id)}
    assert counts["orders"] == len(changed_orders)
    assert counts["unknown_sku_lines"] == 1 and counts["warnings"] == 1
    after = db_state(sessions)

    orders_b = before["orders"].set_index("external_id")
    orders_a = after["orders"].set_index("external_id")
    assert set(orders_a.index) - set(orders_b.index) == {str(new.id)}
    assert orders_a.loc[str(new.id), "customer"] == "7000000005"
    assert pd.notna(orders_a.loc[str(to_cancel), "cancelled_at"])
    assert pd.isna(orders_b.loc[str(to_cancel), "cancelled_at"])
    unchanged = orders_b.index.difference([str(to_cancel)])
    pd.testing.assert_frame_equal(orders_a.loc[unchanged], orders_b.loc[unchanged])

    lines_b = before["order_lines"].set_index("external_id")
    lines_a = after["order_lines"].set_index("external_id")
    added = lines_a.loc[lines_a.index.difference(lines_b.index)]
    assert added.sku.tolist() == [sku] and added.quantity.tolist() == [3]
    assert lines_a.loc[line.external_id, "refunded_quantity"] == 1
    rest = lines_b.index.difference([line.external_id])
    pd.testing.assert_frame_equal(lines_a.loc[rest], lines_b.loc[rest])

    inv = after["inventory"]
    today = inv[(inv.day == clock.now().date()) & (inv.sku == sku) & (inv.location == "1")]
    assert today[["available", "on_hand"]].values.tolist() == [[7, 9]]
    marks = bookmarks(sessions)
    assert marks["shopify:orders"] <= pd.Timestamp(clock.now())


def test_reserved_and_tracked_through_bulk_increments_and_pages(sessions, sqlite_sessions,
                                                                shopify, clock, sandbox_shop):
    client, fake = shopify()
    skus = sorted(sandbox_shop.records.variants.sku)
    last = sandbox_shop.records.inventory
    last = last[(last.date == sandbox_shop.end) & (last.sku == skus[0])
                & (last.location_external_id == "1")].iloc[0]
    # 4 units of skus[0] held for a draft order at the warehouse; skus[1] not counted
    fake.store.set_inventory(skus[0], 1, reserved=4, available=int(last.available) - 4)
    fake.store.update_inventory_item(skus[1], tracked=False)
    run_sync(sessions, client, clock)
    state = db_state(sessions)
    tracked = dict(zip(state["variants"].sku, state["variants"].tracked))
    assert tracked == {s: s != skus[1] for s in skus}
    inv = state["inventory"]
    today = inv[inv.day == clock.now().date()].set_index(["sku", "location"])
    assert (today.loc[(skus[0], "1"), ["available", "on_hand", "committed", "reserved"]]
            .tolist() == [last.available - 4, last.on_hand, last.committed, 4])
    assert skus[1] not in set(today.index.get_level_values(0))  # untracked: no level

    clock.advance(3600)
    fake.store.set_inventory(skus[0], 1, reserved=1, available=int(last.available) - 1)
    run_sync(sessions, client, clock)  # levels through paged snapshots
    inv = db_state(sessions)["inventory"]
    row = inv[(inv.day == clock.now().date()) & (inv.sku == skus[0]) & (inv.location == "1")]
    assert row[["available", "reserved"]].values.tolist() == [[last.available - 1, 1]]

    run_sync(sqlite_sessions, client, clock, backfill="pages",  # the paged products query
             streams=["locations", "products"])
    paged = db_state(sqlite_sessions)["variants"]
    assert dict(zip(paged.sku, paged.tracked)) == {s: s != skus[1] for s in skus}


def test_cli_sync_subcommand(shopify, clock, tmp_path, monkeypatch, capsys):
    import argparse

    from connector.cli_shopify import register

    client, fake = shopify()
    url = client.endpoint.split("/admin/")[0]
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    monkeypatch.setenv("SHOPIFY_ACCESS_TOKEN", TOKEN)
    parser = argparse.ArgumentParser(prog="restock")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["shopify", "sync", "--shop", DOMAIN, "--admin-url", url])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"synced {DOMAIN}:") and "4 bulk operations" in out
    args = parser.parse_args(["shopify", "sync", "--shop", DOMAIN, "--admin-url", url,
                              "--token", "wrong"])
    assert args.func(args) == 1
    assert "Invalid API key" in capsys.readouterr().err
