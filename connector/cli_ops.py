"""``restock inbox drain``: apply received webhooks and recalculate the touched SKUs."""
from __future__ import annotations

import time

__all__ = ["register"]


def cmd_drain(args) -> int:
    from .cli import _context
    from .jobs.inbox import drain_inbox
    from .jobs.recalc import make_recalc

    ctx = _context(args)
    while True:
        t0 = time.perf_counter()
        result = drain_inbox(ctx.sessions, limit=args.limit, recalc=make_recalc(ctx.sessions))
        counts = result.as_dict()
        if any(counts.values()) or not args.loop:
            touched = sum(len(s) for s in result.touched.values())
            print(", ".join(f"{v} {k}" for k, v in counts.items()) +
                  f"; {touched} SKUs recalculated in {time.perf_counter() - t0:.2f} s",
                  flush=True)
        if not args.loop:
            return 0
        time.sleep(args.interval)


def register(sub) -> None:
    inbox = sub.add_parser("inbox", help="the webhook inbox").add_subparsers(dest="inbox_cmd",
                                                                           required=True)
    d = inbox.add_parser("drain", help="apply pending webhook events, then recalculate the "
                         "SKUs they touched")
    d.add_argument("--limit", type=int, default=500, help="events per pass (default 500)")
    d.add_argument("--loop", action="store_true", help="keep draining every --interval s")
    d.add_argument("--interval", type=float, default=1.0)
    d.set_defaults(func=cmd_drain)
