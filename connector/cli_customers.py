"""``restock customers`` and ``restock reminders``: customer scores and re-buy reminders.

::

    restock customers score  [--shop NAME] [--as-of YYYY-MM-DD]
    restock reminders plan   [--shop NAME] [--as-of YYYY-MM-DD] [--window-days 7]
                             [--cooldown-days 14]
    restock reminders effect [--shop NAME] [--window-days 14]

``--as-of`` defaults to the day of the shop's last order. ``customers score`` writes one
``CustomerScore`` row per customer for that day (RFM segment, CPM group, next order date,
and P(alive) / CLV when :mod:`core.clv` is installed; re-running the same day overwrites)
and prints the customers per segment and per CPM group. ``reminders plan`` writes the
re-buy dates and the reminders due in the window and prints their counts by status and
reason (see :mod:`core.reminders`). Unknown shops and bad dates exit with status 2.
"""
from __future__ import annotations

import sys
from datetime import date

__all__ = ["register", "cmd_score", "cmd_plan", "cmd_effect"]


class CustomersCliError(Exception):
    """An error to print as ``restock: error: ...`` with exit status 2."""


def _guarded(fn):
    def run(args) -> int:
        from core.shops import UnknownShopError

        try:
            return fn(args)
        except (CustomersCliError, UnknownShopError) as exc:
            print(f"restock: error: {exc}", file=sys.stderr)
            return 2
    run.__doc__ = fn.__doc__
    return run


def _context():
    from .config import Settings
    from .context import build_context

    return build_context(Settings.from_env())


def _as_of(session, shop, text: str | None) -> date:
    from core.plan_inputs import last_order_day

    if text is not None:
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise CustomersCliError(f"--as-of {text!r} is not a date: use YYYY-MM-DD") from None
    day = last_order_day(session, shop)
    if day is None:
        raise CustomersCliError(f"shop {shop.name!r} has no orders yet: nothing to score")
    return day


def _table(title: str, counts) -> None:
    print(title)
    for key, n in counts:
        print(f"  {key:<34} {n:>7}")


def cmd_score(args) -> int:
    """Score the shop's customers (segments, CPM groups, next orders, CLV)."""
    from core.segments import score_shop, segment_sizes
    from core.shops import resolve_shop
    from core.storage import session_scope

    with session_scope(_context().sessions) as s:
        shop = resolve_shop(s, args.shop)
        as_of = _as_of(s, shop, args.as_of)
        scores = score_shop(s, shop, as_of)
        clv = "with" if scores["p_alive"].notna().any() else "without (core.clv not available)"
        print(f"scored {len(scores)} customers of shop {shop.name!r} as of {as_of} {clv} CLV")
        for column, title in (("segment", "RFM segments"), ("cpm_group", "CPM groups")):
            sizes = segment_sizes(scores, column)
            _table(title, zip(sizes.index, sizes["customers"]))
        if len(scores):
            horizon = date.fromordinal(as_of.toordinal() + 30)
            soon = scores["next_order_date"].notna() & (
                scores["next_order_date"].dt.date <= horizon)
            print(f"expected to order within 30 days: {int(soon.sum())}")
            if scores["predicted_clv"].notna().any():
                print(f"predicted 12-month CLV, total: {scores['predicted_clv'].sum():,.2f}")
    return 0


def cmd_plan(args) -> int:
    """Plan re-buy reminders for the customers due in the window."""
    from core.reminders import plan_reminders
    from core.shops import resolve_shop
    from core.storage import session_scope

    if args.window_days < 0 or args.cooldown_days < 0:
        raise CustomersCliError("--window-days and --cooldown-days must be >= 0")
    with session_scope(_context().sessions) as s:
        shop = resolve_shop(s, args.shop)
        as_of = _as_of(s, shop, args.as_of)
        plan = plan_reminders(s, shop, as_of, window_days=args.window_days,
                              cooldown_days=args.cooldown_days)
        print(f"{len(plan)} reminders due {as_of} .. +{args.window_days} days for shop "
              f"{shop.name!r} ({int(plan['new'].sum()) if len(plan) else 0} new)")
        if len(plan):
            key = (plan["status"] + " " + plan["reason"].fillna("")).str.strip()
            counts = key.value_counts().sort_index()
            _table("by status and reason", counts.items())
    return 0


def cmd_effect(args) -> int:
    """Orders that followed reminders (sent vs. not sent)."""
    from core.reminders import reminder_effect
    from core.shops import resolve_shop
    from core.storage import session_scope

    with session_scope(_context().sessions) as s:
        shop = resolve_shop(s, args.shop)
        effect = reminder_effect(s, shop, args.window_days)
        print(f"orders within {args.window_days} days after a reminder, shop {shop.name!r}")
        print(effect.to_string())
    return 0


def register(subparsers) -> None:
    """Add ``customers`` and ``reminders`` to the ``restock`` parser's subparsers."""
    cu = subparsers.add_parser("customers", help="customer segments, next orders and CLV")
    sub = cu.add_subparsers(dest="customers_cmd", required=True)
    sc = sub.add_parser("score", help="score customers as of a day", description=cmd_score.__doc__)
    sc.add_argument("--shop", help="shop name (may be left out when there is only one)")
    sc.add_argument("--as-of", help="scoring day YYYY-MM-DD (default: the last order's day)")
    sc.set_defaults(func=_guarded(cmd_score))

    rm = subparsers.add_parser("reminders", help="re-buy reminders for consumables")
    sub = rm.add_subparsers(dest="reminders_cmd", required=True)
    pl = sub.add_parser("plan", help="plan the reminders due in the window",
                        description=cmd_plan.__doc__)
    pl.add_argument("--shop", help="shop name (may be left out when there is only one)")
    pl.add_argument("--as-of", help="planning day YYYY-MM-DD (default: the last order's day)")
    pl.add_argument("--window-days", type=int, default=7, help="days ahead (default 7)")
    pl.add_argument("--cooldown-days", type=int, default=14,
                    help="no reminder within this many days of the last sent one (default 14)")
    pl.set_defaults(func=_guarded(cmd_plan))
    ef = sub.add_parser("effect", help="orders after reminders", description=cmd_effect.__doc__)
    ef.add_argument("--shop", help="shop name (may be left out when there is only one)")
    ef.add_argument("--window-days", type=int, default=14, help="days after (default 14)")
    ef.set_defaults(func=_guarded(cmd_effect))
