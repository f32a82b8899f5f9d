"""``restock api-key``: make, list and revoke the API keys of a shop.

::

    restock api-key create [--shop NAME] [--name LABEL]   # prints the key once
    restock api-key list   [--shop NAME]
    restock api-key revoke [--shop NAME] PREFIX

``--shop`` may be left out when the database holds one shop. Only a hash of a key is
stored: the key printed by ``create`` cannot be shown again (make a new one and revoke the
old one instead). ``PREFIX`` is the 8 hex digits after ``rk_`` shown by ``list``.
"""
from __future__ import annotations

import sys

__all__ = ["register", "cmd_create", "cmd_list", "cmd_revoke"]


def cmd_create(args) -> int:
    """Make a new API key for the shop and print it (once)."""
    from connector.api.auth import create_api_key
    from core.shops import resolve_shop
    from core.storage import session_scope

    from .cli import _context

    ctx = _context(args)
    with session_scope(ctx.sessions) as s:
        shop = resolve_shop(s, args.shop)
        key = create_api_key(s, shop, name=args.name)
        shop_name = shop.name
    print(key)
    print(f"API key for shop {shop_name!r}{f' ({args.name})' if args.name else ''}: it is "
          "shown only this once; send it as 'Authorization: Bearer <key>'", file=sys.stderr)
    return 0


def cmd_list(args) -> int:
    """List the shop's API keys (prefix, name, created, last used, revoked)."""
    from sqlalchemy import select

    from core.shops import resolve_shop
    from core.storage import ApiKey, session_scope

    from .cli import _context

    ctx = _context(args)
    with session_scope(ctx.sessions) as s:
        shop = resolve_shop(s, args.shop)
        keys = s.scalars(select(ApiKey).where(ApiKey.shop_id == shop.id)
                         .order_by(ApiKey.created_at, ApiKey.id)).all()
        if not keys:
            print(f"shop {shop.name!r} has no API key: restock api-key create")
        for key in keys:
            state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
            used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
            print(f"rk_{key.prefix}_...  {state:<24} created {key.created_at:%Y-%m-%d %H:%M}"
                  f"  last used {used}  {key.name or ''}".rstrip())
    return 0


def cmd_revoke(args) -> int:
    """Revoke the shop's key with this prefix; exits 2 when there is no such active key."""
    from connector.api.auth import revoke_api_key
    from core.shops import resolve_shop
    from core.storage import session_scope

    from .cli import _context

    ctx = _context(args)
    with session_scope(ctx.sessions) as s:
        shop = resolve_shop(s, args.shop)
        n = revoke_api_key(s, shop, args.prefix)
        shop_name = shop.name
    if not n:
        print(f"restock: error: shop {shop_name!r} has no active API key with prefix "
              f"{args.prefix!r} (see restock api-key list)", file=sys.stderr)
        return 2
    print(f"revoked {n} API key{'s' if n > 1 else ''} of shop {shop_name!r}")
    return 0


def register(subparsers) -> None:
    """Add ``api-key`` and its subcommands to the ``restock`` parser's subparsers."""
    parser = subparsers.add_parser("api-key", help="API keys of a shop: create, list, revoke")
    sub = parser.add_subparsers(dest="api_key_cmd", required=True)
    for name, fn, helptext in (("create", cmd_create, "make a key and print it once"),
                               ("list", cmd_list, "list the shop's keys"),
                               ("revoke", cmd_revoke, "revoke a key by its prefix")):
        p = sub.add_parser(name, help=helptext, description=fn.__doc__)
        p.add_argument("--shop", help="shop name (may be left out when there is only one)")
        if name == "create":
            p.add_argument("--name", help="a label for the key, e.g. 'ERP sync'")
        if name == "revoke":
            p.add_argument("prefix", help="the key's prefix (the 8 hex digits after rk_)")
        p.set_defaults(func=fn)
