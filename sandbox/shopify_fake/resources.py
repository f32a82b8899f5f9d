"""Top-level connections of the fake (products, orders, customers, locations, bulk
operations): their search fields, sort keys, and the query root's resolvers.

Sorted views of a resource are built once per store version and sort key, so a page of an
incremental sync is a binary search plus a page of nodes. Search terms on the sort key's own
field (``updated_at:>'...'`` with ``sortKey: UPDATED_AT``) narrow the range by binary search;
other terms filter.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from graphql import GraphQLError

from .nodes import (FakeContext, customer_node, item_node, level_node, location_node,
                    order_node, parse_gid, product_node, variant_node)
from .search import Paginator, Term, connection, parse_search, parse_time, to_micros

__all__ = ["Resource", "RESOURCES", "QueryRoot", "level_filter", "resolve_connection"]

_SORT_FIELDS = {"ID": "id", "UPDATED_AT": "updated_at", "CREATED_AT": "created_at",
                "PROCESSED_AT": "processed_at", "TITLE": "title", "NAME": "name",
                "COMPLETED_AT": "completed_at"}


@dataclass(frozen=True)
class Resource:
    """A top-level connection: objects, node builder, search fields and default sort.

    ``fields`` maps a search field to ``(kind, getter)``; kind is ``time``, ``id``, ``text``,
    ``tags`` (list membership) or ``bool``.
    """

    name: str
    items: Callable[[FakeContext], list]
    by_id: Callable[[FakeContext, int], Any]
    to_node: Callable[[FakeContext, Any], dict]
    fields: dict[str, tuple[str, Callable[[Any], Any]]]
    default_sort: str = "ID"
    cached: bool = True


def _common(**extra) -> dict:
    base = {"id": ("id", lambda o: o.id), "created_at": ("time", lambda o: o.created_at),
            "updated_at": ("time", lambda o: o.updated_at)}
    base.update(extra)
    return base


def _sort_value(kind: str, value: Any) -> Any:
    if kind == "time":
        return to_micros(value) if value is not None else -1
    if kind == "text":
        return (value or "").lower()
    return value


def _term_value(kind: str, text: str) -> Any:
    if kind == "time":
        return to_micros(parse_time(text))
    if kind == "id":
        return parse_gid(text) if text.startswith("gid://") else int(text)
    if kind == "bool":
        return text.lower() == "true"
    return text.lower()


def _predicate(kind: str, getter: Callable, term: Term) -> Callable[[Any], bool]:
    if kind == "tags":
        wanted = term.value.lower()
        return lambda o: wanted in (t.lower() for t in getter(o))
    target = _term_value(kind, term.value)
    if kind == "time" and term.op == ":" and "T" not in term.value:
        day = term.value[:10]
        return lambda o: getter(o) is not None and getter(o).strftime("%Y-%m-%d") == day
    ops = {":": lambda a, b: a == b, "=": lambda a, b: a == b, ">": lambda a, b: a > b,
           ">=": lambda a, b: a >= b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b}
    compare = ops[term.op]

    def keep(o):
        value = _sort_value(kind, getter(o))
        return value is not None and compare(value, target)
    return keep


def _bulk_items(ctx: FakeContext) -> list:
    return ctx.bulk.all() if ctx.bulk is not None else []


RESOURCES: dict[str, Resource] = {
    "products": Resource(
        "products", lambda c: list(c.store.products.values()),
        lambda c, i: c.store.products.get(i), product_node,
        _common(title=("text", lambda p: p.title), status=("text", lambda p: p.status),
                vendor=("text", lambda p: p.vendor), tag=("tags", lambda p: p.tags),
                product_type=("text", lambda p: p.product_type))),
    "orders": Resource(
        "orders", lambda c: list(c.store.orders.values()),
        lambda c, i: c.store.orders.get(i), order_node,
        _common(processed_at=("time", lambda o: o.processed_at), name=("text", lambda o: o.name),
                source_name=("text", lambda o: o.source_name),
                customer_id=("id", lambda o: o.customer_id), tag=("tags", lambda o: o.tags),
                status=("text", lambda o: "cancelled" if o.cancelled_at else "open")),
        default_sort="PROCESSED_AT"),
    "customers": Resource(
        "customers", lambda c: list(c.store.customers.values()),
        lambda c, i: c.store.customers.get(i), customer_node,
        _common(email=("text", lambda c: c.email), tag=("tags", lambda c: c.tags))),
    "locations": Resource(
        "locations", lambda c: list(c.store.locations.values()),
        lambda c, i: c.store.locations.get(i), location_node,
        _common(name=("text", lambda loc: loc.name), active=("bool", lambda loc: loc.is_active)),
        default_sort="NAME"),
    "bulkOperations": Resource(
        "bulkOperations", _bulk_items, lambda c, i: c.bulk.get(i) if c.bulk else None,
        lambda c, op: c.bulk.node(op),
        {"id": ("id", lambda op: op.id), "created_at": ("time", lambda op: op.created_at),
         "status": ("text", lambda op: op.status),
         "operation_type": ("text", lambda op: op.type)},
        default_sort="CREATED_AT", cached=False),
}


def _view(ctx: FakeContext, res: Resource, sort: str) -> Paginator:
    field_name = _SORT_FIELDS.get(sort)
    if field_name not in res.fields:
        raise GraphQLError(f"the Shopify fake does not support sortKey {sort} on {res.name}")
    kind, getter = res.fields[field_name]
    key = (lambda o: _sort_value(kind, getter(o)))
    if ctx.root_ids is not None:
        items = [o for o in (res.by_id(ctx, i) for i in ctx.root_ids) if o is not None]
        return Paginator(items, key, lambda o: o.id)
    if not res.cached:
        return Paginator(res.items(ctx), key, lambda o: o.id)
    cache_key = (res.name, sort, ctx.store.version)
    view = ctx.views.get(cache_key)
    if view is None:
        view = Paginator(res.items(ctx), key, lambda o: o.id)
        if len(ctx.views) > 32:
            ctx.views.clear()
        ctx.views[cache_key] = view
    return view


def resolve_connection(ctx: FakeContext, res: Resource, *, first=None, after=None, last=None,
                       before=None, reverse=False, query=None, sortKey=None,
                       keep_extra: Callable[[Any], bool] | None = None, **_) -> dict:
    """Answer a top-level connection field.

    Raises:
        GraphQLError: bad page size, cursor, search term or unsupported sort key.
    """
    sort = sortKey or res.default_sort
    view = _view(ctx, res, sort)
    sort_field = _SORT_FIELDS[sort]
    low = high = None
    preds = [keep_extra] if keep_extra else []
    for term in parse_search(query):
        if term.field not in res.fields:
            continue  # Shopify ignores unknown search fields
        kind, getter = res.fields[term.field]
        if term.field == sort_field and term.op in (">", ">=", "<", "<=") and \
                kind in ("time", "id"):
            bound = (_term_value(kind, term.value), term.op.endswith("="))
            if term.op.startswith(">"):
                low = bound if low is None or bound[0] > low[0] else low
            else:
                high = bound if high is None or bound[0] < high[0] else high
            continue
        preds.append(_predicate(kind, getter, term))
    span = view.span(low, high)
    return connection(view, span, lambda o: all(p(o) for p in preds),
                      lambda o: res.to_node(ctx, o), first=first, after=after, last=last,
                      before=before, reverse=bool(reverse), unlimited=ctx.unlimited)


def level_filter(query: str | None) -> Callable[[Any], bool]:
    """Predicate for ``Location.inventoryLevels(query:)`` (``updated_at``, ``id`` terms)."""
    fields = {"updated_at": ("time", lambda lv: lv.updated_at),
              "inventory_item_id": ("id", lambda lv: lv.item_id)}
    preds = [_predicate(*fields[t.field], t) for t in parse_search(query) if t.field in fields]
    return lambda lv: all(p(lv) for p in preds)


class QueryRoot:
    """Resolvers of the query root's fields the fake supports."""

    def _conn(self, name: str) -> Callable:
        return lambda info, **args: resolve_connection(info.context, RESOURCES[name], **args)

    def __getattr__(self, name: str):
        if name in ("products", "orders", "customers"):
            return self._conn(name)
        raise AttributeError(name)

    def locations(self, info, includeInactive=False, **args):
        keep = None if includeInactive else (lambda loc: loc.is_active)
        return resolve_connection(info.context, RESOURCES["locations"], keep_extra=keep, **args)

    def bulkOperations(self, info, **args):
        return resolve_connection(info.context, RESOURCES["bulkOperations"], **args)

    def _one(self, info, kind: str, resource: str, ident: str):
        ctx = info.context
        obj = RESOURCES[resource].by_id(ctx, parse_gid(ident, kind))
        return RESOURCES[resource].to_node(ctx, obj) if obj is not None else None

    def product(self, info, id):
        return self._one(info, "Product", "products", id)

    def order(self, info, id):
        return self._one(info, "Order", "orders", id)

    def customer(self, info, id):
        return self._one(info, "Customer", "customers", id)

    def bulkOperation(self, info, id):
        return self._one(info, "BulkOperation", "bulkOperations", id)

    def location(self, info, id=None):
        ctx = info.context
        if id is None:
            primary = min(ctx.store.locations.values(), key=lambda loc: loc.id)
            return location_node(ctx, primary)
        return self._one(info, "Location", "locations", id)

    def productVariant(self, info, id):
        v = info.context.store.variants.get(parse_gid(id, "ProductVariant"))
        return variant_node(info.context, v) if v else None

    def inventoryItem(self, info, id):
        from .store import ITEM_ID_OFFSET
        v = info.context.store.variants.get(parse_gid(id, "InventoryItem") - ITEM_ID_OFFSET)
        return item_node(info.context, v) if v else None

    def inventoryLevel(self, info, id):
        number = parse_gid(id, "InventoryLevel")
        item, loc = divmod(number, 1000)
        lv = info.context.store.levels.get((item, loc))
        return level_node(info.context, lv) if lv else None

    def node(self, info, id):
        kind = str(id).split("/")[3] if str(id).count("/") >= 4 else ""
        lookup = {"Product": self.product, "Order": self.order, "Customer": self.customer,
                  "Location": self.location, "BulkOperation": self.bulkOperation,
                  "ProductVariant": self.productVariant, "InventoryItem": self.inventoryItem,
                  "InventoryLevel": self.inventoryLevel}
        return lookup[kind](info, id) if kind in lookup else None

    def nodes(self, info, ids):
        return [self.node(info, i) for i in ids]

    def shop(self, info):
        ctx = info.context
        return {"__typename": "Shop", "id": "gid://shopify/Shop/1", "name": ctx.shop_domain,
                "myshopifyDomain": ctx.shop_domain, "currencyCode": "USD",
                "ianaTimezone": "UTC", "timezoneAbbreviation": "UTC"}
