"""Shopify admin CSV exports (orders, inventory) plus our ``suppliers.csv`` -> ShopRecords.

The merchant exports *Orders > Export* ("CSV for Excel, Numbers, or other spreadsheet
programs") and, optionally, *Products > Inventory > Export*, and writes a ``suppliers.csv``::

    sku,supplier,lead_time_days,lead_time_std_days,moq,case_pack,unit_cost
    TEE-BLK-M,Cotton Mill Ltd,21,4,50,10,6.20

Only ``sku``, ``supplier`` and ``lead_time_days`` are required (header names are matched
case-insensitively); blank optional cells default to ``lead_time_std_days`` 0, ``moq`` 1,
``case_pack`` 1 and no ``unit_cost``.

:func:`read_exports` either returns complete, validated records or raises
:class:`~connector.adapters.csv_errors.CsvImportError` naming the file, line and column to
fix. It reads nothing but the given files and writes nothing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from connector.adapters.csv_errors import CsvImportError, Row, read_rows
from core.channels import channel_for_source
from core.records import COLUMNS, ShopRecords

__all__ = [
    "read_exports", "ImportReport", "CsvImportError",
    "ORDER_COLUMNS", "INVENTORY_COLUMNS", "SUPPLIER_COLUMNS", "ONLINE_LOCATION",
]

log = logging.getLogger(__name__)

#: Required and optional (used) columns of each file, as written in its header.
ORDER_COLUMNS = {
    "required": ["Name", "Created at", "Lineitem quantity", "Lineitem sku", "Lineitem price"],
    "used": ["Id", "Email", "Accepts Marketing", "Currency", "Subtotal", "Total",
             "Discount Code", "Cancelled at", "Source", "Location", "Tags", "Phone",
             "Billing Name", "Refunded Amount", "Lineitem name", "Lineitem discount", "Vendor"],
}
INVENTORY_COLUMNS = {
    "required": ["SKU", "Location", "Available"],
    "used": ["Handle", "Title", "Option1 Value", "Option2 Value", "Option3 Value", "On hand",
             "Committed", "Incoming", "Unavailable"],
}
SUPPLIER_COLUMNS = {
    "required": ["sku", "supplier", "lead_time_days"],
    "used": ["lead_time_std_days", "moq", "case_pack", "unit_cost"],
}
#: Location given to orders whose Location cell is blank (online sales).
ONLINE_LOCATION = "Online"
_NOT_STOCKED = "not stocked"
_UTC = "datetime64[ns, UTC]"
_DTYPES = {  # other columns stay object (str or None)
    "variants": {"price": "float64", "unit_cost": "float64"},
    "supplier_items": {"unit_cost": "float64", "lead_time_days": "float64",
                       "lead_time_std_days": "float64", "moq": "Int64", "case_pack": "Int64"},
    "customers": {"created_at": _UTC, "accepts_marketing": "boolean"},
    "orders": {"created_at": _UTC, "processed_at": _UTC, "cancelled_at": _UTC,
               "subtotal": "float64", "total": "float64"},
    "order_lines": {"quantity": "int64", "refunded_quantity": "int64", "price": "float64",
                    "discount": "float64"},
    "inventory": {"date": "datetime64[ns]", "available": "int64", "on_hand": "int64",
                  "incoming": "Int64", "committed": "Int64"},
}
_DEFAULT_OPTION = "Default Title"


@dataclass
class ImportReport:
    """What was imported with a caveat; :func:`read_exports` logs :meth:`messages`.

    Pass an instance as ``read_exports(..., report=ImportReport())`` to inspect it.

    Attributes:
        lines_without_sku: Orders-file lines of line items without a SKU (skipped).
        inventory_without_sku: Inventory-file lines without a SKU (skipped).
        not_stocked: Number of inventory rows marked "not stocked" (skipped).
        negative_available: (SKU, location name) pairs with negative Available (kept).
        refunded_orders: Names of orders with a Refunded Amount above 0.
    """

    lines_without_sku: list[int] = field(default_factory=list)
    inventory_without_sku: list[int] = field(default_factory=list)
    not_stocked: int = 0
    negative_available: list[tuple[str, str]] = field(default_factory=list)
    refunded_orders: list[str] = field(default_factory=list)

    def messages(self) -> list[str]:
        """Return one human-readable warning per kind of caveat found."""
        pairs = [f"{sku} at {loc}" for sku, loc in self.negative_available]
        kinds = [
            (self.lines_without_sku, "order line item(s) without a SKU skipped (orders file "
                                     "lines {})"),
            (self.inventory_without_sku, "inventory row(s) without a SKU skipped (lines {})"),
            (pairs, "item(s) oversold (negative Available), kept: {}"),
            (self.refunded_orders, "order(s) with refunds ({}); the export has no refunded "
                                   "quantity per line, so refunded_quantity is 0"),
        ]
        out = [f"{len(items)} " + text.format(_some(items)) for items, text in kinds if items]
        if self.not_stocked:
            out.append(f"{self.not_stocked} inventory row(s) marked 'not stocked' skipped")
        return out


def _some(items: list, limit: int = 5) -> str:
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


class _Locations:
    """Location names -> external ids, applying the caller's renames; remembers kinds."""

    def __init__(self, renames: dict | None):
        for old, new in (renames or {}).items():
            if not isinstance(old, str) or not isinstance(new, str) or not new.strip():
                raise ValueError(f"location_names must map names to non-blank names: {old!r}")
        self.renames = {old.strip(): new.strip() for old, new in (renames or {}).items()}
        self.rows: dict[str, dict] = {}

    def add(self, name: str, *, store: bool) -> str:
        name = self.renames.get(name, name)
        ext = f"loc:{name}"
        row = self.rows.setdefault(ext, {"external_id": ext, "name": name, "kind": "warehouse"})
        if store:
            row["kind"] = "store"
        return ext


