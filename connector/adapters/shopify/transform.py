"""Shopify Admin GraphQL nodes -> :class:`core.records.ShopRecords` (pure functions).

Nodes come from paged queries (``connection { nodes [...] }``) or from reassembled bulk
results (:func:`.streams.reassemble` gives the same shape). External ids are the numeric
part of GIDs (:func:`.streams.numeric_id`).

Mapping:

* Location -> ``locations``: ``kind`` is ``warehouse`` when it fulfils online orders, else
  ``store``.
* Product / ProductVariant -> ``products`` / ``variants``: ``price``, ``unit_cost`` from
  ``inventoryItem.unitCost``, ``tracked`` and ``inventory_item_id`` (numeric) from
  ``inventoryItem``; a variant's status is its product's (Shopify has none per variant).
* InventoryLevel -> ``inventory`` dated on the sync day: ``available``, ``on_hand``,
  ``incoming``, ``committed`` and ``reserved``, each Shopify's quantity of that name
  (committed and reserved are both on hand and not sellable; the plan subtracts both, see
  :mod:`core.plan_inputs`). Levels of untracked items are skipped: Shopify does not count
  their stock, and the variant's ``tracked = False`` makes the plan mark them.
* Customer -> ``customers``: ``email`` = ``defaultEmailAddress.emailAddress``,
  ``accepts_marketing`` = ``marketingState == SUBSCRIBED``.
* Order / LineItem / Refund -> ``orders`` / ``order_lines``: ``source`` = ``sourceName``
  (its channel is derived on load, :mod:`core.channels`),
  ``location`` = ``retailLocation`` (POS) or none, totals from ``shopMoney``, discount codes
  and tags joined with ``", "``, ``refunded_quantity`` = sum of the line's
  ``refundLineItems`` quantities over all refunds.

:func:`resolve_references` then applies what the database knows: lines whose SKU is unknown
are dropped (a warning each), stub rows are made for customers and locations not loaded yet.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from core.records import COLUMNS, ShopRecords

from .streams import numeric_id

__all__ = ["locations_records", "products_records", "inventory_records", "customers_records",
           "orders_records", "refunded_by_line", "resolve_references", "Resolution",
           "max_cursor", "parse_time"]


def parse_time(value: str | None) -> pd.Timestamp | None:
    """A Shopify ``DateTime`` as a UTC ``pandas.Timestamp`` (None stays None)."""
    if value is None:
        return None
    ts = pd.Timestamp(value)
    return ts.tz_convert("UTC") if ts.tzinfo else ts.tz_localize("UTC")


def max_cursor(nodes: list[dict], field_name: str = "updatedAt") -> pd.Timestamp | None:
    """The largest ``updatedAt`` among ``nodes`` (None when there are none)."""
    values = [parse_time(n.get(field_name)) for n in nodes if n.get(field_name)]
    return max(values) if values else None


def _frame(entity: str, rows: list[dict]) -> pd.DataFrame:
    if rows:
        return pd.DataFrame(rows, columns=COLUMNS[entity])
    return pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS[entity]})


def _times(frame: pd.DataFrame, *cols: str) -> pd.DataFrame:
    for col in cols:
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def _amount(obj: dict | None, *path: str) -> float | None:
    for key in path:
        if obj is None:
            return None
        obj = obj.get(key)
    return None if obj is None else float(obj)


def _nodes(conn: dict | list | None) -> list[dict]:
    if conn is None:
        return []
    if isinstance(conn, list):
        return conn
    if "nodes" in conn:
        return list(conn["nodes"] or [])
    return [e["node"] for e in conn.get("edges") or []]


def _joined(values: list[str] | None) -> str | None:
    values = [str(v) for v in values or [] if str(v).strip()]
    return ", ".join(values) if values else None


def locations_records(nodes: list[dict]) -> ShopRecords:
    rows = [{"external_id": numeric_id(n["id"]), "name": n.get("name") or numeric_id(n["id"]),
             "kind": "warehouse" if n.get("fulfillsOnlineOrders", True) else "store"}
            for n in nodes]
    return ShopRecords(locations=_frame("locations", rows))


def products_records(nodes: list[dict]) -> ShopRecords:
    products, variants = [], []
    for p in nodes:
        status = str(p.get("status") or "ACTIVE").lower()
        products.append({"external_id": numeric_id(p["id"]), "title": p.get("title") or "",
                         "status": status, "created_at": p.get("createdAt")})
        for v in _nodes(p.get("variants")):
            item = v.get("inventoryItem") or {}
            variants.append({
                "external_id": numeric_id(v["id"]), "product_external_id": numeric_id(p["id"]),
                "sku": v.get("sku") or None, "barcode": v.get("barcode") or None,
                "title": v.get("title"), "price": _amount(v, "price"),
                "unit_cost": _amount(item, "unitCost", "amount"), "status": status,
                "created_at": v.get("createdAt"), "inventory_item_id": numeric_id(item.get("id")),
                "tracked": bool(item["tracked"]) if item.get("tracked") is not None else None})
    return ShopRecords(products=_times(_frame("products", products), "created_at"),
                       variants=_times(_frame("variants", variants), "created_at"))


def inventory_records(levels: list[tuple[str, dict]], day: date) -> ShopRecords:
    """``levels`` are ``(location GID, InventoryLevel node)`` pairs."""
    rows = []
    for location_gid, level in levels:
        item = level.get("item") or {}
        if not item.get("tracked", True) or not item.get("sku"):
            continue
        q = {x["name"]: int(x["quantity"]) for x in level.get("quantities") or []}
        rows.append({"sku": item["sku"], "location_external_id": numeric_id(location_gid),
                     "date": pd.Timestamp(day), "available": q.get("available"),
                     "on_hand": q.get("on_hand"), "incoming": q.get("incoming"),
                     "committed": q.get("committed"), "reserved": q.get("reserved")})
    return ShopRecords(inventory=_frame("inventory", rows))


def customers_records(nodes: list[dict]) -> ShopRecords:
    rows = []
    for c in nodes:
        email = c.get("defaultEmailAddress") or {}
        phone = c.get("defaultPhoneNumber") or {}
        rows.append({"external_id": numeric_id(c["id"]), "created_at": c.get("createdAt"),
                     "email": email.get("emailAddress"), "first_name": c.get("firstName"),
                     "last_name": c.get("lastName"), "phone": phone.get("phoneNumber"),
                     "accepts_marketing": email.get("marketingState") == "SUBSCRIBED"})
    return ShopRecords(customers=_times(_frame("customers", rows), "created_at"))


def refunded_by_line(order: dict) -> dict[str, int]:
    """Refunded units per line item id over all of an order's refunds."""
    out: dict[str, int] = {}
    for refund in order.get("refunds") or []:
        for rli in _nodes(refund.get("refundLineItems")):
            lid = numeric_id((rli.get("lineItem") or {}).get("id"))
            if lid is not None:
                out[lid] = out.get(lid, 0) + int(rli.get("quantity") or 0)
    return out


