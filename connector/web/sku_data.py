"""What the SKU page shows, read from storage: sales history, stockout days, campaigns, the
plan's forecast with its interval, and the projected stock.

Days are the shop's calendar days (its time zone), as in the plan. Units sold are order-line
quantities net of refunds, cancelled orders left out, counted at the order's location; an
order without a location counts at the shop's first warehouse, as :mod:`core.plan_inputs`
does.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.storage import (Campaign, InventorySnapshot, Location, Order, OrderLine, PlanLine,
                          Shop)

__all__ = ["Z80", "SkuHistory", "default_location_id", "local_day", "sales_history",
           "stock_history", "campaign_windows", "forecast_days", "forecast_band",
           "arrival_offset", "projected_stock"]

#: Standard normal quantile of 0.90: mean +- Z80 * sigma is a central 80% interval.
Z80 = 1.2816


@dataclass
class SkuHistory:
    """Daily history of one SKU at one location over ``start``..``end`` (inclusive)."""

    start: date
    end: date
    sold: dict[date, float] = field(default_factory=dict)
    stockouts: set[date] = field(default_factory=set)
    on_hand: dict[date, float] = field(default_factory=dict)

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    @property
    def total_sold(self) -> float:
        return float(sum(self.sold.values()))


def _zone(shop: Shop):
    try:
        return ZoneInfo(shop.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc


def local_day(ts: datetime, zone) -> date:
    """The calendar day of ``ts`` in ``zone``; naive timestamps are UTC (SQLite drops zones)."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=timezone.utc)
    return ts.astimezone(zone).date()


def default_location_id(session: Session, shop: Shop) -> int | None:
    """Where orders without a location count: the first warehouse, else the first location."""
    locs = session.execute(select(Location.id, Location.kind).where(Location.shop_id == shop.id)
                           .order_by(Location.id)).all()
    for loc_id, kind in locs:
        if kind == "warehouse":
            return int(loc_id)
    return int(locs[0][0]) if locs else None


def sales_history(session: Session, shop: Shop, sku: str, start: date,
                  end: date) -> dict[int, dict[date, float]]:
    """Net units sold per location id and day for ``sku`` over ``start``..``end``."""
    zone = _zone(shop)
    lo = datetime.combine(start - timedelta(days=2), datetime.min.time())
    hi = datetime.combine(end + timedelta(days=2), datetime.min.time())
    rows = session.execute(
        select(Order.created_at, Order.location_id,
               (OrderLine.quantity - OrderLine.refunded_quantity).label("qty"))
        .join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.shop_id == shop.id, OrderLine.sku == sku,
               Order.cancelled_at.is_(None), Order.created_at >= lo, Order.created_at < hi)
    ).all()
    fallback = default_location_id(session, shop) if any(r[1] is None for r in rows) else None
    out: dict[int, dict[date, float]] = {}
    for created, loc_id, qty in rows:
        d = local_day(created, zone)
        if not start <= d <= end:
            continue
        loc = loc_id if loc_id is not None else fallback
        if loc is None:
            continue
        per_day = out.setdefault(int(loc), {})
        per_day[d] = per_day.get(d, 0.0) + float(qty or 0)
    return out


def stock_history(session: Session, shop: Shop, variant_id: int, location_id: int,
                  start: date, end: date) -> tuple[set[date], dict[date, float]]:
    """Stockout days (end-of-day available <= 0) and end-of-day on hand from snapshots."""
    rows = session.execute(
        select(InventorySnapshot.day, InventorySnapshot.available, InventorySnapshot.on_hand)
        .where(InventorySnapshot.shop_id == shop.id,
               InventorySnapshot.variant_id == variant_id,
               InventorySnapshot.location_id == location_id,
               InventorySnapshot.day >= start, InventorySnapshot.day <= end)).all()
    stockouts, levels = set(), {}
    for d, available, on_hand in rows:
        if available is not None and available <= 0:
            stockouts.add(d)
        level = on_hand if on_hand is not None else available
        if level is not None:
            levels[d] = float(level)
    return stockouts, levels


def campaign_windows(session: Session, shop: Shop, sku: str, start: date,
                     end: date) -> list[tuple[str, date, date]]:
    """Campaigns listing ``sku`` that overlap ``start``..``end``: (name, first, last day)."""
    zone = _zone(shop)
    out = []
    for c in session.scalars(select(Campaign).where(Campaign.shop_id == shop.id)
                             .order_by(Campaign.starts_at)):
        if sku not in (c.skus or []):
            continue
        first, last = local_day(c.starts_at, zone), local_day(c.ends_at, zone)
        if last >= start and first <= end:
            out.append((c.name, first, last))
    return out


def forecast_days(line: PlanLine) -> tuple[list[date], list[float]]:
    """The plan line's daily forecast as (days, mean units); empty when it has none."""
    fc = line.forecast or {}
    mean = [float(x) for x in fc.get("mean") or []]
    if not mean or not fc.get("start"):
        return [], []
    first = date.fromisoformat(str(fc["start"])[:10])
    return [first + timedelta(days=i) for i in range(len(mean))], mean


def forecast_band(mean: list[float], sigma_daily: float | None) -> tuple[list[float],
                                                                         list[float]]:
    """The 80% interval per day: mean -+ 1.2816 * sigma_daily, the lower end floored at 0."""
    s = Z80 * float(sigma_daily or 0.0)
    return [max(m - s, 0.0) for m in mean], [m + s for m in mean]


def arrival_offset(line: PlanLine) -> int:
    """Days after the cut-off when an order placed now arrives: ceil(lead time), at least 1."""
    return max(int(math.ceil(float(line.lead_time_days or 0.0))), 1)


def projected_stock(line: PlanLine, mean: list[float]) -> list[float]:
    """Projected on hand for day 0 (the cut-off) and each forecast day.

    ``P(t) = on_hand - committed - sum(mean[:t]) + [t >= ceil(lead_time)] * (on_order +
    recommended_qty)``: the recommended order and every open on-order unit are taken to
    arrive together after the lead time (a simplification: open orders really arrive on
    their own dates). Values below zero are demand the stock would not cover.
    """
    start = float(line.on_hand or 0.0) - float(line.committed or 0.0)
    arrival_day = arrival_offset(line)
    arriving = float(line.on_order or 0.0) + float(line.recommended_qty or 0)
    out, used = [start], 0.0
    for t, m in enumerate(mean, start=1):
        used += m
        out.append(start - used + (arriving if t >= arrival_day else 0.0))
    return out
