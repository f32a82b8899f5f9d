"""core.upsert on SQLite and PostgreSQL: the same rows and values as a row-by-row upsert.

Expected values are written out by hand from the rows given.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from core.shops import get_or_create_shop
from core.storage import Customer, Location, Supplier, session_scope
from core.upsert import CHUNK, refresh_statistics, upsert_columns


@pytest.fixture
def shop_id(sessions):
    with session_scope(sessions) as s:
        return get_or_create_shop(s, "upsert-test").id


def customers(sessions, shop_id):
    with sessions() as s:
        rows = s.execute(select(Customer.external_id, Customer.email, Customer.first_name,
                                Customer.accepts_marketing, Customer.created_at)
                         .where(Customer.shop_id == shop_id)
                         .order_by(Customer.external_id)).all()
    return [(e, m, f, bool(a), c if c is None or c.tzinfo else c.replace(tzinfo=timezone.utc))
            for e, m, f, a, c in rows]


T1 = datetime(2025, 3, 1, 12, 30, 15, 250000, tzinfo=timezone.utc)
KEY = ["shop_id", "external_id"]


def test_insert_then_update_keeps_what_arrives_empty(sessions, shop_id):
    with session_scope(sessions) as s:
        n = upsert_columns(s, Customer, {
            "shop_id": [shop_id] * 3, "external_id": ["1", "2", "3"],
            "email": ["a@x.io", None, "c@x.io"], "first_name": ["Ann", "Bob", None],
            "accepts_marketing": [True, False, True], "created_at": [T1, None, T1]}, KEY)
    assert n == 3
    with session_scope(sessions) as s:  # a source that knows less: None keeps the stored value
        upsert_columns(s, Customer, {
            "shop_id": [shop_id] * 2, "external_id": ["1", "2"],
            "email": [None, "b@x.io"], "first_name": ["Anna", None],
            "accepts_marketing": [True, True], "created_at": [None, None]}, KEY)
    assert customers(sessions, shop_id) == [
        ("1", "a@x.io", "Anna", True, T1),
        ("2", "b@x.io", "Bob", True, None),
        ("3", "c@x.io", None, True, T1)]


def test_a_key_twice_in_one_call_ends_as_row_by_row(sessions, shop_id):
    with session_scope(sessions) as s:
        upsert_columns(s, Customer, {
            "shop_id": [shop_id] * 3, "external_id": ["7", "8", "7"],
            "email": ["first@x.io", "e@x.io", None], "first_name": [None, "Eve", "Zed"],
            "accepts_marketing": [False, False, True], "created_at": [T1, T1, None]}, KEY)
    assert customers(sessions, shop_id) == [
        ("7", "first@x.io", "Zed", True, T1), ("8", "e@x.io", "Eve", False, T1)]


def test_more_rows_than_one_chunk(sessions, shop_id):
    n = CHUNK + 7
    with session_scope(sessions) as s:
        upsert_columns(s, Customer, {"shop_id": [shop_id] * n,
                                     "external_id": [str(i) for i in range(n)],
                                     "email": [f"{i}@x.io" for i in range(n)]}, KEY)
    got = customers(sessions, shop_id)
    assert len(got) == n
    # left-out accepts_marketing takes the column's default (False)
    assert got[0] == ("0", "0@x.io", None, False, None)
    assert ("5006", "5006@x.io", None, False, None) in got


def test_scalar_defaults_and_callable_defaults(sessions, shop_id):
    with session_scope(sessions) as s:
        upsert_columns(s, Location, {"shop_id": [shop_id], "external_id": ["9"],
                                     "name": ["Back room"]}, KEY)
        # Supplier.delivery has a callable default: SQLAlchemy computes it per row
        upsert_columns(s, Supplier, {"shop_id": [shop_id], "external_id": ["s1"],
                                     "name": ["Acme"]}, KEY)
    with sessions() as s:
        assert s.execute(select(Location.name, Location.kind)).all() == [("Back room",
                                                                          "warehouse")]
    with session_scope(sessions) as s:  # a stored kind is not reset to the default
        upsert_columns(s, Location, {"shop_id": [shop_id], "external_id": ["9"],
                                     "name": ["Back room"], "kind": ["store"]}, KEY)
        upsert_columns(s, Location, {"shop_id": [shop_id], "external_id": ["9"],
                                     "name": ["Shop floor"]}, KEY)
    with sessions() as s:
        assert s.execute(select(Location.name, Location.kind)).all() == [("Shop floor",
                                                                          "store")]
        assert s.execute(select(Supplier.name, Supplier.delivery,
                                Supplier.min_order_value)).all() == [("Acme", {}, 0.0)]


def test_bad_columns_are_refused_with_the_reason(sessions, shop_id):
    with session_scope(sessions) as s:
        with pytest.raises(ValueError, match="columns differ in length"):
            upsert_columns(s, Customer, {"shop_id": [shop_id], "external_id": ["1", "2"]},
                           KEY)
        with pytest.raises(ValueError, match=r"customers has no column \['mail'\]"):
            upsert_columns(s, Customer, {"shop_id": [shop_id], "external_id": ["1"],
                                         "mail": ["x"]}, KEY)
        with pytest.raises(ValueError, match=r"key column\(s\) \['external_id'\] missing"):
            upsert_columns(s, Customer, {"shop_id": [shop_id], "email": ["x"]}, KEY)
        assert upsert_columns(s, Customer, {"shop_id": [], "external_id": []}, KEY) == 0


def test_refresh_statistics_runs_on_both_backends(sessions, shop_id):
    with session_scope(sessions) as s:
        upsert_columns(s, Customer, {"shop_id": [shop_id], "external_id": ["1"]}, KEY)
        refresh_statistics(s, ["customers", "orders"])
    assert customers(sessions, shop_id) == [("1", None, None, False, None)]
