"""Run the Shopify fake over a generated sandbox shop until Ctrl+C.

    python -m sandbox.shopify_fake --port 8765 --skus 150 --customers 3000
    restock shopify sync --shop sandbox.myshopify.com --admin-url http://127.0.0.1:8765 \
        --token shpat_test
"""
from __future__ import annotations

import argparse
import threading

from sandbox import generate

from .app import make_fake_app
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
    args = p.parse_args(argv)
    shop = generate(seed=args.seed, n_skus=args.skus, n_customers=args.customers,
                    n_days=args.days, n_locations=args.locations)
    app = make_fake_app(shop, args.token, error_rate=args.error_rate)
    url, stop = serve_fake(app, args.host, args.port)
    print(f"Shopify fake for sandbox.myshopify.com on {url} (token {args.token}); Ctrl+C stops",
          flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