def read_exports(orders: str | Path, inventory: str | Path | None = None,
                 suppliers: str | Path | None = None, *, location_names: dict | None = None,
                 snapshot_date: date | str | None = None,
                 report: ImportReport | None = None) -> ShopRecords:
    """Read Shopify's orders export (and optionally inventory and suppliers files).

    Orders: rows are grouped by ``Name``; order-level fields are taken from the order's first
    row (Shopify leaves them blank on its further line-item rows; later values are ignored).
    An order's rows must be adjacent, as Shopify writes them. The order's external id is
    ``Id`` (digits) or else ``Name``; ``processed_at`` is ``Created at``. Line items without a
    SKU (custom items, tips) are skipped and reported; line ids are ``<order id>:<n>`` where
    ``n`` is the row's 1-based position within the order, skipped rows included. The export
    has no refunded quantity per line, so ``refunded_quantity`` is 0 (orders with a Refunded
    Amount are reported); cancelled orders keep their lines and carry ``cancelled_at``.
    Rows identical in every cell are rejected as duplicates. ``source`` is ``Source`` as
    exported and ``channel`` its :mod:`core.channels` value. The inventory export has no
    reserved quantity (it is inside ``Unavailable``) and no tracked flag, so those stay
    unknown.

    Customers are keyed by lower-cased email (``email:<email>``); ``created_at`` is their
    first order; consent, names (``Billing Name`` split at the first space) and phone come
    from their latest order that has them. Orders without email have no customer.

    Locations: ``loc:<name>`` from ``Location``; orders with a blank Location go to
    :data:`ONLINE_LOCATION`. A location used by a ``pos`` order is a ``store``, any other a
    ``warehouse``. ``location_names`` renames locations in both exports before ids are made,
    e.g. ``{"Online": "Main Warehouse"}`` books online sales to the warehouse.

    Inventory: products by ``Handle`` (``handle:<handle>``), variants by SKU (``sku:<SKU>``,
    title ``Title - Option1 / Option2``), one snapshot per SKU and location dated
    ``snapshot_date`` (default today). Rows whose Available is "not stocked" are skipped;
    negative Available and On hand (overselling) are kept and reported. Without ``On hand``
    it is Available + Committed + Unavailable. SKUs sold but absent from the inventory export
    (or every SKU, without one) get a product and variant ``sku:<SKU>`` titled by their latest
    ``Lineitem name``; variant prices are the latest line price, vendors the latest ``Vendor``.

    Args:
        orders: The orders export.
        inventory: The inventory export, if any.
        suppliers: ``suppliers.csv``, if any; every SKU in it must appear in another file.
        location_names: Renames of location names, old -> new.
        snapshot_date: Day of the inventory snapshot (date or ISO string); default today.
        report: Filled with the skipped and doubtful rows on success (they are also logged
            as warnings).

    Returns:
        Validated records.

    Raises:
        CsvImportError: for any problem in the files (file, line, column and what to fix).
        ValueError: if ``location_names`` is not a mapping of names to names.
    """
    locations = _Locations(location_names)
    found = ImportReport()
    out = _read_orders(orders, locations, found)
    products: dict[str, dict] = {}
    variants: dict[str, dict] = {}
    inventory_rows: list[dict] = []
    if inventory is not None:
        day = pd.Timestamp(snapshot_date if snapshot_date is not None else date.today())
        day = (day.tz_localize(None) if day.tzinfo else day).normalize()
        products, variants, inventory_rows = _read_inventory(inventory, day, locations, found)
    for sku, info in out["skus"].items():
        if sku not in variants:
            products[f"sku:{sku}"] = {"external_id": f"sku:{sku}", "title": info["title"]}
            variants[sku] = {"external_id": f"sku:{sku}", "product_external_id": f"sku:{sku}",
                             "sku": sku, "title": info["title"]}
        variants[sku]["price"] = info["price"]
        product = products[variants[sku]["product_external_id"]]
        product["vendor"] = product.get("vendor") or info["vendor"]
    supplier_rows, item_rows = ([], []) if suppliers is None else _read_suppliers(
        suppliers, set(variants))
    rows = {"locations": list(locations.rows.values()), "products": list(products.values()),
            "variants": list(variants.values()), "suppliers": supplier_rows,
            "supplier_items": item_rows, "customers": out["customers"],
            "orders": out["orders"], "order_lines": out["lines"], "inventory": inventory_rows}
    records = ShopRecords(**{name: _frame(name, r) for name, r in rows.items()}).validate()
    for message in found.messages():
        log.warning("%s", message)
    if report is not None:
        vars(report).update(vars(found))
    return records


