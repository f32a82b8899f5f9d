"""``restock shopify ...`` subcommands: ``restock shopify sync --shop DOMAIN``.

Wire into the main parser with :func:`register` (``register(sub)`` where ``sub`` is the
``add_subparsers()`` object of :func:`connector.cli.build_parser`). ``DATABASE_URL`` picks the
database, as for every subcommand; the token comes from ``--token`` or
``SHOPIFY_ACCESS_TOKEN``.
"""
from __future__ import annotations

import argparse
import os
import sys

__all__ = ["register", "cmd_shopify_sync"]

TOKEN_ENV = "SHOPIFY_ACCESS_TOKEN"


def cmd_shopify_sync(args: argparse.Namespace) -> int:
    """Sync one shop from the Admin API into restock's database; print the counts."""
    from connector.adapters.shopify.client import AdminClient, ShopifyError
    from connector.adapters.shopify.sync import ShopifySyncError, sync_shop
    from connector.config import Settings
    from connector.context import build_context

    token = args.token or os.environ.get(TOKEN_ENV)
    if not token:
        print(f"restock: error: no access token: pass --token or set {TOKEN_ENV}",
              file=sys.stderr)
        return 2
    domain = args.shop.strip().lower()
    if "://" in domain or "/" in domain:
        print(f"restock: error: --shop takes the shop's domain (e.g. example.myshopify.com), "
              f"not a URL: {args.shop!r}; give a different endpoint with --admin-url",
              file=sys.stderr)
        return 2
    ctx = build_context(Settings.from_env())
    client = AdminClient(domain, token, admin_url=args.admin_url)
    try:
        counts = sync_shop(ctx.sessions, domain, client, full=args.full)
    except (ShopifyError, ShopifySyncError) as exc:
        print(f"restock: error: shopify sync of {domain} failed: {exc}", file=sys.stderr)
        return 1
    loaded = ", ".join(f"{v} {k}" for k, v in counts.items()
                       if v and k not in ("warnings", "unknown_sku_lines", "pages",
                                          "bulk_operations", "requests"))
    print(f"synced {domain}: {loaded or 'nothing new'} ({counts['pages']} pages, "
          f"{counts['bulk_operations']} bulk operations)")
    if counts["warnings"]:
        print(f"{counts['warnings']} warnings ({counts['unknown_sku_lines']} order lines with "
              "an unknown SKU skipped); run with -v to see them", file=sys.stderr)
    return 0


def register(subparsers) -> argparse.ArgumentParser:
    """Add ``shopify sync`` to the ``restock`` command's subparsers; return the ``shopify``
    parser."""
    shopify = subparsers.add_parser("shopify", help="Shopify Admin API")
    sub = shopify.add_subparsers(dest="shopify_cmd", required=True)
    sync = sub.add_parser("sync", help="sync locations, products, inventory, customers and "
                          "orders (bulk backfill first, then increments)")
    sync.add_argument("--shop", required=True, metavar="DOMAIN",
                      help="the shop's domain, e.g. example.myshopify.com (also restock's "
                           "shop name)")
    sync.add_argument("--admin-url", help="base URL instead of https://DOMAIN (the sandbox "
                      "fake, a proxy)")
    sync.add_argument("--token", help=f"Admin API access token (default: ${TOKEN_ENV})")
    sync.add_argument("--full", action="store_true",
                      help="backfill everything again with bulk operations")
    sync.set_defaults(func=cmd_shopify_sync)
    return shopify
