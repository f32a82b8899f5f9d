"""Load :class:`core.records.ShopRecords` into storage, upserting by (shop, external id).

Loading the same records twice changes nothing: every table has a unique key per shop and
rows are written with ``INSERT ... ON CONFLICT DO UPDATE`` (SQLite and PostgreSQL). A value
that arrives empty (None) does not erase a stored one, so a source that knows less (a CSV
export) never wipes what a richer one (the API) stored. The load
runs inside the caller's transaction, so a failure leaves nothing half-written.
"""
from __future__ import annotations

import math
from datetime import date, datetime

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from .channels import channel_for_source
from .records import RecordsError, ShopRecords
from .storage import (Campaign, Customer, InventorySnapshot, Location, Order, OrderLine, Product,
                      Supplier, SupplierItem, Variant)
from .upsert import upsert_columns

__all__ = ["load_records", "upsert_rows"]

_PLAIN = frozenset({str, int, bool})


def _clean(value):
    """Turn pandas/numpy scalars into plain Python values the DB drivers accept."""
    if value is None or type(value) in _PLAIN:  # the common case, checked first
        return value
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, (str, bytes, list, dict)):
        return value.item()
    return value


def _columns(frame: pd.DataFrame, columns: dict[str, str]) -> dict[str, list]:
    """Columns of ``frame`` as lists of plain Python values, renamed to table columns."""
    sub = frame[list(columns)].rename(columns=columns)
    cols = {}
    for name in sub.columns:
        col = sub[name]
        if pd.api.types.is_datetime64_any_dtype(col):
            values = [None if v is pd.NaT else v.to_pydatetime() for v in col.tolist()]
        elif col.dtype == object:
            values = [_clean(v) for v in col.tolist()]
        else:  # numeric and bool columns: tolist() gives plain Python values
            values = col.tolist()
            if col.dtype.kind == "f" and col.isna().any():
                values = [None if v != v else v for v in values]
        cols[name] = values
    return cols


def upsert_rows(session: Session, model, rows: list[dict], key: list[str]) -> None:
    """Insert ``rows`` into ``model``'s table, updating the non-key columns on a key conflict."""
    if not rows:
        return
    cols = list(rows[0])
    for i, row in enumerate(rows):
        if len(row) != len(cols) or any(c not in row for c in cols):
            raise ValueError(f"{model.__tablename__}: row {i} has the columns {sorted(row)}, "
                             f"row 0 has {sorted(cols)}; give every row the same columns")
    # a source that does not know a field sends None: the upsert keeps what another
    # source stored (coalesce), see core.upsert
    upsert_columns(session, model, {c: [r[c] for r in rows] for c in cols}, key)


def _id_map(session: Session, model, shop_id: int, field: str = "external_id",
            only=None) -> dict[str, int]:
    """external id -> row id for the shop; with ``only`` (the ids a batch refers to), just
    those, so a page of 50 orders does not read every order the shop ever had."""
    col = getattr(model, field)
    stmt = select(col, model.id).where(model.shop_id == shop_id)
    if only is not None:
        keys = sorted({str(v) for v in only if v is not None and v == v})
        if len(keys) <= 2000:
            found = {}
            for start in range(0, len(keys), 500):
                found.update(session.execute(stmt.where(col.in_(keys[start:start + 500]))).all())
            return found
    return dict(session.execute(stmt).all())


def _lookup(values: pd.Series, mapping: dict, entity: str, what: str,
            required: bool = True) -> list:
    out = []
    for i, v in enumerate(values.tolist()):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            if required:
                raise RecordsError(f"{entity}: row {i} has no {what}")
            out.append(None)
            continue
        found = mapping.get(str(v))
        if found is None:
            raise RecordsError(f"{entity}: row {i} refers to unknown {what} {v!r}")
        out.append(found)
    return out


def _num(frame: pd.DataFrame, col: str, default: float) -> pd.Series:
    return pd.to_numeric(frame[col], errors="raise").fillna(default)


def _day(v) -> date | None:
    v = _clean(v)
    if v is None:
        return None
    return v.date() if isinstance(v, datetime) else v


