"""What the ShipBob fake knows: fulfillment centers, inventory per FC, WROs, and fault knobs.

Ground truth for tests lives here. Quantities follow ShipBob's meanings (the description's
``Inventory.FulfillmentCenterResponse``): ``fulfillable = on_hand - committed`` unless set,
``awaiting`` grows when a WRO is created and shrinks as its items are received, which also
adds to ``on_hand`` and ``fulfillable``.
"""
from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

__all__ = ["Faults", "FakeRejection", "ShipBobState", "utc_stamp"]

LEVEL_FIELDS = ("fulfillable_quantity", "on_hand_quantity", "committed_quantity",
                "awaiting_quantity", "internal_transfer_quantity")


def utc_stamp(moment: datetime | None = None) -> str:
    """RFC 3339 UTC timestamp, second precision, as the fake writes every date-time."""
    return (moment or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeRejection(Exception):
    """A business rule refused the request: the fake answers ``status`` with field errors."""

    def __init__(self, status: int, title: str, errors: Mapping[str, list[str]] | None = None,
                 detail: str | None = None) -> None:
        super().__init__(title)
        self.status, self.title, self.errors, self.detail = status, title, dict(errors or {}), detail


@dataclass
class Faults:
    """Fault knobs, consumed by the app on each request.

    Attributes:
        error_rate: Fraction of requests answered ``error_status`` before being processed.
        error_status: The 5xx status used for ``error_rate``.
        seed: Seed of the generator that draws the errors (reproducible runs).
    """

    error_rate: float = 0.0
    error_status: int = 503
    seed: int = 0
    _throttles: list[float] = field(default_factory=list)
    _lost: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    _corrupt: dict[tuple[str, str], list[Callable[[Any], Any]]] = field(default_factory=dict)
    _rng: random.Random | None = None

    def throttle(self, count: int = 1, retry_after: float = 1) -> None:
        """Answer the next ``count`` requests 429 with ``Retry-After``/``x-retry-after``."""
        self._throttles.extend([retry_after] * count)

    def lose_response(self, method: str, template: str, count: int = 1,
                      status: int = 503) -> None:
        """Carry out the next ``count`` matching requests, then answer ``status`` instead."""
        self._lost.setdefault((method.upper(), template), []).extend([status] * count)

    def corrupt_response(self, method: str, template: str, mutate: Callable[[Any], Any],
                         count: int = 1) -> None:
        """Pass the next ``count`` matching response bodies through ``mutate`` *after* the
        fake's own validation: how a test makes the fake break the description on purpose."""
        self._corrupt.setdefault((method.upper(), template), []).extend([mutate] * count)

    # -- used by the app
    def next_throttle(self) -> float | None:
        return self._throttles.pop(0) if self._throttles else None

    def random_error(self) -> int | None:
        if self.error_rate <= 0:
            return None
        if self._rng is None:
            self._rng = random.Random(self.seed)
        return self.error_status if self._rng.random() < self.error_rate else None

    def lost_status(self, method: str, template: str) -> int | None:
        queue = self._lost.get((method, template))
        return queue.pop(0) if queue else None

    def corruption(self, method: str, template: str) -> Callable[[Any], Any] | None:
        queue = self._corrupt.get((method, template))
        return queue.pop(0) if queue else None


class ShipBobState:
    """Fulfillment centers, inventory items with levels per FC, and WROs. Thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.fulfillment_centers: dict[int, dict] = {}
        self.items: dict[int, dict] = {}  # inventory_id -> {"sku", "name", "levels": {fc: {}}}
        self.wros: dict[int, dict] = {}
        self._next_wro = 9001
        self._next_history = 1

    # ------------------------------------------------------------------ setup
    def add_fulfillment_center(self, fc_id: int, name: str, **fields: Any) -> dict:
        """Add an FC (``Receiving.FulfillmentCenterViewModel`` fields may be given)."""
        with self.lock:
            fc = {"id": int(fc_id), "name": name, "address1": None, "address2": None,
                  "city": None, "state": None, "country": "US", "zip_code": None,
                  "phone_number": None, "email": None, "timezone": "Central Standard Time"}
            fc.update(fields)
            self.fulfillment_centers[int(fc_id)] = fc
            return fc

    def add_inventory(self, inventory_id: int, sku: str, fc_id: int, *, on_hand: int = 0,
                      committed: int = 0, awaiting: int = 0, internal_transfer: int = 0,
                      fulfillable: int | None = None, name: str | None = None) -> None:
        """Set one item's levels at one FC (creating the item on first use)."""
        with self.lock:
            item = self.items.setdefault(int(inventory_id), {
                "sku": sku, "name": name or sku, "levels": {}})
            item["levels"][int(fc_id)] = {
                "on_hand_quantity": on_hand, "committed_quantity": committed,
                "awaiting_quantity": awaiting, "internal_transfer_quantity": internal_transfer,
                "fulfillable_quantity": on_hand - committed if fulfillable is None else fulfillable,
            }

    # ------------------------------------------------------------------ WROs
    def create_wro(self, body: dict) -> dict:
        """Create a WRO from a validated ``Receiving.CreateReceivingOrderModel``.

        Raises:
            FakeRejection: unknown fulfillment center or inventory item.
        """
        with self.lock:
            fc_id = body["fulfillment_center"]["id"]
            errors: dict[str, list[str]] = {}
            if fc_id not in self.fulfillment_centers:
                errors["fulfillment_center.id"] = [f"Fulfillment center {fc_id} does not exist"]
            expected: dict[int, int] = {}
            for b, box in enumerate(body["boxes"] or []):
                for i, entry in enumerate(box["box_items"] or []):
                    inv = entry["inventory_id"]
                    if inv not in self.items:
                        errors[f"boxes[{b}].box_items[{i}].inventory_id"] = [
                            f"Inventory {inv} does not exist"]
                    elif entry["quantity"] <= 0:
                        errors[f"boxes[{b}].box_items[{i}].quantity"] = [
                            "Quantity must be greater than 0"]
                    else:
                        expected[inv] = expected.get(inv, 0) + entry["quantity"]
            if not expected and not errors:
                errors["boxes"] = ["At least one box item is required"]
            if errors:
                raise FakeRejection(400, "One or more validation errors occurred.", errors)
            wro_id = self._next_wro
            self._next_wro += 1
            now = utc_stamp()
            self.wros[wro_id] = {
                "id": wro_id, "fc_id": fc_id, "status": "Awaiting", "insert_date": now,
                "last_updated_date": now, "body": body,
                "expected": expected, "received": {i: 0 for i in expected},
                "history": [],
            }
            self._history(wro_id, "Awaiting", now)
            for inv, qty in expected.items():
                levels = self._levels(inv, fc_id)
                levels["awaiting_quantity"] += qty
            return self.wro_view(wro_id)

    def receive(self, wro_id: int, quantities: Mapping[int | str, int],
                status: str | None = None) -> dict:
        """Test hook: the warehouse received more units (by inventory id or SKU).

        The status becomes ``status`` if given, else ``Completed`` once every item is fully
        received, else ``Processing``. Received units move from awaiting to on hand.
        """
        with self.lock:
            wro = self.wros[int(wro_id)]
            by_sku = {self.items[i]["sku"]: i for i in wro["expected"]}
            for key, qty in quantities.items():
                inv = by_sku[key] if isinstance(key, str) else int(key)
                wro["received"][inv] += qty
                levels = self._levels(inv, wro["fc_id"])
                levels["awaiting_quantity"] = max(0, levels["awaiting_quantity"] - qty)
                levels["on_hand_quantity"] += qty
                levels["fulfillable_quantity"] += qty
            done = all(wro["received"][i] >= q for i, q in wro["expected"].items())
            self.set_status(wro_id, status or ("Completed" if done else "Processing"))
            return self.wro_view(wro_id)

    def set_status(self, wro_id: int, status: str) -> None:
        """Test hook: move a WRO to a ``Receiving.ReceivingStatus``."""
        with self.lock:
            wro = self.wros[int(wro_id)]
            if wro["status"] != status:
                wro["status"] = status
                wro["last_updated_date"] = utc_stamp()
                self._history(int(wro_id), status, wro["last_updated_date"])

    def wro_view(self, wro_id: int) -> dict:
        """The WRO as ``Receiving.V2.WarehouseReceivingOrderViewModel``."""
        with self.lock:
            wro = self.wros[int(wro_id)]
            body = wro["body"]
            return {
                "id": wro["id"],
                "purchase_order_number": body.get("purchase_order_number"),
                "status": wro["status"],
                "package_type": body["package_type"],
                "box_packaging_type": body["box_packaging_type"],
                "expected_arrival_date": body["expected_arrival_date"],
                "insert_date": wro["insert_date"],
                "last_updated_date": wro["last_updated_date"],
                "box_labels_uri": f"/2026-01/receiving/{wro['id']}/labels",
                "external_sync_timestamp": None,
                "fulfillment_center": dict(self.fulfillment_centers[wro["fc_id"]]),
                "inventory_quantities": [
                    {"inventory_id": inv, "sku": self.items[inv]["sku"],
                     "expected_quantity": qty, "received_quantity": wro["received"][inv],
                     "stowed_quantity": wro["received"][inv]}
                    for inv, qty in sorted(wro["expected"].items())],
                "status_history": [dict(h) for h in wro["history"]],
            }

    # ------------------------------------------------------------------ internals
    def _levels(self, inventory_id: int, fc_id: int) -> dict:
        levels = self.items[inventory_id]["levels"]
        return levels.setdefault(fc_id, {f: 0 for f in LEVEL_FIELDS})

    def _history(self, wro_id: int, status: str, stamp: str) -> None:
        self.wros[wro_id]["history"].append(
            {"id": self._next_history, "status": status, "timestamp": stamp})
        self._next_history += 1
