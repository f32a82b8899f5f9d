"""Storage side of the KPIs: reading what they need, and keeping the daily snapshots.

:func:`read_kpi_data` reads one shop's data as of a day (see :mod:`core.kpis` for the
KPI definitions and the windows). :func:`write_snapshots` upserts one
:class:`~core.storage.KpiSnapshot` row per (shop, day, name, dims_key): writing the same
day again updates the values in place, and rows of that day for KPI names of
:data:`KPI_NAMES` that are no longer produced (say a segment that disappeared) are
deleted, so a day's rows always equal the latest computation. The caller commits.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy import desc, func, select
from sqlalchemy.orm import Session

from .storage import (CustomerScore, InventorySnapshot, KpiSnapshot, Location, Order,
                      OrderLine, PlanRun, Shop, SupplierItem, Variant)

__all__ = ["DEFAULT_WINDOW", "LOOKBACK_DAYS", "REPURCHASE_DAYS", "KPI_NAMES", "KpiData",
           "channel_of", "dims_key", "read_kpi_data", "write_snapshots", "kpi_series",
           "forecast_accuracy_history"]

DEFAULT_WINDOW = 30  # days of the trailing KPI window W, the snapshot day included
LOOKBACK_DAYS = 56  # days read before W, so stockouts early in W have days to lift from
REPURCHASE_DAYS = 90  # repurchase horizon, and how far the cohort window lies back
WEB_SOURCES = ("web", "online_store", "online store")
#: Every KPI name :func:`core.kpis.compute_kpis` writes (stale rows of these are deleted).
KPI_NAMES = (
    "stockout_rate", "fill_rate", "units_sold", "revenue", "cogs", "inventory_value",
    "inventory_turnover", "days_of_cover", "lost_units", "lost_revenue", "repurchase_rate",
    "repurchase_cohort", "ltv_mean", "segment_customers", "forecast_mase", "forecast_wape",
    "forecast_bias", "channel_units", "channel_revenue", "channel_lost_units",
    "channel_fill_rate",
)


@dataclass
class KpiData:
    """What the KPIs of one day read (all days are naive midnight timestamps).

    ``lines``: day, sku, variant_id, location_id, channel (dims_key of the channel slice),
    units, revenue (read range). ``stock``: variant_id, sku, location_id, day, available,
    on_hand (read range). ``variants``: id, sku, price, cost, status. ``locations``: id,
    name, kind. ``orders``: customer_id, day (for the repurchase rate). ``scores``: segment,
    predicted_clv. ``run``: mase, wape, bias of the plan run, or None. ``channels``: dims per
    channel key.
    """

    day: pd.Timestamp
    window: int
    lines: pd.DataFrame
    stock: pd.DataFrame
    variants: pd.DataFrame
    locations: pd.DataFrame
    orders: pd.DataFrame
    scores: pd.DataFrame
    run: dict | None
    channels: dict

    @property
    def start(self) -> pd.Timestamp:
        """First day of the window W."""
        return self.day - pd.Timedelta(days=self.window - 1)


def dims_key(dims: dict) -> str:
    """The slice key of ``dims``: ``k=v`` pairs sorted by k, comma separated ("" if none)."""
    return ",".join(f"{k}={dims[k]}" for k in sorted(dims))


def channel_of(source: str | None, location: str | None = None) -> dict:
    """Channel dims of an order's ``source`` (the channel rule in :mod:`core.kpis`)."""
    src = (source or "").strip().lower()
    if not src:
        return {"channel": "unknown"}
    if src in WEB_SOURCES:
        return {"channel": "web"}
    if src == "pos":
        return {"channel": "pos", "location": location or "unknown"}
    return {"channel": src}


def _frame(session: Session, stmt) -> pd.DataFrame:
    result = session.execute(stmt)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def _local_day(values: pd.Series, tz: str) -> pd.Series:
    ts = pd.to_datetime(values, utc=True)
    return ts.dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()


