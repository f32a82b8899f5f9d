"""Storage on SQLite and PostgreSQL: migrations, idempotent upserts, clear errors."""
import pandas as pd
import pytest
from sqlalchemy import func, inspect, select

from core.ingest import load_records
from core.records import RecordsError, ShopRecords
from core.shops import UnknownShopError, get_or_create_shop, resolve_shop
from core.storage import (Base, Customer, InventorySnapshot, Order, OrderLine, SupplierItem,
                          Variant, current_revision, head_revision, session_scope)

T = lambda s: pd.Timestamp(s, tz="UTC")  # noqa: E731


def small_records(qty=2) -> ShopRecords:
    return ShopRecords(
        locations=pd.DataFrame({"external_id": ["1", "2"], "name": ["Warehouse", "Store"],
                                "kind": ["warehouse", "store"]}),
        products=pd.DataFrame({"external_id": ["p1"], "title": ["Coffee"]}),
        variants=pd.DataFrame({"external_id": ["v1", "v2"], "product_external_id": ["p1", "p1"],
                               "sku": ["COF-250", "COF-1KG"], "price": [9.5, 30.0],
                               "unit_cost": [4.0, 12.0]}),
        suppliers=pd.DataFrame({"external_id": ["s1"], "name": ["Roaster"]}),
        supplier_items=pd.DataFrame({"supplier_external_id": ["s1", "s1"],
                                     "sku": ["COF-250", "COF-1KG"], "lead_time_days": [7, 10],
                                     "moq": [6, 1], "case_pack": [6, 1]}),
        customers=pd.DataFrame({"external_id": ["c1"], "email": ["a@example.test"],
                                "accepts_marketing": [True], "created_at": [T("2026-01-01")]}),
        orders=pd.DataFrame({"external_id": ["o1", "o2"], "created_at": [T("2026-01-02 10:00"),
                                                                          T("2026-01-03 11:00")],
                             "location_external_id": ["1", "2"],
                             "customer_external_id": ["c1", None], "source": ["web", "pos"]}),
        order_lines=pd.DataFrame({"external_id": ["o1:1", "o1:2", "o2:1"],
                                  "order_external_id": ["o1", "o1", "o2"],
                                  "sku": ["COF-250", "COF-1KG", "COF-250"],
                                  "quantity": [qty, 1, 3], "refunded_quantity": [0, 1, 0],
                                  "price": [9.5, 30.0, 9.5]}),
        inventory=pd.DataFrame({"sku": ["COF-250", "COF-250"], "location_external_id": ["1", "1"],
                                "date": pd.to_datetime(["2026-01-02", "2026-01-03"]),
                                "available": [10, 8], "on_hand": [10, 8]}),
    )


def counts(s):
    return {m.__tablename__: s.scalar(select(func.count()).select_from(m))
            for m in (Variant, SupplierItem, Customer, Order, OrderLine, InventorySnapshot)}


def test_migrated_schema_matches_models(engine):
    assert current_revision(engine) == head_revision(engine)
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_loading_twice_changes_nothing(sessions):
    with session_scope(sessions) as s:
        shop = get_or_create_shop(s, "shop-a")
        load_records(s, shop.id, small_records())
    with session_scope(sessions) as s:
        first = counts(s)
        lines_before = sorted(s.execute(select(OrderLine.external_id, OrderLine.quantity,
                                               OrderLine.order_id)).all())
    assert first == {"variants": 2, "supplier_items": 2, "customers": 1, "orders": 2,
                     "order_lines": 3, "inventory_snapshots": 2}
    with session_scope(sessions) as s:
        load_records(s, get_or_create_shop(s, "shop-a").id, small_records())
    with session_scope(sessions) as s:
        assert counts(s) == first
        assert sorted(s.execute(select(OrderLine.external_id, OrderLine.quantity,
                                       OrderLine.order_id)).all()) == lines_before


def test_upsert_updates_changed_values_and_shops_are_separate(sessions):
    with session_scope(sessions) as s:
        a, b = get_or_create_shop(s, "a"), get_or_create_shop(s, "b")
        load_records(s, a.id, small_records(qty=2))
        load_records(s, b.id, small_records(qty=2))
        load_records(s, a.id, small_records(qty=5))
    with session_scope(sessions) as s:
        q = dict(s.execute(select(OrderLine.shop_id, func.sum(OrderLine.quantity))
                           .group_by(OrderLine.shop_id)).all())
        ids = {sh: get_or_create_shop(s, sh).id for sh in "ab"}
        assert q[ids["a"]] == 5 + 1 + 3 and q[ids["b"]] == 2 + 1 + 3


def test_failed_load_writes_nothing(sessions):
    bad = small_records()
    bad.supplier_items = pd.concat([bad.supplier_items, pd.DataFrame(
        {"supplier_external_id": ["s1"], "sku": ["NOPE"], "lead_time_days": [3]})])
    with pytest.raises(RecordsError, match="unknown SKU 'NOPE'"):
        with session_scope(sessions) as s:
            load_records(s, get_or_create_shop(s, "x").id, bad)
    with session_scope(sessions) as s:
        assert counts(s)["variants"] == 0


def test_records_validation_names_the_problem():
    rec = small_records()
    rec.order_lines = rec.order_lines.drop(columns=["quantity"])
    with pytest.raises(RecordsError, match="order_lines: missing required columns quantity"):
        rec.validate()
    rec = small_records()
    rec.orders = pd.concat([rec.orders, rec.orders.iloc[:1]])
    with pytest.raises(RecordsError, match="orders: row 2 repeats the key"):
        rec.validate()


def test_resolve_shop_errors(sessions):
    with session_scope(sessions) as s:
        with pytest.raises(UnknownShopError, match="no shop in the database"):
            resolve_shop(s, None)
        get_or_create_shop(s, "one")
        assert resolve_shop(s, None).name == "one"
        get_or_create_shop(s, "two")
        with pytest.raises(UnknownShopError, match="several shops exist"):
            resolve_shop(s, None)
        with pytest.raises(UnknownShopError, match="unknown shop 'three'.*one, two"):
            resolve_shop(s, "three")
