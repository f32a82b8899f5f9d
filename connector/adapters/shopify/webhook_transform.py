"""Shopify webhook payloads (REST-shaped, API 2026-07) -> rows of :mod:`core.records` entities.

Pure functions: no database, no pandas. :func:`transform` turns one topic's payload into a
:class:`WebhookChange` holding, per entity, row dicts that carry **only the columns the
payload actually knows**; the inbox drain (:mod:`connector.jobs.inbox`) fills the other
columns from what is already stored, so a webhook never blanks a value it does not carry
(for example a variant's unit cost, which ``products/update`` does not send).

External ids match the GraphQL sync: the numeric tail of the object's GID as a string
(``gid://shopify/Order/450789469`` -> ``"450789469"``). The GID in ``admin_graphql_api_id``
is preferred over the numeric ``id`` because JavaScript-generated payloads (such as
Shopify's published examples) round 64-bit ids; references that only exist as numbers
(``order_id``, ``location_id``, ``inventory_item_id``, ``line_item_id``) use the number.

``inventory_items/update`` carries the item's ``cost`` and ``tracked`` flag (either may be
null; a null never overwrites what is stored). ``inventory_levels/update`` carries only
``available``: Shopify sends no on hand, committed or reserved in it, so the drain derives
them from the last stored level (see :mod:`connector.jobs.inbox`).

Refunds are kept as a ledger ``{refund id: {line external id: quantity}}`` rather than a
running total, so seeing the same refund in ``refunds/create`` and again in an
``orders/updated`` payload's ``refunds`` array never counts it twice.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

__all__ = ["TransformError", "WebhookChange", "DATA_TOPICS", "transform", "external_id",
           "parse_time", "order_refunds"]

#: Topics whose payload becomes records (compliance topics are handled elsewhere).
DATA_TOPICS = ("orders/create", "orders/updated", "orders/cancelled", "refunds/create",
               "inventory_levels/update", "inventory_items/update", "products/update",
               "customers/create", "customers/update")

_FRACTION = re.compile(r"(\.\d{6})\d+")


class TransformError(ValueError):
    """A payload lacks what restock needs (the message names the field)."""


@dataclass
class WebhookChange:
    """What one webhook payload says, in record terms.

    Attributes:
        topic: The webhook topic.
        kind: Object kind for stale detection (``order``, ``product``, ``customer``,
            ``inventory_level``, ``inventory_item``) or ``None`` (refunds: additive).
        object_id: External id of the object ``kind`` names.
        updated_at: The payload's ``updated_at`` (UTC), when it has one.
        rows: Entity name -> row dicts (only known columns present).
        refunds: Refund ledger entries ``{refund id: {line external id: quantity}}``.
        order_id: The order's external id (orders and refunds).
        inventory: For ``inventory_levels/update``: ``inventory_item_id``,
            ``location_external_id``, ``available``. The drain maps the inventory item to
            a SKU through ``Variant.inventory_item_id``.
        skip_reason: Set when the payload is deliberately not loaded.
    """

    topic: str
    kind: str | None = None
    object_id: str | None = None
    updated_at: datetime | None = None
    rows: dict[str, list[dict]] = field(default_factory=dict)
    refunds: dict[str, dict[str, int]] = field(default_factory=dict)
    order_id: str | None = None
    inventory: dict | None = None
    skip_reason: str | None = None


def parse_time(value) -> datetime | None:
    """An ISO 8601 timestamp as an aware UTC datetime, or ``None`` when absent or unreadable.

    Accepts ``Z`` and offsets; fractions beyond microseconds (Shopify's
    ``X-Shopify-Triggered-At`` has nanoseconds) are truncated. Naive values are taken as UTC.
    """
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        return None
    text = _FRACTION.sub(r"\1", value.strip())
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _number_id(value) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if value >= 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        return value.strip()
    return None


def external_id(obj, key: str = "id") -> str | None:
    """The external id of a payload object: its GID's numeric tail, else ``obj[key]``."""
    if not isinstance(obj, dict):
        return None
    gid = obj.get("admin_graphql_api_id")
    if isinstance(gid, str) and gid.startswith("gid://"):
        tail = gid.rsplit("/", 1)[-1].split("?", 1)[0]
        if tail.isdigit():
            return tail
    return _number_id(obj.get(key))


