"""Tryton <-> restock storage: load a pull in one transaction, send approved purchase orders,
apply receipts (through :func:`core.receiving.receive`, one receipt per done move).

Suppliers that come from Tryton get ``Supplier.delivery = {"method": "tryton", "party_id":
N}``, which is how the rest of restock knows their purchase orders go to Tryton.

A SKU the shop already has from another source (Shopify) keeps its variant row: Tryton's
stock, suppliers and lead times attach to it by SKU, and Tryton does not overwrite the
title or price the shop shows.
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.ingest import load_records
from core.purchasing import set_status
from core.receiving import RECEIVABLE, ReceivingError, receive
from core.records import ShopRecords
from core.shops import get_or_create_shop
from core.storage import (Location, PurchaseOrder, PurchaseOrderLine, Supplier, Variant,
                          session_scope)

from .adapter import TrytonMappingError, pull, pull_receipts, push_purchase, tryton_id
from .client import TrytonClient

__all__ = ["erp_sync", "send_purchase_order", "apply_receipts", "make_channel"]

log = logging.getLogger(__name__)


def _keep_shop_catalog(session: Session, shop_id: int, records: ShopRecords) -> int:
    """Drop variants (and then-empty products) whose SKU the shop has under another id."""
    have = dict(session.execute(select(Variant.sku, Variant.external_id)
                                .where(Variant.shop_id == shop_id)).all())
    variants = records.variants
    clash = [have.get(s) not in (None, e)
             for s, e in zip(variants["sku"].tolist(), variants["external_id"].tolist())]
    if any(clash):
        keep = [not c for c in clash]
        records.variants = variants[keep].reset_index(drop=True)
        used = set(records.variants["product_external_id"])
        records.products = records.products[records.products["external_id"].isin(used)]
    return sum(clash)


def erp_sync(session_factory: Callable[[], Session], shop_name: str, client: TrytonClient,
             today: dt.date | None = None,
             default_lead_time_days: float | None = None,
             receipts: bool = True) -> dict[str, int]:
    """Pull Tryton and load it into shop ``shop_name`` (created if missing) in one transaction.

    With ``receipts`` (the default), the done supplier moves of the shop's ``sent`` and
    ``partially_received`` orders are pulled too (from the day before the oldest of them
    was sent) and recorded in the same transaction by :func:`apply_receipts`; nothing is
    pulled when no order is open.

    Args:
        session_factory: A SQLAlchemy sessionmaker (``core.storage.make_sessionmaker``).
        shop_name: The shop to load into.
        client: A client for the Tryton database.
        today: The day of the stock snapshot (default: today).
        default_lead_time_days: See :func:`connector.adapters.tryton.adapter.pull`.
        receipts: Also pull and apply receipts of open orders.

    Returns:
        Rows written per table, plus ``tryton_suppliers`` (suppliers marked for delivery
        through Tryton), ``skus_kept_from_shop`` (SKUs whose variant row came from
        another source and was left as it was), ``receipt_lines`` (order lines whose
        received quantity changed) and ``receipt_problems`` (moves skipped; see the log).
    """
    records = pull(client, today=today, default_lead_time_days=default_lead_time_days)
    moves: list[dict] = []
    if receipts:
        with session_scope(session_factory) as session:
            shop = get_or_create_shop(session, shop_name)
            oldest = session.scalar(select(func.min(PurchaseOrder.sent_at)).where(
                PurchaseOrder.shop_id == shop.id, PurchaseOrder.status.in_(RECEIVABLE)))
        if oldest is not None:
            moves = pull_receipts(client, since=oldest.date() - dt.timedelta(days=1))
    problems: list[str] = []
    with session_scope(session_factory) as session:
        shop = get_or_create_shop(session, shop_name)
        kept = _keep_shop_catalog(session, shop.id, records)
        counts = load_records(session, shop.id, records)
        ids = set(records.suppliers["external_id"])
        marked = 0
        for supplier in session.scalars(select(Supplier).where(
                Supplier.shop_id == shop.id, Supplier.external_id.in_(ids))):
            supplier.delivery = {**(supplier.delivery or {}), "method": "tryton",
                                 "party_id": tryton_id(supplier.external_id)}
            marked += 1
        applied = apply_receipts(session, shop.id, moves, problems) if moves else 0
    counts.update(tryton_suppliers=marked, skus_kept_from_shop=kept, receipt_lines=applied,
                  receipt_problems=len(problems))
    log.info("tryton sync into %s: %s", shop_name, counts)
    return counts


def send_purchase_order(session: Session, client: TrytonClient, po: PurchaseOrder) -> int:
    """Push an approved order to Tryton as a draft purchase and mark it sent.

    The order's supplier must come from Tryton (``delivery.method == "tryton"``) and its
    location must be a Tryton warehouse. Safe to call again after a failure: the order's
    idempotency key finds the purchase made the first time.

    Returns:
        The Tryton purchase id.

    Raises:
        TrytonMappingError: the supplier or location is not Tryton's.
        connector.adapters.tryton.client.TrytonError: Tryton refused or did not answer.
    """
    supplier = session.get(Supplier, po.supplier_id)
    delivery = supplier.delivery or {}
    party = delivery.get("party_id") or tryton_id(supplier.external_id)
    if delivery.get("method") != "tryton" or party is None:
        raise TrytonMappingError(f"supplier {supplier.name!r} of {po.number} does not come "
                                 "from Tryton: run restock erp sync, or send it another way")
    location = session.get(Location, po.location_id) if po.location_id else None
    warehouse = tryton_id(location.external_id) if location else None
    if warehouse is None:
        raise TrytonMappingError(f"{po.number} ships to "
                                 f"{location.name if location else 'no location'}, which is "
                                 "not a Tryton warehouse")
    lines = session.scalars(select(PurchaseOrderLine).where(
        PurchaseOrderLine.purchase_order_id == po.id).order_by(PurchaseOrderLine.sku)).all()
    purchase = push_purchase(client, po, lines, party, warehouse, po.idempotency_key)
    if po.status == "approved":
        set_status(po, "sent")
    po.last_error = None
    session.flush()
    return purchase


def _received_at(value) -> dt.datetime | None:
    """A move's ``effective_date`` (a day) as midnight UTC of that day."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)


