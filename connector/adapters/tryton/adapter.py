"""Turn Tryton's catalog, stock and suppliers into :class:`core.records.ShopRecords`, push
restock's purchase orders as draft Tryton purchases, and read back what was received.

Mapping (external ids are prefixed so they never collide with Shopify's):

* ``product.product`` (goods with a code) -> variant ``tryton:<id>``, ``sku`` = product code
  (Tryton builds it as template code + variant ``suffix_code``), ``price`` =
  ``list_price_used``, ``unit_cost`` = ``cost_price``; its template -> product
  ``tryton:template:<id>``.
* ``stock.location`` of type warehouse -> location ``tryton:<id>``.
* quantity per warehouse (``product.product.quantity`` read with the context ``locations =
  [warehouse]`` and ``stock_date_end = today``, children included) -> one ``inventory`` row
  per SKU and warehouse dated today, ``on_hand = available = quantity``.
* parties named in ``purchase.product_supplier`` -> supplier ``tryton:<party id>``;
  each product-supplier -> supplier item with ``lead_time_days`` =
  ``lead_time_used`` (the record's lead time, else the party's; a ``timedelta``, sent as
  ``{"__class__": "timedelta", "seconds": ...}``) / 86 400, ``supplier_sku`` = its code and
  ``unit_cost`` = the price of its lowest quantity break.
"""
from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any, Iterable

import pandas as pd

from core.records import ShopRecords

from .client import TrytonClient, TrytonError

__all__ = ["pull", "push_purchase", "pull_receipts", "tryton_id", "external_id",
           "TrytonMappingError"]

log = logging.getLogger(__name__)

PAGE = 500
PREFIX = "tryton:"


class TrytonMappingError(TrytonError):
    """restock data that has no counterpart in Tryton (an unknown SKU, a party without
    address, an order that is not approved)."""

    permanent = True


def external_id(record_id: int, kind: str | None = None) -> str:
    """``tryton:<id>`` (or ``tryton:<kind>:<id>``)."""
    return f"{PREFIX}{kind}:{record_id}" if kind else f"{PREFIX}{record_id}"


def tryton_id(external: str | None) -> int | None:
    """The Tryton record id in an external id made by :func:`external_id`, else None."""
    if not external or not str(external).startswith(PREFIX):
        return None
    tail = str(external).rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _read_all(client: TrytonClient, model: str, domain: list, fields: list[str],
              context: dict | None = None, order: list | None = None) -> list[dict]:
    """``search_read`` page by page (ordered by id so pages never overlap)."""
    rows: list[dict] = []
    while True:
        page = client.search_read(model, domain, fields, offset=len(rows), limit=PAGE,
                                  order=order or [["id", "ASC"]], context=context)
        rows.extend(page)
        if len(page) < PAGE:
            return rows


def _money(value) -> float | None:
    return None if value is None else float(value)


def _days(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, dt.timedelta):
        return value.total_seconds() / 86400.0
    return float(value) / 86400.0  # seconds, if a server ever sends a bare number


