"""GraphQL nodes of the fake: plain dicts read by graphql-core's default field resolver.

A field that takes arguments (connections, ``quantities(names:)``, ``metafield(...)``) or
that would be costly to build eagerly is a callable ``(info, **args) -> value``; everything
else is a value. Scalars are serialised as Shopify sends them: ids as GIDs, ``DateTime`` as
``YYYY-MM-DDTHH:MM:SSZ``, ``Money``/``Decimal`` as strings, ``UnsignedInt64`` as strings.
Fields the fake does not model resolve to null (a non-null one then answers with a GraphQL
error naming it).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from graphql import GraphQLError

from .search import Paginator, connection
from .store import ITEM_ID_OFFSET, FakeStore, StoreCustomer, StoreLevel, StoreOrder

__all__ = ["FakeContext", "gid", "parse_gid", "iso", "money", "money_bag", "product_node",
           "variant_node", "item_node", "location_node", "level_node", "customer_node",
           "order_node", "line_node", "refund_node", "metafield_node", "child_connection",
           "INVENTORY_STATES"]

#: Quantity names Shopify accepts in ``quantities(names:)``.
INVENTORY_STATES = ("available", "on_hand", "committed", "incoming", "reserved", "damaged",
                    "safety_stock", "quality_control")


@dataclass
class FakeContext:
    """Per-request execution context.

    Attributes:
        store: The shop data.
        bulk: The bulk operation registry (see :mod:`sandbox.shopify_fake.bulk`).
        base_url: URL prefix of the fake (for bulk download links).
        unlimited: True while running a bulk query: connections need no page size.
        root_ids: In a bulk run, the ids of the root connection's objects in this chunk.
        views: Cache of sorted top-level views, keyed by (resource, sort key, version).
        shop_domain: The shop's ``*.myshopify.com`` domain.
    """

    store: FakeStore
    bulk: Any = None
    base_url: str = ""
    unlimited: bool = False
    root_ids: list[int] | None = None
    views: dict = field(default_factory=dict)
    shop_domain: str = "sandbox.myshopify.com"


def gid(kind: str, ident: int | str) -> str:
    return f"gid://shopify/{kind}/{ident}"


def parse_gid(value: str, kind: str | None = None) -> int:
    """The numeric id of a GID (``?query`` suffixes ignored).

    Raises:
        GraphQLError: not a GID (of ``kind`` when given).
    """
    text = str(value)
    parts = text.split("?")[0].split("/")
    if len(parts) != 5 or parts[:3] != ["gid:", "", "shopify"] or not parts[4].isdigit() or \
            (kind is not None and parts[3] != kind):
        raise GraphQLError(f"Invalid global id '{text}'")
    return int(parts[4])


_ISO_CACHE: dict[datetime, str] = {}


def iso(value: datetime | None) -> str | None:
    """Shopify's ``DateTime``: UTC, whole seconds, ``Z``."""
    if value is None:
        return None
    text = _ISO_CACHE.get(value)
    if text is None:
        text = value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        if len(_ISO_CACHE) > 500_000:
            _ISO_CACHE.clear()
        _ISO_CACHE[value] = text
    return text


def _decimal(amount: float) -> str:
    return repr(round(float(amount), 2))


def money(amount: float | None, currency: str = "USD") -> dict | None:
    if amount is None:
        return None
    return {"amount": _decimal(amount), "currencyCode": currency}


def money_bag(amount: float, currency: str = "USD") -> dict:
    m = money(amount, currency)
    return {"shopMoney": m, "presentmentMoney": m}


def child_connection(ctx: FakeContext, items: list, to_node: Callable[[Any], dict],
                     ident: Callable[[Any], int] = lambda o: o.id) -> Callable:
    """Resolver of a nested connection over ``items``, sorted by id."""
    def resolve(info, first=None, after=None, last=None, before=None, reverse=False, **_):
        view = Paginator(items, ident, ident)
        return connection(view, (0, len(view.keys)), lambda _o: True, to_node, first=first,
                          after=after, last=last, before=before, reverse=bool(reverse),
                          unlimited=ctx.unlimited)
    return resolve


def _metafield_resolver(ctx: FakeContext, owner_gid: str) -> Callable:
    def resolve(info, key, namespace=None, **_):
        if namespace is None and "." in key:
            namespace, key = key.rsplit(".", 1)
        found = ctx.store.metafields.get((owner_gid, namespace or "", key))
        return metafield_node(ctx, found) if found else None
    return resolve


def metafield_node(ctx: FakeContext, m: dict) -> dict:
    return {"__typename": "Metafield", "id": gid("Metafield", m["id"]),
            "namespace": m["namespace"], "key": m["key"], "value": m["value"],
            "type": m["type"], "ownerType": m["owner_type"], "createdAt": iso(m["created_at"]),
            "updatedAt": iso(m["updated_at"]), "compareDigest": m["digest"]}


