"""Draft purchase orders from a plan run, and the purchase-order state machine.

A plan's recommended lines are grouped by supplier and ship-to location into one draft per
group. Drafts that earlier plan runs made and nobody approved are replaced, so the draft
list always reflects the latest plan; approved and later orders are never touched.
"""
from __future__ import annotations

import math
import uuid
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .storage import PlanLine, PlanRun, PurchaseOrder, PurchaseOrderLine, Shop, utcnow

__all__ = ["draft_purchase_orders", "TRANSITIONS", "IllegalTransition", "set_status"]

TRANSITIONS: dict[str, set[str]] = {
    "draft": {"approved", "cancelled"},
    "approved": {"sent", "cancelled"},
    "sent": {"partially_received", "received", "cancelled"},
    "partially_received": {"partially_received", "received", "cancelled"},
    "received": set(),
    "cancelled": set(),
}


class IllegalTransition(ValueError):
    """A purchase order cannot move from its status to the requested one."""


def set_status(po: PurchaseOrder, status: str) -> PurchaseOrder:
    """Move ``po`` to ``status`` if the state machine allows it, stamping the time."""
    if status not in TRANSITIONS.get(po.status, set()):
        allowed = ", ".join(sorted(TRANSITIONS.get(po.status, set()))) or "nothing"
        raise IllegalTransition(f"purchase order {po.number} is {po.status}: it can move to "
                                f"{allowed}, not {status}")
    po.status = status
    if status == "approved":
        po.approved_at = utcnow()
    elif status == "sent":
        po.sent_at = utcnow()
    return po


def draft_purchase_orders(session: Session, shop: Shop, run: PlanRun) -> list[PurchaseOrder]:
    """Create one draft per (supplier, location) from ``run``'s recommended quantities."""
    stale = select(PurchaseOrder.id).where(PurchaseOrder.shop_id == shop.id,
                                           PurchaseOrder.status == "draft",
                                           PurchaseOrder.plan_run_id.is_not(None))
    session.execute(delete(PurchaseOrder).where(PurchaseOrder.id.in_(stale)))
    lines = session.scalars(select(PlanLine).where(
        PlanLine.plan_run_id == run.id, PlanLine.recommended_qty > 0,
        PlanLine.supplier_id.is_not(None)).order_by(PlanLine.supplier_id, PlanLine.location_id,
                                                    PlanLine.sku)).all()
    groups: dict[tuple[int, int], list[PlanLine]] = {}
    for line in lines:
        groups.setdefault((line.supplier_id, line.location_id), []).append(line)
    orders = []
    for n, ((supplier_id, location_id), group) in enumerate(sorted(groups.items()), start=1):
        lead = max(g.lead_time_days or 0.0 for g in group)
        po = PurchaseOrder(shop_id=shop.id, number=f"PO-{run.id:05d}-{n:03d}",
                           supplier_id=supplier_id, location_id=location_id, plan_run_id=run.id,
                           status="draft", idempotency_key=uuid.uuid4().hex,
                           expected_at=run.data_cutoff + timedelta(days=math.ceil(lead)))
        session.add(po)
        session.flush()
        session.add_all([PurchaseOrderLine(purchase_order_id=po.id, variant_id=g.variant_id,
                                           sku=g.sku, quantity=g.recommended_qty,
                                           unit_cost=g.unit_cost) for g in group])
        orders.append(po)
    session.flush()
    return orders