def pull(client: TrytonClient, today: dt.date | None = None,
         default_lead_time_days: float | None = None) -> ShopRecords:
    """Read products, warehouses, stock per warehouse, suppliers and supplier items.

    Args:
        client: A client logged in to the Tryton database.
        today: The stock date and the inventory rows' date (default: today).
        default_lead_time_days: Lead time for product-supplier records that have none (nor
            their party); None drops such records, with a warning.

    Returns:
        Validated records with locations, products, variants, inventory, suppliers and
        supplier_items filled.
    """
    today = today or dt.date.today()
    goods = [["type", "=", "goods"], ["code", "!=", None]]
    prods = _read_all(client, "product.product", goods,
                      ["code", "name", "template", "cost_price", "list_price_used"])
    template_ids = sorted({p["template"] for p in prods})
    templates = client.read("product.template", template_ids, ["name", "code"]) \
        if template_ids else []
    products = pd.DataFrame(
        [{"external_id": external_id(t["id"], "template"), "handle": t.get("code"),
          "title": t["name"], "status": "active"} for t in templates],
        columns=["external_id", "handle", "title", "status"])
    variants = pd.DataFrame(
        [{"external_id": external_id(p["id"]), "product_external_id":
          external_id(p["template"], "template"), "sku": p["code"], "title": p["name"],
          "price": _money(p.get("list_price_used")), "unit_cost": _money(p.get("cost_price")),
          "status": "active"} for p in prods],
        columns=["external_id", "product_external_id", "sku", "title", "price", "unit_cost",
                 "status"])
    sku_of = {p["id"]: p["code"] for p in prods}

    warehouses = _read_all(client, "stock.location", [["type", "=", "warehouse"]],
                           ["name", "code"])
    locations = pd.DataFrame(
        [{"external_id": external_id(w["id"]), "name": w["name"], "kind": "warehouse"}
         for w in warehouses], columns=["external_id", "name", "kind"])
    day = pd.Timestamp(today)
    stock = []
    for w in warehouses:
        ctx = {"locations": [w["id"]], "stock_date_end": today, "with_childs": True}
        for row in _read_all(client, "product.product", goods, ["quantity"], context=ctx):
            qty = float(row.get("quantity") or 0.0)
            stock.append({"sku": sku_of[row["id"]], "location_external_id":
                          external_id(w["id"]), "date": day, "available": qty,
                          "on_hand": qty})
    inventory = pd.DataFrame(stock, columns=["sku", "location_external_id", "date",
                                             "available", "on_hand"])

    suppliers, items = _pull_suppliers(client, sku_of, default_lead_time_days)
    return ShopRecords(locations=locations, products=products, variants=variants,
                       inventory=inventory, suppliers=suppliers,
                       supplier_items=items).validate()


