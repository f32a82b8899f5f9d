"""Benchmark the sandbox shop generator at the reference size.

Prints the generation time, the process's peak resident memory (``ru_maxrss``) before and
after generating (and after ``records.validate()``), optionally the peak of traced
allocations (``--tracemalloc``; slower), and the row counts of every records, truth and
receipts frame.

Usage::

    python benchmarks/bench_sandbox.py [--skus 1000] [--customers 20000] [--days 730]
                                       [--locations 3] [--seed 7] [--tracemalloc]
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox import generate  # noqa: E402

__all__ = ["main"]


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--skus", type=int, default=1000)
    p.add_argument("--customers", type=int, default=20000)
    p.add_argument("--days", type=int, default=730)
    p.add_argument("--locations", type=int, default=3)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--tracemalloc", action="store_true", help="also trace allocations (slower)")
    args = p.parse_args(argv)

    rss_before = _maxrss_mb()
    if args.tracemalloc:
        tracemalloc.start()
    t0 = time.perf_counter()
    shop = generate(seed=args.seed, n_skus=args.skus, n_customers=args.customers,
                    n_days=args.days, n_locations=args.locations)
    elapsed = time.perf_counter() - t0
    traced = tracemalloc.get_traced_memory()[1] / 2**20 if args.tracemalloc else None
    if args.tracemalloc:
        tracemalloc.stop()
    rss_generated = _maxrss_mb()
    t1 = time.perf_counter()
    shop.records.validate()
    validate_s = time.perf_counter() - t1

    print(f"sandbox.generate(seed={args.seed}, n_skus={args.skus}, n_customers={args.customers}, "
          f"n_days={args.days}, n_locations={args.locations})")
    print(f"  generation time      {elapsed:8.2f} s")
    print(f"  records.validate()   {validate_s:8.2f} s")
    print(f"  peak RSS before      {rss_before:8.1f} MiB")
    print(f"  peak RSS generated   {rss_generated:8.1f} MiB")
    print(f"  peak RSS validated   {_maxrss_mb():8.1f} MiB  (validate() copies every frame)")
    if traced is not None:
        print(f"  peak traced alloc    {traced:8.1f} MiB")
    print("  rows:")
    for name in shop.records.entities():
        print(f"    records.{name:<22}{len(getattr(shop.records, name)):>10,}")
    for name in ("expected_demand", "wanted", "lost_sales", "skus", "campaigns", "customers",
                 "customer_products"):
        print(f"    truth.{name:<24}{len(getattr(shop.truth, name)):>10,}")
    print(f"    {'receipts':<30}{len(shop.receipts):>10,}")
    wanted = shop.truth.wanted.wanted_units.sum()
    lost = shop.truth.lost_sales.lost_units.sum()
    print(f"  lost share of wanted units {lost / wanted:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
