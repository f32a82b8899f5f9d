"""``restock shopify push --shop DOMAIN``: push customer signals and reminders to Shopify.

:func:`register` adds ``push`` under an existing ``shopify`` subcommand when one is given
(the parser returned by :func:`connector.cli_shopify.register`), else creates ``shopify``.
The token comes from ``--token`` or ``SHOPIFY_ACCESS_TOKEN``; ``DATABASE_URL`` picks the
database. Exit status: 0 done, 1 Shopify failed or some reminders failed, 2 bad arguments.
"""
from __future__ import annotations

import argparse
import os
import sys

__all__ = ["register", "cmd_shopify_push"]

TOKEN_ENV = "SHOPIFY_ACCESS_TOKEN"


def cmd_shopify_push(args: argparse.Namespace) -> int:
    """Run :func:`push_customer_signals` then :func:`push_reminders` for one shop."""
    from sqlalchemy import select

    from connector.adapters.shopify.client import AdminClient, ShopifyError
    from connector.adapters.shopify.pushback import push_customer_signals, push_reminders
    from connector.config import Settings
    from connector.context import build_context
    from core.storage import Shop

    token = args.token or os.environ.get(TOKEN_ENV)
    if not token:
        print(f"restock: error: no access token: pass --token or set {TOKEN_ENV}",
              file=sys.stderr)
        return 2
    if args.discount_pct is not None and not 0 < args.discount_pct <= 100:
        print("restock: error: --discount-pct must be in (0, 100]", file=sys.stderr)
        return 2
    domain = args.shop.strip().lower()
    ctx = build_context(Settings.from_env())
    client = AdminClient(domain, token, admin_url=args.admin_url)
    with ctx.sessions() as session:
        shop = session.scalar(select(Shop).where(Shop.name == domain))
        if shop is None:
            print(f"restock: error: no shop named {domain!r}; run `restock shopify sync` first",
                  file=sys.stderr)
            return 2
        try:
            signals = push_customer_signals(session, shop, client)
            sent = push_reminders(session, shop, client, flow_handle=args.flow_handle,
                                  draft_orders=args.draft_orders,
                                  discount_pct=args.discount_pct)
        except ShopifyError as exc:
            print(f"restock: error: shopify push to {domain} failed: {exc}", file=sys.stderr)
            return 1
    print(f"pushed {domain}: signals for {signals['customers']} customers "
          f"({signals['metafields']} metafields, {signals['failed']} failed); reminders "
          f"{sent['sent']} sent, {sent['suppressed']} suppressed, {sent['failed']} failed "
          f"({sent['draft_orders']} draft orders, {sent['discounts']} discount codes)")
    return 1 if sent["failed"] or signals["failed"] else 0


def register(subparsers, shopify_parser: argparse.ArgumentParser | None = None
             ) -> argparse.ArgumentParser:
    """Add ``shopify push``; return its parser.

    Args:
        subparsers: The ``restock`` command's ``add_subparsers()`` object.
        shopify_parser: The existing ``shopify`` parser (from ``cli_shopify.register``);
            its subparsers are reused. When None a ``shopify`` parser is created.
    """
    if shopify_parser is None:
        shopify_parser = subparsers.add_parser("shopify", help="Shopify Admin API")
    sub = next((a for a in shopify_parser._actions
                if isinstance(a, argparse._SubParsersAction)), None)
    if sub is None:
        sub = shopify_parser.add_subparsers(dest="shopify_cmd", required=True)
    push = sub.add_parser("push", help="write customer metafields (restock.*) and send due "
                          "re-buy reminders (tag + Flow trigger, optional draft order)")
    push.add_argument("--shop", required=True, metavar="DOMAIN",
                      help="the shop's domain (restock's shop name)")
    push.add_argument("--admin-url", help="base URL instead of https://DOMAIN (the sandbox "
                      "fake, a proxy)")
    push.add_argument("--token", help=f"Admin API access token (default: ${TOKEN_ENV})")
    push.add_argument("--draft-orders", action="store_true",
                      help="also create a draft order per reminder and send its invoice")
    push.add_argument("--discount-pct", type=float, metavar="N",
                      help="add a one-use, customer-specific N%% discount code")
    push.add_argument("--flow-handle", default="restock-reminder-due",
                      help="handle of the Flow trigger (default: %(default)s)")
    push.set_defaults(func=cmd_shopify_push)
    return push
