"""ShipBob <-> restock storage: stock in, receipts of sent purchase orders in.

:func:`wms_sync` does two things for one shop:

1. **Inventory.** :func:`~.adapter.pull_inventory` is loaded with
   :func:`core.ingest.load_records` in one transaction. ShipBob's stock is the warehouse
   truth for its fulfillment centers (locations ``shipbob:<fc id>``): the day's snapshot
   rows of those locations are overwritten by what ShipBob says. ShipBob items whose SKU the
   shop does not know are skipped (counted in ``skus_unknown``).
2. **Receipts.** Every purchase order of the shop with a ``PODelivery`` on channel
   ``shipbob`` whose ``remote_ref`` holds the WRO id, and whose status is ``sent`` or
   ``partially_received``, is polled with :func:`~.adapter.poll_receiving`. ShipBob reports
   the *cumulative* units received per SKU; the increase over what restock already recorded
   from that WRO becomes one :func:`core.receiving.receive` call per SKU, so statuses move
   and lead times are learned as for any other receipt.

Idempotency of receipts: the receipt id is ``wro:<wro id>:<sku>:<cumulative received>``
(source ``shipbob``), e.g. ``wro:9001:TEA-GREEN:40`` for the receipt that brought the WRO's
received count of TEA-GREEN to 40. What was recorded before is the sum of the ``shipbob``
receipts whose id starts ``wro:<wro id>:<sku>:``. Polling again without a change finds no
increase and writes nothing; and should two runs race, both would try the same receipt id,
which :func:`core.receiving.receive` stores once. A cumulative count that goes *down*
(a correction at ShipBob) is reported, not undone.

Each purchase order is polled and recorded in its own transaction: a ShipBob error, an
unknown SKU or a refused receipt (over-receipt beyond the shop's tolerance...) ends in one
message for that order in ``errors`` and the others go on.
"""
from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any, Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.ingest import load_records
from core.purchasing import as_utc
from core.receiving import RECEIVABLE, ReceivingError, receive
from core.records import ShopRecords
from core.shops import get_or_create_shop
from core.storage import PODelivery, PurchaseOrder, Receipt, Variant, session_scope, utcnow

from .adapter import poll_receiving, pull_inventory
from .client import ShipBobClient, ShipBobError

__all__ = ["wms_sync", "receive_wro", "receipt_id", "SOURCE", "CHANNEL"]

log = logging.getLogger(__name__)

SOURCE = "shipbob"
CHANNEL = "shipbob"


def receipt_id(wro_id: int | str, sku: str, cumulative: int) -> str:
    """``wro:<wro id>:<sku>:<cumulative received>``, the receipt id of one increase."""
    return f"wro:{wro_id}:{sku}:{int(cumulative)}"


def _recorded(session: Session, po: PurchaseOrder, wro_id: int | str, sku: str) -> int:
    """Units already recorded from this WRO for ``sku`` (source ``shipbob``)."""
    prefix = f"wro:{wro_id}:{sku}:"
    total = session.scalar(select(func.coalesce(func.sum(Receipt.quantity), 0)).where(
        Receipt.shop_id == po.shop_id, Receipt.purchase_order_id == po.id,
        Receipt.source == SOURCE, Receipt.external_id.like(prefix + "%")))
    return int(total or 0)


def receive_wro(session: Session, po: PurchaseOrder, wro_id: int | str, polled: dict,
                received_at: datetime | None = None) -> tuple[list[Receipt], list[str]]:
    """Record the increase of ``polled["received"]`` over what is stored, per SKU.

    Args:
        session: The caller's transaction.
        po: The purchase order the WRO was made for.
        wro_id: The WRO id (``PODelivery.remote_ref``).
        polled: :func:`~.adapter.poll_receiving`'s answer.
        received_at: When the units count as received (default: now).

    Returns:
        The new receipt rows, and one problem message per SKU that could not be recorded.
    """
    rows: list[Receipt] = []
    problems: list[str] = []
    for sku, cumulative in sorted((polled.get("received") or {}).items()):
        cumulative = int(cumulative)
        if cumulative <= 0:
            continue
        already = _recorded(session, po, wro_id, sku)
        increase = cumulative - already
        if increase < 0:
            problems.append(f"SKU {sku}: ShipBob now reports {cumulative} received, "
                            f"{already} were recorded before; not undone")
            continue
        if increase == 0:
            continue
        try:
            rows += receive(session, po, {sku: increase}, source=SOURCE,
                            external_id=receipt_id(wro_id, sku, cumulative),
                            received_at=received_at)
        except ReceivingError as exc:
            problems.append(str(exc))
    return rows, problems


