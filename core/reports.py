"""Tables a merchant reads: the order lists and the draft purchase orders of a plan run."""
from __future__ import annotations

import pandas as pd
from sqlalchemy import desc, func, select
from sqlalchemy.orm import Session

from .storage import (Location, PlanLine, PlanRun, Product, PurchaseOrder, PurchaseOrderLine,
                      Shop, Supplier, Variant)

__all__ = ["latest_run", "order_list", "purchase_order_table", "ORDER_LIST_COLUMNS",
           "SEASON_COLUMNS"]

#: Seasonal lines' season (:mod:`core.season`): window, expected demand from the first plan
#: day to its end, the buy it sells at the critical ratio beyond the position, that ratio and
#: the expected leftover at its end; empty on staple lines.
SEASON_COLUMNS = ["season_start", "season_end", "season_demand", "season_buy_qty",
                  "critical_ratio", "season_leftover"]
ORDER_LIST_COLUMNS = [
    "sku", "title", "list", "location", "status", "demand_class", "model", "on_hand",
    "on_order", "committed", "forecast_daily", "safety_stock", "reorder_point", "order_up_to",
    "recommended_qty", "supplier", "lead_time_days", "service_level", "unit_cost",
    "order_value", "abc", "xyz", "lifecycle", "lost_units", "days_of_cover", "stockout_date",
    "notes", "product", *SEASON_COLUMNS,
]
#: Quantities that add up from variants to their product (bottom-up reconciliation).
ADDITIVE = ["on_hand", "on_order", "committed", "forecast_daily", "safety_stock",
            "reorder_point", "order_up_to", "recommended_qty", "order_value", "lost_units"]
PRODUCT_COLUMNS = ["product", "location", "list", "skus", *ADDITIVE, "days_of_cover",
                   "stockout_date"]


def latest_run(session: Session, shop: Shop) -> PlanRun | None:
    return session.scalar(select(PlanRun).where(PlanRun.shop_id == shop.id,
                                                PlanRun.status == "done")
                          .order_by(desc(PlanRun.id)).limit(1))


def order_list(session: Session, run: PlanRun, which: str | None = None,
               level: str = "sku") -> pd.DataFrame:
    """The plan's lines (``which``: staple, seasonal or both), urgent first.

    ``level="product"`` reconciles bottom-up: per product and location the variants'
    quantities (:data:`ADDITIVE`) are summed, days of cover recomputed from the sums and the
    projected stockout date is the earliest of its variants'; ``list`` is ``mixed`` when
    its variants sit on both lists.
    """
    if level not in ("sku", "product"):
        raise ValueError(f"level must be 'sku' or 'product', not {level!r}")
    title = func.coalesce(Product.title + " - " + Variant.title, Product.title, Variant.title)
    stmt = (select(PlanLine.sku, title.label("title"), PlanLine.list, Location.name.label("location"),
                   PlanLine.status, PlanLine.demand_class, PlanLine.model, PlanLine.on_hand,
                   PlanLine.on_order, PlanLine.committed, PlanLine.forecast_daily,
                   PlanLine.safety_stock, PlanLine.reorder_point, PlanLine.order_up_to,
                   PlanLine.recommended_qty, Supplier.name.label("supplier"),
                   PlanLine.lead_time_days, PlanLine.service_level, PlanLine.unit_cost,
                   PlanLine.abc, PlanLine.xyz, PlanLine.lifecycle, PlanLine.lost_units,
                   PlanLine.days_of_cover, PlanLine.stockout_date, PlanLine.notes,
                   *(getattr(PlanLine, c) for c in SEASON_COLUMNS),
                   func.coalesce(Product.title, Variant.sku).label("product"))
            .join(Variant, Variant.id == PlanLine.variant_id)
            .outerjoin(Product, Product.id == Variant.product_id)
            .join(Location, Location.id == PlanLine.location_id)
            .outerjoin(Supplier, Supplier.id == PlanLine.supplier_id)
            .where(PlanLine.plan_run_id == run.id))
    if which:
        stmt = stmt.where(PlanLine.list == which)
    res = session.execute(stmt)
    df = pd.DataFrame(res.fetchall(), columns=list(res.keys()))
    if df.empty:
        return pd.DataFrame(columns=ORDER_LIST_COLUMNS if level == "sku" else PRODUCT_COLUMNS)
    df["order_value"] = (df["recommended_qty"] * df["unit_cost"].fillna(0.0)).round(2)
    for col in ["on_hand", "on_order", "committed", "safety_stock", "reorder_point",
                "order_up_to", "lead_time_days"]:
        df[col] = df[col].astype(float).round(1)
    df["forecast_daily"] = df["forecast_daily"].astype(float).round(3)
    for col in ["season_demand", "season_leftover"]:
        df[col] = df[col].astype(float).round(1)
    df["critical_ratio"] = df["critical_ratio"].astype(float).round(3)
    df["season_buy_qty"] = df["season_buy_qty"].map(lambda v: None if pd.isna(v) else int(v))
    position = df["on_hand"] + df["on_order"] - df["committed"]
    df["_urgent"] = (df["reorder_point"] > 0) & (position <= df["reorder_point"])
    df = df.sort_values(["_urgent", "recommended_qty", "order_value", "sku"],
                        ascending=[False, False, False, True])
    if level == "product":
        return _by_product(df)
    return df[ORDER_LIST_COLUMNS].reset_index(drop=True)


def _by_product(df: pd.DataFrame) -> pd.DataFrame:
    g = df.groupby(["product", "location"], sort=False)
    out = g[ADDITIVE].sum(min_count=1)
    out["skus"] = g["sku"].nunique()
    out["list"] = g["list"].agg(lambda s: s.iloc[0] if s.nunique() == 1 else "mixed")
    out["stockout_date"] = pd.to_datetime(df["stockout_date"]).groupby(
        [df["product"], df["location"]], sort=False).min().dt.date
    rate = out["forecast_daily"].where(out["forecast_daily"] > 0)
    out["days_of_cover"] = ((out["on_hand"] - out["committed"]).clip(lower=0) / rate).round(1)
    return out.reset_index()[PRODUCT_COLUMNS]


def purchase_order_table(session: Session, shop: Shop, statuses=None) -> pd.DataFrame:
    """One row per purchase-order line with its order's number, supplier and status."""
    stmt = (select(PurchaseOrder.number.label("po_number"), PurchaseOrder.status,
                   Supplier.name.label("supplier"), Location.name.label("ship_to"),
                   PurchaseOrder.expected_at, PurchaseOrderLine.sku, PurchaseOrderLine.quantity,
                   PurchaseOrderLine.received_quantity, PurchaseOrderLine.unit_cost)
            .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
            .join(Supplier, Supplier.id == PurchaseOrder.supplier_id)
            .outerjoin(Location, Location.id == PurchaseOrder.location_id)
            .where(PurchaseOrder.shop_id == shop.id)
            .order_by(PurchaseOrder.number, PurchaseOrderLine.sku))
    if statuses:
        stmt = stmt.where(PurchaseOrder.status.in_(list(statuses)))
    res = session.execute(stmt)
    df = pd.DataFrame(res.fetchall(), columns=list(res.keys()))
    if len(df):
        df["line_value"] = (df["quantity"] * df["unit_cost"].fillna(0.0)).round(2)
    else:
        df["line_value"] = []
    return df
