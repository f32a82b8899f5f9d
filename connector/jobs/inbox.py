"""Drain the webhook inbox: turn pending Shopify events into stored records.

:func:`drain_inbox` takes ``pending`` (and retryable ``failed``) events oldest first (by
``X-Shopify-Triggered-At``, else arrival), and handles each in its own transaction: the
event is claimed with a conditional ``UPDATE`` (two drains never apply one event twice),
its payload is turned into :class:`core.records.ShopRecords` by
:mod:`connector.adapters.shopify.webhook_transform` and loaded with
:func:`core.ingest.load_records`, and it ends ``done``, ``skipped`` (with the reason in
``error``), ``failed`` (retried on the next drain) or, after ``max_attempts``, ``dead``.
Compliance topics go to :mod:`connector.jobs.compliance`. Afterwards ``recalc(shop_id,
skus)`` is called once per shop with the SKUs the batch touched.

Stale deliveries. Shopify does not deliver in order, so every object (order, product,
customer, inventory level, inventory item) has a version: the payload's ``updated_at``,
then ``X-Shopify-Triggered-At`` as tie-break (or alone when the payload has no
``updated_at``). The version last applied is kept per object in ``sync_state`` under the
stream ``wh:<kind>:<id>`` (cursor = JSON), written in the same transaction as the records;
an event whose version is older than the applied one is ``skipped`` as stale. The order's
state also holds its refund ledger (refund id -> line -> quantity): refunds are additive
and immutable, so the ledger is a union, and a line's ``refunded_quantity`` is the ledger's
sum for that line, whatever order ``refunds/create`` and ``orders/*`` arrive in. When the
first thing seen of an order is a refund, what is already stored (from the GraphQL sync) is
kept as a ``stored`` entry until a full order payload brings the complete refund list.

Inventory levels (``inventory_levels/update``, only ``available``) are completed from the
last stored level by :func:`.inbox_levels.inventory_row`; ``inventory_items/update`` sets
the variant's unit cost and ``tracked`` flag.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import pandas as pd
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from connector.adapters.shopify.webhook_transform import (TransformError, WebhookChange,
                                                          transform)
from core.ingest import load_records
from core.records import ShopRecords
from core.storage import (Customer, Location, Order, OrderLine, Product, Shop, SyncState,
                          Variant, WebhookEvent, session_scope)

from .compliance import COMPLIANCE_TOPICS, handle_compliance, normalize_domain, redacted_copy
from .inbox_levels import inventory_row

__all__ = ["drain_inbox", "DrainResult", "pending_count", "RETRYABLE", "DEFAULT_EXPORT_DIR"]

log = logging.getLogger(__name__)

#: Statuses the drain picks up.
RETRYABLE = ("pending", "failed")
DEFAULT_EXPORT_DIR = Path("var/exports")
_KIND = {"order": "ord", "product": "prd", "customer": "cus", "inventory_level": "lvl",
         "inventory_item": "itm"}
_ATTEMPT = re.compile(r"^attempt (\d+)/")
_EPOCH = "0000"


@dataclass
class DrainResult:
    """What one drain did: event counts by final status and touched SKUs per shop id."""

    done: int = 0
    skipped: int = 0
    failed: int = 0
    dead: int = 0
    touched: dict[int, set[str]] = field(default_factory=dict)
    recalc_errors: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counts alone, for job-run records and logs."""
        return {"done": self.done, "skipped": self.skipped, "failed": self.failed,
                "dead": self.dead, "recalc_errors": self.recalc_errors}


