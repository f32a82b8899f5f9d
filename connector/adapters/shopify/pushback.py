"""Push restock's customer signals and re-buy reminders back into Shopify.

:func:`push_customer_signals` writes three customer metafields in namespace ``restock``
(``next_order_date`` as ``date``, ``predicted_clv`` as ``number_decimal``, ``segment`` as
``single_line_text_field``) with ``metafieldsSet``, at most 25 metafields per call.

:func:`push_reminders` sends every ``candidate`` :class:`~core.storage.Reminder`: consent is
re-checked first (the local ``accepts_marketing`` and redaction, then the customer's e-mail
``marketingState`` read from Shopify); a customer who is not subscribed gets nothing and the
reminder becomes ``suppressed`` (reason ``no_marketing_consent``, ``redacted`` or
``customer_not_found``). Otherwise, in this order: ``tagsAdd`` of ``restock-reminder-due`` on
the customer; with ``discount_pct`` a one-use discount code only that customer can redeem;
with ``draft_orders`` a draft order for the product (the substitute when there is one)
carrying that code, then ``draftOrderInvoiceSend``; last ``flowTriggerReceive`` with the
payload below. The reminder is then ``sent`` with ``sent_at``.

Idempotency: every remote action has a :class:`~core.storage.PushRecord` keyed by
``(kind, idempotency_key)`` (``signals:<customer>:<day>``, ``reminder:<id>:tag``,
``...:discount``, ``...:draft``, ``...:invoice``, ``...:flow``), committed as ``pending``
BEFORE Shopify is called and marked ``done`` (with ``remote_id``) after. A rerun skips done
actions and reuses the ids they recorded. A crash between a call and its commit leaves the
record pending; on the rerun:

* ``metafieldsSet`` and ``tagsAdd`` are simply repeated (idempotent on Shopify's side);
* discount: looked up by its deterministic code ``RESTOCK-<reminder id>-<6 hex>``
  (``codeDiscountNodeByCode``, :data:`~.queries.DISCOUNT_BY_CODE`) before creating, and a
  ``TAKEN`` user error on create is resolved by the same lookup; Shopify itself refuses a
  second discount with the same code, so this one can never be duplicated;
* draft order: looked up by its deterministic tag ``restock-r<reminder id>``
  (``draftOrders(query: "tag:'...'")``, :data:`~.queries.DRAFT_ORDER_BY_TAG`) before creating;
  the note also carries the idempotency key. Shopify's search index is near-real-time, so
  a crash followed by a rerun within seconds could in theory miss the new draft;
* invoice: a pending record is resolved by the same tag lookup (``invoiceSentAt`` set means
  it went out);
* Flow trigger: not queryable, so it is re-sent (at least once); the payload carries
  ``idempotency_key`` so the Flow can drop a repeat.

Flow payload (keys of the trigger extension): ``customer_id`` (numeric Shopify id, Flow's
customer reference), ``sku``, ``product_title``, ``due_date`` (ISO), ``substitute_sku``
(or null), ``discount_code``, ``draft_order_id``, ``invoice_url`` (null when not made),
``reminder_id`` and ``idempotency_key``.

Both functions commit on the session they are given (records must be durable before each
call). Scopes needed: ``write_customers``, ``write_draft_orders``, ``write_discounts`` and a
Flow trigger extension with the handle.
"""
from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.storage import (Customer, CustomerScore, Product, PushRecord, Reminder, Shop, Variant,
                          utcnow)

from . import queries as q
from .client import AdminClient, ShopifyError

__all__ = ["NAMESPACE", "REMINDER_TAG", "MAX_METAFIELDS_PER_CALL", "PushError",
           "push_customer_signals", "push_reminders", "discount_code", "draft_tag"]

NAMESPACE = "restock"
REMINDER_TAG = "restock-reminder-due"
MAX_METAFIELDS_PER_CALL = 25
Hook = Callable[[str, "str | None"], None]


