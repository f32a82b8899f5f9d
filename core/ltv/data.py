"""Read what the LTV modules need from storage into DataFrames (one shop).

Days are the shop's local calendar days, as in :mod:`core.plan_inputs`; orders without a
location count at the shop's default location (its first warehouse).
"""
from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..plan_inputs import OPEN_PO_STATUSES
from ..storage import (CustomerProductDue, CustomerScore, InventorySnapshot, Location, Order,
                       OrderLine, PlanLine, PlanRun, PurchaseOrder, PurchaseOrderLine, Shop,
                       Variant)

__all__ = ["read_customer_lines", "read_stock", "read_customer_values", "read_due",
           "read_plan_lines", "read_next_receipts"]


def _frame(session: Session, stmt) -> pd.DataFrame:
    result = session.execute(stmt)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def _local_day(values: pd.Series, tz: str) -> pd.Series:
    ts = pd.to_datetime(values, utc=True)
    return ts.dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()


def _default_location(session: Session, shop: Shop) -> int:
    locs = session.execute(select(Location.id, Location.kind).where(Location.shop_id == shop.id)
                           .order_by(Location.id)).all()
    wh = [i for i, k in locs if k == "warehouse"]
    return int((wh or [i for i, _ in locs] or [-1])[0])


def read_customer_lines(session: Session, shop: Shop, start: date | None = None,
                        end: date | None = None) -> pd.DataFrame:
    """Non-cancelled order lines with their customer (null for guests), local days in
    [start, end]: ``order_id, customer_id, sku, variant_id, location_id, day, qty, revenue``
    (qty net of refunds, revenue = qty x price - discount, at least 0)."""
    conds = [OrderLine.shop_id == shop.id, Order.cancelled_at.is_(None)]
    if start is not None:
        conds.append(Order.created_at >= (pd.Timestamp(start) - pd.Timedelta(days=2))
                     .to_pydatetime())
    if end is not None:
        conds.append(Order.created_at < (pd.Timestamp(end) + pd.Timedelta(days=2))
                     .to_pydatetime())
    df = _frame(session, select(
        Order.id.label("order_id"), Order.customer_id, OrderLine.sku, OrderLine.variant_id,
        Order.location_id, Order.created_at,
        (OrderLine.quantity - OrderLine.refunded_quantity).label("qty"), OrderLine.price,
        OrderLine.discount).join(Order, Order.id == OrderLine.order_id).where(*conds))
    cols = ["order_id", "customer_id", "sku", "variant_id", "location_id", "day", "qty",
            "revenue"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    df["day"] = _local_day(df["created_at"], shop.timezone or "UTC")
    if start is not None:
        df = df[df["day"] >= pd.Timestamp(start)]
    if end is not None:
        df = df[df["day"] <= pd.Timestamp(end)]
    df["location_id"] = df["location_id"].fillna(_default_location(session, shop)).astype(int)
    price = pd.to_numeric(df["price"]).fillna(0.0)
    df["revenue"] = (df["qty"] * price - pd.to_numeric(df["discount"]).fillna(0.0)).clip(lower=0)
    df["customer_id"] = df["customer_id"].astype("Int64")
    return df[cols].reset_index(drop=True)


def read_stock(session: Session, shop: Shop, start: date | None = None,
               end: date | None = None) -> pd.DataFrame:
    """Inventory snapshots: ``sku, variant_id, location_id, day, available`` (available
    falls back to on hand - committed when missing)."""
    conds = [InventorySnapshot.shop_id == shop.id]
    if start is not None:
        conds.append(InventorySnapshot.day >= start)
    if end is not None:
        conds.append(InventorySnapshot.day <= end)
    df = _frame(session, select(
        Variant.sku, InventorySnapshot.variant_id, InventorySnapshot.location_id,
        InventorySnapshot.day, InventorySnapshot.available, InventorySnapshot.on_hand,
        InventorySnapshot.committed)
        .join(Variant, Variant.id == InventorySnapshot.variant_id).where(*conds))
    if df.empty:
        return pd.DataFrame(columns=["sku", "variant_id", "location_id", "day", "available"])
    df["day"] = pd.to_datetime(df["day"])
    fallback = pd.to_numeric(df["on_hand"]) - pd.to_numeric(df["committed"]).fillna(0.0)
    df["available"] = pd.to_numeric(df["available"]).fillna(fallback)
    return df[["sku", "variant_id", "location_id", "day", "available"]]


def read_customer_values(session: Session, shop: Shop, asof: date | None = None) -> pd.DataFrame:
    """Each customer's latest stored score (on or before ``asof``): ``customer_id, p_alive,
    expected_purchases_90d, predicted_clv, segment, scored_on``."""
    conds = [CustomerScore.shop_id == shop.id]
    if asof is not None:
        conds.append(CustomerScore.scored_on <= asof)
    latest = (select(CustomerScore.customer_id, func.max(CustomerScore.scored_on).label("d"))
              .where(*conds).group_by(CustomerScore.customer_id).subquery())
    return _frame(session, select(
        CustomerScore.customer_id, CustomerScore.p_alive, CustomerScore.expected_purchases_90d,
        CustomerScore.predicted_clv, CustomerScore.segment, CustomerScore.scored_on)
        .join(latest, (latest.c.customer_id == CustomerScore.customer_id)
              & (latest.c.d == CustomerScore.scored_on))
        .where(CustomerScore.shop_id == shop.id))


def read_due(session: Session, shop: Shop) -> pd.DataFrame:
    """Predicted re-buy dates: ``customer_id, sku, variant_id, next_purchase_date,
    last_quantity, p_alive``."""
    df = _frame(session, select(
        CustomerProductDue.customer_id, Variant.sku, CustomerProductDue.variant_id,
        CustomerProductDue.next_purchase_date, CustomerProductDue.last_quantity,
        CustomerProductDue.p_alive)
        .join(Variant, Variant.id == CustomerProductDue.variant_id)
        .where(CustomerProductDue.shop_id == shop.id,
               CustomerProductDue.next_purchase_date.is_not(None)))
    return df


def read_plan_lines(session: Session, run: PlanRun) -> pd.DataFrame:
    """The run's lines with the variant's price: ``id, variant_id, location_id, sku,
    on_hand, committed, on_order, safety_stock, lead_time_days, forecast_daily, forecast,
    unit_cost, price``."""
    return _frame(session, select(
        PlanLine.id, PlanLine.variant_id, PlanLine.location_id, PlanLine.sku, PlanLine.on_hand,
        PlanLine.committed, PlanLine.on_order, PlanLine.safety_stock, PlanLine.lead_time_days,
        PlanLine.forecast_daily, PlanLine.forecast, PlanLine.unit_cost, Variant.price)
        .join(Variant, Variant.id == PlanLine.variant_id)
        .where(PlanLine.plan_run_id == run.id).order_by(PlanLine.id))


def read_next_receipts(session: Session, shop: Shop, cutoff: date) -> pd.DataFrame:
    """Per variant x location with an open purchase order that has an expected date: days
    from ``cutoff`` to the earliest expected arrival (``next_receipt_days``, at least 0) and
    ``arriving_units`` = 0 (nothing else arrives before the first receipt)."""
    df = _frame(session, select(
        PurchaseOrderLine.variant_id, PurchaseOrder.location_id, PurchaseOrder.expected_at)
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
        .where(PurchaseOrder.shop_id == shop.id, PurchaseOrder.status.in_(OPEN_PO_STATUSES),
               PurchaseOrder.expected_at.is_not(None),
               PurchaseOrderLine.quantity > PurchaseOrderLine.received_quantity))
    if df.empty:
        return pd.DataFrame(columns=["variant_id", "location_id", "next_receipt_days",
                                     "arriving_units"])
    df["next_receipt_days"] = (pd.to_datetime(df["expected_at"]) - pd.Timestamp(cutoff)) \
        .dt.days.clip(lower=0).astype(float)
    out = df.groupby(["variant_id", "location_id"], as_index=False)["next_receipt_days"].min()
    out["arriving_units"] = 0.0
    return out
