"""Run the Shopify fake over a generated sandbox shop until Ctrl+C.

    python -m sandbox.shopify_fake --port 8765 --skus 150 --customers 3000
    restock shopify sync --shop sandbox.myshopify.com --admin-url http://127.0.0.1:8765 \
        --token shpat_test

Watching orders arrive: ``--replay-days 14`` starts the shop 14 days before the sandbox's end
and ``--webhook-uri http://127.0.0.1:8000/webhooks/shopify --secret S`` (the app's
``SHOPIFY_API_SECRET``) subscribes every topic; ``--tick 10`` then advances the simulated
clock by ``--tick-hours`` (default 24) every 10 real seconds, so the replayed days' orders,
cancellations, refunds and stock changes reach restock as signed webhooks.
``POST /_fake/clock`` advances it by hand instead.
"""
from __future__ import annotations

import argparse
import threading

import pandas as pd

from sandbox import generate

from .app import get_fake, make_fake_app
from .deliveries import TOPIC_ENUMS
from .server import serve_fake

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, generate the shop, serve it; return the exit status."""
    p = argparse.ArgumentParser(prog="python -m sandbox.shopify_fake",
                                description="Shopify Admin GraphQL fake over a sandbox shop")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--token", default="shpat_test")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--skus", type=int, default=150)
    p.add_argument("--customers", type=int, default=3000)
    p.add_argument("--days", type=int, default=730)
    p.add_argument("--locations", type=int, default=2)
    p.add_argument("--error-rate", type=float, default=0.0, help="fraction answered 502/503")
    p.add_argument("--replay-days", type=int, default=0,
                   help="start this many days before the sandbox's end and replay the rest")
    p.add_argument("--secret", default=None, help="app secret that signs webhooks")
    p.add_argument("--webhook-uri", default=None, help="subscribe this URI to every topic")
    p.add_argument("--tick", type=float, default=0.0,
                   help="real seconds between automatic clock advances (0: never)")
    p.add_argument("--tick-hours", type=float, default=24.0,
                   help="simulated hours per automatic advance")
    args = p.parse_args(argv)
    if args.replay_days < 0 or args.replay_days >= args.days:
        p.error(f"--replay-days must be between 0 and {args.days - 1}")
    if args.webhook_uri and not args.secret:
        p.error("--webhook-uri needs --secret (the app's SHOPIFY_API_SECRET) to sign deliveries")
    if args.tick < 0 or args.tick_hours <= 0:
        p.error("--tick must be 0 or more and --tick-hours more than 0")
    shop = generate(seed=args.seed, n_skus=args.skus, n_customers=args.customers,
                    n_days=args.days, n_locations=args.locations)
    replay_from = (shop.end - pd.Timedelta(days=args.replay_days)).date() \
        if args.replay_days else None
    app = make_fake_app(shop, args.token, error_rate=args.error_rate,
                        webhook_secret=args.secret, replay_from=replay_from)
    fake = get_fake(app)
    if args.webhook_uri:
        for topic in TOPIC_ENUMS.values():
            fake.dispatcher.subscribe(topic, args.webhook_uri)
    url, stop = serve_fake(app, args.host, args.port)
    print(f"Shopify fake for sandbox.myshopify.com on {url} (token {args.token}); Ctrl+C stops",
          flush=True)
    stopped = threading.Event()
    try:
        while not stopped.wait(args.tick if args.tick and fake.replay else None):
            released = fake.advance(hours=args.tick_hours)
            print(f"{fake.store.now():%Y-%m-%d %H:%M} released {released}; "
                  f"{fake.replay.pending} events left", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        stop()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