def product_node(ctx: FakeContext, p) -> dict:
    s = ctx.store
    return {
        "__typename": "Product", "id": gid("Product", p.id), "legacyResourceId": str(p.id),
        "title": p.title, "handle": p.handle, "vendor": p.vendor, "productType": p.product_type,
        "status": p.status, "createdAt": iso(p.created_at), "updatedAt": iso(p.updated_at),
        "tags": list(p.tags), "totalVariants": len(p.variant_ids),
        "variants": child_connection(ctx, [s.variants[v] for v in p.variant_ids],
                                     lambda v: variant_node(ctx, v)),
        "metafield": _metafield_resolver(ctx, gid("Product", p.id)),
    }


def variant_node(ctx: FakeContext, v) -> dict:
    s = ctx.store
    return {
        "__typename": "ProductVariant", "id": gid("ProductVariant", v.id),
        "legacyResourceId": str(v.id), "sku": v.sku, "barcode": v.barcode, "title": v.title,
        "displayName": v.title, "price": _decimal(v.price), "createdAt": iso(v.created_at),
        "updatedAt": iso(v.updated_at),
        "inventoryItem": lambda info: item_node(ctx, v),
        "product": lambda info: product_node(ctx, s.products[v.product_id]),
        "inventoryQuantity": lambda info: sum(lv.quantities.get("available", 0)
                                              for lv in s.levels.values()
                                              if lv.item_id == v.item_id),
        "metafield": _metafield_resolver(ctx, gid("ProductVariant", v.id)),
    }


def item_node(ctx: FakeContext, v) -> dict:
    s = ctx.store
    return {
        "__typename": "InventoryItem", "id": gid("InventoryItem", v.item_id), "sku": v.sku,
        "tracked": v.tracked, "unitCost": money(v.unit_cost), "requiresShipping": True,
        "createdAt": iso(v.created_at), "updatedAt": iso(v.updated_at),
        "variant": lambda info: variant_node(ctx, v),
        "inventoryLevels": lambda info, **args: child_connection(
            ctx, [lv for lv in s.levels.values() if lv.item_id == v.item_id],
            lambda lv: level_node(ctx, lv), lambda lv: lv.location_id)(info, **args),
    }


def location_node(ctx: FakeContext, loc) -> dict:
    s = ctx.store

    def levels(info, query=None, **args):
        from .resources import level_filter  # local: resources imports this module
        keep = level_filter(query)
        items = [lv for lv in s.levels.values() if lv.location_id == loc.id and keep(lv)]
        return child_connection(ctx, items, lambda lv: level_node(ctx, lv),
                                lambda lv: lv.item_id)(info, **args)

    def level(info, inventoryItemId, **_):
        lv = s.levels.get((parse_gid(inventoryItemId, "InventoryItem"), loc.id))
        return level_node(ctx, lv) if lv else None

    return {
        "__typename": "Location", "id": gid("Location", loc.id), "legacyResourceId": str(loc.id),
        "name": loc.name, "isActive": loc.is_active, "fulfillsOnlineOrders": loc.fulfills_online,
        "hasActiveInventory": True, "shipsInventory": loc.fulfills_online,
        "createdAt": iso(loc.created_at), "updatedAt": iso(loc.updated_at),
        "inventoryLevels": levels, "inventoryLevel": level,
    }


def level_node(ctx: FakeContext, lv: StoreLevel) -> dict:
    s = ctx.store
    variant = s.variants.get(lv.item_id - ITEM_ID_OFFSET)

    def quantities(info, names, **_):
        bad = [n for n in names if n not in INVENTORY_STATES]
        if bad:
            raise GraphQLError(f"Invalid quantity names: {', '.join(bad)}. Valid names are: "
                               + ", ".join(INVENTORY_STATES))
        return [{"__typename": "InventoryQuantity", "name": n,
                 "quantity": int(lv.quantities.get(n, 0)), "updatedAt": iso(lv.updated_at),
                 "id": gid("InventoryQuantity", f"{lv.item_id}{lv.location_id}")}
                for n in names]

    return {
        "__typename": "InventoryLevel",
        "id": f"gid://shopify/InventoryLevel/{lv.item_id * 1000 + lv.location_id}"
              f"?inventory_item_id={lv.item_id}",
        "updatedAt": iso(lv.updated_at), "createdAt": iso(lv.updated_at),
        "canDeactivate": True, "quantities": quantities,
        "item": lambda info: item_node(ctx, variant) if variant else None,
        "location": lambda info: location_node(ctx, s.locations[lv.location_id]),
    }