def _load_inventory(session: Session, shop_id: int, records: ShopRecords) -> dict[str, int]:
    known = set(session.scalars(select(Variant.sku).where(Variant.shop_id == shop_id)))
    inv = records.inventory
    keep = [sku in known for sku in inv["sku"].tolist()]
    unknown = sorted(set(inv["sku"][[not k for k in keep]]))
    if unknown:
        log.warning("shipbob: %d SKUs unknown to the shop skipped: %s", len(unknown),
                    ", ".join(unknown[:10]) + (" ..." if len(unknown) > 10 else ""))
        records.inventory = inv[keep].reset_index(drop=True)
    counts = load_records(session, shop_id, records)
    return {"locations": counts.get("locations", 0),
            "inventory": counts.get("inventory_snapshots", 0), "skus_unknown": len(unknown)}


def wms_sync(session_factory: Callable[[], Session], shop_name: str, client: ShipBobClient,
             today: date | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Load ShipBob's stock into shop ``shop_name`` and record receipts of its WROs.

    Args:
        session_factory: A SQLAlchemy sessionmaker (``core.storage.make_sessionmaker``).
        shop_name: The shop (created if missing).
        client: A ShipBob client.
        today: The day of the stock snapshot (default: today in UTC).
        now: When newly seen receipts count as received (default: now).

    Returns:
        ``locations``, ``inventory`` (snapshot rows), ``skus_unknown``, ``orders_polled``,
        ``receipts`` (new receipt rows), ``units_received``, ``orders_received`` (orders now
        fully received) as numbers, and ``errors``: one message per order that failed.

    Raises:
        ShipBobError: the inventory could not be read (nothing is written).
    """
    records = pull_inventory(client, as_of=today)
    with session_scope(session_factory) as session:
        shop_id = get_or_create_shop(session, shop_name).id
        out: dict[str, Any] = _load_inventory(session, shop_id, records)
    with session_scope(session_factory) as session:
        todo = session.execute(
            select(PurchaseOrder.id, PurchaseOrder.number, PODelivery.remote_ref)
            .join(PODelivery, PODelivery.purchase_order_id == PurchaseOrder.id)
            .where(PurchaseOrder.shop_id == shop_id, PODelivery.channel == CHANNEL,
                   PODelivery.remote_ref.is_not(None), PurchaseOrder.status.in_(RECEIVABLE))
            .order_by(PurchaseOrder.id)).all()
    out.update(orders_polled=0, receipts=0, units_received=0, orders_received=0, errors=[])
    at = as_utc(now) or utcnow()
    for po_id, number, wro_ref in todo:
        try:
            wro_id = int(str(wro_ref).strip())
            polled = poll_receiving(client, wro_id)
        except (ValueError, ShipBobError) as exc:
            out["errors"].append(f"{number} (WRO {wro_ref}): ShipBob: {exc}")
            continue
        out["orders_polled"] += 1
        try:
            with session_scope(session_factory) as session:
                po = session.get(PurchaseOrder, po_id)
                rows, problems = receive_wro(session, po, wro_id, polled, received_at=at)
                status = po.status
        except Exception as exc:  # one order's failure must not stop the others
            log.exception("shipbob: receipts of %s failed", number)
            out["errors"].append(f"{number} (WRO {wro_id}): {type(exc).__name__}: {exc}")
            continue
        out["receipts"] += len(rows)
        out["units_received"] += sum(r.quantity for r in rows)
        out["orders_received"] += int(status == "received" and bool(rows))
        out["errors"] += [f"{number} (WRO {wro_id}): {p}" for p in problems]
        if polled.get("status") == "Cancelled":
            out["errors"].append(f"{number} (WRO {wro_id}): the WRO was cancelled in ShipBob; "
                                 "the purchase order was left as it is")
    for message in out["errors"]:
        log.warning("shipbob: %s", message)
    log.info("shipbob sync into %s: %s", shop_name,
             {k: v for k, v in out.items() if k != "errors"})
    return out
