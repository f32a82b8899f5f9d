"""Bulk backfill of ~1,000,000 order lines from a Shopify bulk-operation JSONL file.

    .venv/bin/python benchmarks/bench_bulk_load.py [--orders 250000] [--lines 4]
        [--db sqlite,postgresql] [--pg-url postgresql://postgres@127.0.0.1:5432/test]
        [--profile]

The file has the shape a ``bulk_orders`` operation returns: one root line per order and one
line per line item carrying ``__parentId`` (children after their parent, as Shopify writes
them). It is loaded through the real sync code path: :class:`ShopifySync` with only the
download replaced by opening the file, so the streamed read (``bulk.read_batches``: line by
line, children under their parent) -> ``orders_records`` -> ``resolve_references`` ->
``load_records`` run exactly as in ``restock shopify sync --full`` (batches of 2,000 orders,
one transaction each). Before the load, each child also times the read alone (parse and
group every line, load nothing): the "read+parse" figure.

Each backend runs in its own child process so its peak RSS (``ru_maxrss``) is its own.
PostgreSQL runs in a throw-away schema (``?options=-csearch_path%3D<schema>``), created
and dropped by this script. ``--profile`` prints the top of a cProfile of each run to stderr.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

__all__ = ["write_jsonl", "run_backend", "main"]

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
N_VARIANTS = 2000
N_CUSTOMERS = 50000


def _money(amount: float) -> dict:
    return {"shopMoney": {"amount": f"{amount:.2f}", "currencyCode": "USD"}}


def write_jsonl(path: Path, orders: int, lines_per_order: int, seed: int = 7) -> int:
    """Write a synthetic bulk result; returns the number of line items written."""
    rng = random.Random(seed)
    t0 = 1_672_531_200  # 2023-01-01T00:00:00Z
    n_lines = 0
    with path.open("w", encoding="utf-8") as out:
        for i in range(orders):
            oid = f"gid://shopify/Order/{5_000_000_000 + i}"
            at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 + i * 120))
            items = []
            for j in range(lines_per_order):
                v = rng.randrange(N_VARIANTS)
                price = 5.0 + v % 50
                qty = rng.randint(1, 3)
                items.append({
                    "id": f"gid://shopify/LineItem/{9_000_000_000 + i * lines_per_order + j}",
                    "sku": f"SKU-{v:05d}", "quantity": qty, "currentQuantity": qty,
                    "originalUnitPriceSet": _money(price),
                    "variant": {"id": f"gid://shopify/ProductVariant/{40_000_000 + v}"},
                    "totalDiscountSet": _money(0.0), "__parentId": oid})
            total = sum(float(x["originalUnitPriceSet"]["shopMoney"]["amount"]) * x["quantity"]
                        for x in items)
            order = {
                "id": oid, "name": f"#{1000 + i}", "test": False, "createdAt": at,
                "processedAt": at, "cancelledAt": None, "updatedAt": at,
                "sourceName": "web", "retailLocation": None,
                "customer": {"id": f"gid://shopify/Customer/{7_000_000 + rng.randrange(N_CUSTOMERS)}"},
                "currencyCode": "USD", "totalPriceSet": _money(total),
                "subtotalPriceSet": _money(total), "discountCodes": [], "tags": [],
                "refunds": []}
            out.write(json.dumps(order, separators=(",", ":")) + "\n")
            for item in items:
                out.write(json.dumps(item, separators=(",", ":")) + "\n")
            n_lines += len(items)
    return n_lines


def _catalog():
    import pandas as pd

    from core.records import ShopRecords

    products = pd.DataFrame([{"external_id": str(8_000_000 + v // 4), "title": f"P{v // 4}"}
                             for v in range(0, N_VARIANTS, 4)])
    variants = pd.DataFrame([{"external_id": str(40_000_000 + v),
                              "product_external_id": str(8_000_000 + v // 4),
                              "sku": f"SKU-{v:05d}", "price": 5.0 + v % 50}
                             for v in range(N_VARIANTS)])
    return ShopRecords(products=products, variants=variants).validate()


def run_backend(url: str, jsonl: Path, profile: bool = False) -> dict:
    """Migrate ``url``, load the catalog, then time the bulk orders backfill."""
    from connector.adapters.shopify import sync as sync_module
    from connector.adapters.shopify.bulk import batch_gc, read_batches
    from connector.adapters.shopify.streams import STREAMS
    from connector.adapters.shopify.sync import ShopifySync
    from core.ingest import load_records
    from core.shops import get_or_create_shop
    from core.storage import make_engine, make_sessionmaker, session_scope, upgrade

    engine = make_engine(url)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    with session_scope(sessions) as s:
        shop = get_or_create_shop(s, "bench", domain="bench.myshopify.com")
        load_records(s, shop.id, _catalog())
    children = next(s for s in STREAMS if s.name == "orders").children
    t = time.perf_counter()
    with jsonl.open("rb") as f, batch_gc() as collect:
        roots = 0
        for batch in read_batches(f, children, sync_module._BULK_BATCH):
            roots += len(batch)
            collect()
    read_parse_s = time.perf_counter() - t
    assert roots > 0

    class FileSync(ShopifySync):
        """The real sync with the bulk download replaced by opening the file."""

        def _run_bulk(self, body):
            return {"createdAt": None}, jsonl.open("rb")

    sync = FileSync(sessions, "bench", SimpleNamespace(shop_domain="bench.myshopify.com"),
                    streams=["orders"], sleep=lambda s: None)
    cpu = time.process_time()
    started = time.perf_counter()
    if profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        counts = prof.runcall(sync.run, full=True)
        seconds = time.perf_counter() - started
        stats = pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative")
        stats.print_stats(30)
        pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(20)
    else:
        counts = sync.run(full=True)
        seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    engine.dispose()
    return {"seconds": seconds, "cpu_s": cpu, "order_lines": counts["order_lines"],
            "orders": counts["orders"],
            "warnings": counts["warnings"], "read_parse_s": read_parse_s,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _child(args) -> int:
    result = run_backend(args.child_url, Path(args.jsonl), profile=args.profile)
    print("RESULT " + json.dumps(result), flush=True)
    return 0


def _spawn(url: str, jsonl: Path, profile: bool) -> dict:
    cmd = [sys.executable, __file__, "--child-url", url, "--jsonl", str(jsonl)]
    if profile:
        cmd.append("--profile")
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True,
                          cwd=Path(__file__).resolve().parents[1])
    if proc.returncode:
        raise RuntimeError(f"child for {url.split('?')[0]} failed ({proc.returncode})")
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def _pg_schema(pg_url: str, schema: str, create: bool) -> None:
    from sqlalchemy import text

    from core.storage import make_engine

    engine = make_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"' if create
                          else f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def main(argv: list[str] | None = None) -> int:
    """Generate the file, run each backend, print seconds, lines/s and peak RSS."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--orders", type=int, default=250_000)
    p.add_argument("--lines", type=int, default=4, help="line items per order")
    p.add_argument("--db", default="sqlite,postgresql")
    p.add_argument("--pg-url", default=PG_URL)
    p.add_argument("--profile", action="store_true",
                   help="cProfile the load (of each backend in --db)")
    p.add_argument("--child-url", help=argparse.SUPPRESS)
    p.add_argument("--jsonl", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child_url:
        return _child(args)
    with tempfile.TemporaryDirectory(prefix="bench_bulk_") as tmp:
        jsonl = Path(tmp) / "orders.jsonl"
        t = time.perf_counter()
        n = write_jsonl(jsonl, args.orders, args.lines)
        print(f"generated {args.orders} orders / {n} lines "
              f"({jsonl.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f} s",
              flush=True)
        for backend in args.db.split(","):
            if backend == "sqlite":
                url, schema = f"sqlite:///{tmp}/bench.db", None
            else:
                schema = f"bench_{uuid.uuid4().hex[:10]}"
                _pg_schema(args.pg_url, schema, create=True)
                url = f"{args.pg_url}?options=-csearch_path%3D{schema}"
            try:
                r = _spawn(url, jsonl, args.profile)
            finally:
                if schema:
                    _pg_schema(args.pg_url, schema, create=False)
            print(f"{backend:10s} {r['order_lines']:>9,d} lines {r['orders']:>8,d} orders  "
                  f"{r['seconds']:7.1f} s (client CPU {r['cpu_s']:5.1f} s)  "
                  f"{r['order_lines'] / r['seconds']:>9,.0f} lines/s  "
                  f"peak RSS {r['peak_rss_mb']:,.0f} MB  (read+parse {r['read_parse_s']:.1f} s, "
                  f"warnings {r['warnings']})", flush=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
