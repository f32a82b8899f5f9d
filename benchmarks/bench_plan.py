"""Plan throughput at 1k and 10k SKUs beside plain daily AutoETS, in one run.

    .venv/bin/python benchmarks/bench_plan.py [--skus 1000 10000] [--ets-sample 200]

What it measures:

1. End to end at 1k SKUs: sandbox generation, loading into SQLite, ``run_plan`` (read,
   forecast, policy, store, draft POs): seconds and SKU x location lines per second.
2. The plan's compute (``compute_plan``: demand series, classes, model selection, policy) on
   in-memory inputs for each size. The 10k catalogue is the 1k sandbox's sales replicated
   with each copy's history shifted by a random number of days (so copies are not
   identical series), 730 days each.
   Model memory: the 1k shop planned as of the day before its last day (full selection),
   then as of its last day (one new day: kept models refitted) and again (unchanged data:
   stored forecasts reused); and at the largest size compute_plan again with the memory of
   its first run (unchanged data).
3. Plain AutoETS(season_length=7) on every daily series of a random sample (the full run
   would take ~0.13 s per series) beside restock's selection (which never sees the
   evaluation days) and each single candidate model, all fitted on the same data and scored
   on the same last 28 days (the evaluation holdout): time per series and MASE.

Peak memory is the process's maximum resident set size (``ru_maxrss``) after each step.
"""
from __future__ import annotations

import argparse
import resource
import tempfile
import time

import numpy as np
import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import AutoETS

from core.classify import classify_series
from core.demand import daily_demand
from core.forecast import forecast_series
from core.forecast_models import DAILY, WEEKLY, run_daily, run_weekly
from core.metrics import mase
from core.plan import PlanSettings, compute_plan, run_plan
from core.plan_inputs import PlanInputs, read_inputs
from core.storage import make_engine, make_sessionmaker, session_scope, upgrade
from sandbox.load import load_sandbox


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def replicate(inp: PlanInputs, copies: int, seed: int = 0) -> PlanInputs:
    """``copies`` shifted copies of every SKU (SKU names suffixed), same cut-off."""
    rng = np.random.default_rng(seed)
    cutoff = pd.Timestamp(inp.cutoff)
    lines, stock, variants, supply, position = [], [], [], [], []
    vmax = int(inp.variants["id"].max()) + 1
    for c in range(copies):
        shift = pd.Timedelta(days=int(rng.integers(0, 60))) if c else pd.Timedelta(0)
        sfx = f"-C{c}" if c else ""
        li = inp.lines.assign(sku=inp.lines["sku"] + sfx, variant_id=inp.lines["variant_id"]
                              + c * vmax, day=inp.lines["day"] - shift)
        lines.append(li[li["day"] >= li["day"].min() + shift])
        st = inp.stock.assign(sku=inp.stock["sku"] + sfx, variant_id=inp.stock["variant_id"]
                              + c * vmax, day=inp.stock["day"] - shift)
        stock.append(st)
        variants.append(inp.variants.assign(id=inp.variants["id"] + c * vmax,
                                            sku=inp.variants["sku"] + sfx))
        supply.append(inp.supply.set_axis(inp.supply.index + c * vmax))
        position.append(inp.position.assign(variant_id=inp.position["variant_id"] + c * vmax))
    return PlanInputs(cutoff=cutoff.date(), lines=pd.concat(lines, ignore_index=True),
                      stock=pd.concat(stock, ignore_index=True),
                      position=pd.concat(position, ignore_index=True),
                      on_order=inp.on_order.iloc[0:0], variants=pd.concat(variants),
                      supply=pd.concat(supply), default_location_id=inp.default_location_id)


def split(series: pd.DataFrame, ids: list[str], holdout: int = 28):
    data = series[series["unique_id"].isin(ids)][["unique_id", "ds", "y"]]
    data = data.sort_values(["unique_id", "ds"])
    rank = data.groupby("unique_id").cumcount(ascending=False)
    return data[rank >= holdout], data[rank < holdout]


def mean_mase(train: pd.DataFrame, test: pd.DataFrame, ids, mat: np.ndarray) -> float:
    tr = {u: g.to_numpy() for u, g in train.groupby("unique_id")["y"]}
    te = {u: g.to_numpy() for u, g in test.groupby("unique_id")["y"]}
    v = np.array([mase(te[u], mat[i], tr[u]) for i, u in enumerate(ids)], dtype=float)
    return float(np.nanmean(np.where(np.isfinite(v), v, np.nan)))


