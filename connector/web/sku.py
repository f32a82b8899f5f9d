"""The SKU page: ``/sku/<sku>`` with each location's plan numbers, accuracy and chart."""
from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, abort, render_template
from sqlalchemy import select

from core.storage import Location, PlanLine, PlanRun, Shop, Supplier, Variant

from .charts import Style, TimeChart
from .common import current_run, current_shop, db, int_arg, run_summary
from .sku_data import (SkuHistory, arrival_offset, campaign_windows, forecast_band,
                       forecast_days, projected_stock, sales_history, stock_history)

__all__ = ["bp", "build_chart", "HISTORY_DAYS"]

bp = Blueprint("sku", __name__)

#: Days of history the chart shows by default (``?days=`` changes it).
HISTORY_DAYS = 120

STYLES = {
    "sold": Style(fill="#5b7db1"),
    "stockout": Style(fill="#f2b8b5", opacity=0.55),
    "campaign": Style(fill="#cdbdf2", opacity=0.55),
    "band": Style(fill="#f6c9a3", opacity=0.65),
    "forecast": Style(stroke="#d9692b", width=2.2),
    "on_hand": Style(stroke="#6b7280", width=1.6),
    "projected": Style(stroke="#1f8a7a", width=2.4),
    "rop": Style(stroke="#c2364b", width=1.6, dash="6 4"),
    "upto": Style(stroke="#2f7d3b", width=1.6, dash="2 3"),
}


def build_chart(sku: str, location: str, line: PlanLine, hist: SkuHistory,
                campaigns: list[tuple[str, date, date]], chart_id: str) -> tuple:
    """The SKU x location chart and its caption data.

    Top panel, units per day: bars of net units sold over the history window, the forecast
    mean for the plan's 56 days and its 80% band (mean -+ 1.2816 * sigma_daily, floored at
    0). Bottom panel, units in stock: end-of-day on hand from inventory snapshots, the
    projected on hand (:func:`~connector.web.sku_data.projected_stock`), and the reorder
    point and order-up-to level over the forecast days. Stockout days (available <= 0) and
    campaign days are shaded in both panels; a dotted line marks the data cut-off.

    Returns:
        (svg markup, projection list) for the template.
    """
    fdays, mean = forecast_days(line)
    end = fdays[-1] if fdays else hist.end
    chart = TimeChart(f"{sku} at {location}: sales, forecast and stock", hist.start, end,
                      chart_id=chart_id)
    if hist.stockouts:
        chart.shade_days(hist.stockouts, "Stockout day", STYLES["stockout"])
    camp_days = set()
    for _name, first, last in campaigns:
        camp_days |= {first + timedelta(days=i) for i in range((last - first).days + 1)}
    if camp_days:
        chart.shade_days(camp_days, "Campaign", STYLES["campaign"])
    chart.marker(hist.end, f"cut-off {hist.end.day} {hist.end:%b}")
    top = chart.panel("Units per day", height=210)
    top.bars(hist.sold, "Units sold (net)", STYLES["sold"], unit="units sold")
    projection: list[float] = []
    if fdays:
        lo, hi = forecast_band(mean, line.sigma_daily)
        top.band(fdays, lo, hi, "80% interval", STYLES["band"])
        top.line(fdays, mean, "Forecast", STYLES["forecast"])
    bottom = chart.panel("Units in stock", height=190)
    level_days = hist.days
    bottom.line(level_days, [hist.on_hand.get(d) for d in level_days], "On hand (history)",
                STYLES["on_hand"])
    if fdays:
        projection = projected_stock(line, mean)
        bottom.line([hist.end] + fdays, projection, "Projected on hand", STYLES["projected"])
        bottom.hline(float(line.reorder_point or 0.0), "Reorder point", STYLES["rop"],
                     start=fdays[0], end=fdays[-1])
        bottom.hline(float(line.order_up_to or 0.0), "Order-up-to", STYLES["upto"],
                     start=fdays[0], end=fdays[-1])
    return chart.render(), projection


def _plan_lines(run: PlanRun, variant: Variant) -> list[tuple]:
    return db().execute(
        select(PlanLine, Location.name, Supplier.name)
        .join(Location, Location.id == PlanLine.location_id)
        .outerjoin(Supplier, Supplier.id == PlanLine.supplier_id)
        .where(PlanLine.plan_run_id == run.id, PlanLine.variant_id == variant.id)
        .order_by(Location.id)).all()


def _location_view(shop: Shop, run: PlanRun, sku: str, line: PlanLine, location: str,
                   supplier: str | None, sold: dict, days: int, index: int) -> dict:
    end = run.data_cutoff
    start = end - timedelta(days=days - 1)
    stockouts, levels = stock_history(db(), shop, line.variant_id, line.location_id,
                                      start, end)
    hist = SkuHistory(start=start, end=end, sold=sold, stockouts=stockouts, on_hand=levels)
    fdays, _mean = forecast_days(line)
    campaigns = campaign_windows(db(), shop, sku, start, fdays[-1] if fdays else end)
    svg, projection = build_chart(sku, location, line, hist, campaigns, f"chart-{index}")
    position = (line.on_hand or 0.0) + (line.on_order or 0.0) - (line.committed or 0.0)
    return {
        "line": line, "location": location, "supplier": supplier, "svg": svg,
        "history": hist, "campaigns": campaigns, "position": position,
        "urgent": position <= (line.reorder_point or 0.0),
        "order_value": (line.recommended_qty or 0) * (line.unit_cost or 0.0),
        "projection_min": min(projection) if projection else None,
        "arrival_day": run.data_cutoff + timedelta(days=arrival_offset(line)),
    }


@bp.get("/sku/<path:sku>", merge_slashes=False)
def show(sku: str):
    """Plan numbers, holdout accuracy and a chart per location of one SKU."""
    shop = current_shop()
    days = int_arg("days", HISTORY_DAYS, 14, 730)
    variant = db().scalar(select(Variant).where(Variant.shop_id == shop.id, Variant.sku == sku))
    if variant is None:
        abort(404, description=f"Shop {shop.name!r} has no SKU {sku!r}.")
    run = current_run(shop)
    views = []
    if run is not None:
        rows = _plan_lines(run, variant)
        start = run.data_cutoff - timedelta(days=days - 1)
        sold = sales_history(db(), shop, sku, start, run.data_cutoff) if rows else {}
        for i, (line, location, supplier) in enumerate(rows):
            views.append(_location_view(shop, run, sku, line, location, supplier,
                                        sold.get(line.location_id, {}), days, i))
    return render_template("sku.html", shop=shop, header=run_summary(run), variant=variant,
                           sku=sku, views=views, days=days, active=None)