def _float(value) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _int(value, default: int = 0) -> int:
    if isinstance(value, bool):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _text(value) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _customer_row(obj: dict) -> dict | None:
    """Customer row with only the fields the payload carries."""
    cid = external_id(obj)
    if cid is None:
        return None
    row: dict = {"external_id": cid}
    for col in ("email", "first_name", "last_name", "phone"):
        if col in obj:
            row[col] = _text(obj.get(col))
    if "created_at" in obj and parse_time(obj.get("created_at")):
        row["created_at"] = parse_time(obj.get("created_at"))
    consent = obj.get("email_marketing_consent")
    if isinstance(consent, dict) and "state" in consent:
        row["accepts_marketing"] = str(consent.get("state") or "").lower() == "subscribed"
    elif isinstance(obj.get("accepts_marketing"), bool):  # older API versions
        row["accepts_marketing"] = obj["accepts_marketing"]
    return row


def _line_discount(item: dict) -> float:
    allocations = item.get("discount_allocations")
    if isinstance(allocations, list) and allocations:
        return sum(_float(a.get("amount")) or 0.0 for a in allocations if isinstance(a, dict))
    return _float(item.get("total_discount")) or 0.0


def _line_row(item: dict, order_id: str) -> dict | None:
    sku = _text(item.get("sku"))
    line_id = external_id(item)
    if sku is None or line_id is None:
        return None  # lines without a SKU are not stock (gift cards, custom items)
    return {"external_id": line_id, "order_external_id": order_id, "sku": sku,
            "quantity": max(_int(item.get("quantity")), 0), "price": _float(item.get("price")),
            "discount": _line_discount(item)}


def _refund_entry(refund: dict) -> tuple[str | None, dict[str, int]]:
    lines: dict[str, int] = {}
    for rli in refund.get("refund_line_items") or []:
        if not isinstance(rli, dict):
            continue
        line_id = external_id(rli.get("line_item")) or _number_id(rli.get("line_item_id"))
        if line_id is not None:
            lines[line_id] = lines.get(line_id, 0) + max(_int(rli.get("quantity")), 0)
    return external_id(refund), lines


def order_refunds(payload: dict) -> dict[str, dict[str, int]]:
    """The refund ledger entries of an order payload's ``refunds`` array."""
    out: dict[str, dict[str, int]] = {}
    for refund in payload.get("refunds") or []:
        if isinstance(refund, dict):
            rid, lines = _refund_entry(refund)
            if rid is not None:
                out[rid] = lines
    return out


def _order(topic: str, p: dict) -> WebhookChange:
    oid = external_id(p)
    if oid is None:
        raise TransformError("order payload has no id")
    change = WebhookChange(topic, "order", oid, parse_time(p.get("updated_at")), order_id=oid)
    if p.get("test") is True:
        change.skip_reason = "test order (not demand)"
        return change
    created = parse_time(p.get("created_at")) or parse_time(p.get("processed_at"))
    if created is None:
        raise TransformError("order payload has no created_at")
    codes = [c.get("code") for c in p.get("discount_codes") or []
             if isinstance(c, dict) and isinstance(c.get("code"), str)]
    order = {"external_id": oid, "name": _text(p.get("name")), "created_at": created,
             "processed_at": parse_time(p.get("processed_at")),
             "cancelled_at": parse_time(p.get("cancelled_at")),
             "source": _text(p.get("source_name")),
             "location_external_id": _number_id(p.get("location_id")),
             "customer_external_id": None, "currency": _text(p.get("currency")),
             "subtotal": _float(p.get("subtotal_price")), "total": _float(p.get("total_price")),
             "discount_codes": ", ".join(codes) or None, "tags": _text(p.get("tags"))}
    customer = _customer_row(p["customer"]) if isinstance(p.get("customer"), dict) else None
    if customer is not None:
        order["customer_external_id"] = customer["external_id"]
        change.rows["customers"] = [customer]
    change.rows["orders"] = [order]
    lines = [_line_row(li, oid) for li in p.get("line_items") or [] if isinstance(li, dict)]
    change.rows["order_lines"] = [r for r in lines if r is not None]
    change.refunds = order_refunds(p)
    return change