def customer_node(ctx: FakeContext, c: StoreCustomer) -> dict:
    s = ctx.store
    email = None if not c.email else {
        "__typename": "CustomerEmailAddress", "emailAddress": c.email,
        "marketingState": c.marketing_state, "marketingOptInLevel": "SINGLE_OPT_IN"
        if c.marketing_state == "SUBSCRIBED" else None,
        "marketingUpdatedAt": iso(c.updated_at), "validFormat": True}
    phone = None if not c.phone else {"__typename": "CustomerPhoneNumber",
                                      "phoneNumber": c.phone, "marketingState": "NOT_SUBSCRIBED"}
    return {
        "__typename": "Customer", "id": gid("Customer", c.id), "legacyResourceId": str(c.id),
        "firstName": c.first_name, "lastName": c.last_name,
        "displayName": " ".join(x for x in (c.first_name, c.last_name) if x) or c.email or "",
        "createdAt": iso(c.created_at), "updatedAt": iso(c.updated_at),
        "numberOfOrders": str(len(c.order_ids)),
        "amountSpent": lambda info: money(s.amount_spent(c)),
        "defaultEmailAddress": email, "defaultPhoneNumber": phone, "tags": list(c.tags),
        "verifiedEmail": True, "state": "ENABLED",
        "orders": child_connection(ctx, [s.orders[o] for o in c.order_ids],
                                   lambda o: order_node(ctx, o)),
        "metafield": _metafield_resolver(ctx, gid("Customer", c.id)),
    }


def order_node(ctx: FakeContext, o: StoreOrder) -> dict:
    s = ctx.store

    def refunds(info, first=None, **_):
        items = [refund_node(ctx, s.refunds[r]) for r in sorted(o.refund_ids)]
        return items if first is None else items[:first]

    return {
        "__typename": "Order", "id": gid("Order", o.id), "legacyResourceId": str(o.id),
        "name": o.name, "test": False, "createdAt": iso(o.created_at),
        "processedAt": iso(o.processed_at), "cancelledAt": iso(o.cancelled_at),
        "cancelReason": "CUSTOMER" if o.cancelled_at else None, "closed": False,
        "updatedAt": iso(o.updated_at), "sourceName": o.source_name,
        "retailLocation": lambda info: location_node(ctx, s.locations[o.retail_location_id])
        if o.retail_location_id in s.locations else None,
        "customer": lambda info: customer_node(ctx, s.customers[o.customer_id])
        if o.customer_id in s.customers else None,
        "currencyCode": o.currency, "presentmentCurrencyCode": o.currency,
        "totalPriceSet": money_bag(o.total, o.currency),
        "subtotalPriceSet": money_bag(o.subtotal, o.currency),
        "currentTotalPriceSet": money_bag(o.total, o.currency),
        "discountCodes": list(o.discount_codes), "tags": list(o.tags),
        "lineItems": child_connection(ctx, [s.lines[i] for i in o.line_ids],
                                      lambda li: line_node(ctx, li)),
        "refunds": refunds,
        "metafield": _metafield_resolver(ctx, gid("Order", o.id)),
    }


def line_node(ctx: FakeContext, li) -> dict:
    s = ctx.store
    refunded = s.refunded_quantity(li.id)
    variant = s.variants.get(li.variant_id) if li.variant_id is not None else None
    return {
        "__typename": "LineItem", "id": gid("LineItem", li.id), "sku": li.sku,
        "name": li.sku or "", "title": li.sku or "", "quantity": li.quantity,
        "currentQuantity": li.quantity - refunded, "refundableQuantity": li.quantity - refunded,
        "originalUnitPriceSet": money_bag(li.price),
        "discountedUnitPriceSet": money_bag(li.price - li.discount / max(li.quantity, 1)),
        "totalDiscountSet": money_bag(li.discount),
        "variant": lambda info: variant_node(ctx, variant) if variant else None,
    }


def refund_node(ctx: FakeContext, r) -> dict:
    s = ctx.store
    rows = [(rl_id, lid, q) for rl_id, lid, q in r.lines]

    def to_node(row):
        rl_id, lid, q = row
        return {"__typename": "RefundLineItem", "id": gid("RefundLineItem", rl_id),
                "quantity": q, "restocked": False, "restockType": "NO_RESTOCK",
                "lineItem": lambda info: line_node(ctx, s.lines[lid])}

    return {
        "__typename": "Refund", "id": gid("Refund", r.id), "legacyResourceId": str(r.id),
        "createdAt": iso(r.created_at), "updatedAt": iso(r.created_at),
        "refundLineItems": child_connection(ctx, rows, to_node, lambda row: row[0]),
    }
