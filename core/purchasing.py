"""Draft purchase orders from a plan run, edit drafts, and the purchase-order state machine.

A plan's recommended lines are grouped by supplier and ship-to location into one draft per
group. Drafts that earlier plan runs made and nobody approved are replaced, so the draft
list always reflects the latest plan (edits to a plan-made draft are therefore lost on the
next plan run unless the draft is approved first); approved and later orders are never
touched.

Lifecycle::

    draft -> approved -> sent -> partially_received -> received
      \\________\\__________\\___________\\__________-> cancelled

Auto-approval: a supplier whose ``Supplier.delivery["auto_approve_below"]`` is a number
gets its new drafts approved when they are drafted if their value
``sum(quantity_i * unit_cost_i)`` is strictly below it; a draft with a line of unknown unit
cost is never auto-approved (its value is unknown).
"""
from __future__ import annotations

import math
import uuid
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, object_session

from .storage import (PlanLine, PlanRun, PurchaseOrder, PurchaseOrderLine, Shop, Supplier,
                      SupplierItem, Variant, utcnow)

__all__ = ["draft_purchase_orders", "TRANSITIONS", "PurchasingError", "IllegalTransition",
           "set_status", "order_lines", "order_value", "edit_line", "add_line", "move_line",
           "merge_drafts", "auto_approve", "arrival_after", "expected_arrival", "mark_sent",
           "as_utc"]

TRANSITIONS: dict[str, set[str]] = {
    "draft": {"approved", "cancelled"},
    "approved": {"sent", "cancelled"},
    "sent": {"partially_received", "received", "cancelled"},
    "partially_received": {"partially_received", "received", "cancelled"},
    "received": set(),
    "cancelled": set(),
}


class PurchasingError(ValueError):
    """A purchase-order operation was refused; the message says why and what to do."""


class IllegalTransition(PurchasingError):
    """A purchase order cannot move from its status to the requested one."""


