"""Send approved purchase orders to their suppliers, exactly once per order.

One :class:`~core.storage.PODelivery` row per (order, channel) tracks the attempts. Each
order goes through three steps, and no database transaction is open during the network
call:

1. **Claim** (one transaction): the delivery row moves to ``sending`` with
   ``attempts += 1`` and ``next_attempt_at = now + lease``, by a compare-and-set on
   (status, attempts), so two senders never both claim it; the order is snapshotted.
2. **Send**: the channel delivers the snapshot, carrying the order's idempotency key
   (``Idempotency-Key`` header for HTTP, a deterministic Message-ID for email).
3. **Finish** (one transaction): on success the delivery becomes ``sent`` and the order
   ``sent`` (``sent_at``, ``expected_at`` = sent date + lead time, see
   :func:`core.purchasing.mark_sent`). On failure the delivery becomes ``failed`` with
   ``last_error`` and ``next_attempt_at = now + min(cap, base * 2 ** (attempts - 1))``;
   the order stays ``approved`` with ``last_error`` shown to the user. A permanent
   refusal (SMTP 5xx, HTTP 4xx) gets no ``next_attempt_at``: it is retried only when a
   person sends the order again (``po_ids`` given).

Crash between 2 and 3: the row is left ``sending``. Once its lease has passed, a channel
registered as idempotent (``http``: the receiver must honour ``Idempotency-Key``) is sent
again with the same key; any other channel (``email``: SMTP cannot deduplicate) is marked
``unknown`` and never re-sent automatically, so no second email goes out. A person checks
with the supplier, then re-sends with ``force=True`` (same Message-ID) or marks the order
sent. Delivery row statuses: ``sending``, ``sent``, ``failed``, ``unknown``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from core.purchasing import as_utc, mark_sent
from core.shops import resolve_shop
from core.storage import PODelivery, PurchaseOrder, Shop, Supplier, session_scope, utcnow

from .channels import ChannelCall, ChannelNotConfigured, get_channel
from .document import OrderDocument, build_document
from .settings import DeliverySettings

__all__ = ["send_approved", "SendReport", "SendOutcome", "delivery_method", "INTERRUPTED"]

log = logging.getLogger("restock.delivery")

INTERRUPTED = ("delivery state unknown: an earlier attempt was interrupted after it "
               "started sending, so the supplier may have received the order; check with the "
               "supplier, then send it again (same Message-ID) or mark it sent")


@dataclass(frozen=True)
class SendOutcome:
    """What happened to one order: ``result`` is sent | failed | held | unknown |
    already_sent | skipped."""

    po_id: int
    number: str
    result: str
    channel: str | None = None
    attempts: int = 0
    error: str | None = None


@dataclass
class SendReport:
    outcomes: list[SendOutcome] = field(default_factory=list)

    def of(self, result: str) -> list[SendOutcome]:
        return [o for o in self.outcomes if o.result == result]

    @property
    def sent(self) -> list[SendOutcome]:
        return self.of("sent")

    @property
    def failed(self) -> list[SendOutcome]:
        return [o for o in self.outcomes if o.result in ("failed", "held", "unknown")]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for o in self.outcomes:
            out[o.result] = out.get(o.result, 0) + 1
        return out


@dataclass(frozen=True)
class _Claim:
    delivery_id: int
    attempt: int
    channel: str
    config: dict
    order: OrderDocument


def delivery_method(supplier: Supplier) -> str:
    """The supplier's ``delivery["method"]``; ``email`` when none is set."""
    return str((supplier.delivery or {}).get("method") or "email")


def _idempotent(name: str) -> bool:
    try:
        return get_channel(name).idempotent
    except ChannelNotConfigured:
        return False