def orders_records(nodes: list[dict]) -> ShopRecords:
    """Orders and lines; ``refunds`` must carry ``refundLineItems`` (see sync's follow-ups)."""
    orders, lines = [], []
    for o in nodes:
        oid = numeric_id(o["id"])
        orders.append({
            "external_id": oid, "name": o.get("name"), "created_at": o.get("createdAt"),
            "processed_at": o.get("processedAt"), "cancelled_at": o.get("cancelledAt"),
            "source": o.get("sourceName"),
            "location_external_id": numeric_id((o.get("retailLocation") or {}).get("id")),
            "customer_external_id": numeric_id((o.get("customer") or {}).get("id")),
            "currency": o.get("currencyCode"),
            "subtotal": _amount(o, "subtotalPriceSet", "shopMoney", "amount"),
            "total": _amount(o, "totalPriceSet", "shopMoney", "amount"),
            "discount_codes": _joined(o.get("discountCodes")), "tags": _joined(o.get("tags"))})
        refunded = refunded_by_line(o)
        for li in _nodes(o.get("lineItems")):
            lid = numeric_id(li["id"])
            lines.append({
                "external_id": lid, "order_external_id": oid, "sku": li.get("sku") or None,
                "quantity": int(li.get("quantity") or 0),
                "refunded_quantity": refunded.get(lid, 0),
                "price": _amount(li, "originalUnitPriceSet", "shopMoney", "amount"),
                "discount": _amount(li, "totalDiscountSet", "shopMoney", "amount") or 0.0,
                "_variant": numeric_id((li.get("variant") or {}).get("id"))})
    line_frame = pd.DataFrame(lines, columns=COLUMNS["order_lines"] + ["_variant"]) \
        if lines else _frame("order_lines", [])
    return ShopRecords(orders=_times(_frame("orders", orders), "created_at", "processed_at",
                                     "cancelled_at"),
                       order_lines=line_frame)