def _frame(name: str, rows: list[dict]) -> pd.DataFrame:
    """Build an entity frame with exactly ``COLUMNS[name]``, typed as in :data:`_DTYPES`."""
    frame = pd.DataFrame(rows, columns=COLUMNS[name]).astype(object)
    frame = frame.where(frame.notna(), None)
    return frame.astype(_DTYPES.get(name, {}))


def _group_orders(rows: list[Row]) -> dict[str, list[Row]]:
    """Group rows by order Name, rejecting exact duplicates and orders split apart."""
    seen: dict[tuple[str, ...], int] = {}
    groups: dict[str, list[Row]] = {}
    previous = None
    for row in rows:
        key = tuple(cell.strip() for cell in row.cells.values())
        if key in seen:
            raise row.error(None, f"duplicate line item: this row repeats line {seen[key]} "
                                  "exactly; delete one of the two rows")
        seen[key] = row.line
        name = row.text("Name", required=True, what="the order name, like #1001")
        if name in groups and name != previous:
            raise row.error("Name", f"order {name} started on line {groups[name][0].line} but "
                                    "other orders come between its rows; Shopify writes an "
                                    "order's rows together: was the file sorted, or two "
                                    "exports pasted together?")
        groups.setdefault(name, []).append(row)
        previous = name
    return groups


