"""Analysis pages of the latest plan run and the KPI snapshots.

* ``/portfolio``: the ABC x XYZ x lifecycle grid of :func:`core.portfolio.portfolio_grid`
  as a heat map (``?metric=``, ``?lifecycle=``, ``?list=``).
* ``/excess``: plan lines with excess stock (``excess_units > 0``), grouped by the
  sell-now-or-hold decision of :mod:`core.ltv.excess`, with its reason (``?action=``).
* ``/channels``: the channel breakdown of the latest KPI snapshot day (``channel_units``,
  ``channel_revenue``, ``channel_lost_units``, ``channel_fill_rate`` by ``dims_key``).
"""
from __future__ import annotations

from datetime import timedelta

import pandas as pd
from flask import Blueprint, render_template
from sqlalchemy import func, select

from core.portfolio import portfolio_grid
from core.reports import order_list
from core.storage import KpiSnapshot, Location, PlanLine, Product, Variant

from .common import choice_arg, current_run, current_shop, db, finite, run_summary
from .minicharts import HBar, hbar_chart, heat_style, sparkline

__all__ = ["bp", "METRICS", "LIFECYCLES", "ACTIONS", "CHANNEL_KPIS", "channel_table"]

bp = Blueprint("insights", __name__)

#: Heat-map metrics of the portfolio grid: column -> label.
METRICS = {"on_hand_value": "Stock value", "order_value": "Order value", "lines": "Lines",
           "forecast_daily": "Forecast / day", "on_hand_units": "Units on hand"}
LIFECYCLES = ("new", "growing", "mature", "declining")
ACTIONS = {"sell_now": "Sell now", "hold": "Hold", "none": "Not valued"}
CHANNEL_KPIS = ("channel_units", "channel_revenue", "channel_lost_units", "channel_fill_rate")
_ADVICE = {
    ("A", "X"): "steady sellers with the most margin: the tightest service level",
    ("A", "Z"): "high margin but erratic: watch stockouts, keep safety stock",
    ("C", "Z"): "little margin and erratic: candidates to sell down or drop",
    ("C", "X"): "steady but little margin: order lean, in bigger, rarer batches",
}


@bp.get("/portfolio")
def portfolio():
    """The SKU portfolio grid of the latest plan run as a heat map and a table."""
    shop = current_shop()
    run = current_run(shop)
    metric = choice_arg("metric", tuple(METRICS)) or "on_hand_value"
    lifecycle = choice_arg("lifecycle", LIFECYCLES)
    which = choice_arg("list", ("staple", "seasonal"))
    cells, table, unclassified, totals = {}, [], 0, {}
    if run is not None:
        lines = order_list(db(), run, which)
        unclassified = int((lines["abc"].isna() | lines["xyz"].isna()
                            | lines["lifecycle"].isna()).sum()) if len(lines) else 0
        if lifecycle and len(lines):
            lines = lines[lines["lifecycle"] == lifecycle]
        grid = portfolio_grid(lines)
        table = grid.astype(object).where(grid.notna(), None).to_dict("records")
        for (abc, xyz), g in grid.groupby(["abc", "xyz"]):
            cells[(abc, xyz)] = {
                **{k: float(g[k].sum()) for k in METRICS},
                "stages": [(r.lifecycle, int(r.lines)) for r in g.itertuples()],
                "advice": _ADVICE.get((abc, xyz))}
        totals = {k: float(grid[k].sum()) for k in METRICS} if len(grid) else {}
    vmax = max((c[metric] for c in cells.values()), default=0.0)
    for c in cells.values():
        c["style"] = heat_style(c[metric], vmax)
        c["share"] = c[metric] / totals[metric] if totals.get(metric) else None
    return render_template("portfolio.html", shop=shop, header=run_summary(run), cells=cells,
                           table=table, metric=metric, metrics=METRICS, lifecycle=lifecycle,
                           lifecycles=LIFECYCLES, which=which, totals=totals,
                           unclassified=unclassified, active="portfolio")


def _excess_rows(run) -> list[dict]:
    title = func.coalesce(Product.title + " - " + Variant.title, Product.title, Variant.title)
    rows = db().execute(
        select(PlanLine, title.label("title"), Location.name.label("location"),
               Variant.price)
        .join(Variant, Variant.id == PlanLine.variant_id)
        .outerjoin(Product, Product.id == Variant.product_id)
        .join(Location, Location.id == PlanLine.location_id)
        .where(PlanLine.plan_run_id == run.id, PlanLine.excess_units > 0)
        .order_by(PlanLine.excess_units.desc(), PlanLine.sku)).all()
    out = []
    for line, name, location, price in rows:
        cost = finite(line.unit_cost)
        units = float(line.excess_units or 0.0)
        out.append({"line": line, "title": name, "location": location, "price": finite(price),
                    "action": line.excess_action or "none",
                    "value_at_cost": units * cost if cost is not None else None,
                    "value_at_price": units * price if finite(price) is not None else None})
    return out