@dataclass
class Resolution:
    """What :func:`resolve_references` changed: counts and one message per warning."""

    unknown_sku_lines: int = 0
    stub_customers: int = 0
    stub_locations: int = 0
    skipped_variants: int = 0
    skipped_inventory: int = 0
    warnings: list[str] = field(default_factory=list)


def resolve_references(records: ShopRecords, *, skus: set[str], sku_by_variant: dict[str, str],
                       variant_by_sku: dict[str, str], customers: set[str],
                       locations: set[str], res: Resolution) -> ShopRecords:
    """Make a page loadable against what the database already holds.

    * order lines: a missing SKU is taken from the line's variant; a line whose SKU is not a
      known variant is dropped (warning);
    * orders and inventory: customers and locations not in the database get stub rows (the
      customers and locations streams fill them in on the next sync);
    * variants: a SKU already held by another variant is skipped (warning), as is a variant
      without SKU (restock keys demand by SKU);
    * inventory: rows of unknown SKUs are dropped (warning).
    """
    out = {name: getattr(records, name) for name in records.entities()}
    var = out["variants"]
    if len(var):
        new_skus = dict(zip(var["sku"], var["external_id"]))
        ok = []
        for ext, sku in zip(var["external_id"], var["sku"]):
            holder = variant_by_sku.get(sku) if sku else None
            good = bool(sku) and (holder is None or holder == ext) and new_skus.get(sku) == ext
            ok.append(good)
            if not good:
                res.skipped_variants += 1
                res.warnings.append(f"variant {ext} skipped: SKU {sku!r} is empty or already "
                                    f"used by variant {holder or new_skus.get(sku)}")
        out["variants"] = var[ok]
    lines = out["order_lines"]
    if len(lines):
        known = skus | set(out["variants"]["sku"].dropna())
        filled = [s if s else sku_by_variant.get(v) for s, v in
                  zip(lines["sku"], lines.get("_variant", [None] * len(lines)))]
        lines = lines.assign(sku=filled)
        keep = [s in known for s in filled]
        for ext, sku, k in zip(lines["external_id"], filled, keep):
            if not k:
                res.unknown_sku_lines += 1
                res.warnings.append(f"order line {ext} skipped: unknown SKU {sku!r}")
        out["order_lines"] = lines[keep][COLUMNS["order_lines"]]
    orders, inv = out["orders"], out["inventory"]
    if len(orders) or len(inv):
        new_c = sorted(set(orders["customer_external_id"].dropna()) - customers
                       - set(out["customers"]["external_id"]))
        new_l = sorted((set(orders["location_external_id"].dropna())
                        | set(inv["location_external_id"].dropna()))
                       - locations - set(out["locations"]["external_id"]))
        if new_c:
            res.stub_customers += len(new_c)
            out["customers"] = pd.concat([out["customers"], _frame(
                "customers", [{"external_id": c} for c in new_c])], ignore_index=True)
        if new_l:
            res.stub_locations += len(new_l)
            out["locations"] = pd.concat([out["locations"], _frame(
                "locations", [{"external_id": x, "name": f"Location {x}", "kind": "store"}
                              for x in new_l])], ignore_index=True)
    inv = out["inventory"]
    if len(inv):
        keep = [s in skus for s in inv["sku"]]
        dropped = len(keep) - sum(keep)
        if dropped:
            res.skipped_inventory += dropped
            res.warnings.append(f"{dropped} inventory levels skipped: SKU not a known variant")
        out["inventory"] = inv[keep]
    return ShopRecords(**out)
