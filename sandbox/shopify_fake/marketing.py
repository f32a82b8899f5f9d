"""Marketing resolvers of the fake: Flow triggers, draft orders with invoices, code discounts.

Mutations (recorded in the store, answered through the real schema):

* ``flowTriggerReceive(handle, payload)`` appends ``{handle, payload, received_at}`` to
  ``store.flow_triggers``; a missing handle, a non-object payload or one over 50 kB is a
  userError (the deprecated ``body`` argument is refused by validation already).
* ``draftOrderCreate(input)`` stores a draft order (line items by ``variantId``, the
  customer from ``purchasingEntity.customerId``, ``appliedDiscount``, ``discountCodes``,
  ``tags``, ``note``) in ``store.draft_orders``; an unknown variant or customer or no line
  item is a userError.
* ``draftOrderInvoiceSend(id)`` marks the draft INVOICE_SENT, stamps ``invoiceSentAt`` and
  appends to ``store.invoices``; a draft without a customer email is a userError.
* ``discountCodeBasicCreate(basicCodeDiscount)`` stores the code, its buyers (``context``)
  and value in ``store.discounts``; a code already used (case-insensitive) is a ``TAKEN``
  userError as on Shopify ("Code must be unique. Please try a different code.").

Queries: ``draftOrders(query:)`` (search fields ``tag``, ``status``, ``customer_id``, ``id``,
``created_at``, ``updated_at``), ``draftOrder(id)`` and ``codeDiscountNodeByCode(code)``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .nodes import (FakeContext, child_connection, customer_node, gid, iso, money_bag, parse_gid,
                    variant_node)
from .resources import Resource, resolve_connection

__all__ = ["MarketingRoot", "FakeDraftOrder", "draft_order_node", "DRAFT_ORDERS"]

_MAX_PAYLOAD_BYTES = 50_000


@dataclass
class FakeDraftOrder:
    """A stored draft order; ``lines`` are dicts ``{id, variant_id, sku, title, quantity}``."""

    id: int
    name: str
    customer_id: int | None
    lines: list[dict]
    applied_discount: dict | None
    discount_codes: list[str]
    tags: list[str]
    note: str | None
    created_at: datetime
    updated_at: datetime
    status: str = "OPEN"
    invoice_sent_at: datetime | None = None
    extra: dict = field(default_factory=dict)


def _line_node(ctx: FakeContext, line: dict) -> dict:
    variant = ctx.store.variants.get(line["variant_id"])
    return {"__typename": "DraftOrderLineItem", "id": gid("DraftOrderLineItem", line["id"]),
            "sku": line["sku"], "title": line["title"], "name": line["title"],
            "quantity": line["quantity"], "custom": variant is None,
            "variant": (lambda info: variant_node(ctx, variant)) if variant else None}


def draft_order_node(ctx: FakeContext, d: FakeDraftOrder) -> dict:
    """GraphQL ``DraftOrder`` of a stored draft order."""
    s = ctx.store
    discount = None
    if d.applied_discount:
        a = d.applied_discount
        discount = {"__typename": "DraftOrderAppliedDiscount", "title": a.get("title"),
                    "description": a.get("description") or "", "value": float(a["value"]),
                    "valueType": a["valueType"], "amountSet": money_bag(0.0)}
    return {
        "__typename": "DraftOrder", "id": gid("DraftOrder", d.id),
        "legacyResourceId": str(d.id), "name": d.name, "status": d.status,
        "tags": list(d.tags), "note2": d.note, "discountCodes": list(d.discount_codes),
        "appliedDiscount": discount, "createdAt": iso(d.created_at),
        "updatedAt": iso(d.updated_at), "invoiceSentAt": iso(d.invoice_sent_at),
        "invoiceUrl": f"{ctx.base_url.rstrip('/')}/invoices/{d.id}",
        "customer": (lambda info: customer_node(ctx, s.customers[d.customer_id]))
        if d.customer_id in s.customers else None,
        "lineItems": child_connection(ctx, d.lines, lambda li: _line_node(ctx, li),
                                      lambda li: li["id"]),
    }


DRAFT_ORDERS = Resource(
    "draftOrders", lambda c: list(c.store.draft_orders.values()),
    lambda c, i: c.store.draft_orders.get(i), draft_order_node,
    {"id": ("id", lambda d: d.id), "created_at": ("time", lambda d: d.created_at),
     "updated_at": ("time", lambda d: d.updated_at), "tag": ("tags", lambda d: d.tags),
     "status": ("text", lambda d: d.status), "customer_id": ("id", lambda d: d.customer_id)},
    cached=False)
"""The ``draftOrders`` connection (not cached: drafts change between requests)."""


def _error(path: list[str], message: str, code: str | None = None) -> dict:
    out: dict[str, Any] = {"field": path, "message": message}
    if code is not None:
        out["code"] = code
    return out


class MarketingRoot:
    """Query and mutation resolvers for Flow, draft orders and code discounts."""

    # ------------------------------------------------------------------ queries
    def draftOrders(self, info, **args):
        return resolve_connection(info.context, DRAFT_ORDERS, **args)

    def draftOrder(self, info, id):
        ctx = info.context
        d = ctx.store.draft_orders.get(parse_gid(id, "DraftOrder"))
        return draft_order_node(ctx, d) if d else None

    def codeDiscountNodeByCode(self, info, code):
        for d in info.context.store.discounts.values():
            if d["code"].lower() == str(code).lower():
                return _discount_node(d)
        return None

    # ------------------------------------------------------------------ mutations
    def flowTriggerReceive(self, info, handle=None, payload=None, **_):
        store = info.context.store
        if not handle:
            return {"userErrors": [_error(["handle"], "Handle can't be blank")]}
        if not isinstance(payload, dict):
            return {"userErrors": [_error(["payload"], "Payload must be a JSON object")]}
        if len(json.dumps(payload)) > _MAX_PAYLOAD_BYTES:
            return {"userErrors": [_error(["payload"], "Payload exceeds the 50 KB limit")]}
        with store.lock:
            store.flow_triggers.append({"handle": handle, "payload": payload,
                                        "received_at": store.now()})
        return {"userErrors": []}

    def draftOrderCreate(self, info, input, **_):
        ctx = info.context
        store = ctx.store
        customer_gid = (input.get("purchasingEntity") or {}).get("customerId")
        customer_id = parse_gid(customer_gid, "Customer") if customer_gid else None
        if customer_id is not None and customer_id not in store.customers:
            return {"draftOrder": None, "userErrors": [_error(
                ["purchasingEntity", "customerId"], "Customer does not exist")]}
        items = input.get("lineItems") or []
        if not items:
            return {"draftOrder": None, "userErrors": [_error(
                ["lineItems"], "Add at least 1 product")]}
        with store.lock:
            lines = []
            for index, item in enumerate(items):
                vid = parse_gid(item["variantId"], "ProductVariant") \
                    if item.get("variantId") else None
                v = store.variants.get(vid) if vid is not None else None
                if vid is not None and v is None:
                    return {"draftOrder": None, "userErrors": [_error(
                        ["lineItems", str(index), "variantId"], "Product variant not found")]}
                lines.append({"id": store.new_id("draft_line"), "variant_id": vid,
                              "sku": v.sku if v else item.get("sku"),
                              "title": store.products[v.product_id].title if v
                              else item.get("title") or "", "quantity": int(item["quantity"])})
            ident = store.new_id("draft_order")
            now = store.now()
            draft = FakeDraftOrder(
                ident, f"#D{len(store.draft_orders) + 1}", customer_id, lines,
                dict(input["appliedDiscount"]) if input.get("appliedDiscount") else None,
                list(input.get("discountCodes") or []),
                [t.strip() for t in input.get("tags") or [] if t.strip()],
                input.get("note"), now, now)
            store.draft_orders[ident] = draft
            store.version += 1
        return {"draftOrder": draft_order_node(ctx, draft), "userErrors": []}

    def draftOrderInvoiceSend(self, info, id, email=None, **_):
        ctx = info.context
        store = ctx.store
        with store.lock:
            draft = store.draft_orders.get(parse_gid(id, "DraftOrder"))
            if draft is None:
                return {"draftOrder": None, "userErrors": [_error(["id"],
                                                                  "Draft order not found")]}
            customer = store.customers.get(draft.customer_id)
            to = (email or {}).get("to") or (customer.email if customer else None)
            if not to:
                return {"draftOrder": None, "userErrors": [_error(
                    ["email", "to"], "To can't be blank")]}
            now = store.now()
            draft.status, draft.invoice_sent_at, draft.updated_at = "INVOICE_SENT", now, now
            store.invoices.append({"draft_order_id": draft.id, "to": to, "sent_at": now})
            store.version += 1
        return {"draftOrder": draft_order_node(ctx, draft), "userErrors": []}

    def discountCodeBasicCreate(self, info, basicCodeDiscount, **_):
        store = info.context.store
        d = basicCodeDiscount
        path = ["basicCodeDiscount"]
        errors = [_error(path + [k], f"{k} can't be blank", "BLANK")
                  for k in ("code", "title", "startsAt", "customerGets") if not d.get(k)]
        context = d.get("context")
        if not context:
            errors.append(_error(path + ["context"], "context can't be blank", "BLANK"))
        if errors:
            return {"codeDiscountNode": None, "userErrors": errors}
        customers = [parse_gid(c, "Customer")
                     for c in ((context.get("customers") or {}).get("add") or [])]
        unknown = [c for c in customers if c not in store.customers]
        if unknown:
            return {"codeDiscountNode": None, "userErrors": [_error(
                path + ["context", "customers", "add"], "Customer does not exist", "INVALID")]}
        value = (d["customerGets"].get("value") or {})
        pct = value.get("percentage")
        if pct is not None and not 0 < float(pct) <= 1:
            return {"codeDiscountNode": None, "userErrors": [_error(
                path + ["customerGets", "value", "percentage"],
                "Value must be between 0.0 and 1.0", "VALUE_OUTSIDE_RANGE")]}
        with store.lock:
            if any(x["code"].lower() == d["code"].lower() for x in store.discounts.values()):
                return {"codeDiscountNode": None, "userErrors": [_error(
                    path + ["code"], "Code must be unique. Please try a different code.",
                    "TAKEN")]}
            ident = store.new_id("discount")
            record = {"id": ident, "code": d["code"], "title": d["title"],
                      "customers": customers, "all": bool(context.get("all")),
                      "percentage": pct, "amount": value.get("discountAmount"),
                      "items": d["customerGets"].get("items"),
                      "usage_limit": d.get("usageLimit"),
                      "applies_once_per_customer": bool(d.get("appliesOncePerCustomer")),
                      "starts_at": d["startsAt"], "ends_at": d.get("endsAt"),
                      "created_at": store.now()}
            store.discounts[ident] = record
        return {"codeDiscountNode": _discount_node(record), "userErrors": []}


def _discount_node(d: dict) -> dict:
    summary = f"{round(d['percentage'] * 100, 2):g}% off" if d.get("percentage") else "discount"
    return {"__typename": "DiscountCodeNode", "id": gid("DiscountCodeNode", d["id"]),
            "codeDiscount": {"__typename": "DiscountCodeBasic", "title": d["title"],
                             "status": "ACTIVE", "summary": summary,
                             "usageLimit": d.get("usage_limit"),
                             "appliesOncePerCustomer": d["applies_once_per_customer"],
                             "startsAt": d["starts_at"], "endsAt": d.get("ends_at")}}