def _claim(s: Session, po_id: int, now: datetime, settings: DeliverySettings,
           explicit: bool, force: bool, cache: dict) -> _Claim | SendOutcome:
    row = s.execute(select(PurchaseOrder, Supplier)
                    .join(Supplier, Supplier.id == PurchaseOrder.supplier_id)
                    .where(PurchaseOrder.id == po_id)
                    .with_for_update(of=PurchaseOrder)).first()
    if row is None:
        return SendOutcome(po_id, "?", "skipped", error="no such purchase order")
    po, supplier = row
    if po.status != "approved":
        return SendOutcome(po.id, po.number, "skipped",
                           error=f"it is {po.status}: only approved orders are sent")
    name = delivery_method(supplier)
    rows = s.scalars(select(PODelivery).where(PODelivery.purchase_order_id == po.id)).all()
    done = next((d for d in rows if d.status == "sent"), None)
    if done is not None:  # delivered before, the order's move was lost: repair it
        mark_sent(s, po, as_utc(done.delivered_at) or now)
        return SendOutcome(po.id, po.number, "already_sent", done.channel, done.attempts)
    for d in rows:
        if d.status == "sending" and as_utc(d.next_attempt_at) > now:
            return SendOutcome(po.id, po.number, "skipped", d.channel, d.attempts,
                               "another sender is sending it right now")
    d = next((d for d in rows if d.channel == name), None)
    for other in rows:
        interrupted = other.status == "unknown" or (other.status == "sending"
                                                     and not _idempotent(other.channel))
        if interrupted and not force:
            other.status, other.last_error = "unknown", INTERRUPTED
            po.last_error = f"{other.channel}: {INTERRUPTED}"
            return SendOutcome(po.id, po.number, "unknown", other.channel, other.attempts,
                               INTERRUPTED)
    if d is not None and d.status == "failed" and not explicit and (
            d.next_attempt_at is None or as_utc(d.next_attempt_at) > now):
        result = "held" if d.next_attempt_at is None else "skipped"
        return SendOutcome(po.id, po.number, result, name, d.attempts, d.last_error)
    lease = now + timedelta(seconds=settings.lease)
    if d is None:
        d = PODelivery(purchase_order_id=po.id, channel=name, status="sending", attempts=1,
                       next_attempt_at=lease, created_at=now)
        s.add(d)
        s.flush()
        attempt = 1
    else:
        attempt = d.attempts + 1
        claimed = s.execute(update(PODelivery).where(
            PODelivery.id == d.id, PODelivery.status == d.status,
            PODelivery.attempts == d.attempts).values(
            status="sending", attempts=attempt, next_attempt_at=lease)
            .execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            return SendOutcome(po.id, po.number, "skipped", name, d.attempts,
                               "another sender claimed it first")
    order = build_document(s, po, now.date(), supplier=supplier, cache=cache)
    return _Claim(d.id, attempt, name, dict(supplier.delivery or {}), order)


def _finish(s: Session, claim: _Claim, now: datetime, ref: str | None,
            error: BaseException | None, settings: DeliverySettings) -> SendOutcome:
    d = s.get(PODelivery, claim.delivery_id)
    po = s.get(PurchaseOrder, claim.order.po_id)
    number = claim.order.number
    if error is None:
        d.status, d.delivered_at, d.last_error, d.next_attempt_at = "sent", now, None, None
        d.remote_ref = ref[:255] if ref else None
        if po is not None and po.status == "approved":
            mark_sent(s, po, now, expected=claim.order.expected_date)
        elif po is not None:
            log.warning("purchase order %s was delivered but is now %s", number, po.status)
        return SendOutcome(claim.order.po_id, number, "sent", claim.channel, claim.attempt)
    message = str(error) or type(error).__name__
    permanent = bool(getattr(error, "permanent", False))
    d.status, d.last_error = "failed", message
    d.next_attempt_at = None if permanent else now + timedelta(
        seconds=settings.backoff(claim.attempt))
    if po is not None and po.status == "approved":
        po.last_error = f"{claim.channel}: {message}"
    return SendOutcome(claim.order.po_id, number, "held" if permanent else "failed",
                       claim.channel, claim.attempt, message)


def _candidates(s: Session, shop_id: int, po_ids, now: datetime) -> list[int]:
    stmt = select(PurchaseOrder.id).where(PurchaseOrder.shop_id == shop_id)
    if po_ids is not None:
        return list(s.scalars(stmt.where(PurchaseOrder.id.in_(list(po_ids)))
                              .order_by(PurchaseOrder.id)))
    waiting = select(PODelivery.purchase_order_id).where(or_(
        and_(PODelivery.status.in_(("failed", "sending")), PODelivery.next_attempt_at > now),
        and_(PODelivery.status == "failed", PODelivery.next_attempt_at.is_(None)),
        PODelivery.status == "unknown"))
    return list(s.scalars(stmt.where(PurchaseOrder.status == "approved",
                                     PurchaseOrder.id.not_in(waiting))
                          .order_by(PurchaseOrder.id)))


def send_approved(session_factory: sessionmaker[Session], shop: Shop | str | int,
                  po_ids=None, now: datetime | None = None,
                  settings: DeliverySettings | None = None, force: bool = False) -> SendReport:
    """Send the shop's approved purchase orders whose delivery is not done.

    Args:
        session_factory: makes the short transactions of each step.
        shop: a :class:`Shop`, its name or its id.
        po_ids: only these orders; they are sent now even when a retry is not due yet or a
            permanent refusal holds them. None: every approved order that is due.
        now: the clock (default: the current UTC time); naive values are UTC.
        settings: SMTP server, timeouts, retry timing (default: from the environment).
        force: also re-send orders whose earlier attempt was interrupted on a channel that
            cannot deduplicate (may reach the supplier twice; same Message-ID).

    Returns:
        One outcome per order looked at.
    """
    now = as_utc(now) or utcnow()
    settings = settings or DeliverySettings.from_env()
    with session_scope(session_factory) as s:
        if isinstance(shop, Shop):
            shop_id = shop.id
        elif isinstance(shop, int):
            shop_id = shop
        else:
            shop_id = resolve_shop(s, shop).id
        ids = _candidates(s, shop_id, po_ids, now)
    report, cache = SendReport(), {}
    for po_id in ids:
        try:
            with session_scope(session_factory) as s:
                claim = _claim(s, po_id, now, settings, po_ids is not None, force, cache)
        except IntegrityError:  # another sender created the delivery row first
            report.outcomes.append(SendOutcome(po_id, "?", "skipped",
                                               error="another sender claimed it first"))
            continue
        if isinstance(claim, SendOutcome):
            report.outcomes.append(claim)
            continue
        ref, error = None, None
        try:
            ref = get_channel(claim.channel).send(ChannelCall(
                order=claim.order, config=claim.config, settings=settings,
                sessions=session_factory, now=now, attempt=claim.attempt))
        except Exception as exc:  # any channel failure is recorded, never raised
            error = exc
        with session_scope(session_factory) as s:
            outcome = _finish(s, claim, now, ref, error, settings)
        log.info("purchase order %s via %s: %s%s", outcome.number, outcome.channel,
                 outcome.result, f" ({outcome.error})" if outcome.error else "")
        report.outcomes.append(outcome)
    return report