def load_records(session: Session, shop_id: int, records: ShopRecords) -> dict[str, int]:
    """Upsert every entity of ``records`` for ``shop_id``; return the row count per entity.

    Raises:
        RecordsError: a required value is missing or a row refers to an unknown parent.
    """
    rec = records.validate()
    counts: dict[str, int] = {}

    def put(model, frame, columns, key, extra=None):
        cols = _columns(frame, columns)  # column by column: no dict per row
        cols["shop_id"] = [shop_id] * len(frame)
        cols.update(extra or {})
        counts[model.__tablename__] = upsert_columns(session, model, cols, key)

    loc = rec.locations.assign(kind=rec.locations["kind"].fillna("warehouse"))
    put(Location, loc, {"external_id": "external_id", "name": "name", "kind": "kind"},
        ["shop_id", "external_id"])
    prod = rec.products.assign(status=rec.products["status"].fillna("active"))
    put(Product, prod, {c: c for c in ["external_id", "handle", "title", "family", "vendor",
                                       "status", "created_at"]}, ["shop_id", "external_id"])
    products = _id_map(session, Product, shop_id,
                       only=rec.variants["product_external_id"].tolist())
    var = rec.variants.assign(status=rec.variants["status"].fillna("active"),
                              tracked=[None if v is None or v != v else bool(v)
                                       for v in rec.variants["tracked"].tolist()])
    put(Variant, var, {c: c for c in ["external_id", "sku", "barcode", "title", "price",
                                      "unit_cost", "status", "created_at", "successor_sku",
                                      "inventory_item_id", "tracked"]},
        ["shop_id", "external_id"],
        {"product_id": _lookup(var["product_external_id"], products, "variants", "product")})
    by_sku = _id_map(session, Variant, shop_id, "sku")

    sup = rec.suppliers.assign(min_order_value=_num(rec.suppliers, "min_order_value", 0.0))
    put(Supplier, sup, {c: c for c in ["external_id", "name", "email", "min_order_value",
                                       "currency"]}, ["shop_id", "external_id"])
    suppliers = _id_map(session, Supplier, shop_id)
    si = rec.supplier_items.assign(
        lead_time_std_days=_num(rec.supplier_items, "lead_time_std_days", 0.0),
        moq=_num(rec.supplier_items, "moq", 1).astype(int),
        case_pack=_num(rec.supplier_items, "case_pack", 1).astype(int))
    put(SupplierItem, si, {c: c for c in ["supplier_sku", "unit_cost", "lead_time_days",
                                          "lead_time_std_days", "moq", "case_pack"]},
        ["shop_id", "supplier_id", "variant_id"],
        {"supplier_id": _lookup(si["supplier_external_id"], suppliers, "supplier_items", "supplier"),
         "variant_id": _lookup(si["sku"], by_sku, "supplier_items", "SKU")})

    cust = rec.customers.assign(accepts_marketing=[
        bool(v) if v is not None and v == v else False
        for v in rec.customers["accepts_marketing"].tolist()])
    put(Customer, cust, {c: c for c in ["external_id", "created_at", "email", "first_name",
                                        "last_name", "phone", "accepts_marketing"]},
        ["shop_id", "external_id"])
    customers = _id_map(session, Customer, shop_id,
                        only=rec.orders["customer_external_id"].tolist())
    locations = _id_map(session, Location, shop_id)
    orders_frame = rec.orders.assign(channel=[
        c if isinstance(c, str) and c else (channel_for_source(s) if s is not None and s == s
                                            else None)
        for c, s in zip(rec.orders["channel"].tolist(), rec.orders["source"].tolist())])
    put(Order, orders_frame, {c: c for c in ["external_id", "name", "created_at",
                                             "processed_at", "cancelled_at", "source",
                                             "currency", "subtotal", "total",
                                             "discount_codes", "tags", "channel"]},
        ["shop_id", "external_id"],
        {"location_id": _lookup(orders_frame["location_external_id"], locations, "orders",
                                "location", required=False),
         "customer_id": _lookup(orders_frame["customer_external_id"], customers, "orders",
                                "customer", required=False)})
    orders = _id_map(session, Order, shop_id,
                     only=rec.order_lines["order_external_id"].tolist())
    lines = rec.order_lines.assign(
        refunded_quantity=_num(rec.order_lines, "refunded_quantity", 0).astype(int),
        discount=_num(rec.order_lines, "discount", 0.0))
    put(OrderLine, lines, {c: c for c in ["external_id", "sku", "quantity", "refunded_quantity",
                                          "price", "discount"]},
        ["shop_id", "external_id"],
        {"order_id": _lookup(lines["order_external_id"], orders, "order_lines", "order"),
         "variant_id": [by_sku.get(str(s)) for s in lines["sku"].tolist()]})

    inv = rec.inventory
    if len(inv):
        put(InventorySnapshot, inv.assign(day=[_day(d) for d in inv["date"].tolist()]),
            {c: c for c in ["day", "available", "on_hand", "incoming", "committed",
                            "reserved"]},
            ["shop_id", "variant_id", "location_id", "day"],
            {"variant_id": _lookup(inv["sku"], by_sku, "inventory", "SKU"),
             "location_id": _lookup(inv["location_external_id"], locations, "inventory",
                                    "location")})
    camp = rec.campaigns.assign(skus=[list(s) if isinstance(s, (list, tuple)) else
                                      ([] if s is None or (isinstance(s, float) and math.isnan(s))
                                       else [x.strip() for x in str(s).split(",") if x.strip()])
                                      for s in rec.campaigns["skus"].tolist()])
    put(Campaign, camp, {c: c for c in ["external_id", "name", "starts_at", "ends_at", "skus",
                                        "discount_pct"]}, ["shop_id", "external_id"])
    session.flush()
    return counts
