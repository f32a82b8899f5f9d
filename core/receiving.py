"""Goods receipts against purchase orders.

:func:`receive` records the units of one delivery at the order's location. Rules:

* Only ``sent`` and ``partially_received`` orders take receipts; a draft, approved (not
  yet sent), received or cancelled order is refused.
* Every SKU must be a line of the order and every quantity a whole number above 0.
* Over-receipt: a line may receive at most ``floor(quantity * (1 + tolerance))`` units in
  total. ``tolerance`` is a fraction (0.05 = 5 % over); it defaults to the shop setting
  ``Shop.settings["over_receipt_tolerance"]``, else 0 (no over-receipt at all).
* All checks run before anything is written: a refused receipt writes nothing.
* Idempotent on ``(source, external_id)``: a receipt is stored as one row per SKU with
  ``external_id = "<external_id>:<sku>"``; the same call again returns the rows already
  stored and changes nothing, while the same ``(source, external_id)`` with other SKUs or
  quantities is refused as a conflict.

After a receipt the order is ``received`` when every line has
``received_quantity >= quantity``, else ``partially_received``; lead times are then
re-learned for the order's supplier (:func:`core.leadtimes.learn_lead_times`).
"""
from __future__ import annotations

import math
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .leadtimes import MIN_RECEIPTS, learn_lead_times
from .purchasing import PurchasingError, as_utc, order_lines, set_status
from .storage import PurchaseOrder, Receipt, Shop, utcnow

__all__ = ["ReceivingError", "receive", "RECEIVABLE", "receipt_row_id"]

RECEIVABLE = ("sent", "partially_received")


class ReceivingError(PurchasingError):
    """A receipt was refused; nothing was written. The message says why."""


def receipt_row_id(external_id: str, sku: str) -> str:
    """The ``Receipt.external_id`` of one SKU of receipt ``external_id``."""
    return f"{external_id}:{sku}"


def _tolerance(session: Session, po: PurchaseOrder, tolerance: float | None) -> float:
    if tolerance is None:
        shop = session.get(Shop, po.shop_id)
        tolerance = (shop.settings or {}).get("over_receipt_tolerance", 0.0) if shop else 0.0
    tolerance = float(tolerance or 0.0)
    if not math.isfinite(tolerance) or tolerance < 0:
        raise ReceivingError(f"over-receipt tolerance {tolerance!r} must be 0 or more")
    return tolerance


def _replay(session: Session, po: PurchaseOrder, quantities: dict[str, int], source: str,
            external_id: str) -> list[Receipt] | None:
    ids = {receipt_row_id(external_id, sku): (sku, qty) for sku, qty in quantities.items()}
    rows = list(session.scalars(select(Receipt).where(
        Receipt.shop_id == po.shop_id, Receipt.source == source,
        Receipt.external_id.in_(list(ids)))))
    if not rows:
        prefix = session.scalar(select(Receipt.id).where(
            Receipt.shop_id == po.shop_id, Receipt.source == source,
            Receipt.external_id.like(f"{external_id}:%")).limit(1))
        if prefix is None:
            return None
        raise ReceivingError(f"receipt {source}/{external_id} was already recorded with "
                             "other SKUs: use a new receipt id")
    same = (len(rows) == len(ids) and all(
        r.purchase_order_id == po.id and r.quantity == ids[r.external_id][1] for r in rows))
    if not same:
        raise ReceivingError(f"receipt {source}/{external_id} was already recorded with other "
                             "lines or quantities: use a new receipt id")
    return sorted(rows, key=lambda r: r.external_id)


def receive(session: Session, po: PurchaseOrder, quantities: dict[str, int],
            source: str = "manual", external_id: str | None = None,
            received_at: datetime | None = None, tolerance: float | None = None,
            min_receipts: int = MIN_RECEIPTS) -> list[Receipt]:
    """Record received units of ``po`` (``{sku: units}``); see the module docstring.

    Args:
        session: the caller's transaction (flushed, not committed).
        po: the purchase order.
        quantities: units received per SKU of the order.
        source: where the receipt comes from (``manual``, ``csv``, ``tryton``, ...).
        external_id: the receipt's id in ``source``; a random one (not idempotent) if None.
        received_at: when the goods arrived (default now; naive values are UTC).
        tolerance: over-receipt fraction allowed (default: the shop setting, else 0).
        min_receipts: receipts per supplier item before learned lead times apply.

    Returns:
        The receipt rows, one per SKU (the stored ones when the receipt is a replay).

    Raises:
        ReceivingError: wrong status, unknown SKU, bad or excessive quantity, or a
            conflicting replay; nothing is written.
    """
    if not quantities:
        raise ReceivingError(f"receipt for purchase order {po.number} has no lines")
    source = (source or "manual").strip()
    external_id = external_id or uuid.uuid4().hex
    replay = _replay(session, po, quantities, source, external_id)
    if replay is not None:
        return replay
    if po.status not in RECEIVABLE:
        hint = {"draft": "approve and send it first", "approved": "it has not been sent yet",
                "received": "every line is already fully received",
                "cancelled": "a cancelled order takes no receipts"}.get(po.status, "")
        raise ReceivingError(f"cannot receive against purchase order {po.number}: it is "
                             f"{po.status}" + (f" ({hint})" if hint else ""))
    lines = {line.sku: line for line in order_lines(po)}
    tol = _tolerance(session, po, tolerance)
    for sku, qty in quantities.items():
        if sku not in lines:
            raise ReceivingError(f"SKU {sku!r} is not on purchase order {po.number} "
                                 f"(its SKUs: {', '.join(sorted(lines)) or 'none'})")
        if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0:
            raise ReceivingError(f"received quantity {qty!r} of SKU {sku!r} must be a whole "
                                 "number above 0")
        line = lines[sku]
        limit = math.floor(line.quantity * (1.0 + tol) + 1e-9)
        if line.received_quantity + qty > limit:
            already = f", {line.received_quantity} already received" if line.received_quantity \
                else ""
            allowed = f" (tolerance {tol:.0%} allows up to {limit})" if tol else ""
            raise ReceivingError(
                f"over-receipt of SKU {sku!r} on purchase order {po.number}: {qty} received "
                f"but {line.quantity} ordered{already}{allowed}")
    at = as_utc(received_at) or utcnow()
    rows = []
    for sku, qty in sorted(quantities.items()):
        line = lines[sku]
        line.received_quantity += qty
        rows.append(Receipt(shop_id=po.shop_id, purchase_order_id=po.id,
                            purchase_order_line_id=line.id, variant_id=line.variant_id,
                            quantity=qty, received_at=at, source=source,
                            external_id=receipt_row_id(external_id, sku)))
    session.add_all(rows)
    done = all(line.received_quantity >= line.quantity for line in lines.values())
    set_status(po, "received" if done else "partially_received", at)
    session.flush()
    learn_lead_times(session, po.shop_id, min_receipts=min_receipts, supplier_id=po.supplier_id)
    return rows
