"""Model selection and forecasts for many series: this process vs a local Dask cluster.

    .venv/bin/python benchmarks/bench_dask.py [--series 100000] [--days 365] [--workers 2]

Series are synthetic (half Poisson smooth with a weekly cycle, half intermittent), so the
run needs no database; both engines get the same frame and must return the same forecasts
(checked on a sample). On one 2-core machine a cluster cannot beat the local run — the
point is that the same code scales out when workers are added; the figures show its
overhead here.
"""
from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd

from core.classify import classify_series
from core.engines import DaskEngine, LocalEngine
from core.forecast import forecast_series


def make_series(n: int, days: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2025-01-01", periods=days)
    week = 1 + 0.3 * (ds.dayofweek.to_numpy() >= 5)
    half = n // 2
    smooth = rng.poisson(rng.gamma(4, 1.5, (half, 1)) * week)
    inter = rng.binomial(1, rng.uniform(0.05, 0.4, (n - half, 1)), (n - half, days)) \
        * rng.integers(1, 5, (n - half, days))
    y = np.vstack([smooth, inter]).astype(float)
    return pd.DataFrame({"unique_id": np.repeat([f"s{i:06d}" for i in range(n)], days),
                         "ds": np.tile(ds, n), "y": y.ravel()})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip-local", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    series = make_series(args.series, args.days)
    classes = classify_series(series)["demand_class"]
    print(f"{args.series} series x {args.days} days built and classified in "
          f"{time.perf_counter() - t0:.0f} s: {classes.value_counts().to_dict()}")
    results = {}
    if not args.skip_local:
        t0 = time.perf_counter()
        results["local"] = forecast_series(series, classes, h=28, engine=LocalEngine())
        took = time.perf_counter() - t0
        print(f"local : {took:7.0f} s  {args.series / took:7.0f} series/s")
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=args.workers, threads_per_worker=1,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        t0 = time.perf_counter()
        results["dask"] = forecast_series(series, classes, h=28, engine=DaskEngine(client))
        took = time.perf_counter() - t0
        print(f"dask  : {took:7.0f} s  {args.series / took:7.0f} series/s "
              f"({args.workers} workers)")
    if len(results) == 2:
        a = results["local"].forecasts.set_index(["unique_id", "step"])["mean"]
        b = results["dask"].forecasts.set_index(["unique_id", "step"])["mean"]
        print(f"max |local - dask| forecast difference: {float((a - b.loc[a.index]).abs().max()):.2e}")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