def _refund(topic: str, p: dict) -> WebhookChange:
    order_id = _number_id(p.get("order_id"))
    rid, lines = _refund_entry(p)
    if order_id is None or rid is None:
        raise TransformError("refund payload needs id and order_id")
    change = WebhookChange(topic, None, rid, order_id=order_id, refunds={rid: lines})
    rows = [_line_row(rli["line_item"], order_id) for rli in p.get("refund_line_items") or []
            if isinstance(rli, dict) and isinstance(rli.get("line_item"), dict)]
    change.rows["order_lines"] = [r for r in rows if r is not None]
    return change


def _product(topic: str, p: dict) -> WebhookChange:
    pid = external_id(p)
    if pid is None:
        raise TransformError("product payload has no id")
    change = WebhookChange(topic, "product", pid, parse_time(p.get("updated_at")))
    product = {"external_id": pid, "handle": _text(p.get("handle")),
               "title": _text(p.get("title")) or _text(p.get("handle")) or pid,
               "vendor": _text(p.get("vendor")), "status": _text(p.get("status"))}
    if parse_time(p.get("created_at")):
        product["created_at"] = parse_time(p.get("created_at"))
    change.rows["products"] = [product]
    variants = []
    for v in p.get("variants") or []:
        if not isinstance(v, dict):
            continue
        vid, sku = external_id(v), _text(v.get("sku"))
        if vid is None or sku is None:
            continue
        row = {"external_id": vid, "product_external_id": pid, "sku": sku,
               "barcode": _text(v.get("barcode")), "title": _text(v.get("title")),
               "price": _float(v.get("price")),
               "inventory_item_id": _number_id(v.get("inventory_item_id"))}
        if parse_time(v.get("created_at")):
            row["created_at"] = parse_time(v.get("created_at"))
        variants.append(row)
    if variants:
        keys = set().union(*variants)  # one frame: rows share their columns
        variants = [{k: r.get(k) for k in keys} for r in variants]
    change.rows["variants"] = variants
    return change


def _customer(topic: str, p: dict) -> WebhookChange:
    row = _customer_row(p)
    if row is None:
        raise TransformError("customer payload has no id")
    change = WebhookChange(topic, "customer", row["external_id"], parse_time(p.get("updated_at")))
    change.rows["customers"] = [row]
    return change


def _inventory_level(topic: str, p: dict) -> WebhookChange:
    item, loc = _number_id(p.get("inventory_item_id")), _number_id(p.get("location_id"))
    if item is None or loc is None:
        raise TransformError("inventory level payload needs inventory_item_id and location_id")
    available = p.get("available")
    change = WebhookChange(topic, "inventory_level", f"{item}:{loc}",
                           parse_time(p.get("updated_at")))
    change.inventory = {"inventory_item_id": item, "location_external_id": loc,
                        "available": None if available is None else _int(available)}
    return change


def _inventory_item(topic: str, p: dict) -> WebhookChange:
    item = external_id(p)
    if item is None:
        raise TransformError("inventory item payload has no id")
    change = WebhookChange(topic, "inventory_item", item, parse_time(p.get("updated_at")))
    cost = _float(p.get("cost"))
    tracked = p.get("tracked") if isinstance(p.get("tracked"), bool) else None
    if cost is None and tracked is None:
        change.skip_reason = "inventory item without cost or tracked: nothing to store"
    else:  # the drain finds the variant by inventory item id (else by SKU)
        change.rows["variants"] = [{"inventory_item_id": item, "sku": _text(p.get("sku")),
                                    "unit_cost": cost, "tracked": tracked}]
    return change


_HANDLERS = {"orders/create": _order, "orders/updated": _order, "orders/cancelled": _order,
             "refunds/create": _refund, "products/update": _product,
             "customers/create": _customer, "customers/update": _customer,
             "inventory_levels/update": _inventory_level,
             "inventory_items/update": _inventory_item}


def transform(topic: str, payload) -> WebhookChange:
    """Turn one data topic's payload into a :class:`WebhookChange`.

    Raises:
        TransformError: unknown topic, a payload that is not an object, or a missing id.
    """
    handler = _HANDLERS.get(topic)
    if handler is None:
        raise TransformError(f"no transform for topic {topic!r}")
    if not isinstance(payload, dict):
        raise TransformError(f"{topic} payload is not a JSON object")
    return handler(topic, payload)