def apply_receipts(session: Session, shop_id: int, receipts: list[dict],
                   problems: list[str] | None = None) -> int:
    """Record :func:`pull_receipts` rows through :func:`core.receiving.receive`.

    Each done move is one receipt ``source="tryton"``, ``external_id="move:<move id>"``,
    received at midnight UTC of its ``effective_date``: the order's ``Receipt`` rows, line
    ``received_quantity``, status (``partially_received`` / ``received``) and the supplier's
    learned lead times all move as for any other receipt. A move already recorded is a
    replay and changes nothing, so applying the same rows twice (or pulling overlapping
    days) is safe. Rows whose reference is not an order of the shop are ignored; a move
    the order cannot take (order not sent, SKU not on it, over-receipt beyond the shop's
    tolerance) is skipped with a message in ``problems`` (and the log), and the other moves
    are still recorded.

    Args:
        session: The caller's transaction.
        shop_id: The shop whose orders the receipts are for.
        receipts: Rows of :func:`connector.adapters.tryton.adapter.pull_receipts`.
        problems: Collects one message per skipped move, if given.

    Returns:
        The number of purchase-order lines whose received quantity changed.
    """
    rows = [r for r in receipts if r.get("reference") and r.get("sku")]
    keys = sorted({r["reference"] for r in rows})
    if not keys:
        return 0
    orders = {po.idempotency_key: po for po in session.scalars(select(PurchaseOrder).where(
        PurchaseOrder.shop_id == shop_id, PurchaseOrder.idempotency_key.in_(keys)))}
    changed: set[tuple[int, str]] = set()
    rows.sort(key=lambda r: (r.get("effective_date") or dt.date.min, r.get("move_id") or 0))
    for r in rows:
        po = orders.get(r["reference"])
        if po is None:
            continue
        qty = int(round(float(r["quantity"])))
        if qty <= 0:
            continue
        lines = session.scalars(select(PurchaseOrderLine).where(
            PurchaseOrderLine.purchase_order_id == po.id,
            PurchaseOrderLine.sku == r["sku"])).all()
        before = sum(line.received_quantity or 0 for line in lines)
        try:
            receive(session, po, {r["sku"]: qty}, source="tryton",
                    external_id=f"move:{r['move_id']}",
                    received_at=_received_at(r.get("effective_date")))
        except ReceivingError as exc:
            message = f"Tryton move {r['move_id']} ({po.number}): {exc}"
            log.warning("tryton receipts: %s", message)
            if problems is not None:
                problems.append(message)
            continue
        if sum(line.received_quantity or 0 for line in lines) != before:
            changed.add((po.id, r["sku"]))
    session.flush()
    return len(changed)


def make_channel(client_for: Callable[[dict], TrytonClient]) -> Callable[[Any], str]:
    """A ``tryton`` delivery channel for :mod:`connector.delivery`'s registry.

    Register it with ``register_channel("tryton", make_channel(client_for),
    idempotent=True)``: the purchase's ``reference`` holds the order's idempotency key, so
    a repeated send finds the purchase it made before.

    Args:
        client_for: Builds a client from the supplier's ``delivery`` settings.

    Returns:
        ``send(call) -> Tryton purchase id as text``, where ``call.order`` is the order
        document (``supplier_external_id``, ``ship_to_external_id``, ``lines``, ...) and
        ``call.config`` the supplier's ``delivery`` dict.
    """
    def send(call) -> str:
        doc = call.order
        party = call.config.get("party_id") or tryton_id(doc.supplier_external_id)
        warehouse = tryton_id(doc.ship_to_external_id)
        if party is None or warehouse is None:
            raise TrytonMappingError(
                f"{doc.number}: supplier {doc.supplier_external_id!r} or ship-to "
                f"{doc.ship_to_external_id!r} is not a Tryton record: run restock erp sync")
        return str(push_purchase(client_for(call.config), doc, doc.lines, party, warehouse,
                                 doc.idempotency_key))
    return send
