"""``/suppliers``: every supplier with how orders reach it, its lead times and open orders.

Lead times per supplier item: *configured* is the value kept in
``Supplier.delivery["lead_times"][<variant id>]["configured"]`` when lead times were
learned from receipts (:mod:`core.leadtimes`), else the item's own ``lead_time_days``;
*learned* is ``...["learned"]`` (mean and standard deviation of the observed days, with the
number of receipts) when there is one. The plan uses the item's columns, which hold the
learned values once they exist. Open orders are purchase orders that are approved, sent or
partially received; drafts are counted apart.
"""
from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import func, select

from core.storage import PurchaseOrder, PurchaseOrderLine, Supplier, SupplierItem, Variant

from .common import current_run, current_shop, db, finite, run_summary

__all__ = ["bp", "OPEN_STATUSES", "item_lead_times", "supplier_rows"]

bp = Blueprint("supplier_pages", __name__)

OPEN_STATUSES = ("approved", "sent", "partially_received")


def item_lead_times(supplier: Supplier, item: SupplierItem) -> dict:
    """Configured and learned lead time of one item (module docstring)."""
    table = (supplier.delivery or {}).get("lead_times") or {}
    entry = table.get(str(item.variant_id)) or table.get(item.variant_id) or {}
    configured = entry.get("configured") or {}
    learned = entry.get("learned") or {}
    return {
        "configured": finite(configured.get("lead_time_days", item.lead_time_days)),
        "configured_std": finite(configured.get("lead_time_std_days",
                                                item.lead_time_std_days)),
        "learned": finite(learned.get("lead_time_days")),
        "learned_std": finite(learned.get("lead_time_std_days")),
        "receipts": learned.get("receipts"),
        "learned_at": learned.get("at"),
        "in_use": finite(item.lead_time_days),
    }


def _mean(values) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def supplier_rows(shop_id: int) -> list[dict]:
    """One dict per supplier: delivery settings, items with lead times, open orders."""
    suppliers = db().scalars(select(Supplier).where(Supplier.shop_id == shop_id)
                             .order_by(Supplier.name, Supplier.id)).all()
    items: dict[int, list] = {}
    for item, sku, title in db().execute(
            select(SupplierItem, Variant.sku, Variant.title)
            .join(Variant, Variant.id == SupplierItem.variant_id)
            .where(SupplierItem.shop_id == shop_id).order_by(Variant.sku)):
        items.setdefault(item.supplier_id, []).append((item, sku, title))
    orders: dict[int, dict] = {}
    value = func.sum(PurchaseOrderLine.quantity * func.coalesce(PurchaseOrderLine.unit_cost, 0))
    for sid, status, n, units, total, expected in db().execute(
            select(PurchaseOrder.supplier_id, PurchaseOrder.status,
                   func.count(func.distinct(PurchaseOrder.id)),
                   func.coalesce(func.sum(PurchaseOrderLine.quantity
                                          - PurchaseOrderLine.received_quantity), 0),
                   value, func.min(PurchaseOrder.expected_at))
            .outerjoin(PurchaseOrderLine,
                       PurchaseOrderLine.purchase_order_id == PurchaseOrder.id)
            .where(PurchaseOrder.shop_id == shop_id,
                   PurchaseOrder.status.in_(OPEN_STATUSES + ("draft",)))
            .group_by(PurchaseOrder.supplier_id, PurchaseOrder.status)):
        rec = orders.setdefault(sid, {"open": 0, "open_units": 0, "open_value": 0.0,
                                      "next_expected": None, "drafts": 0, "by_status": {}})
        rec["by_status"][status] = int(n)
        if status == "draft":
            rec["drafts"] += int(n)
            continue
        rec["open"] += int(n)
        rec["open_units"] += int(units or 0)
        rec["open_value"] += float(total or 0.0)
        if expected is not None and (rec["next_expected"] is None
                                     or expected < rec["next_expected"]):
            rec["next_expected"] = expected
    out = []
    for s in suppliers:
        delivery = s.delivery or {}
        lines = [{"item": it, "sku": sku, "title": title, **item_lead_times(s, it)}
                 for it, sku, title in items.get(s.id, [])]
        learned = [x for x in lines if x["learned"] is not None]
        limit = delivery.get("auto_approve_below")
        out.append({
            "supplier": s, "method": str(delivery.get("method") or "email"),
            "to": delivery.get("to") or s.email or delivery.get("url"),
            "auto_approve_below": None if isinstance(limit, bool) else finite(limit),
            "items": lines, "configured": _mean(x["configured"] for x in lines),
            "configured_min": min((x["configured"] for x in lines
                                   if x["configured"] is not None), default=None),
            "configured_max": max((x["configured"] for x in lines
                                   if x["configured"] is not None), default=None),
            "learned": _mean(x["learned"] for x in learned), "n_learned": len(learned),
            "receipts": sum(int(x["receipts"] or 0) for x in learned),
            "orders": orders.get(s.id, {"open": 0, "open_units": 0, "open_value": 0.0,
                                        "next_expected": None, "drafts": 0, "by_status": {}}),
        })
    return out


@bp.get("/suppliers")
def index():
    """Suppliers with delivery method, lead times (configured vs learned) and open orders."""
    shop = current_shop()
    rows = supplier_rows(shop.id)
    totals = {"suppliers": len(rows), "open": sum(r["orders"]["open"] for r in rows),
              "open_value": sum(r["orders"]["open_value"] for r in rows),
              "drafts": sum(r["orders"]["drafts"] for r in rows),
              "learned": sum(1 for r in rows if r["n_learned"])}
    return render_template("suppliers.html", shop=shop, header=run_summary(current_run(shop)),
                           rows=rows, totals=totals, active="suppliers")
