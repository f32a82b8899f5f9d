"""``restock wms ...``: sync a warehouse (ShipBob) into a shop.

Wired into :mod:`connector.cli` by ``cli_wms.register(sub)``, which adds::

    restock wms sync --shipbob-url URL [--token TOKEN] [--shop NAME]

The token may come from ``SHIPBOB_TOKEN`` instead of the command line (where other users
of the machine could read it in the process list). ``sync`` loads ShipBob's stock per
fulfillment center and records what ShipBob received against sent purchase orders (see
:mod:`connector.adapters.shipbob.sync`). Exit status: 0 when everything synced, 1 when
some purchase orders could not be polled or recorded (one message each on stderr), 2 when
nothing could be done (no token, ShipBob unreachable or refusing the token).
"""
from __future__ import annotations

import argparse
import os
import sys

__all__ = ["register", "cmd_wms_sync"]


def cmd_wms_sync(args) -> int:
    """Pull ShipBob's stock and receipts into a shop; print the counts."""
    from connector.adapters.shipbob.client import ShipBobClient, ShipBobError
    from connector.adapters.shipbob.sync import wms_sync
    from connector.cli_erp import _shop_name
    from connector.config import Settings
    from connector.context import build_context

    token = args.token or os.environ.get("SHIPBOB_TOKEN")
    if not token:
        print("restock: error: give the ShipBob token with --token or the environment "
              "variable SHIPBOB_TOKEN", file=sys.stderr)
        return 2
    client = ShipBobClient(args.shipbob_url, token, timeout=args.timeout)
    ctx = build_context(Settings.from_env())
    shop = _shop_name(ctx, args.shop)
    try:
        out = wms_sync(ctx.sessions, shop, client)
    except ShipBobError as exc:
        print(f"restock: error: ShipBob: {exc}", file=sys.stderr)
        return 2
    print(f"synced ShipBob into shop {shop}: "
          + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in out.items()
                      if k != "errors" and v))
    for message in out["errors"]:
        print(f"restock: warning: {message}", file=sys.stderr)
    return 1 if out["errors"] else 0


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``wms`` (with ``sync``) to the ``restock`` command's subparsers."""
    wms = subparsers.add_parser("wms", help="sync a warehouse (ShipBob)")
    sub = wms.add_subparsers(dest="wms_cmd", required=True)
    sync = sub.add_parser("sync", help="load ShipBob's stock per fulfillment center and "
                          "record what it received against sent purchase orders")
    sync.add_argument("--shipbob-url", required=True, metavar="URL",
                      help="base URL of the ShipBob API, e.g. https://api.shipbob.com")
    sync.add_argument("--token", help="ShipBob personal access token "
                      "(default: $SHIPBOB_TOKEN)")
    sync.add_argument("--shop", help="shop to load into (default: the only shop, or "
                      "'default' in an empty database)")
    sync.add_argument("--timeout", type=float, default=30.0,
                      help="seconds to wait for one ShipBob answer (default 30)")
    sync.set_defaults(func=cmd_wms_sync)
    return wms
