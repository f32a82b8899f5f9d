"""Register the ERP and WMS delivery channels (Tryton purchases, ShipBob receiving orders).

Connection settings come from the environment, never from the database (passwords and
tokens stay out of storage):

- ``tryton``: ``RESTOCK_TRYTON_URL`` (``http://HOST:PORT/DB``), ``RESTOCK_TRYTON_USER``,
  ``TRYTON_PASSWORD``; the supplier's ``delivery`` holds its Tryton ``party_id`` (set by
  ``restock erp sync``).
- ``shipbob``: ``SHIPBOB_TOKEN`` and optionally ``RESTOCK_SHIPBOB_URL`` (default ShipBob's
  API host); the supplier's ``delivery`` may name ``fulfillment_center_id``, otherwise the
  purchase order's ship-to location must be a ShipBob location (``shipbob:<id>``).
"""
from __future__ import annotations

import os
from types import SimpleNamespace

from .channels import DeliveryError, register_channel

__all__ = ["register_platform_channels"]

SHIPBOB_DEFAULT_URL = "https://api.shipbob.com"


def _tryton_client(config: dict, env):
    from connector.adapters.tryton.client import TrytonClient

    url = config.get("url") or env.get("RESTOCK_TRYTON_URL")
    user = config.get("user") or env.get("RESTOCK_TRYTON_USER")
    password = env.get("TRYTON_PASSWORD")
    if not (url and user and password):
        raise DeliveryError("Tryton delivery needs RESTOCK_TRYTON_URL, RESTOCK_TRYTON_USER and "
                            "TRYTON_PASSWORD in the environment", permanent=True)
    return TrytonClient(url, user, password)


def _shipbob_send(env):
    def send(call) -> str:
        from connector.adapters.shipbob.adapter import push_purchase_order
        from connector.adapters.shipbob.client import ShipBobClient

        token = env.get("SHIPBOB_TOKEN")
        if not token:
            raise DeliveryError("ShipBob delivery needs SHIPBOB_TOKEN in the environment",
                                permanent=True)
        doc = call.order
        fc = call.config.get("fulfillment_center_id")
        if fc is None and (doc.ship_to_external_id or "").startswith("shipbob:"):
            fc = doc.ship_to_external_id.split(":", 1)[1]
        if fc is None:
            raise DeliveryError(f"{doc.number}: ship-to {doc.ship_to!r} is not a ShipBob "
                                "fulfillment center; set delivery.fulfillment_center_id",
                                permanent=True)
        client = ShipBobClient(env.get("RESTOCK_SHIPBOB_URL") or SHIPBOB_DEFAULT_URL, token)
        po = SimpleNamespace(number=doc.number, status="approved", expected_at=doc.expected_date)
        return str(push_purchase_order(client, po, doc.lines, int(fc)))
    return send


def register_platform_channels(env=None) -> None:
    """Register ``tryton`` and ``shipbob`` (both idempotent on the order's number or key)."""
    from connector.adapters.tryton.sync import make_channel

    env = os.environ if env is None else env
    register_channel("tryton", make_channel(lambda config: _tryton_client(config, env)),
                     idempotent=True)
    register_channel("shipbob", _shipbob_send(env), idempotent=True)