def as_utc(value: datetime | None) -> datetime | None:
    """``value`` as an aware UTC datetime; naive values (SQLite drops zones) are UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def set_status(po: PurchaseOrder, status: str, now: datetime | None = None) -> PurchaseOrder:
    """Move ``po`` to ``status`` if the state machine allows it, stamping the time.

    Raises:
        IllegalTransition: the move is not in :data:`TRANSITIONS`; nothing is changed.
    """
    if status not in TRANSITIONS.get(po.status, set()):
        allowed = ", ".join(sorted(TRANSITIONS.get(po.status, set()))) or "nothing"
        raise IllegalTransition(f"purchase order {po.number} is {po.status}: it can move to "
                                f"{allowed}, not {status}")
    now = as_utc(now) or utcnow()
    po.status = status
    if status == "approved":
        po.approved_at = now
    elif status == "sent":
        po.sent_at = now
    return po


def _session(po: PurchaseOrder) -> Session:
    session = object_session(po)
    if session is None:
        raise PurchasingError(f"purchase order {po.number} is not attached to a session")
    return session


def order_lines(po: PurchaseOrder) -> list[PurchaseOrderLine]:
    """The lines of ``po``, by SKU."""
    return list(_session(po).scalars(select(PurchaseOrderLine).where(
        PurchaseOrderLine.purchase_order_id == po.id).order_by(PurchaseOrderLine.sku)))


def order_value(po: PurchaseOrder) -> float | None:
    """``sum(quantity * unit_cost)`` over the lines; None when a line has no unit cost."""
    total = 0.0
    for line in order_lines(po):
        if line.unit_cost is None:
            return None
        total += line.quantity * line.unit_cost
    return round(total, 2)


def _require_draft(po: PurchaseOrder, what: str) -> None:
    if po.status != "draft":
        raise PurchasingError(f"cannot {what} purchase order {po.number}: it is {po.status}, "
                              "and only drafts can be edited")


def _line(po: PurchaseOrder, sku: str) -> PurchaseOrderLine:
    line = _session(po).scalar(select(PurchaseOrderLine).where(
        PurchaseOrderLine.purchase_order_id == po.id, PurchaseOrderLine.sku == sku))
    if line is None:
        skus = ", ".join(x.sku for x in order_lines(po)) or "none"
        raise PurchasingError(f"purchase order {po.number} has no line for SKU {sku!r} "
                              f"(its SKUs: {skus})")
    return line


def _check_qty(qty, allow_zero: bool) -> int:
    if isinstance(qty, bool) or not isinstance(qty, int) or qty < 0 or (qty == 0 and not
                                                                       allow_zero):
        kind = "a whole number of 0 or more" if allow_zero else "a whole number above 0"
        raise PurchasingError(f"quantity {qty!r} must be {kind}")
    return qty


def edit_line(po: PurchaseOrder, sku: str, qty: int) -> PurchaseOrderLine | None:
    """Set the quantity of ``sku`` on draft ``po``; 0 removes the line (returns None)."""
    _require_draft(po, "edit")
    qty = _check_qty(qty, allow_zero=True)
    line = _line(po, sku)
    session = _session(po)
    if qty == 0:
        session.delete(line)
        session.flush()
        return None
    line.quantity = qty
    session.flush()
    return line


def _supplier_cost(session: Session, supplier_id: int, variant_id: int) -> float | None:
    return session.scalar(select(SupplierItem.unit_cost).where(
        SupplierItem.supplier_id == supplier_id, SupplierItem.variant_id == variant_id))


def add_line(po: PurchaseOrder, sku: str, qty: int,
             unit_cost: float | None = None) -> PurchaseOrderLine:
    """Add ``qty`` units of ``sku`` to draft ``po`` (adds to the line if the SKU is on it).

    The unit cost defaults to the supplier's cost for the item, else the variant's cost.
    """
    _require_draft(po, "edit")
    qty = _check_qty(qty, allow_zero=False)
    session = _session(po)
    variant = session.scalar(select(Variant).where(Variant.shop_id == po.shop_id,
                                                   Variant.sku == sku))
    if variant is None:
        raise PurchasingError(f"unknown SKU {sku!r}: it is not in the shop's catalog")
    line = session.scalar(select(PurchaseOrderLine).where(
        PurchaseOrderLine.purchase_order_id == po.id,
        PurchaseOrderLine.variant_id == variant.id))
    if line is not None:
        line.quantity += qty
        if unit_cost is not None:
            line.unit_cost = unit_cost
    else:
        if unit_cost is None:
            unit_cost = _supplier_cost(session, po.supplier_id, variant.id)
        line = PurchaseOrderLine(purchase_order_id=po.id, variant_id=variant.id, sku=sku,
                                 quantity=qty, received_quantity=0,
                                 unit_cost=unit_cost if unit_cost is not None
                                 else variant.unit_cost)
        session.add(line)
    session.flush()
    return line


def _next_number(session: Session, shop_id: int, prefix: str) -> str:
    taken = set(session.scalars(select(PurchaseOrder.number).where(
        PurchaseOrder.shop_id == shop_id, PurchaseOrder.number.like(f"{prefix}%"))))
    n = 1
    while f"{prefix}{n:03d}" in taken:
        n += 1
    return f"{prefix}{n:03d}"


def move_line(po: PurchaseOrder, sku: str, other_supplier: Supplier | int) -> PurchaseOrder:
    """Move the line of ``sku`` from draft ``po`` to a draft of ``other_supplier``.

    The line joins that supplier's draft for the same ship-to location (quantities add up
    when the SKU is already there) or a new draft; its unit cost becomes that supplier's
    cost for the item when known. ``po`` is deleted when it has no line left.

    Returns:
        The draft that now holds the line.
    """
    _require_draft(po, "edit")
    session = _session(po)
    supplier_id = other_supplier if isinstance(other_supplier, int) else other_supplier.id
    supplier = session.get(Supplier, supplier_id)
    if supplier is None or supplier.shop_id != po.shop_id:
        raise PurchasingError(f"unknown supplier {supplier_id} for this shop")
    if supplier_id == po.supplier_id:
        raise PurchasingError(f"SKU {sku!r} is already ordered from {supplier.name} on "
                              f"{po.number}")
    line = _line(po, sku)
    target = session.scalar(select(PurchaseOrder).where(
        PurchaseOrder.shop_id == po.shop_id, PurchaseOrder.status == "draft",
        PurchaseOrder.supplier_id == supplier_id, PurchaseOrder.id != po.id,
        (PurchaseOrder.location_id == po.location_id) if po.location_id is not None
        else PurchaseOrder.location_id.is_(None)).order_by(PurchaseOrder.id))
    if target is None:
        prefix = f"PO-{po.plan_run_id:05d}-" if po.plan_run_id else "PO-M-"
        target = PurchaseOrder(shop_id=po.shop_id, number=_next_number(session, po.shop_id,
                                                                       prefix),
                               supplier_id=supplier_id, location_id=po.location_id,
                               plan_run_id=po.plan_run_id, status="draft",
                               idempotency_key=uuid.uuid4().hex, expected_at=po.expected_at)
        session.add(target)
        session.flush()
    cost = _supplier_cost(session, supplier_id, line.variant_id)
    existing = session.scalar(select(PurchaseOrderLine).where(
        PurchaseOrderLine.purchase_order_id == target.id,
        PurchaseOrderLine.variant_id == line.variant_id))
    if existing is not None:
        existing.quantity += line.quantity
        session.delete(line)
    else:
        line.purchase_order_id = target.id
        if cost is not None:
            line.unit_cost = cost
    session.flush()
    if not order_lines(po):
        session.delete(po)
        session.flush()
    return target


def merge_drafts(session: Session, shop: Shop) -> list[PurchaseOrder]:
    """Merge the shop's drafts that share supplier and ship-to location into the oldest one.

    Quantities of a SKU on several drafts add up; the merged-away drafts are deleted.

    Returns:
        The drafts that absorbed others (empty when there was nothing to merge).
    """
    drafts = session.scalars(select(PurchaseOrder).where(
        PurchaseOrder.shop_id == shop.id, PurchaseOrder.status == "draft")
        .order_by(PurchaseOrder.id)).all()
    groups: dict[tuple[int, int | None], list[PurchaseOrder]] = {}
    for po in drafts:
        groups.setdefault((po.supplier_id, po.location_id), []).append(po)
    merged = []
    for group in groups.values():
        if len(group) < 2:
            continue
        keep, others = group[0], group[1:]
        lines = {line.variant_id: line for line in order_lines(keep)}
        for other in others:
            for line in order_lines(other):
                if line.variant_id in lines:
                    lines[line.variant_id].quantity += line.quantity
                    session.delete(line)
                else:
                    line.purchase_order_id = keep.id
                    lines[line.variant_id] = line
            session.flush()
            session.delete(other)
        session.flush()
        merged.append(keep)
    return merged


def auto_approve(session: Session, orders: list[PurchaseOrder],
                 now: datetime | None = None) -> list[PurchaseOrder]:
    """Approve the drafts among ``orders`` whose value is below their supplier's
    ``delivery["auto_approve_below"]``; returns the approved ones."""
    approved = []
    for po in orders:
        if po.status != "draft":
            continue
        supplier = session.get(Supplier, po.supplier_id)
        limit = (supplier.delivery or {}).get("auto_approve_below") if supplier else None
        if limit is None or isinstance(limit, bool):
            continue
        value = order_value(po)
        if value is not None and value < float(limit):
            set_status(po, "approved", now)
            approved.append(po)
    session.flush()
    return approved


def arrival_after(sent_on: date, leads) -> date | None:
    """``sent_on + ceil(max_i lead_i)`` days over the known lead times; None if none."""
    leads = [x for x in leads if x is not None]
    if not leads:
        return None
    return sent_on + timedelta(days=math.ceil(max(leads)))


def expected_arrival(session: Session, po: PurchaseOrder, sent_on: date) -> date | None:
    """:func:`arrival_after` over the order's lines, each line's lead time from the
    supplier's item (learned values when enough receipts exist, see
    :mod:`core.leadtimes`); None when no line has a supplier item."""
    return arrival_after(sent_on, session.scalars(select(SupplierItem.lead_time_days).join(
        PurchaseOrderLine, PurchaseOrderLine.variant_id == SupplierItem.variant_id).where(
        PurchaseOrderLine.purchase_order_id == po.id,
        SupplierItem.supplier_id == po.supplier_id)).all())


def mark_sent(session: Session, po: PurchaseOrder, now: datetime | None = None,
              expected: date | None = None) -> PurchaseOrder:
    """Move approved ``po`` to sent: ``sent_at = now`` and ``expected_at`` = sent date +
    lead time (``expected`` when the caller computed it already; kept as it was when no
    supplier item gives a lead time)."""
    now = as_utc(now) or utcnow()
    set_status(po, "sent", now)
    po.expected_at = expected or expected_arrival(session, po, now.date()) or po.expected_at
    po.last_error = None
    session.flush()
    return po


def draft_purchase_orders(session: Session, shop: Shop, run: PlanRun) -> list[PurchaseOrder]:
    """Create one draft per (supplier, location) from ``run``'s recommended quantities, then
    approve those under their supplier's auto-approve value (see the module docstring)."""
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
    auto_approve(session, orders)
    return orders