class PushError(RuntimeError):
    """Shopify answered a push with user errors."""


def _gid(kind: str, ident) -> str:
    return f"gid://shopify/{kind}/{ident}"


def discount_code(shop_id: int, reminder: Reminder, customer: Customer) -> str:
    """The deterministic, customer-specific discount code of a reminder."""
    digest = hashlib.sha256(f"{shop_id}:{reminder.id}:{customer.external_id}".encode())
    return f"RESTOCK-{reminder.id}-{digest.hexdigest()[:6].upper()}"


def draft_tag(reminder: Reminder) -> str:
    """The deterministic tag that finds a reminder's draft order again."""
    return f"restock-r{reminder.id}"


# ---------------------------------------------------------------------- push records
def _claim(session: Session, shop_id: int, kind: str, key: str,
           payload: dict | None = None) -> PushRecord:
    """Get or create the record and, unless done, mark it pending (not committed)."""
    rec = session.scalar(select(PushRecord).where(
        PushRecord.shop_id == shop_id, PushRecord.kind == kind,
        PushRecord.idempotency_key == key))
    if rec is None:
        rec = PushRecord(shop_id=shop_id, kind=kind, idempotency_key=key, status="pending",
                         attempts=0, payload=payload or {})
        session.add(rec)
    if rec.status != "done":
        rec.status = "pending"
        rec.attempts = (rec.attempts or 0) + 1
    return rec


def _done(rec: PushRecord, remote_id: str | None = None) -> None:
    rec.status, rec.done_at, rec.last_error = "done", utcnow(), None
    if remote_id is not None:
        rec.remote_id = remote_id


def _errors(payload: dict) -> list[dict]:
    return list((payload or {}).get("userErrors") or [])


def _check(payload: dict, what: str) -> None:
    errors = _errors(payload)
    if errors:
        raise PushError(f"{what}: " + "; ".join(e.get("message", "?") for e in errors))


# ---------------------------------------------------------------------- signals
def push_customer_signals(session: Session, shop: Shop, client: AdminClient,
                          scored_on: date | None = None) -> dict[str, int]:
    """Write ``restock`` customer metafields from the day's :class:`CustomerScore` rows.

    Args:
        session: A session; committed before and after every call.
        shop: The shop.
        client: Its Admin API client.
        scored_on: The scoring day; defaults to the shop's latest.

    Returns:
        Counts: ``customers`` pushed, ``metafields`` written, ``calls``, ``skipped`` (done
        before), ``failed``.
    """
    counts = dict(customers=0, metafields=0, calls=0, skipped=0, failed=0)
    day = scored_on or session.scalar(select(func.max(CustomerScore.scored_on)).where(
        CustomerScore.shop_id == shop.id))
    if day is None:
        return counts
    rows = session.execute(
        select(CustomerScore, Customer).join(Customer, Customer.id == CustomerScore.customer_id)
        .where(CustomerScore.shop_id == shop.id, CustomerScore.scored_on == day,
               Customer.redacted_at.is_(None)).order_by(Customer.id)).all()
    pending: list[tuple[PushRecord, list[dict]]] = []
    for score, customer in rows:
        fields = _signal_fields(score, _gid("Customer", customer.external_id))
        if not fields:
            continue
        rec = _claim(session, shop.id, "shopify.metafields",
                     f"signals:{customer.external_id}:{day.isoformat()}")
        if rec.status == "done":
            counts["skipped"] += 1
            continue
        pending.append((rec, fields))
    batch: list[tuple[PushRecord, list[dict]]] = []
    for item in pending:
        if batch and sum(len(f) for _, f in batch) + len(item[1]) > MAX_METAFIELDS_PER_CALL:
            _signal_batch(session, client, batch, counts)
            batch = []
        batch.append(item)
    if batch:
        _signal_batch(session, client, batch, counts)
    session.commit()
    return counts