def drain_inbox(session_factory: sessionmaker[Session], limit: int = 500,
                recalc: Callable[[int, set[str]], object] | None = None, *,
                max_attempts: int = 5, export_dir: str | Path = DEFAULT_EXPORT_DIR
                ) -> DrainResult:
    """Process up to ``limit`` pending Shopify events, oldest first.

    Args:
        session_factory: SQLAlchemy sessionmaker (``app.extensions["restock"].sessions``).
        limit: Most events handled in this call.
        recalc: Called as ``recalc(shop_id, skus)`` once per shop whose SKUs changed; its
            errors are logged, never raised (the events are already committed).
        max_attempts: A failing event becomes ``dead`` on this attempt.
        export_dir: Folder of ``customers/data_request`` exports (``<shop>/<id>.json``).

    Returns:
        The :class:`DrainResult`.
    """
    result = DrainResult()
    with session_scope(session_factory) as session:
        ids = list(session.scalars(
            select(WebhookEvent.id)
            .where(WebhookEvent.source == "shopify", WebhookEvent.status.in_(RETRYABLE))
            .order_by(func.coalesce(WebhookEvent.triggered_at, WebhookEvent.received_at),
                      WebhookEvent.id)
            .limit(limit)))
    for event_id in ids:
        _process(session_factory, event_id, result, max_attempts, Path(export_dir))
    for shop_id, skus in sorted(result.touched.items()):
        if recalc is not None and skus:
            try:
                recalc(shop_id, set(skus))
            except Exception:  # the hook must not undo committed events
                result.recalc_errors += 1
                log.exception("inbox: recalculation of shop %s failed", shop_id)
    return result


def _process(factory, event_id: int, result: DrainResult, max_attempts: int,
             export_dir: Path) -> None:
    try:
        with session_scope(factory) as session:
            claimed = session.execute(
                update(WebhookEvent)
                .where(WebhookEvent.id == event_id, WebhookEvent.status.in_(RETRYABLE))
                .values(status="processing")).rowcount
            if not claimed:
                return  # another drain took it
            event = session.get(WebhookEvent, event_id)
            findings = _schema_findings(event)
            status, note, shop_id, skus = _handle(session, event, export_dir)
            if event.topic == "shop/redact" and status == "done":
                result.touched.pop(shop_id, None)
            if findings:
                schema = "schema: " + "; ".join(findings)
                note = f"{note}; {schema}" if note else schema
            event.status, event.error = status, note
            event.processed_at = datetime.now(timezone.utc)
    except Exception as exc:
        _fail(factory, event_id, exc, result, max_attempts)
        return
    setattr(result, status, getattr(result, status) + 1)
    if skus and shop_id is not None:
        result.touched.setdefault(shop_id, set()).update(skus)


def _schema_findings(event: WebhookEvent) -> list[str]:
    """The topic's JSON Schema findings (recorded, never blocking: see webhooks.shopify)."""
    from webhooks.shopify import schema_errors

    try:
        return schema_errors(event.topic, json.loads(event.payload))
    except (ValueError, RecursionError):
        return ["(root): not checkable"]


def _fail(factory, event_id: int, exc: Exception, result: DrainResult,
          max_attempts: int) -> None:
    log.warning("inbox: event %s failed: %s: %s", event_id, type(exc).__name__, exc)
    with session_scope(factory) as session:
        previous = session.scalar(select(WebhookEvent.error).where(WebhookEvent.id == event_id))
        match = _ATTEMPT.match(previous or "")
        attempt = (int(match.group(1)) if match else 0) + 1
        status = "dead" if attempt >= max_attempts else "failed"
        session.execute(
            update(WebhookEvent)
            .where(WebhookEvent.id == event_id, WebhookEvent.status.in_(RETRYABLE))
            .values(status=status, processed_at=datetime.now(timezone.utc),
                    error=f"attempt {attempt}/{max_attempts}: {type(exc).__name__}: "
                          f"{str(exc)[:1500]}"))
    setattr(result, status, getattr(result, status) + 1)


def _shop_for(session: Session, domain: str | None) -> Shop | None:
    if not domain:
        return None
    shops = session.scalars(select(Shop).where(Shop.domain.is_not(None)))
    return next((s for s in shops if normalize_domain(s.domain) == domain), None)