def _read_orders(path: str | Path, locations: _Locations, report: ImportReport) -> dict:
    """Parse the orders export into order, line and customer rows plus per-SKU details."""
    _, rows = read_rows(path, required=ORDER_COLUMNS["required"], used=ORDER_COLUMNS["used"])
    orders: list[dict] = []
    lines: list[dict] = []
    customers: dict[str, dict] = {}
    skus: dict[str, dict] = {}
    order_ids: dict[str, Row] = {}
    for name, group in _group_orders(rows).items():
        head = group[0]
        created = head.timestamp("Created at", required=True)
        order_id = head.text("Id")
        if order_id is not None and not order_id.isdigit():
            raise head.error("Id", f"'{order_id}' is not a Shopify order id (digits only); a "
                                   "spreadsheet may have rewritten it: export the orders again")
        ext = order_id or name
        if ext in order_ids:
            raise head.error("Id" if order_id else "Name",
                             f"order id {ext} is also used by the order on line "
                             f"{order_ids[ext].line}")
        order_ids[ext] = head
        source = head.text("Source")
        location = head.text("Location")
        is_pos = source is not None and source.lower() == "pos"
        email, accepts = head.text("Email"), head.yes_no("Accepts Marketing")
        customer_ext = None
        if email is not None:
            email = email.lower()
            customer_ext = f"email:{email}"
            _add_customer(customers, customer_ext, email, created, accepts, head)
        refunded = head.number("Refunded Amount", minimum=0, what="an amount")
        if refunded:
            report.refunded_orders.append(name)
        orders.append({
            "external_id": ext, "name": name, "created_at": created, "processed_at": created,
            "cancelled_at": head.timestamp("Cancelled at"), "source": source,
            "location_external_id": locations.add(location or ONLINE_LOCATION,
                                                  store=is_pos and location is not None),
            "customer_external_id": customer_ext, "currency": head.text("Currency"),
            "subtotal": head.number("Subtotal", minimum=0, what="an amount"),
            "total": head.number("Total", minimum=0, what="an amount"),
            "discount_codes": head.text("Discount Code"), "tags": head.text("Tags"),
            "channel": channel_for_source(source) if source is not None else None,
        })
        for position, row in enumerate(group, start=1):
            sku = row.text("Lineitem sku")
            if sku is None:
                report.lines_without_sku.append(row.line)
                continue
            price = row.number("Lineitem price", required=True, minimum=0, what="a unit price")
            lines.append({
                "external_id": f"{ext}:{position}", "order_external_id": ext, "sku": sku,
                "quantity": row.whole("Lineitem quantity", required=True, minimum=1,
                                      what="a quantity of at least 1"),
                "refunded_quantity": 0, "price": price,
                "discount": row.number("Lineitem discount", minimum=0,
                                       what="a discount amount") or 0.0,
            })
            when = (created, row.line)
            info = skus.get(sku)
            if info is None or when >= info["when"]:
                skus[sku] = {"when": when, "price": price,
                             "title": row.text("Lineitem name") or sku,
                             "vendor": row.text("Vendor") or (info or {}).get("vendor")}
    return {"orders": orders, "lines": lines, "skus": skus,
            "customers": [{k: v for k, v in c.items() if k != "_latest"}
                          for c in customers.values()]}


def _add_customer(customers: dict[str, dict], ext: str, email: str, created: pd.Timestamp,
                  accepts: bool | None, head: Row) -> None:
    """Add or update a customer from one of their orders (first order time, latest details)."""
    customer = customers.setdefault(ext, {"external_id": ext, "email": email,
                                          "created_at": created, "_latest": None})
    customer["created_at"] = min(customer["created_at"], created)
    billing = head.text("Billing Name")
    first, last = (billing.split(None, 1) + [None])[:2] if billing else (None, None)
    details = {"accepts_marketing": accepts, "first_name": first, "last_name": last,
               "phone": head.text("Phone")}
    latest = customer["_latest"] is None or created >= customer["_latest"]
    for key, value in details.items():
        if value is not None and (latest or customer.get(key) is None):
            customer[key] = value
    if latest:
        customer["_latest"] = created


def _inventory_qty(row: Row, column: str, *, negative: bool = False) -> int | None:
    raw = row.text(column)
    if raw is None or raw.lower() == _NOT_STOCKED:
        return None
    return row.whole(column, minimum=None if negative else 0,
                     what="a whole number of units" + ("" if negative else ", 0 or more"))


