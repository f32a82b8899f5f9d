"""Integration tests of the web app against a small, hand-made shop.

The shop is built by hand in a temporary SQLite database: two locations, five SKUs with
demand defined by simple formulas (so sums can be worked out independently of the app), a
stockout stretch, refunds, cancelled orders, an order without a location, a campaign, a SKU
with ten days of history, a seasonal SKU, a SKU without a supplier and a SKU whose name holds
a slash and a space. It is loaded with :func:`core.ingest.load_records` and planned with
:func:`core.plan.run_plan`.
"""
from __future__ import annotations

import csv
import io
import re
import shutil
from datetime import date, timedelta
from urllib.parse import quote

import pandas as pd
import pytest
from sqlalchemy import select

from connector.app import create_app
from connector.config import Settings
from connector.context import build_context
from core.ingest import load_records
from core.plan import run_plan
from core.records import ShopRecords
from core.reports import latest_run, order_list
from core.shops import get_or_create_shop
from core.storage import (Location, PlanLine, PurchaseOrder, PurchaseOrderLine, Shop,
                          Supplier, Variant)

START = date(2024, 1, 1)
N_DAYS = 150
CUTOFF = START + timedelta(days=N_DAYS - 1)  # 2024-05-29, the day of the last order
SHOP = "Test Shop"
MUG = "MUG/BLUE L"
STOCKOUT = range(120, 130)  # MUG's days with nothing available (and so no sales)
KETTLE_FROM = 140  # KETTLE-01 is new: it sells from this day on (10 days of history)
SLED_SEASON = (date(2023, 12, 1), date(2024, 2, 29))
CAMPAIGN = (date(2024, 5, 10), date(2024, 5, 16))


def day(d: int) -> date:
    return START + timedelta(days=d)


# --- hand-made demand: units ordered per SKU, location and day index ----------------------

def tea_wh(d: int) -> int:
    return 3 + d % 3


def tea_wh_refunded(d: int) -> int:
    return 1 if d % 10 == 0 else 0


def tea_wh_no_location(d: int) -> bool:
    """Orders with no location count at the default (first warehouse) location."""
    return d % 7 == 3


def tea_cancelled(d: int) -> bool:
    return d % 25 == 5  # an extra cancelled order of 20 units, never counted


def tea_st(d: int) -> int:
    return 1 if d % 2 == 0 else 0


def mug_wh(d: int) -> int:
    if d in STOCKOUT:
        return 0
    return 4 if day(d).weekday() >= 5 else 2


def kettle_wh(d: int) -> int:
    return 1 + d % 2 if d >= KETTLE_FROM else 0


def filter_st(d: int) -> int:
    return 3 if d % 4 == 0 else 0


def ts(d: date, hour: int = 10) -> pd.Timestamp:
    return pd.Timestamp(d.isoformat()).tz_localize("UTC") + pd.Timedelta(hours=hour)