def _signal_fields(score: CustomerScore, owner: str) -> list[dict]:
    out = []
    if score.next_order_date is not None:
        out.append(("next_order_date", "date", score.next_order_date.isoformat()))
    if score.predicted_clv is not None:
        out.append(("predicted_clv", "number_decimal", f"{score.predicted_clv:.2f}"))
    if score.segment:
        out.append(("segment", "single_line_text_field", str(score.segment)))
    return [{"ownerId": owner, "namespace": NAMESPACE, "key": k, "type": t, "value": v}
            for k, t, v in out]


def _signal_batch(session: Session, client: AdminClient,
                  batch: list[tuple[PushRecord, list[dict]]], counts: dict) -> None:
    session.commit()  # every record of the batch is pending before the call
    metafields = [m for _, fields in batch for m in fields]
    owner_of = [i for i, (_, fields) in enumerate(batch) for _m in fields]
    try:
        data = client.execute(q.METAFIELDS_SET, {"metafields": metafields})
    except ShopifyError as exc:
        for rec, _ in batch:
            rec.status, rec.last_error = "failed", str(exc)[:2000]
        counts["failed"] += len(batch)
        session.commit()
        return
    counts["calls"] += 1
    errors = _errors(data.get("metafieldsSet"))
    bad = {owner_of[e["elementIndex"]] for e in errors if e.get("elementIndex") is not None}
    if errors and not bad:
        bad = set(range(len(batch)))  # an error for the whole call: Shopify wrote nothing
    for i, (rec, fields) in enumerate(batch):
        if i in bad:
            rec.status = "failed"
            rec.last_error = "; ".join(e.get("message", "?") for e in errors)[:2000]
            counts["failed"] += 1
        else:
            _done(rec)
            counts["customers"] += 1
            counts["metafields"] += len(fields)
    session.commit()


# ---------------------------------------------------------------------- reminders
def push_reminders(session: Session, shop: Shop, client: AdminClient,
                   flow_handle: str = "restock-reminder-due", draft_orders: bool = False,
                   discount_pct: float | None = None, *, on_remote: Hook | None = None,
                   discount_days: int = 30) -> dict[str, int]:
    """Send every candidate reminder of a shop (see the module docstring).

    Args:
        session: A session; committed around every remote call.
        shop: The shop.
        client: Its Admin API client.
        flow_handle: Handle of the Flow trigger extension.
        draft_orders: Also create a draft order and send its invoice.
        discount_pct: Percent off (0-100] for a customer-specific one-use code.
        on_remote: Called ``(idempotency key, remote id)`` after each successful remote
            call, before it is recorded (tests inject crashes here).
        discount_days: Days after the due date the discount code stays valid.

    Returns:
        Counts: ``sent``, ``suppressed``, ``failed``, ``tags``, ``flow_triggers``,
        ``discounts``, ``draft_orders``, ``invoices``, ``reused``.

    Raises:
        ValueError: ``discount_pct`` outside (0, 100].
    """
    if discount_pct is not None and not 0 < float(discount_pct) <= 100:
        raise ValueError(f"discount_pct must be in (0, 100], got {discount_pct}")
    counts = dict(sent=0, suppressed=0, failed=0, tags=0, flow_triggers=0, discounts=0,
                  draft_orders=0, invoices=0, reused=0)
    ids = session.scalars(select(Reminder.id).where(
        Reminder.shop_id == shop.id, Reminder.status == "candidate").order_by(Reminder.id)).all()
    pusher = _ReminderPush(session, shop, client, flow_handle, draft_orders, discount_pct,
                           on_remote or (lambda key, rid: None), discount_days, counts)
    for rid in ids:
        reminder = session.get(Reminder, rid)
        try:
            pusher.push(reminder)
        except (ShopifyError, PushError) as exc:
            session.rollback()
            counts["failed"] += 1
            for rec in session.scalars(select(PushRecord).where(
                    PushRecord.shop_id == shop.id, PushRecord.status == "pending",
                    PushRecord.idempotency_key.like(f"reminder:{rid}:%"))):
                rec.last_error = str(exc)[:2000]
            session.commit()
    return counts