def read_kpi_data(session: Session, shop: Shop, day: date,
                  window: int = DEFAULT_WINDOW) -> KpiData:
    """Read everything the KPIs of ``day`` need from storage: the read range is the
    ``window`` days ending on ``day`` plus :data:`LOOKBACK_DAYS` before them (orders from
    ``REPURCHASE_DAYS`` + ``window`` days back for the repurchase rate); see
    :mod:`core.kpis`."""
    sid, tz = shop.id, shop.timezone or "UTC"
    day = pd.Timestamp(day).normalize()
    read_start = day - pd.Timedelta(days=window - 1 + LOOKBACK_DAYS)
    hi = (day + pd.Timedelta(days=2)).to_pydatetime()  # widened for time zones; cut below
    locations = _frame(session, select(Location.id, Location.name, Location.kind)
                       .where(Location.shop_id == sid).order_by(Location.id))
    wh = locations[locations["kind"] == "warehouse"] if len(locations) else locations
    default_loc = int((wh if len(wh) else locations)["id"].iloc[0]) if len(locations) else -1
    loc_name = dict(zip(locations["id"], locations["name"])) if len(locations) else {}
    lines = _frame(session, select(
        Order.created_at, Order.source, Order.location_id, OrderLine.sku,
        OrderLine.variant_id, OrderLine.quantity, OrderLine.refunded_quantity,
        OrderLine.price, OrderLine.discount)
        .join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.shop_id == sid, Order.cancelled_at.is_(None),
               Order.created_at >= (read_start - pd.Timedelta(days=2)).to_pydatetime(),
               Order.created_at < hi))
    channels: dict[str, dict] = {}
    cols = ["day", "sku", "variant_id", "location_id", "channel", "units", "revenue"]
    if len(lines):
        lines["day"] = _local_day(lines["created_at"], tz)
        lines = lines[(lines["day"] >= read_start) & (lines["day"] <= day)].copy()
        lines["location_id"] = lines["location_id"].fillna(default_loc).astype(int)
        keys = []
        for src, loc in zip(lines["source"].tolist(), lines["location_id"].tolist()):
            dims = channel_of(src, loc_name.get(loc))
            keys.append(dims_key(dims))
            channels.setdefault(keys[-1], dims)
        lines["channel"] = keys
        qty = pd.to_numeric(lines["quantity"]).astype(float)
        net = qty - pd.to_numeric(lines["refunded_quantity"]).fillna(0).astype(float)
        lines["units"] = qty
        lines["revenue"] = (net * pd.to_numeric(lines["price"]).fillna(0.0).astype(float)
                            - pd.to_numeric(lines["discount"]).fillna(0.0)).clip(lower=0)
        lines = lines[cols].reset_index(drop=True)
    else:
        lines = pd.DataFrame(columns=cols)
    variants = _frame(session, select(Variant.id, Variant.sku, Variant.price,
                                      Variant.unit_cost, Variant.status)
                      .where(Variant.shop_id == sid))
    items = _frame(session, select(SupplierItem.variant_id, SupplierItem.unit_cost)
                   .where(SupplierItem.shop_id == sid, SupplierItem.unit_cost.is_not(None))
                   .order_by(desc(SupplierItem.is_primary), SupplierItem.id))
    item_cost = items.drop_duplicates("variant_id").set_index("variant_id")["unit_cost"] \
        if len(items) else pd.Series(dtype=float)
    variants["cost"] = pd.to_numeric(variants["unit_cost"]).astype(float).fillna(
        variants["id"].map(item_cost).astype(float))
    stock = _frame(session, select(InventorySnapshot.variant_id, InventorySnapshot.location_id,
                                   InventorySnapshot.day, InventorySnapshot.available,
                                   InventorySnapshot.on_hand)
                   .where(InventorySnapshot.shop_id == sid,
                          InventorySnapshot.day >= read_start.date(),
                          InventorySnapshot.day <= day.date()))
    if len(stock):
        stock["day"] = pd.to_datetime(stock["day"])
        stock["sku"] = stock["variant_id"].map(dict(zip(variants["id"], variants["sku"])))
        for c in ("available", "on_hand"):
            stock[c] = pd.to_numeric(stock[c]).astype(float)
    ref_lo = day - pd.Timedelta(days=REPURCHASE_DAYS + window - 1)
    orders = _frame(session, select(Order.customer_id, Order.created_at).where(
        Order.shop_id == sid, Order.cancelled_at.is_(None), Order.customer_id.is_not(None),
        Order.created_at >= (ref_lo - pd.Timedelta(days=2)).to_pydatetime(),
        Order.created_at < hi))
    orders["day"] = _local_day(orders["created_at"], tz) if len(orders) else pd.Series(
        dtype="datetime64[ns]")
    orders = orders[(orders["day"] >= ref_lo) & (orders["day"] <= day)][["customer_id", "day"]]
    last_scored = session.scalar(select(func.max(CustomerScore.scored_on)).where(
        CustomerScore.shop_id == sid, CustomerScore.scored_on <= day.date()))
    scores = _frame(session, select(CustomerScore.segment, CustomerScore.predicted_clv).where(
        CustomerScore.shop_id == sid, CustomerScore.scored_on == last_scored)) \
        if last_scored is not None else pd.DataFrame(columns=["segment", "predicted_clv"])
    run = session.scalar(select(PlanRun).where(
        PlanRun.shop_id == sid, PlanRun.status == "done", PlanRun.data_cutoff <= day.date())
        .order_by(desc(PlanRun.data_cutoff), desc(PlanRun.id)).limit(1))
    return KpiData(day=day, window=window, lines=lines, stock=stock, variants=variants,
                   locations=locations, orders=orders, scores=scores,
                   run=None if run is None else {"mase": run.mase, "wape": run.wape,
                                                 "bias": run.bias},
                   channels=channels)