def _read_inventory(path: str | Path, day: pd.Timestamp, locations: _Locations,
                    report: ImportReport) -> tuple[dict, dict, list[dict]]:
    """Parse the inventory export into products, variants (by SKU) and snapshot rows."""
    _, rows = read_rows(path, required=INVENTORY_COLUMNS["required"],
                        used=INVENTORY_COLUMNS["used"])
    products: dict[str, dict] = {}
    variants: dict[str, dict] = {}
    first_line: dict[str, Row] = {}
    snapshots: dict[tuple[str, str], dict] = {}
    seen: dict[tuple[str, str], Row] = {}
    for row in rows:
        sku = row.text("SKU")
        if sku is None:
            report.inventory_without_sku.append(row.line)
            continue
        handle, title = row.text("Handle"), row.text("Title")
        product_ext = f"handle:{handle}" if handle else f"sku:{sku}"
        if sku in variants:
            if variants[sku]["product_external_id"] != product_ext:
                raise row.error("SKU", f"SKU '{sku}' also belongs to another product on line "
                                       f"{first_line[sku].line}; give every variant its own SKU")
        else:
            options = [row.text(f"Option{i} Value") for i in (1, 2, 3)]
            options = [o for o in options if o and o != _DEFAULT_OPTION]
            name = title or handle or sku
            variants[sku] = {"external_id": f"sku:{sku}", "product_external_id": product_ext,
                             "sku": sku, "title": " - ".join([name, " / ".join(options)])
                             if options else name}
            first_line[sku] = row
            products.setdefault(product_ext, {"external_id": product_ext, "handle": handle,
                                              "title": name})
        location = row.text("Location", required=True, what="a location name")
        loc_ext = locations.add(location, store=False)
        if (sku, loc_ext) in seen:
            raise row.error("Location", f"SKU '{sku}' at '{location}' already appears on line "
                                        f"{seen[sku, loc_ext].line}; delete one of the rows")
        seen[sku, loc_ext] = row
        raw = row.text("Available", required=True, what="a whole number or 'not stocked'")
        if raw.lower() == _NOT_STOCKED:
            report.not_stocked += 1
            continue
        available = row.whole("Available", what="a whole number of units")
        if available < 0:
            report.negative_available.append((sku, location))
        committed = _inventory_qty(row, "Committed")
        on_hand = _inventory_qty(row, "On hand", negative=True)
        if on_hand is None:
            on_hand = available + (committed or 0) + (_inventory_qty(row, "Unavailable") or 0)
        snapshots[sku, loc_ext] = {
            "sku": sku, "location_external_id": loc_ext, "date": day, "available": available,
            "on_hand": on_hand, "incoming": _inventory_qty(row, "Incoming"),
            "committed": committed,
        }
    return products, variants, list(snapshots.values())


def _read_suppliers(path: str | Path, known_skus: set[str]) -> tuple[list[dict], list[dict]]:
    """Parse ``suppliers.csv`` into supplier and supplier-item rows."""
    _, rows = read_rows(path, required=SUPPLIER_COLUMNS["required"],
                        used=SUPPLIER_COLUMNS["used"], fold_case=True)
    suppliers: dict[str, dict] = {}
    items: dict[tuple[str, str], dict] = {}
    lines: dict[tuple[str, str], int] = {}
    for row in rows:
        sku = row.text("sku", required=True, what="a SKU")
        if sku not in known_skus:
            raise row.error("sku", f"unknown SKU '{sku}': it is in neither the orders export "
                                   "nor the inventory export; fix the SKU or delete the row")
        name = row.text("supplier", required=True, what="the supplier's name")
        ext = f"supplier:{name}"
        if (ext, sku) in lines:
            raise row.error("sku", f"SKU '{sku}' from '{name}' already appears on line "
                                   f"{lines[ext, sku]}; delete one of the rows")
        lines[ext, sku] = row.line
        suppliers.setdefault(ext, {"external_id": ext, "name": name})
        std = row.number("lead_time_std_days", minimum=0, what="a number of days, 0 or more")
        moq = row.whole("moq", minimum=1, what="a minimum order quantity of at least 1")
        pack = row.whole("case_pack", minimum=1, what="a case pack of at least 1 unit")
        items[ext, sku] = {
            "supplier_external_id": ext, "sku": sku,
            "lead_time_days": row.number("lead_time_days", required=True, above=0,
                                         what="a lead time in days, more than 0"),
            "lead_time_std_days": 0.0 if std is None else std,
            "moq": 1 if moq is None else moq, "case_pack": 1 if pack is None else pack,
            "unit_cost": row.number("unit_cost", minimum=0, what="a cost, 0 or more"),
        }
    return list(suppliers.values()), list(items.values())