class _ReminderPush:
    """One push run's settings and the steps of one reminder."""

    def __init__(self, session, shop, client, flow_handle, draft_orders, discount_pct,
                 on_remote, discount_days, counts) -> None:
        self.session, self.shop, self.client = session, shop, client
        self.flow_handle, self.draft_orders = flow_handle, draft_orders
        self.discount_pct, self.on_remote = discount_pct, on_remote
        self.discount_days, self.counts = discount_days, counts

    def _step(self, reminder: Reminder, action: str) -> PushRecord:
        rec = _claim(self.session, self.shop.id, f"shopify.{action}",
                     f"reminder:{reminder.id}:{action}")
        self.session.commit()
        return rec

    def _finish(self, rec: PushRecord, remote_id: str | None = None) -> None:
        self.on_remote(rec.idempotency_key, remote_id)
        _done(rec, remote_id)
        self.session.commit()

    def _suppress(self, reminder: Reminder, reason: str) -> None:
        reminder.status, reminder.reason = "suppressed", reason
        self.counts["suppressed"] += 1
        self.session.commit()

    def push(self, reminder: Reminder) -> None:
        s = self.session
        customer = s.get(Customer, reminder.customer_id)
        s.refresh(customer)  # consent as of now, not as of planning
        if customer.redacted_at is not None:
            return self._suppress(reminder, "redacted")
        if not customer.accepts_marketing:
            return self._suppress(reminder, "no_marketing_consent")
        cgid = _gid("Customer", customer.external_id)
        remote = self.client.execute(q.CUSTOMER_RESTOCK_QUERY, {"id": cgid}).get("customer")
        if remote is None:
            return self._suppress(reminder, "customer_not_found")
        state = (remote.get("defaultEmailAddress") or {}).get("marketingState")
        if state != "SUBSCRIBED":
            return self._suppress(reminder, "no_marketing_consent")
        variant = s.get(Variant, reminder.variant_id)
        product = s.get(Product, variant.product_id) if variant.product_id else None
        substitute = s.get(Variant, reminder.substitute_variant_id) \
            if reminder.substitute_variant_id else None
        self._tag(reminder, cgid)
        code = self._discount(reminder, customer, cgid, substitute or variant) \
            if self.discount_pct else None
        draft = self._draft(reminder, cgid, substitute or variant, code) \
            if self.draft_orders else None
        payload = {"customer_id": int(customer.external_id), "sku": variant.sku,
                   "product_title": product.title if product else variant.title,
                   "due_date": reminder.due_date.isoformat(),
                   "substitute_sku": substitute.sku if substitute else None,
                   "discount_code": code, "draft_order_id": (draft or {}).get("id"),
                   "invoice_url": (draft or {}).get("invoiceUrl"), "reminder_id": reminder.id,
                   "idempotency_key": f"reminder:{reminder.id}:flow"}
        self._flow(reminder, payload)
        reminder.status, reminder.sent_at = "sent", utcnow()
        reminder.reason = reminder.reason if reminder.reason == "substitute" else None
        self.counts["sent"] += 1
        s.commit()

    def _tag(self, reminder: Reminder, cgid: str) -> None:
        rec = self._step(reminder, "tag")
        if rec.status == "done":
            return
        data = self.client.execute(q.TAGS_ADD, {"id": cgid, "tags": [REMINDER_TAG]})
        _check(data.get("tagsAdd"), "tagsAdd")
        self.counts["tags"] += 1
        self._finish(rec, cgid)

    def _discount(self, reminder: Reminder, customer: Customer, cgid: str,
                  variant: Variant) -> str:
        code = discount_code(self.shop.id, reminder, customer)
        rec = self._step(reminder, "discount")
        if rec.status == "done":
            return (rec.payload or {}).get("code", code)
        rec.payload = {"code": code}
        found = self.client.execute(q.DISCOUNT_BY_CODE, {"code": code})
        node = found.get("codeDiscountNodeByCode")
        if node is None:
            start = utcnow()
            ends = reminder.due_date + timedelta(days=self.discount_days)
            data = self.client.execute(q.DISCOUNT_CODE_BASIC_CREATE, {"discount": {
                "title": f"restock reminder {reminder.id}", "code": code,
                "startsAt": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "endsAt": f"{ends.isoformat()}T23:59:59Z", "usageLimit": 1,
                "appliesOncePerCustomer": True,
                "context": {"customers": {"add": [cgid]}},
                "customerGets": {"value": {"percentage": round(self.discount_pct / 100, 4)},
                                 "items": {"products": {"productVariantsToAdd": [
                                     _gid("ProductVariant", variant.external_id)]}}}}})
            result = data.get("discountCodeBasicCreate") or {}
            node = result.get("codeDiscountNode")
            if node is None and any(e.get("code") == "TAKEN" for e in _errors(result)):
                node = self.client.execute(q.DISCOUNT_BY_CODE, {"code": code}).get(
                    "codeDiscountNodeByCode")
            if node is None:
                _check(result, "discountCodeBasicCreate")
                raise PushError(f"discountCodeBasicCreate: no discount for {code}")
            self.counts["discounts"] += 1
        else:
            self.counts["reused"] += 1
        self._finish(rec, node["id"])
        return code

    def _find_draft(self, reminder: Reminder) -> dict | None:
        data = self.client.execute(q.DRAFT_ORDER_BY_TAG,
                                   {"query": f"tag:'{draft_tag(reminder)}'"})
        nodes = (data.get("draftOrders") or {}).get("nodes") or []
        return nodes[0] if nodes else None

    def _draft(self, reminder: Reminder, cgid: str, variant: Variant,
               code: str | None) -> dict:
        rec = self._step(reminder, "draft")
        draft = None
        if rec.status == "done" or rec.attempts > 1:
            draft = self._find_draft(reminder)
        if rec.status != "done":
            if draft is None:
                line_items = [{"variantId": _gid("ProductVariant", variant.external_id),
                               "quantity": 1}]
                data = self.client.execute(q.DRAFT_ORDER_CREATE, {"input": {
                    "purchasingEntity": {"customerId": cgid}, "lineItems": line_items,
                    "tags": ["restock-reminder", draft_tag(reminder)],
                    "note": f"restock {rec.idempotency_key}",
                    **({"discountCodes": [code]} if code else {})}})
                result = data.get("draftOrderCreate") or {}
                _check(result, "draftOrderCreate")
                draft = result["draftOrder"]
                self.counts["draft_orders"] += 1
            else:
                self.counts["reused"] += 1
            self._finish(rec, draft["id"])
        draft = draft or {"id": rec.remote_id}
        self._invoice(reminder, draft)
        return draft

    def _invoice(self, reminder: Reminder, draft: dict) -> None:
        rec = self._step(reminder, "invoice")
        if rec.status == "done":
            return
        if rec.attempts > 1:  # a previous attempt may have sent it
            found = self._find_draft(reminder)
            if found and found.get("invoiceSentAt"):
                self.counts["reused"] += 1
                self._finish(rec, found["id"])
                return
        data = self.client.execute(q.DRAFT_ORDER_INVOICE_SEND, {"id": draft["id"]})
        _check(data.get("draftOrderInvoiceSend"), "draftOrderInvoiceSend")
        self.counts["invoices"] += 1
        self._finish(rec, draft["id"])

    def _flow(self, reminder: Reminder, payload: dict) -> None:
        rec = self._step(reminder, "flow")
        if rec.status == "done":
            return
        rec.payload = payload
        data = self.client.execute(q.FLOW_TRIGGER_RECEIVE,
                                   {"handle": self.flow_handle, "payload": payload})
        _check(data.get("flowTriggerReceive"), "flowTriggerReceive")
        self.counts["flow_triggers"] += 1
        self._finish(rec)
