"""ShipBob as a warehouse: inventory in, purchase orders out as WROs, receipts polled back.

ShipBob's webhooks carry no inventory or receiving events, so both are polled.

Quantity mapping (``GET /2026-01/inventory-level/locations``: one
``Inventory.FulfillmentCenterResponse`` per inventory item x fulfillment center), into
``ShopRecords.inventory`` (one row per SKU x fulfillment center x snapshot day):

=====================  ===============================  =======================================
restock column         ShipBob field                    ShipBob's meaning (the description)
=====================  ===============================  =======================================
``available``          ``fulfillable_quantity``         available to fulfill new orders
``on_hand``            ``on_hand_quantity``             physically present at the location
``committed``          ``committed_quantity``           reserved for existing orders
``incoming``           ``awaiting_quantity``            expected to arrive (open WROs, transfers)
(not mapped)           ``internal_transfer_quantity``   in transit to *or from* the location:
                                                        no direction, so not counted as incoming
=====================  ===============================  =======================================

The account-wide totals of ``GET /inventory-level`` also have ``total_backordered_quantity``,
``total_exception_quantity`` and ``total_sellable_quantity`` (fulfillable + awaiting); they
have no per-location value and are not mapped. Several ShipBob inventory items with the same
SKU (rare; bundles are tracked per component) are summed. Items without a SKU are skipped.

Locations are the fulfillment centers: ``external_id = "shipbob:<location_id>"``, kind
``warehouse``.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timezone
from typing import Any, Iterable, Mapping

import pandas as pd

from core.records import ShopRecords

from .client import ShipBobClient

__all__ = [
    "LOCATION_PREFIX",
    "QUANTITY_MAP",
    "inventory_ids_by_sku",
    "WRO_TO_PO_STATUS",
    "location_external_id",
    "poll_receiving",
    "pull_inventory",
    "push_purchase_order",
    "ShipBobMappingError",
]

log = logging.getLogger(__name__)

LOCATION_PREFIX = "shipbob:"
#: restock inventory column -> ShipBob per-location field.
QUANTITY_MAP = {
    "available": "fulfillable_quantity",
    "on_hand": "on_hand_quantity",
    "committed": "committed_quantity",
    "incoming": "awaiting_quantity",
}
#: ShipBob ``Receiving.ReceivingStatus`` -> restock PO status (see ``core.storage.PO_STATUSES``),
#: before received quantities are looked at (see :func:`poll_receiving`).
WRO_TO_PO_STATUS = {
    "Completed": "received",
    "Cancelled": "cancelled",
}
_SENDABLE_PO_STATUSES = ("approved", "sent", "partially_received")


class ShipBobMappingError(ValueError):
    """restock data that cannot be expressed in ShipBob's terms (unknown SKU, no date...)."""


def location_external_id(location_id: int | str) -> str:
    """``shipbob:<fulfillment center id>``, the external id of a ShipBob location."""
    return f"{LOCATION_PREFIX}{location_id}"


def pull_inventory(client: ShipBobClient, as_of: date | None = None, *,
                   page_size: int = 250) -> ShopRecords:
    """Inventory snapshots per SKU x fulfillment center, and the fulfillment centers.

    Args:
        client: A ShipBob client.
        as_of: The snapshot's day (the shop's calendar day); today in UTC by default.
        page_size: Items per page requested from ShipBob.

    Returns:
        ``ShopRecords`` with ``locations`` and ``inventory`` filled (validated).
    """
    day = pd.Timestamp(as_of or datetime.now(timezone.utc).date())
    totals: dict[tuple[str, str], dict[str, int]] = {}
    names: dict[str, str] = {}
    for item in client.inventory_levels_by_location(page_size=page_size):
        sku = item.get("sku")
        if not sku:
            log.warning("shipbob: inventory item %s has no SKU; skipped", item.get("inventory_id"))
            continue
        for loc in item.get("locations") or []:
            ext = location_external_id(loc["location_id"])
            names.setdefault(ext, loc.get("name") or ext)
            row = totals.setdefault((sku, ext), {c: 0 for c in QUANTITY_MAP})
            for column, field in QUANTITY_MAP.items():
                row[column] += int(loc.get(field) or 0)
    inventory = pd.DataFrame(
        [{"sku": sku, "location_external_id": ext, "date": day, **qty}
         for (sku, ext), qty in sorted(totals.items())],
        columns=["sku", "location_external_id", "date", *QUANTITY_MAP])
    inventory["date"] = pd.to_datetime(inventory["date"])
    locations = pd.DataFrame(
        [{"external_id": ext, "name": name, "kind": "warehouse"}
         for ext, name in sorted(names.items())], columns=["external_id", "name", "kind"])
    return ShopRecords(locations=locations, inventory=inventory).validate()