def _handle(session: Session, event: WebhookEvent, export_dir: Path):
    """One claimed event -> (status, note, shop id, touched SKUs)."""
    payload = json.loads(event.payload)
    domain = normalize_domain(event.shop_domain or (
        payload.get("shop_domain") if isinstance(payload, dict) else None))
    shop = _shop_for(session, domain)
    if event.topic in COMPLIANCE_TOPICS:
        status, note = handle_compliance(session, event, payload, shop, domain, export_dir)
        return status, note, shop.id if shop else None, set()
    if shop is None:
        return "skipped", f"no shop with domain {domain!r}", None, set()
    event.shop_id = shop.id
    if (shop.settings or {}).get("uninstalled"):
        return "skipped", "shop uninstalled", shop.id, set()
    if event.topic == "bulk_operations/finish":
        return "done", "bulk operations are collected by the sync job", shop.id, set()
    try:
        change = transform(event.topic, payload)
    except TransformError as exc:
        return "skipped", str(exc), shop.id, set()
    _forget_redacted(session, shop.id, event, payload, change)
    if change.skip_reason:
        return "skipped", change.skip_reason, shop.id, set()
    state_row, state = _state(session, shop.id, change)
    version = _version(change, event.triggered_at)
    if change.kind and state.get("v") and version < tuple(state["v"]):
        return "skipped", f"stale: version {version} older than applied {state['v']}", \
            shop.id, set()
    status, records, skus, note = _records(session, shop, change, state, event.triggered_at)
    if status == "skipped":
        return status, note, shop.id, set()
    if records is not None:
        load_records(session, shop.id, records)
    if change.kind:
        state["v"] = list(version)
    if state_row is not None or state:
        _save_state(session, shop.id, change, state_row, state)
    return status, note, shop.id, skus


def _forget_redacted(session: Session, shop_id: int, event: WebhookEvent, payload,
                     change: WebhookChange) -> None:
    """A payload about a customer who was redacted keeps no personal data in the inbox."""
    people = change.rows.get("customers") or []
    if people and session.scalar(select(func.count()).select_from(Customer).where(
            Customer.shop_id == shop_id, Customer.redacted_at.is_not(None),
            Customer.external_id.in_([p["external_id"] for p in people]))):
        event.payload = redacted_copy(payload, people)


def _version(change: WebhookChange, triggered: datetime | None) -> tuple[str, str]:
    trig = _iso(triggered) or _EPOCH
    return (_iso(change.updated_at) or trig, trig)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _stream(change: WebhookChange) -> str | None:
    if change.order_id is not None:
        return f"wh:ord:{change.order_id}"[:64]
    if change.kind is None or change.object_id is None:
        return None
    return f"wh:{_KIND[change.kind]}:{change.object_id}"[:64]


def _state(session: Session, shop_id: int, change: WebhookChange):
    stream = _stream(change)
    if stream is None:
        return None, {}
    row = session.scalar(select(SyncState).where(SyncState.shop_id == shop_id,
                                                 SyncState.stream == stream))
    return row, (json.loads(row.cursor) if row is not None and row.cursor else {})


def _save_state(session: Session, shop_id: int, change: WebhookChange, row, state) -> None:
    if row is None:
        row = SyncState(shop_id=shop_id, stream=_stream(change))
        session.add(row)
    row.cursor = json.dumps(state, sort_keys=True)
    row.updated_at = datetime.now(timezone.utc)


def _records(session: Session, shop: Shop, change: WebhookChange, state: dict,
             triggered: datetime | None):
    """(status, records or None, touched SKUs, note) for one data change."""
    rows = {k: [dict(r) for r in v] for k, v in change.rows.items() if v}
    if change.order_id is not None:
        _merge_refunds(session, shop.id, change, state)
    if "order_lines" in rows:
        refunded: dict[str, int] = {}
        for entry in state.get("refunds", {}).values():
            for line, qty in entry.items():
                refunded[line] = refunded.get(line, 0) + int(qty)
        for line, qty in (state.get("stored") or {}).items():
            refunded[line] = refunded.get(line, 0) + int(qty)
        for r in rows["order_lines"]:
            r["refunded_quantity"] = min(refunded.get(r["external_id"], 0), r["quantity"])
        if "orders" not in rows and not _exists(session, Order, shop.id, change.order_id):
            return "done", None, set(), "order not stored yet: refund kept for its arrival"
    if "customers" in rows:
        _customers(session, shop.id, rows["customers"])
    if "variants" in rows:
        rows["variants"] = _variants(session, shop.id, rows["variants"], change)
        if not rows["variants"]:
            return "skipped", None, set(), "no stored variant for this inventory item"
    if change.inventory is not None:
        inv = inventory_row(session, shop, change, triggered)
        if inv is None:
            return "skipped", None, set(), (
                f"unknown inventory item {change.inventory['inventory_item_id']} "
                "(no variant has this inventory_item_id yet)")
        rows["inventory"] = [inv]
    wanted = {r.get("location_external_id") for k in ("orders", "inventory")
              for r in rows.get(k, [])} - {None}
    if wanted:
        known = set(session.scalars(select(Location.external_id).where(
            Location.shop_id == shop.id, Location.external_id.in_(wanted))))
        rows["locations"] = [{"external_id": x, "name": f"Shopify location {x}"}
                             for x in sorted(wanted - known)]
    records = ShopRecords(**{k: pd.DataFrame(v) for k, v in rows.items() if v})
    skus = {r["sku"] for k in ("order_lines", "variants", "inventory")
            for r in rows.get(k, []) if r.get("sku")}
    return "done", records, skus, None


