"""Mutation resolvers of the fake: ``bulkOperationRunQuery``, ``webhookSubscriptionCreate``,
``metafieldsSet`` and ``tagsAdd``, with Shopify's idempotent semantics.

* ``metafieldsSet`` upserts by owner + namespace + key (the value is overwritten, the id
  kept); at most 25 metafields per call; a new metafield needs a ``type``.
* ``tagsAdd`` is a set union on an order, customer or product (and touches its
  ``updatedAt``, as Shopify does).
* ``webhookSubscriptionCreate`` refuses a second subscription of the same topic and URI
  ("Address for this topic has already been taken").
"""
from __future__ import annotations

import hashlib

from .nodes import customer_node, gid, iso, metafield_node, order_node, product_node

__all__ = ["MutationRoot"]

_OWNER_TYPES = {"Customer": "CUSTOMER", "Order": "ORDER", "Product": "PRODUCT",
                "ProductVariant": "PRODUCTVARIANT", "Location": "LOCATION", "Shop": "SHOP"}
_MAX_METAFIELDS = 25


def _kind_and_id(value: str) -> tuple[str, int] | None:
    parts = str(value).split("?")[0].split("/")
    if len(parts) == 5 and parts[:3] == ["gid:", "", "shopify"] and parts[4].isdigit():
        return parts[3], int(parts[4])
    return None


class MutationRoot:
    """Resolvers of the mutation root's fields the fake supports."""

    def bulkOperationRunQuery(self, info, query, groupObjects=False, **_):
        ctx = info.context
        op, errors = ctx.bulk.start(query, ctx.base_url)
        node = ctx.bulk.node(op) if op else None
        if op is not None:
            ctx.bulk.launch(op)
        return {"bulkOperation": node, "userErrors": errors}

    def webhookSubscriptionCreate(self, info, topic, webhookSubscription, **_):
        store = info.context.store
        uri = webhookSubscription.get("uri") or webhookSubscription.get("callbackUrl")
        if not uri:
            return {"webhookSubscription": None,
                    "userErrors": [{"field": ["webhookSubscription", "uri"],
                                    "message": "Address can't be blank"}]}
        with store.lock:
            for sub in store.webhooks.values():
                if sub["topic"] == topic and sub["uri"] == uri:
                    return {"webhookSubscription": None,
                            "userErrors": [{"field": ["webhookSubscription", "callbackUrl"],
                                            "message": "Address for this topic has already "
                                                       "been taken"}]}
            ident = store.new_id("webhook")
            now = store.now()
            sub = {"id": ident, "topic": topic, "uri": uri,
                   "format": webhookSubscription.get("format") or "JSON",
                   "created_at": now}
            store.webhooks[ident] = sub
        node = {"__typename": "WebhookSubscription", "id": gid("WebhookSubscription", ident),
                "topic": topic, "uri": uri, "format": sub["format"], "createdAt": iso(now),
                "updatedAt": iso(now)}
        return {"webhookSubscription": node, "userErrors": []}

    def metafieldsSet(self, info, metafields, **_):
        ctx = info.context
        store = ctx.store
        if len(metafields) > _MAX_METAFIELDS:
            return {"metafields": None, "userErrors": [{
                "field": ["metafields"], "code": "LESS_THAN_OR_EQUAL_TO", "elementIndex": None,
                "message": f"Exceeded the maximum metafields input limit of {_MAX_METAFIELDS}."}]}
        errors = []
        for index, m in enumerate(metafields):
            owner = _kind_and_id(m.get("ownerId", ""))
            if owner is None or owner[0] not in _OWNER_TYPES or not self._exists(store, *owner):
                errors.append({"field": ["metafields", str(index), "ownerId"], "code": "INVALID",
                               "elementIndex": index, "message": "Owner does not exist."})
            key = (m.get("ownerId"), m.get("namespace") or "", m.get("key"))
            if not m.get("type") and key not in store.metafields:
                errors.append({"field": ["metafields", str(index), "type"], "code": "BLANK",
                               "elementIndex": index, "message": "Type can't be blank."})
        if errors:  # Shopify writes nothing when any input is invalid
            return {"metafields": [], "userErrors": errors}
        out = []
        with store.lock:
            now = store.now()
            for m in metafields:
                key = (m["ownerId"], m.get("namespace") or "", m["key"])
                old = store.metafields.get(key)
                record = old or {"id": store.new_id("metafield"), "created_at": now,
                                 "owner_id": m["ownerId"], "namespace": key[1], "key": key[2],
                                 "owner_type": _OWNER_TYPES[_kind_and_id(m["ownerId"])[0]]}
                record.update(value=str(m["value"]), type=m.get("type") or record.get("type"),
                              updated_at=now,
                              digest=hashlib.sha256(str(m["value"]).encode()).hexdigest())
                store.metafields[key] = record
                out.append(metafield_node(ctx, record))
        return {"metafields": out, "userErrors": []}

    @staticmethod
    def _exists(store, kind: str, ident: int) -> bool:
        table = {"Customer": store.customers, "Order": store.orders, "Product": store.products,
                 "ProductVariant": store.variants, "Location": store.locations}
        return kind == "Shop" or ident in table.get(kind, {})

    def tagsAdd(self, info, id, tags, **_):
        ctx = info.context
        store = ctx.store
        owner = _kind_and_id(id)
        table = {"Order": (store.orders, order_node), "Customer": (store.customers, customer_node),
                 "Product": (store.products, product_node)}
        if owner is None or owner[0] not in table or owner[1] not in table[owner[0]][0]:
            return {"node": None, "userErrors": [{"field": ["id"],
                                                  "message": "Resource not found"}]}
        objects, to_node = table[owner[0]]
        obj = objects[owner[1]]
        store.add_tags(obj, [t for tag in tags for t in str(tag).split(",")])
        return {"node": to_node(ctx, obj), "userErrors": []}