def inventory_ids_by_sku(client: ShipBobClient) -> dict[str, int]:
    """SKU -> ShipBob ``inventory_id`` from the inventory levels (the first id per SKU)."""
    out: dict[str, int] = {}
    for item in client.inventory_levels():
        if item.get("sku"):
            out.setdefault(item["sku"], int(item["inventory_id"]))
    return out


def push_purchase_order(client: ShipBobClient, po: Any, lines: Iterable[Any],
                        fc_id: int, *, inventory_ids: Mapping[str, int] | None = None,
                        expected_arrival: date | datetime | None = None,
                        package_type: str = "Package",
                        box_packaging_type: str = "EverythingInOneBox",
                        tracking_number: str | None = None) -> int:
    """Send an approved purchase order to ShipBob as a warehouse receiving order (WRO).

    Idempotent: the WRO carries ``purchase_order_number = po.number`` and the client returns
    the existing WRO for that number instead of creating a second one.

    Args:
        client: A ShipBob client.
        po: A ``core.storage.PurchaseOrder`` (or anything with ``number``, ``status``,
            ``expected_at``).
        lines: Its ``PurchaseOrderLine`` rows (``sku``, ``quantity``).
        fc_id: ShipBob fulfillment center id to receive at.
        inventory_ids: SKU -> ShipBob inventory id; read from the inventory levels if None.
        expected_arrival: Overrides ``po.expected_at``.
        package_type: ``Package`` | ``Pallet`` | ``FloorLoadedContainer``.
        box_packaging_type: ``EverythingInOneBox`` | ``OneSkuPerBox`` | ``MultipleSkuPerBox``.
        tracking_number: Carrier tracking number of the boxes, if known.

    Returns:
        The WRO id.

    Raises:
        ShipBobMappingError: the PO is not approved, has no expected date or no positive
            line, or a SKU is unknown to ShipBob.
        ShipBobError: from the client.
    """
    if po.status not in _SENDABLE_PO_STATUSES:
        raise ShipBobMappingError(f"PO {po.number} is {po.status}: only an approved PO is "
                                  f"sent to ShipBob")
    arrival = expected_arrival or po.expected_at
    if arrival is None:
        raise ShipBobMappingError(f"PO {po.number} has no expected arrival date")
    quantities: dict[str, int] = {}
    for line in lines:
        if int(line.quantity) > 0:
            quantities[line.sku] = quantities.get(line.sku, 0) + int(line.quantity)
    if not quantities:
        raise ShipBobMappingError(f"PO {po.number} has no line with a positive quantity")
    ids = dict(inventory_ids) if inventory_ids is not None else inventory_ids_by_sku(client)
    unknown = sorted(set(quantities) - set(ids))
    if unknown:
        raise ShipBobMappingError(f"PO {po.number}: ShipBob has no inventory item for SKU "
                                  f"{', '.join(unknown)}")
    items: dict[int, int] = {}
    for sku, qty in quantities.items():
        items[ids[sku]] = items.get(ids[sku], 0) + qty
    wro = client.create_receiving_order(
        fulfillment_center_id=int(fc_id), items=items, expected_arrival_date=arrival,
        purchase_order_number=po.number, package_type=package_type,
        box_packaging_type=box_packaging_type, tracking_number=tracking_number)
    log.info("shipbob: PO %s -> WRO %s", po.number, wro["id"])
    return int(wro["id"])


def poll_receiving(client: ShipBobClient, wro_id: int) -> dict:
    """Read a WRO's status and what the warehouse received, per SKU.

    Returns:
        ``{"wro_id", "purchase_order_number", "status"`` (ShipBob's ``ReceivingStatus``),
        ``"po_status"`` (restock's: ``received`` when ShipBob says Completed, ``cancelled``
        when Cancelled, else ``partially_received`` once anything was received, else
        ``sent``), ``"received"``, ``"expected"``, ``"stowed"`` (SKU -> quantity)``}``.
        An item without a SKU is keyed ``inventory:<id>``.
    """
    wro = client.get_receiving_order(wro_id)
    received: dict[str, int] = {}
    expected: dict[str, int] = {}
    stowed: dict[str, int] = {}
    for item in wro.get("inventory_quantities") or []:
        key = item.get("sku") or f"inventory:{item.get('inventory_id')}"
        for target, field in ((received, "received_quantity"),
                              (expected, "expected_quantity"), (stowed, "stowed_quantity")):
            target[key] = target.get(key, 0) + int(item.get(field) or 0)
    status = wro.get("status")
    po_status = WRO_TO_PO_STATUS.get(status) or (
        "partially_received" if any(received.values()) else "sent")
    return {"wro_id": int(wro["id"]), "purchase_order_number": wro.get("purchase_order_number"),
            "status": status, "po_status": po_status, "received": received,
            "expected": expected, "stowed": stowed}
