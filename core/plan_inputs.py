"""Read what a plan needs from storage into DataFrames (one shop, up to a cut-off day)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .storage import (Campaign, InventorySnapshot, Product, Location, Order, OrderLine, PurchaseOrder,
                      PurchaseOrderLine, Shop, Supplier, SupplierItem, Variant)

__all__ = ["PlanInputs", "read_inputs", "last_order_day", "OPEN_PO_STATUSES"]

OPEN_PO_STATUSES = ("approved", "sent", "partially_received")


@dataclass
class PlanInputs:
    """``lines``: sku, variant_id, location_id, day, qty, revenue. ``stock``: sku, location_id,
    day, available (history). ``position``: latest on_hand, committed, reserved, incoming per
    (variant_id, location_id), where ``committed`` already **includes** ``reserved``: both
    are on hand and not sellable (Shopify's committed = promised to orders, reserved = held
    for draft orders and holds), so the plan's inventory position
    ``on_hand + on_order - committed`` is on hand + on order - committed - reserved; the
    ``reserved`` column is kept for display. ``on_order``: open PO units per (variant_id,
    location_id). ``variants``: id, sku, title, product_id, family, price, unit_cost,
    status, created_at, successor_sku, untracked (True when the shop does not track the
    item's stock, i.e. ``Variant.tracked`` is False: the plan marks its lines ``untracked``
    and recommends nothing). ``supply``: one primary supplier item per variant_id. ``campaigns``: name,
    start, end (local days, inclusive), skus (list), discount_pct. ``margin``: gross margin
    of the last 365 days per SKU over every SKU of the shop (revenue where cost is unknown).
    ``ltv_weight``: optional SKU weight from customer lifetime value (1 = neutral)."""

    cutoff: date
    lines: pd.DataFrame
    stock: pd.DataFrame
    position: pd.DataFrame
    on_order: pd.DataFrame
    variants: pd.DataFrame
    supply: pd.DataFrame
    default_location_id: int | None
    margin: pd.Series | None = None
    campaigns: pd.DataFrame | None = None
    ltv_weight: pd.Series | None = None


def _frame(session: Session, stmt) -> pd.DataFrame:
    result = session.execute(stmt)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def last_order_day(session: Session, shop: Shop) -> date | None:
    last = session.scalar(select(func.max(Order.created_at)).where(Order.shop_id == shop.id))
    if last is None:
        return None
    ts = pd.Timestamp(last)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts
    return ts.tz_convert(shop.timezone or "UTC").date()


def _local_day(values: pd.Series, tz: str) -> pd.Series:
    ts = pd.to_datetime(values, utc=True)
    return ts.dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()


def _margin(session: Session, shop_id: int, cutoff: date) -> pd.Series:
    since = pd.Timestamp(cutoff) - pd.Timedelta(days=364)
    unit_margin = func.coalesce(OrderLine.price, 0.0) - func.coalesce(Variant.unit_cost, 0.0)
    rows = session.execute(select(
        OrderLine.sku, func.sum((OrderLine.quantity - OrderLine.refunded_quantity) * unit_margin
                                - func.coalesce(OrderLine.discount, 0.0)))
        .join(Order, Order.id == OrderLine.order_id)
        .outerjoin(Variant, Variant.id == OrderLine.variant_id)
        .where(OrderLine.shop_id == shop_id, Order.cancelled_at.is_(None),
               Order.created_at >= since.to_pydatetime())
        .group_by(OrderLine.sku)).all()
    return pd.Series({sku: float(v or 0.0) for sku, v in rows}, dtype=float)


def read_inputs(session: Session, shop: Shop, cutoff: date,
                skus: list[str] | None = None, position_asof: date | None = None) -> PlanInputs:
    """Everything the plan reads, with order days in the shop's time zone.

    The stock position is the latest snapshot (as of ``position_asof`` when given: a plan
    for a past cut-off), demand history ends at ``cutoff``.

    With ``skus``, only those SKUs' data is read (for a targeted recalculation), plus the
    SKUs they succeed; the margin used for ABC classes still covers every SKU, so classes do
    not shift.
    """
    sid = shop.id
    vids = None
    if skus is not None:
        skus = set(skus) | set(session.scalars(select(Variant.sku).where(
            Variant.shop_id == sid, Variant.successor_sku.in_(list(skus)))))
        vids = list(session.scalars(select(Variant.id).where(Variant.shop_id == sid,
                                                             Variant.sku.in_(list(skus)))))
    locs = _frame(session, select(Location.id, Location.kind).where(Location.shop_id == sid)
                  .order_by(Location.id))
    default_loc = None
    if len(locs):
        wh = locs[locs["kind"] == "warehouse"]
        default_loc = int((wh if len(wh) else locs)["id"].iloc[0])
    end = pd.Timestamp(cutoff) + pd.Timedelta(days=2)  # widen for time zones; cut again below
    lines = _frame(session, select(
        OrderLine.sku, OrderLine.variant_id, Order.location_id, Order.created_at,
        (OrderLine.quantity - OrderLine.refunded_quantity).label("qty"),
        OrderLine.price, OrderLine.discount)
        .join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.shop_id == sid, Order.cancelled_at.is_(None),
               Order.created_at < end.to_pydatetime(),
               *([OrderLine.sku.in_(list(skus))] if skus is not None else [])))
    if len(lines):
        lines["day"] = _local_day(lines["created_at"], shop.timezone or "UTC")
        lines = lines[lines["day"] <= pd.Timestamp(cutoff)]
        lines["location_id"] = lines["location_id"].fillna(default_loc if default_loc else -1)
        lines["location_id"] = lines["location_id"].astype(int)
        price = pd.to_numeric(lines["price"]).fillna(0.0)
        lines["revenue"] = (lines["qty"] * price
                            - pd.to_numeric(lines["discount"]).fillna(0.0)).clip(lower=0)
        lines = lines.drop(columns=["created_at", "price", "discount"])
    else:
        lines = pd.DataFrame(columns=["sku", "variant_id", "location_id", "qty", "day", "revenue"])
    stock = _frame(session, select(
        InventorySnapshot.variant_id, InventorySnapshot.location_id, InventorySnapshot.day,
        InventorySnapshot.available, InventorySnapshot.on_hand, InventorySnapshot.committed,
        InventorySnapshot.reserved, InventorySnapshot.incoming)
        .where(InventorySnapshot.shop_id == sid,
               *([InventorySnapshot.day <= position_asof] if position_asof else []),
               *([InventorySnapshot.variant_id.in_(vids)] if vids is not None else [])))
    variants = _frame(session, select(
        Variant.id, Variant.sku, Variant.title, Variant.product_id, Product.family,
        Variant.price, Variant.unit_cost, Variant.status, Variant.created_at,
        Variant.successor_sku, Variant.tracked).outerjoin(
            Product, Product.id == Variant.product_id).where(
            Variant.shop_id == sid, *([Variant.id.in_(vids)] if vids is not None else [])))
    variants["untracked"] = [t is not None and t == t and not bool(t)
                             for t in variants.pop("tracked").tolist()]
    sku_of = dict(zip(variants["id"], variants["sku"]))
    if len(stock):
        stock["sku"] = stock["variant_id"].map(sku_of)
        stock["day"] = pd.to_datetime(stock["day"])
        latest = stock.sort_values("day").groupby(["variant_id", "location_id"]).tail(1)
        stock = stock[stock["day"] <= pd.Timestamp(cutoff)]  # history for demand censoring
        position = latest[["variant_id", "location_id", "on_hand", "committed", "reserved",
                           "incoming", "available", "day"]].copy()
        for col in ("on_hand", "committed", "reserved", "incoming", "available"):
            position[col] = pd.to_numeric(position[col]).astype(float)
        position["on_hand"] = position["on_hand"].fillna(position["available"])
        position = position.fillna({"committed": 0.0, "reserved": 0.0, "incoming": 0.0,
                                    "on_hand": 0.0})
        position["committed"] = position["committed"] + position["reserved"]  # see PlanInputs
    else:
        position = pd.DataFrame(columns=["variant_id", "location_id", "on_hand", "committed",
                                         "reserved", "incoming", "available", "day"])
    on_order = _frame(session, select(
        PurchaseOrderLine.variant_id, PurchaseOrder.location_id,
        func.sum(PurchaseOrderLine.quantity - PurchaseOrderLine.received_quantity).label("units"))
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
        .where(PurchaseOrder.shop_id == sid, PurchaseOrder.status.in_(OPEN_PO_STATUSES),
               *([PurchaseOrderLine.variant_id.in_(vids)] if vids is not None else []))
        .group_by(PurchaseOrderLine.variant_id, PurchaseOrder.location_id))
    supply = _frame(session, select(
        SupplierItem.variant_id, SupplierItem.supplier_id, SupplierItem.lead_time_days,
        SupplierItem.lead_time_std_days, SupplierItem.moq, SupplierItem.case_pack,
        SupplierItem.unit_cost, SupplierItem.is_primary, Supplier.name.label("supplier"))
        .join(Supplier, Supplier.id == SupplierItem.supplier_id)
        .where(SupplierItem.shop_id == sid,
               *([SupplierItem.variant_id.in_(vids)] if vids is not None else [])))
    if len(supply):
        supply = (supply.sort_values(["variant_id", "is_primary", "lead_time_days"],
                                     ascending=[True, False, True])
                  .groupby("variant_id").head(1).set_index("variant_id"))
    return PlanInputs(cutoff=cutoff, lines=lines, stock=stock, position=position,
                      on_order=on_order, variants=variants, supply=supply,
                      default_location_id=default_loc, margin=_margin(session, sid, cutoff),
                      campaigns=_campaigns(session, shop))


def _campaigns(session: Session, shop: Shop) -> pd.DataFrame:
    tz = shop.timezone or "UTC"
    rows = session.execute(select(Campaign.name, Campaign.starts_at, Campaign.ends_at,
                                  Campaign.skus, Campaign.discount_pct)
                           .where(Campaign.shop_id == shop.id)).all()
    out = pd.DataFrame(rows, columns=["name", "start", "end", "skus", "discount_pct"])
    if len(out):
        out["start"] = _local_day(out["start"], tz)
        out["end"] = _local_day(out["end"], tz)
    return out