def _pull_suppliers(client: TrytonClient, sku_of: dict[int, str],
                    default_lead_time_days: float | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    links = _read_all(client, "purchase.product_supplier", [],
                      ["party", "template", "product", "code", "lead_time_used", "prices",
                       "currency.code"], order=[["sequence", "ASC"], ["id", "ASC"]])
    price_ids = [i for link in links for i in link.get("prices") or []]
    prices: dict[int, list[tuple[float, Decimal]]] = {}
    if price_ids:
        for p in client.read("purchase.product_supplier.price", price_ids,
                             ["product_supplier", "quantity", "unit_price"]):
            prices.setdefault(p["product_supplier"], []).append(
                (p["quantity"] or 0.0, p["unit_price"]))
    by_template: dict[int, list[int]] = {}
    templates = sorted({link["template"] for link in links if not link.get("product")})
    if templates:
        for p in _read_all(client, "product.product", [["template", "in", templates]],
                           ["template"]):
            by_template.setdefault(p["template"], []).append(p["id"])
    party_ids = sorted({link["party"] for link in links})
    parties = client.read("party.party", party_ids, ["name", "email"]) if party_ids else []
    currency: dict[int, str] = {}
    rows, seen, dropped = [], set(), 0
    for link in links:
        currency.setdefault(link["party"], (link.get("currency.") or {}).get("code"))
        lead = _days(link.get("lead_time_used"))
        if lead is None:
            lead = default_lead_time_days
        if lead is None:
            dropped += 1
            continue
        breaks = sorted(prices.get(link["id"], []), key=lambda b: b[0])
        cost = float(breaks[0][1]) if breaks else None
        targets = [link["product"]] if link.get("product") else by_template.get(
            link["template"], [])
        for pid in targets:
            key = (link["party"], pid)
            if pid not in sku_of or key in seen:
                continue  # a service product, or a lower-priority duplicate
            seen.add(key)
            rows.append({"supplier_external_id": external_id(link["party"]),
                         "sku": sku_of[pid], "supplier_sku": link.get("code"),
                         "unit_cost": cost, "lead_time_days": lead})
    if dropped:
        log.warning("tryton: %d product-supplier record(s) have no lead time and were left "
                    "out (pass default_lead_time_days to use a default)", dropped)
    suppliers = pd.DataFrame(
        [{"external_id": external_id(p["id"]), "name": p["name"],
          "email": p.get("email") or None, "currency": currency.get(p["id"])}
         for p in parties], columns=["external_id", "name", "email", "currency"])
    items = pd.DataFrame(rows, columns=["supplier_external_id", "sku", "supplier_sku",
                                        "unit_cost", "lead_time_days"])
    return suppliers, items


def _field(obj: Any, name: str, default=None):
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def push_purchase(client: TrytonClient, po: Any, lines: Iterable[Any], supplier_party_id: int,
                  warehouse_id: int, idempotency_key: str) -> int:
    """Create a draft ``purchase.purchase`` for ``po`` unless one with this key exists.

    The key goes into the purchase's ``reference``; a purchase already carrying it is
    returned as is, so retrying after a lost answer never creates a second purchase.

    Args:
        client: A client logged in to the Tryton database.
        po: The purchase order: a ``PurchaseOrder``, a delivery ``OrderDocument`` or a dict
            (``number``; ``status`` and ``expected_at`` / ``expected_date`` if known).
        lines: Its lines (``sku``, ``quantity``, ``unit_cost``; objects or dicts).
        supplier_party_id: The supplier's ``party.party`` id.
        warehouse_id: The receiving warehouse's ``stock.location`` id.
        idempotency_key: The order's idempotency key.

    Returns:
        The Tryton purchase id.

    Raises:
        TrytonMappingError: the order is not approved, a SKU is unknown in Tryton, or the
            party has no address.
        TrytonError: the server refused the purchase.
    """
    existing = client.search("purchase.purchase", [["reference", "=", idempotency_key]],
                             limit=1)
    if existing:
        log.info("tryton: purchase %s already holds key %s", existing[0], idempotency_key)
        return existing[0]
    status = _field(po, "status")
    if status is not None and status not in ("approved", "sent"):
        raise TrytonMappingError(f"purchase order {_field(po, 'number')} is {status}: only "
                                 "approved orders go to Tryton")
    lines = list(lines)
    skus = sorted({str(_field(line, "sku")) for line in lines})
    found = _read_all(client, "product.product", [["code", "in", skus]],
                      ["code", "default_uom", "cost_price"])
    by_sku = {p["code"]: p for p in found}
    missing = [s for s in skus if s not in by_sku]
    if missing:
        raise TrytonMappingError(f"purchase order {_field(po, 'number')}: SKUs not in Tryton "
                                 f"(no product with that code): {', '.join(missing)}")
    addresses = client.search("party.address", [["party", "=", supplier_party_id]],
                              limit=1, order=[["sequence", "ASC"], ["id", "ASC"]])
    if not addresses:
        raise TrytonMappingError(f"Tryton party {supplier_party_id} has no address to invoice "
                                 "to: add one in Tryton")
    expected = _field(po, "expected_at", _field(po, "expected_date"))
    new_lines = []
    for line in lines:
        product = by_sku[str(_field(line, "sku"))]
        cost = _field(line, "unit_cost")
        if cost is None:
            cost = product.get("cost_price") or 0
        values = {"type": "line", "product": product["id"],
                  "quantity": float(_field(line, "quantity")),
                  "unit": product["default_uom"],
                  "unit_price": Decimal(str(cost)).quantize(Decimal("0.0001"))}
        if expected is not None:
            values.update({"delivery_date_edit": True, "delivery_date_store": expected})
        new_lines.append(values)
    purchase, = client.create("purchase.purchase", [{
        "party": supplier_party_id, "invoice_address": addresses[0],
        "warehouse": warehouse_id, "reference": idempotency_key,
        "description": f"restock {_field(po, 'number')}",
        "lines": [["create", new_lines]]}])
    log.info("tryton: created purchase %s for %s", purchase, _field(po, "number"))
    return purchase


def pull_receipts(client: TrytonClient, since: dt.date | None = None) -> list[dict]:
    """Received quantities: done moves from a supplier location that belong to a purchase.

    Args:
        client: A client logged in to the Tryton database.
        since: Only moves whose effective date is on or after this day.

    Returns:
        One dict per move: ``reference`` (the purchase's reference, i.e. restock's
        idempotency key), ``purchase_id``, ``move_id``, ``sku``, ``quantity`` (in the
        product's default unit) and ``effective_date``.
    """
    domain = [["from_location.type", "=", "supplier"], ["state", "=", "done"],
              ["origin", "like", "purchase.line,%"]]
    if since is not None:
        domain.append(["effective_date", ">=", since])
    moves = _read_all(client, "stock.move", domain,
                      ["internal_quantity", "effective_date", "product.code",
                       "origin.purchase.reference"])
    out = []
    for m in moves:
        purchase = ((m.get("origin.") or {}).get("purchase.") or {})
        out.append({"reference": purchase.get("reference"), "purchase_id": purchase.get("id"),
                    "move_id": m["id"], "sku": (m.get("product.") or {}).get("code"),
                    "quantity": float(m["internal_quantity"]),
                    "effective_date": m.get("effective_date")})
    return out