def build_records() -> ShopRecords:
    """The hand-made shop as intake records."""
    locations = pd.DataFrame([
        {"external_id": "wh", "name": "Main warehouse", "kind": "warehouse"},
        {"external_id": "st", "name": "Corner store", "kind": "store"}])
    catalog = [("TEA-GREEN", "Green tea 100 g", 6.0, 2.0, START),
               (MUG, "Blue mug, large", 12.0, 4.0, START),
               ("KETTLE-01", "Copper kettle", 45.0, 18.5, day(KETTLE_FROM)),
               ("FILTER-PK", "Tea filters, pack of 100", 3.5, 1.0, START),
               ("SLED-RED", "Red sled", 30.0, 12.0, date(2023, 5, 1))]
    products = pd.DataFrame([{"external_id": f"p{i}", "title": t, "created_at": ts(c, 0)}
                             for i, (_, t, _, _, c) in enumerate(catalog)])
    variants = pd.DataFrame([{"external_id": f"v{i}", "product_external_id": f"p{i}",
                              "sku": s, "title": t, "price": p, "unit_cost": u,
                              "created_at": ts(c, 0)}
                             for i, (s, t, p, u, c) in enumerate(catalog)])
    suppliers = pd.DataFrame([{"external_id": "leaf", "name": "Leaf & Co"},
                              {"external_id": "kw", "name": "Kettle Works"}])
    supplier_items = pd.DataFrame([
        {"supplier_external_id": "leaf", "sku": "TEA-GREEN", "unit_cost": 2.5,
         "lead_time_days": 10, "case_pack": 6},
        {"supplier_external_id": "leaf", "sku": MUG, "unit_cost": 4.0, "lead_time_days": 21,
         "moq": 12},
        {"supplier_external_id": "kw", "sku": "KETTLE-01", "unit_cost": 18.5,
         "lead_time_days": 14},
        {"supplier_external_id": "leaf", "sku": "SLED-RED", "unit_cost": 12.0,
         "lead_time_days": 30}])
    orders, lines = [], []

    def order(oid, d, loc, items, cancelled=False):
        orders.append({"external_id": oid, "name": f"#{oid}", "created_at": ts(d),
                       "cancelled_at": ts(d, 12) if cancelled else None,
                       "location_external_id": loc})
        for sku, qty, refunded in items:
            lines.append({"external_id": f"{oid}-{sku}", "order_external_id": oid, "sku": sku,
                          "quantity": qty, "refunded_quantity": refunded, "price": 1.0})

    for d in range(N_DAYS):
        wh = [("TEA-GREEN", tea_wh(d), tea_wh_refunded(d))]
        wh += [(s, q, 0) for s, q in ((MUG, mug_wh(d)), ("KETTLE-01", kettle_wh(d))) if q]
        order(f"w{d}", day(d), None if tea_wh_no_location(d) else "wh", wh)
        st = [(s, q, 0) for s, q in (("TEA-GREEN", tea_st(d)), ("FILTER-PK", filter_st(d)))
              if q]
        if st:
            order(f"s{d}", day(d), "st", st)
        if tea_cancelled(d):
            order(f"c{d}", day(d), "wh", [("TEA-GREEN", 20, 0)], cancelled=True)
    d = SLED_SEASON[0]
    while d <= SLED_SEASON[1]:
        order(f"sled{d.isoformat()}", d, "wh", [("SLED-RED", 4, 0)])
        d += timedelta(days=1)
    inventory = []
    for d in range(N_DAYS):
        last = d == N_DAYS - 1
        rows = [("TEA-GREEN", "wh", 100 - (d % 30) * 3, 2 if last else 0),
                (MUG, "wh", 0 if d in STOCKOUT else 60, 0),
                ("TEA-GREEN", "st", 20, 0), ("FILTER-PK", "st", 30, 0),
                ("SLED-RED", "wh", 40, 0)]
        if d >= KETTLE_FROM:
            rows.append(("KETTLE-01", "wh", 5, 0))
        for sku, loc, avail, committed in rows:
            inventory.append({"sku": sku, "location_external_id": loc,
                              "date": pd.Timestamp(day(d).isoformat()), "available": avail,
                              "on_hand": avail + committed, "incoming": 0,
                              "committed": committed})
    campaigns = pd.DataFrame([{"external_id": "cmp1", "name": "Spring tea week",
                               "starts_at": ts(CAMPAIGN[0], 0),
                               "ends_at": ts(CAMPAIGN[1], 0) + pd.Timedelta(seconds=86399),
                               "skus": ["TEA-GREEN"], "discount_pct": 15.0}])
    return ShopRecords(locations=locations, products=products, variants=variants,
                       suppliers=suppliers, supplier_items=supplier_items,
                       orders=pd.DataFrame(orders), order_lines=pd.DataFrame(lines),
                       inventory=pd.DataFrame(inventory), campaigns=campaigns)


def build_shop_db(path) -> str:
    """Create, load and plan the hand-made shop in a SQLite file; return its URL."""
    url = f"sqlite:///{path}"
    ctx = build_context(Settings(database_url=url, env="test"))
    with ctx.sessions() as s:
        shop = get_or_create_shop(s, SHOP, currency="EUR")
        load_records(s, shop.id, build_records())
        s.flush()
        leaf = s.scalar(select(Supplier).where(Supplier.external_id == "leaf"))
        wh = s.scalar(select(Location).where(Location.external_id == "wh"))
        mug_id = s.scalar(select(Variant.id).where(Variant.sku == MUG))
        po = PurchaseOrder(shop_id=shop.id, number="PO-MANUAL-1", supplier_id=leaf.id,
                           location_id=wh.id, status="sent", idempotency_key="manual-1",
                           expected_at=CUTOFF + timedelta(days=5))
        s.add(po)
        s.flush()
        s.add(PurchaseOrderLine(purchase_order_id=po.id, variant_id=mug_id, sku=MUG,
                                quantity=24, unit_cost=4.0))
        s.commit()
        run_plan(s, shop)
        s.commit()
    ctx.engine.dispose()
    return url