@bp.get("/excess")
def excess():
    """Excess stock of the latest plan run: what to sell now and what to hold."""
    shop = current_shop()
    run = current_run(shop)
    action = choice_arg("action", tuple(ACTIONS))
    rows = _excess_rows(run) if run is not None else []
    groups = {}
    for key, label in ACTIONS.items():
        members = [r for r in rows if r["action"] == key]
        groups[key] = {"label": label, "lines": len(members),
                       "units": sum(r["line"].excess_units or 0 for r in members),
                       "value": sum(r["value_at_cost"] or 0.0 for r in members)}
    shown = [r for r in rows if action is None or r["action"] == action]
    return render_template("excess.html", shop=shop, header=run_summary(run), rows=shown,
                           groups=groups, action=action, actions=ACTIONS, n_all=len(rows),
                           active="excess")


def channel_table(shop, day) -> list[dict]:
    """One dict per channel slice of ``day``: dims, the four channel KPIs and shares."""
    rows = db().execute(select(KpiSnapshot.dims_key, KpiSnapshot.dims, KpiSnapshot.name,
                               KpiSnapshot.value)
                        .where(KpiSnapshot.shop_id == shop.id, KpiSnapshot.day == day,
                               KpiSnapshot.name.in_(CHANNEL_KPIS))).all()
    by_key: dict[str, dict] = {}
    for key, dims, name, value in rows:
        rec = by_key.setdefault(key, {"key": key, "dims": dict(dims or {})})
        rec[name] = finite(value)
    out = list(by_key.values())
    units = sum(r.get("channel_units") or 0.0 for r in out)
    revenue = sum(r.get("channel_revenue") or 0.0 for r in out)
    lost = sum(r.get("channel_lost_units") or 0.0 for r in out)
    for r in out:
        dims = r["dims"]
        r["channel"] = dims.get("channel") or r["key"] or "all"
        r["location"] = dims.get("location")
        r["label"] = r["channel"] + (f" · {r['location']}" if r["location"] else "")
        r["unit_share"] = (r.get("channel_units") or 0.0) / units if units else None
        r["revenue_share"] = (r.get("channel_revenue") or 0.0) / revenue if revenue else None
        r["lost_share"] = (r.get("channel_lost_units") or 0.0) / lost if lost else None
    out.sort(key=lambda r: (-(r.get("channel_revenue") or 0.0), r["label"]))
    return out


@bp.get("/channels")
def channels():
    """Units, revenue and stockout-lost units per sales channel (latest KPI day)."""
    shop = current_shop()
    day = db().scalar(select(func.max(KpiSnapshot.day)).where(
        KpiSnapshot.shop_id == shop.id, KpiSnapshot.name == "channel_units"))
    rows, chart = [], ""
    if day is not None:
        rows = channel_table(shop, day)
        hist = pd.DataFrame(db().execute(select(KpiSnapshot.day, KpiSnapshot.dims_key,
                                                KpiSnapshot.value).where(
            KpiSnapshot.shop_id == shop.id, KpiSnapshot.name == "channel_units",
            KpiSnapshot.day > day - timedelta(days=180))).all(),
            columns=["day", "key", "value"])
        trend = hist.pivot(index="day", columns="key", values="value").sort_index()
        for r in rows:
            col = trend[r["key"]] if r["key"] in trend.columns else pd.Series(dtype=float)
            r["spark"] = sparkline([finite(v) for v in col.tolist()],
                                   f"{r['label']}: units sold (30-day window) by day")
        chart = hbar_chart([HBar(r["label"], r.get("channel_units"), r.get("channel_lost_units"),
                                 note=f"{(r.get('channel_units') or 0):,.0f} sold + "
                                      f"{(r.get('channel_lost_units') or 0):,.0f} lost")
                            for r in rows], "Units sold and units lost to stockouts",
                           names=("Units sold", "Lost to stockouts"), label_w=190,
                           note_w=170)
    totals = {k: sum(r.get(k) or 0.0 for r in rows) for k in CHANNEL_KPIS[:3]}
    sold, lost = totals.get("channel_units", 0.0), totals.get("channel_lost_units", 0.0)
    totals["channel_fill_rate"] = sold / (sold + lost) if sold + lost > 0 else None
    return render_template("channels.html", shop=shop, header=run_summary(current_run(shop)),
                           day=day, rows=rows, chart=chart, totals=totals, active="channels")