def _exists(session: Session, model, shop_id: int, external: str | None) -> bool:
    return external is not None and session.scalar(select(model.id).where(
        model.shop_id == shop_id, model.external_id == external)) is not None


def _merge_refunds(session: Session, shop_id: int, change: WebhookChange, state: dict) -> None:
    ledger = state.setdefault("refunds", {})
    if not ledger and "stored" not in state and "orders" not in change.rows:
        stored = dict(session.execute(
            select(OrderLine.external_id, OrderLine.refunded_quantity)
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.shop_id == shop_id, Order.external_id == change.order_id,
                   OrderLine.refunded_quantity > 0)).all())
        if stored:
            state["stored"] = stored
    if "orders" in change.rows:
        state.pop("stored", None)  # a full order payload lists every refund so far
    ledger.update(change.refunds)


def _customers(session: Session, shop_id: int, rows: list[dict]) -> None:
    """Redacted customers get no personal data back; unknown consent keeps the stored one."""
    stored = {c.external_id: c for c in session.scalars(select(Customer).where(
        Customer.shop_id == shop_id, Customer.external_id.in_([r["external_id"] for r in rows])))}
    for r in rows:
        c = stored.get(r["external_id"])
        if c is not None and c.redacted_at is not None:
            for col in ("email", "first_name", "last_name", "phone"):
                r[col] = None
        if "accepts_marketing" not in r:
            r["accepts_marketing"] = bool(c.accepts_marketing) if c is not None else False


def _variants(session: Session, shop_id: int, rows: list[dict], change: WebhookChange):
    """Complete variant rows from storage (status, and identity for inventory items)."""
    if change.kind == "inventory_item":
        row = rows[0]
        item = row["inventory_item_id"]
        var = session.scalar(select(Variant).where(
            Variant.shop_id == shop_id,
            Variant.inventory_item_id.in_([item, f"gid://shopify/InventoryItem/{item}"])))
        if var is None and row.get("sku"):
            var = session.scalar(select(Variant).where(Variant.shop_id == shop_id,
                                                       Variant.sku == row["sku"]))
        if var is None or var.product_id is None:
            return []
        product = session.get(Product, var.product_id)
        return [{"external_id": var.external_id, "product_external_id": product.external_id,
                 "sku": var.sku, "unit_cost": row.get("unit_cost"), "status": var.status,
                 "tracked": row.get("tracked"),
                 "inventory_item_id": var.inventory_item_id or item}]
    product_status = (change.rows.get("products") or [{}])[0].get("status")
    stored = dict(session.execute(select(Variant.external_id, Variant.status).where(
        Variant.shop_id == shop_id,
        Variant.external_id.in_([r["external_id"] for r in rows]))).all())
    for r in rows:
        r["status"] = product_status or stored.get(r["external_id"]) or "active"
    return rows


def pending_count(session: Session) -> int:
    """Events waiting for the drain (for health pages)."""
    return session.scalar(select(func.count()).select_from(WebhookEvent).where(
        WebhookEvent.source == "shopify", or_(*[WebhookEvent.status == s for s in RETRYABLE])))
