"""Supplier lead times learned from goods receipts.

One observation per purchase-order line: the days from the order's ``sent_at`` to the
first receipt of that line, ``x = max(0, (received_at - sent_at) / 86400 s)``. Per
supplier item with ``n >= min_receipts`` observations (default 3)::

    mean = sum(x_i) / n
    std  = sqrt(sum((x_i - mean)^2) / (n - 1))      (sample standard deviation; 0 if n = 1)

Where the learned values live: they *replace* ``SupplierItem.lead_time_days`` and
``lead_time_std_days``, so the plan (which reads those columns) uses them with no other
change. The values configured before (by import or by hand) are kept in the supplier's
``delivery`` JSON under ``"lead_times"``::

    {"<variant_id>": {"configured": {"lead_time_days": 10.0, "lead_time_std_days": 0.0},
                      "learned": {"lead_time_days": 12.5, "lead_time_std_days": 1.2,
                                  "receipts": 4, "at": "2025-01-31T10:00:00+00:00"}}}

If the item's columns no longer hold the last learned values (somebody re-imported the
supplier list), the current columns are taken as the new configured values before the
learned ones are written again. Items below ``min_receipts`` keep their configured values;
:func:`configured_lead_time` reads them back.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .purchasing import as_utc
from .storage import PurchaseOrder, PurchaseOrderLine, Receipt, Supplier, SupplierItem, utcnow

__all__ = ["LeadTimeStats", "observed_lead_times", "learn_lead_times", "configured_lead_time",
           "mean_std", "MIN_RECEIPTS"]

MIN_RECEIPTS = 3
_KEY = "lead_times"


@dataclass
class LeadTimeStats:
    """Observed lead times of one supplier item (days) and whether they were applied."""

    supplier_id: int
    variant_id: int
    samples: list[float] = field(default_factory=list)
    applied: bool = False

    @property
    def n(self) -> int:
        return len(self.samples)

    @property
    def mean(self) -> float:
        return mean_std(self.samples)[0]

    @property
    def std(self) -> float:
        return mean_std(self.samples)[1]


def mean_std(samples: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (``n - 1`` denominator; 0 for one sample)."""
    n = len(samples)
    if n == 0:
        return math.nan, math.nan
    mean = sum(samples) / n
    if n == 1:
        return mean, 0.0
    return mean, math.sqrt(sum((x - mean) ** 2 for x in samples) / (n - 1))


def _utc_seconds(value) -> float:
    return as_utc(value).timestamp()


def observed_lead_times(session: Session, shop_id: int,
                        supplier_id: int | None = None) -> dict[tuple[int, int], LeadTimeStats]:
    """Per (supplier_id, variant_id): days from ``sent_at`` to each line's first receipt."""
    first = (select(Receipt.purchase_order_line_id.label("line_id"),
                    func.min(Receipt.received_at).label("first_at"))
             .where(Receipt.shop_id == shop_id)
             .group_by(Receipt.purchase_order_line_id).subquery())
    stmt = (select(PurchaseOrder.supplier_id, PurchaseOrderLine.variant_id, PurchaseOrder.sent_at,
                   first.c.first_at)
            .join(PurchaseOrderLine, PurchaseOrderLine.id == first.c.line_id)
            .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
            .where(PurchaseOrder.shop_id == shop_id, PurchaseOrder.sent_at.is_not(None))
            .order_by(PurchaseOrder.sent_at, PurchaseOrderLine.id))
    if supplier_id is not None:
        stmt = stmt.where(PurchaseOrder.supplier_id == supplier_id)
    out: dict[tuple[int, int], LeadTimeStats] = {}
    for sup, variant, sent_at, first_at in session.execute(stmt):
        days = max(0.0, (_utc_seconds(first_at) - _utc_seconds(sent_at)) / 86400.0)
        out.setdefault((sup, variant), LeadTimeStats(sup, variant)).samples.append(days)
    return out


def configured_lead_time(supplier: Supplier, variant_id: int) -> tuple[float, float] | None:
    """The configured (not learned) ``(lead_time_days, lead_time_std_days)`` kept for an
    item whose columns hold learned values; None when the columns were never replaced."""
    entry = ((supplier.delivery or {}).get(_KEY) or {}).get(str(variant_id)) or {}
    conf = entry.get("configured")
    if not conf or not entry.get("learned"):
        return None
    return float(conf["lead_time_days"]), float(conf.get("lead_time_std_days") or 0.0)


def _same(a, b) -> bool:
    return a is not None and b is not None and abs(float(a) - float(b)) < 1e-6


def learn_lead_times(session: Session, shop_id: int, min_receipts: int = MIN_RECEIPTS,
                     supplier_id: int | None = None) -> list[LeadTimeStats]:
    """Replace supplier items' lead times with the learned mean and standard deviation where
    at least ``min_receipts`` observations exist (see the module docstring).

    Returns:
        Every observed item's statistics; ``applied`` tells which were written.
    """
    if min_receipts < 1:
        raise ValueError("min_receipts must be 1 or more")
    stats = observed_lead_times(session, shop_id, supplier_id)
    items = {(i.supplier_id, i.variant_id): i for i in session.scalars(select(SupplierItem).where(
        SupplierItem.shop_id == shop_id,
        *([SupplierItem.supplier_id == supplier_id] if supplier_id is not None else [])))}
    by_supplier: dict[int, dict] = {}
    for (sup_id, variant_id), item in items.items():
        st = stats.get((sup_id, variant_id))
        supplier = session.get(Supplier, sup_id)
        table = by_supplier.setdefault(sup_id, dict((supplier.delivery or {}).get(_KEY) or {}))
        entry = dict(table.get(str(variant_id)) or {})
        learned = entry.get("learned")
        still_learned = bool(learned) and _same(item.lead_time_days,
                                                learned["lead_time_days"]) and _same(
            item.lead_time_std_days, learned["lead_time_std_days"])
        if st is None or st.n < min_receipts:
            if still_learned:  # receipts went away: back to the configured values
                conf = entry["configured"]
                item.lead_time_days = conf["lead_time_days"]
                item.lead_time_std_days = conf["lead_time_std_days"]
                entry.pop("learned", None)
                table[str(variant_id)] = entry
            continue
        if not still_learned:
            entry["configured"] = {"lead_time_days": float(item.lead_time_days),
                                   "lead_time_std_days": float(item.lead_time_std_days or 0.0)}
        mean, std = round(st.mean, 4), round(st.std, 4)
        item.lead_time_days, item.lead_time_std_days = mean, std
        entry["learned"] = {"lead_time_days": mean, "lead_time_std_days": std,
                            "receipts": st.n, "at": utcnow().isoformat()}
        table[str(variant_id)] = entry
        st.applied = True
    for sup_id, table in by_supplier.items():
        supplier = session.get(Supplier, sup_id)
        delivery = dict(supplier.delivery or {})
        if table or _KEY in delivery:
            delivery[_KEY] = table
            supplier.delivery = delivery  # a new dict, so SQLAlchemy sees the change
    session.flush()
    return sorted(stats.values(), key=lambda s: (s.supplier_id, s.variant_id))
