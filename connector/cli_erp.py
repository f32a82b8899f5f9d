"""``restock erp ...``: sync an ERP (Tryton) into a shop.

Wired into :mod:`connector.cli` by ``cli_erp.register(sub)``, which adds::

    restock erp sync --tryton-url http://HOST:PORT/DB --user USER --password PASSWORD
                     [--shop NAME]

The password may come from ``TRYTON_PASSWORD`` instead of the command line (where other
users of the machine could read it in the process list).
"""
from __future__ import annotations

import argparse
import os
import sys

__all__ = ["register", "cmd_erp_sync"]


def _shop_name(ctx, wanted: str | None) -> str:
    """``wanted``, else the only shop in the database, else ``default`` when there is none."""
    if wanted:
        return wanted
    from core.shops import UnknownShopError, resolve_shop
    from core.storage import session_scope

    with session_scope(ctx.sessions) as s:
        try:
            return resolve_shop(s, None).name
        except UnknownShopError:
            from sqlalchemy import func, select

            from core.storage import Shop

            if s.scalar(select(func.count()).select_from(Shop)):
                raise
            return "default"


def cmd_erp_sync(args) -> int:
    """Pull Tryton and load it; print the row counts. Exit 2 on a Tryton error."""
    from connector.adapters.tryton.client import TrytonClient, TrytonError
    from connector.adapters.tryton.sync import erp_sync
    from connector.config import Settings
    from connector.context import build_context

    password = args.password or os.environ.get("TRYTON_PASSWORD")
    if not password:
        print("restock: error: give the Tryton password with --password or the environment "
              "variable TRYTON_PASSWORD", file=sys.stderr)
        return 2
    try:
        client = TrytonClient(args.tryton_url, args.user, password, timeout=args.timeout)
    except ValueError as exc:
        print(f"restock: error: {exc}", file=sys.stderr)
        return 2
    ctx = build_context(Settings.from_env())
    shop = _shop_name(ctx, args.shop)
    try:
        counts = erp_sync(ctx.sessions, shop, client)
    except TrytonError as exc:
        print(f"restock: error: {exc}", file=sys.stderr)
        return 2
    finally:
        client.logout()
    print(f"synced Tryton {client.database} into shop {shop}: "
          + ", ".join(f"{v} {k}" for k, v in counts.items() if v))
    return 0


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``erp`` (with ``sync``) to the ``restock`` command's subparsers."""
    erp = subparsers.add_parser("erp", help="sync an ERP / WMS (Tryton)")
    sub = erp.add_subparsers(dest="erp_cmd", required=True)
    sync = sub.add_parser("sync", help="load Tryton's products, warehouses, stock, suppliers "
                          "and lead times into a shop")
    sync.add_argument("--tryton-url", required=True, metavar="URL",
                      help="http://HOST:PORT/DATABASE of the Tryton server")
    sync.add_argument("--user", required=True, help="Tryton login")
    sync.add_argument("--password", help="Tryton password (default: $TRYTON_PASSWORD)")
    sync.add_argument("--shop", help="shop to load into (default: the only shop, or "
                      "'default' in an empty database)")
    sync.add_argument("--timeout", type=float, default=60.0,
                      help="seconds to wait for one Tryton answer (default 60)")
    sync.set_defaults(func=cmd_erp_sync)
    return erp