def _clean(value) -> float | None:
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def write_snapshots(session: Session, shop: Shop, day: date,
                    rows: list[tuple[str, dict, float]]) -> dict:
    """Upsert (name, dims, value) ``rows`` as the KpiSnapshot rows of ``day`` (module
    docstring); NaN and infinite values are stored as NULL.

    Returns:
        ``{"shop_id", "day", "written", "deleted", "kpis"}`` where ``kpis`` maps
        name -> {dims_key: value}.
    """
    day = pd.Timestamp(day).date()
    existing = {(r.name, r.dims_key): r for r in session.scalars(select(KpiSnapshot).where(
        KpiSnapshot.shop_id == shop.id, KpiSnapshot.day == day))}
    out: dict[str, dict] = {}
    seen = set()
    for name, dims, value in rows:
        key = dims_key(dims)
        seen.add((name, key))
        v = _clean(value)
        out.setdefault(name, {})[key] = v
        row = existing.get((name, key))
        if row is None:
            session.add(KpiSnapshot(shop_id=shop.id, day=day, name=name, dims_key=key,
                                    dims=dict(dims), value=v))
        else:
            row.value, row.dims = v, dict(dims)
    deleted = 0
    for (name, key), row in existing.items():
        if name in KPI_NAMES and (name, key) not in seen:
            session.delete(row)
            deleted += 1
    session.flush()
    return {"shop_id": shop.id, "day": day, "written": len(rows),
            "deleted": deleted, "kpis": out}


def kpi_series(session: Session, shop: Shop, name: str, dims_key: str = "",
               since: date | None = None) -> pd.DataFrame:
    """Stored daily values of one KPI slice: DataFrame ``day`` (date), ``value``, sorted."""
    stmt = select(KpiSnapshot.day, KpiSnapshot.value).where(
        KpiSnapshot.shop_id == shop.id, KpiSnapshot.name == name,
        KpiSnapshot.dims_key == dims_key)
    if since is not None:
        stmt = stmt.where(KpiSnapshot.day >= pd.Timestamp(since).date())
    rows = session.execute(stmt.order_by(KpiSnapshot.day)).all()
    return pd.DataFrame(rows, columns=["day", "value"])


def forecast_accuracy_history(session: Session, shop: Shop,
                              since: date | None = None) -> pd.DataFrame:
    """Accuracy of every finished plan run: ``plan_run_id, data_cutoff, mase, wape, bias``,
    by data cut-off (MASE / WAPE / bias as in :mod:`core.metrics`)."""
    stmt = select(PlanRun.id, PlanRun.data_cutoff, PlanRun.mase, PlanRun.wape,
                  PlanRun.bias).where(PlanRun.shop_id == shop.id, PlanRun.status == "done")
    if since is not None:
        stmt = stmt.where(PlanRun.data_cutoff >= pd.Timestamp(since).date())
    rows = session.execute(stmt.order_by(PlanRun.data_cutoff, PlanRun.id)).all()
    return pd.DataFrame(rows, columns=["plan_run_id", "data_cutoff", "mase", "wape", "bias"])
