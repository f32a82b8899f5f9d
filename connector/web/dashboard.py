"""The dashboard ``/dashboard``: KPI tiles with trends, forecast accuracy over plan runs and
what needs attention (SKUs to order, urgent SKUs, draft purchase orders, reminders due).

KPIs are read from the stored daily :class:`~core.storage.KpiSnapshot` rows of the whole
shop (``dims_key == ""``), written by :func:`core.kpis.snapshot_kpis` (the ``kpi_snapshot``
job or a backfill); nothing is computed here. Each tile shows the latest day's value, a
sparkline over the last :data:`TREND_DAYS` stored days and the change against the value
:data:`COMPARE_DAYS` days earlier (or the oldest stored day when that one is missing).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd
from flask import Blueprint, render_template
from sqlalchemy import func, select

from core.kpis import forecast_accuracy_history
from core.reports import order_list
from core.storage import JobRun, KpiSnapshot, PlanLine, PurchaseOrder, Reminder, Shop

from .common import current_run, current_shop, db, finite, run_summary
from .lists import list_rows
from .minicharts import run_chart, sparkline

__all__ = ["bp", "TILES", "Tile", "kpi_tiles", "attention_counts", "TREND_DAYS",
           "COMPARE_DAYS", "REMINDER_DAYS"]

bp = Blueprint("dashboard", __name__)

TREND_DAYS = 180
COMPARE_DAYS = 7
REMINDER_DAYS = 7  # reminders due within this many days (overdue ones included)

#: (KPI name, label, kind, better direction, explanation); kind picks the number format.
TILES = (
    ("stockout_rate", "Stockout rate", "pct", "down",
     "Share of stocked SKU × location days with nothing available (30-day window)."),
    ("fill_rate", "Fill rate", "pct", "up",
     "Units sold ÷ (units sold + estimated lost units), 30-day window."),
    ("inventory_turnover", "Inventory turnover", "turns", "up",
     "Cost of goods sold per year ÷ average inventory value at cost."),
    ("days_of_cover", "Days of cover", "days", None,
     "Inventory value ÷ cost of goods sold per day."),
    ("lost_units", "Lost sales", "units", "down",
     "Units demand would have bought on stockout days (30-day window)."),
    ("repurchase_rate", "Repurchase rate", "pct", "up",
     "Share of customers who ordered again within 90 days of an order 90–120 days ago."),
)


@dataclass
class Tile:
    """One KPI tile: the latest value, a comparison and the trend."""

    name: str
    label: str
    kind: str
    better: str | None
    help: str
    value: float | None = None
    previous: float | None = None
    previous_day: date | None = None
    spark: str = ""
    points: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def delta(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def shown_delta(self) -> float | None:
        """The change as shown: percentage points, or turns, days or units, rounded."""
        d = self.delta
        if d is None:
            return None
        return {"pct": round(d * 100, 1), "units": float(round(d))}.get(self.kind, round(d, 1))

    @property
    def change_text(self) -> str:
        """``+1.2 pts``, ``−0.3×``, ``+2 d``... ('' without a previous value)."""
        d = self.shown_delta
        if d is None:
            return ""
        sign = "+" if d > 0 else "−" if d < 0 else "±"
        unit = {"pct": " pts", "turns": "×", "days": " d"}.get(self.kind, "")
        body = f"{abs(d):,.0f}" if self.kind == "units" else f"{abs(d):,.1f}"
        return f"{sign}{body}{unit}"

    @property
    def trend(self) -> str:
        """``good``, ``bad`` or ``flat`` (CSS class of the change)."""
        d = self.shown_delta
        if d is None or self.better is None or d == 0:
            return "flat"
        return "good" if (d > 0) == (self.better == "up") else "bad"


def kpi_tiles(shop: Shop) -> tuple[date | None, list[Tile]]:
    """(latest KPI day or None, tiles) from the stored snapshots (module docstring)."""
    names = [t[0] for t in TILES] + ["lost_revenue"]
    latest = db().scalar(select(func.max(KpiSnapshot.day)).where(
        KpiSnapshot.shop_id == shop.id, KpiSnapshot.dims_key == "",
        KpiSnapshot.name.in_(names)))
    tiles = [Tile(*t) for t in TILES]
    if latest is None:
        return None, tiles
    rows = db().execute(select(KpiSnapshot.day, KpiSnapshot.name, KpiSnapshot.value).where(
        KpiSnapshot.shop_id == shop.id, KpiSnapshot.dims_key == "",
        KpiSnapshot.name.in_(names), KpiSnapshot.day > latest - timedelta(days=TREND_DAYS),
        KpiSnapshot.day <= latest)).all()
    frame = pd.DataFrame(rows, columns=["day", "name", "value"])
    table = frame.pivot(index="day", columns="name", values="value").sort_index()
    for tile in tiles:
        col = table[tile.name] if tile.name in table.columns else pd.Series(dtype=float)
        values = [finite(v) for v in col.tolist()]
        tile.points = sum(v is not None for v in values)
        tile.spark = sparkline(values, f"{tile.label}: the last {len(values)} stored days",
                               width=300, height=44)
        tile.value = finite(col.get(latest)) if len(col) else None
        before = latest - timedelta(days=COMPARE_DAYS)
        known = [d for d in col.index if d < latest and finite(col[d]) is not None]
        older = [d for d in known if d <= before]
        pick = older[-1] if older else (known[0] if known else None)
        if pick is not None:
            tile.previous_day, tile.previous = pick, finite(col[pick])
    lost = next(t for t in tiles if t.name == "lost_units")
    if "lost_revenue" in table.columns:
        lost.extra["revenue"] = finite(table["lost_revenue"].get(latest))
    return latest, tiles


def attention_counts(shop: Shop, run, today: date | None = None) -> dict:
    """SKUs to order, urgent SKUs (as on the order lists), draft purchase orders, reminders
    due and lines with excess stock."""
    today = today or date.today()
    out = {"to_order": 0, "urgent": 0, "order_value": 0.0, "excess": 0}
    if run is not None:
        frame = list_rows(order_list(db(), run), False)
        out["to_order"] = int(frame.loc[frame["recommended_qty"] > 0, "sku"].nunique())
        out["urgent"] = int(frame.loc[frame["urgent"], "sku"].nunique())
        out["order_value"] = float(frame["order_value"].sum())
        out["excess"] = int(db().scalar(select(func.count(PlanLine.id)).where(
            PlanLine.plan_run_id == run.id, PlanLine.excess_units > 0)) or 0)
    out["draft_pos"] = int(db().scalar(select(func.count(PurchaseOrder.id)).where(
        PurchaseOrder.shop_id == shop.id, PurchaseOrder.status == "draft")) or 0)
    out["reminders_due"] = int(db().scalar(select(func.count(Reminder.id)).where(
        Reminder.shop_id == shop.id, Reminder.status == "candidate",
        Reminder.due_date <= today + timedelta(days=REMINDER_DAYS))) or 0)
    return out


def _accuracy(shop: Shop) -> tuple[list[dict], str]:
    hist = forecast_accuracy_history(db(), shop).tail(30)
    if hist.empty:
        return [], ""
    labels = [f"#{r.plan_run_id}" for r in hist.itertuples()]
    chart = ""
    if len(hist) >= 2:
        chart = run_chart(labels, {"MASE": hist["mase"].tolist(), "WAPE": hist["wape"].tolist(),
                                   "Bias": hist["bias"].tolist()},
                          "Holdout accuracy by plan run", width=540, height=210)
    rows = hist.iloc[::-1].head(6).to_dict("records")
    return rows, chart


@bp.get("/dashboard")
def index():
    """KPI tiles, forecast accuracy, counts and the latest job runs of the shop."""
    shop = current_shop()
    run = current_run(shop)
    day, tiles = kpi_tiles(shop)
    accuracy, accuracy_chart = _accuracy(shop)
    jobs = db().scalars(select(JobRun).where(JobRun.shop_id == shop.id)
                        .order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(5)).all()
    return render_template("dashboard.html", shop=shop, header=run_summary(run), kpi_day=day,
                           tiles=tiles, counts=attention_counts(shop, run), accuracy=accuracy,
                           accuracy_chart=accuracy_chart, jobs=jobs, active="dashboard")