def plain_ets(series: pd.DataFrame, ids: list[str], holdout: int = 28) -> pd.DataFrame:
    train, test = split(series, ids, holdout)
    t0 = time.perf_counter()
    fc = StatsForecast(models=[AutoETS(season_length=7)], freq="D", n_jobs=-1).forecast(
        df=train, h=holdout)
    took = time.perf_counter() - t0
    fc = fc.reset_index() if "unique_id" not in fc.columns else fc
    rows = []
    for uid, grp in test.groupby("unique_id"):
        f = fc[fc["unique_id"] == uid]["AutoETS"].to_numpy()
        rows.append((uid, mase(grp["y"].to_numpy(), f,
                               train[train["unique_id"] == uid]["y"].to_numpy())))
    out = pd.DataFrame(rows, columns=["unique_id", "mase"]).set_index("unique_id")
    out.attrs["seconds"] = took
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skus", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--ets-sample", type=int, default=200)
    ap.add_argument("--customers-per-sku", type=int, default=20)
    args = ap.parse_args()
    base = min(args.skus)
    tmp = tempfile.mkdtemp()
    eng = make_engine(f"sqlite:///{tmp}/bench.db")
    upgrade(eng)
    sessions = make_sessionmaker(eng)
    print(f"== end to end, {base} SKUs x 730 days, 1 location, SQLite ==")
    t0 = time.perf_counter()
    with session_scope(sessions) as s:
        shop, counts = load_sandbox(s, "bench", seed=5, n_skus=base,
                                    n_customers=base * args.customers_per_sku, n_days=730,
                                    n_locations=1)
    t_load = time.perf_counter() - t0
    print(f"generate + load: {t_load:.1f} s ({counts['order_lines']} order lines, "
          f"{counts['inventory_snapshots']} snapshots), peak RSS {rss_mb():.0f} MB")
    with session_scope(sessions) as s:
        t0 = time.perf_counter()
        run = run_plan(s, shop)
        t_plan = time.perf_counter() - t0
        inp = read_inputs(s, shop, run.data_cutoff)
    print(f"run_plan: {t_plan:.1f} s for {run.n_series} lines = {run.n_series / t_plan:.0f} "
          f"lines/s; holdout MASE {run.mase:.3f} WAPE {run.wape:.3f} bias {run.bias:+.3f}; "
          f"peak RSS {rss_mb():.0f} MB")
    last = run.data_cutoff
    print("model memory (run_plan, same shop):")
    for label, day in (("day before, memory cleared: full selection", None),
                       ("one new day: kept models refitted", last),
                       ("unchanged data: stored forecasts reused", last)):
        with session_scope(sessions) as s:
            if day is None:
                from core.storage import write_forecast_memory
                write_forecast_memory(s, shop.id, {})
            t0 = time.perf_counter()
            r = run_plan(s, shop, cutoff=day or last - pd.Timedelta(days=1).to_pytimedelta())
            print(f"  {label}: {time.perf_counter() - t0:.1f} s (MASE {r.mase:.3f})")
    settings = PlanSettings()
    print("\n== plan compute (in memory) ==")
    print(f"{'SKUs':>7} {'lines':>7} {'seconds':>8} {'lines/s':>8} {'MASE':>6} {'RSS MB':>7}")
    for n in args.skus:
        big = replicate(inp, max(1, n // base))
        big.forecast_memory = {}
        t0 = time.perf_counter()
        lines, acc = compute_plan(big, settings)
        took = time.perf_counter() - t0
        print(f"{n:>7} {len(lines):>7} {took:>8.1f} {len(lines) / took:>8.0f} "
              f"{acc['mase']:>6.3f} {rss_mb():>7.0f}")
    t0 = time.perf_counter()
    compute_plan(big, settings)
    print(f"{n} SKUs again with the memory of that run (unchanged data): "
          f"{time.perf_counter() - t0:.1f} s")
    print(f"\n== plain daily AutoETS vs restock, same {args.ets_sample}-series sample ==")
    series = daily_demand(inp.lines, pd.Timestamp(inp.cutoff), inp.stock)
    classes = classify_series(series)
    long_ids = classes.index[classes["history_days"] >= 120].tolist()
    rng = np.random.default_rng(0)
    sample = sorted(rng.choice(long_ids, size=min(args.ets_sample, len(long_ids)),
                               replace=False).tolist())
    ets = plain_ets(series, sample)
    train, test = split(series, sample)
    t0 = time.perf_counter()
    ours = forecast_series(train, classes["demand_class"], h=28)
    t_ours = time.perf_counter() - t0
    ids = np.array(sorted(sample), dtype=object)
    sel = ours.forecasts.sort_values(["unique_id", "step"])["mean"].to_numpy().reshape(-1, 28)
    both = ets.replace([np.inf, -np.inf], np.nan).dropna()
    print(f"plain AutoETS: {ets.attrs['seconds']:.1f} s = "
          f"{ets.attrs['seconds'] / len(sample) * 1000:.0f} ms/series (2 cores), "
          f"evaluation-holdout MASE {both['mase'].mean():.3f}")
    print(f"restock selection (CV + refit): {t_ours:.1f} s = "
          f"{t_ours / len(sample) * 1000:.0f} ms/series, evaluation-holdout MASE "
          f"{mean_mase(train, test, ids, sel):.3f}  "
          f"(speed-up x{ets.attrs['seconds'] / t_ours:.1f})")
    singles = {**run_daily(train, ids, list(DAILY), 28), **run_weekly(train, ids, list(WEEKLY), 28)}
    print("each single model on the same evaluation holdout: " + ", ".join(
        f"{k} {mean_mase(train, test, ids, v):.3f}" for k, v in sorted(singles.items())))
    print("models chosen:", ours.summary["model"].value_counts().to_dict())


if __name__ == "__main__":
    main()
