"""restock's plan against simple replenishment rules and two bounds, on the sandbox shop.

    .venv/bin/python benchmarks/bench_policies.py [--skus 300] [--days 730] [--seed 7]
        [--target 0.95] [--simulate-days 90] [--review-days 7] [--lead-seed 1]

Setup: a sandbox shop (default 300 SKUs, 730 days, 1 location); the SKUs live through the
last 90 days with at least 90 days of life before them (295 of 300 at the defaults). True
demand = ``truth.wanted`` (demand before stock limits) on every day; the last 90 days are
simulated with lost sales, the earlier days are the history the policies may look at.
Lead times: each SKU's true distribution, told to every policy; the same lead-time draws
for every policy (``--lead-seed``). Review every 7 days. Every SKU starts at its policy's
own order-up-to level (see :mod:`core.simulator.engine`).

Per demand class (the sandbox's ground-truth ``pattern``; "all" = every simulated SKU,
lumpy / new / season-window ones included), with stock = average on-hand value at cost:

- restock: fill rate at a 0.95 fill-rate target (fill = units served / units demanded);
- velocity, N per class: the Stocky-style rule v30 x (L + R + N) with N found by bisection
  so that the class's fill equals restock's; the stock at exactly that fill is interpolated
  between the two bracketing runs. ``restock/vel`` = restock's stock / velocity's;
- velocity, one N for the catalog: N tuned on the whole catalog to restock's overall fill
  (as a merchant sets one number), then each class's fill and stock at that N;
- known_distribution: the (R, S) policy told the true daily mean and variance; its fill
  at the 0.95 target, and its stock at restock's fill (target tuned by bisection);
  ``restock/known`` = restock's stock / known's at equal fill (1.0 = a perfect forecast);
- restock told the true mean (``true-mean``): restock's own policy and sigma, with the
  forecast replaced by the sandbox's true daily mean; its fill, its stock / known's at its
  fill (``tm/known``) and / velocity's at its fill (``tm/vel``). The gap between
  ``r/known`` and ``tm/known`` is what the forecast's level error costs; ``tm/known`` is
  what the safety-stock side costs;
- oracle: perfect foresight, fill 1.0 with the least stock; ``restock/oracle``;
- minmax (Odoo-style, checked daily): fill and stock, for reference.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from core.simulator import (KnownDistributionPolicy, MinMaxPolicy, OraclePolicy, RestockPolicy,
                            VelocityPolicy, fill_and_stock, match_fill, simulate, truth_scenario)
from sandbox import generate

CLASSES = ("smooth", "intermittent", "trending", "seasonal", "all")


class TrueMeanRestock(RestockPolicy):
    """restock with its forecast replaced by the true daily mean (a diagnostic)."""

    name = "restock_true_mean"

    def __init__(self, mean, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.true_mean = mean

    def prepare(self, t, history):
        super().prepare(t, history)
        s = t - self.ctx.t0
        for i in list(self._fc):
            self._fc[i] = self.true_mean[i, s:] if s < self.true_mean.shape[1] \
                else self.true_mean[i, -1:]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--skus", type=int, default=300)
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--target", type=float, default=0.95)
    ap.add_argument("--simulate-days", type=int, default=90)
    ap.add_argument("--review-days", type=int, default=7)
    ap.add_argument("--lead-seed", type=int, default=1)
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    shop = generate(seed=a.seed, n_skus=a.skus, n_days=a.days, n_locations=1)
    ts = truth_scenario(shop, a.simulate_days)
    sc, pattern = ts.scenario, ts.pattern.to_numpy()
    rows = {c: np.arange(sc.n) if c == "all" else np.flatnonzero(pattern == c) for c in CLASSES}
    print(f"sandbox seed {a.seed}: {a.skus} SKUs, {a.days} days, 1 location; {sc.n} SKUs "
          f"simulated over the last {a.simulate_days} days (review every {a.review_days} "
          f"days, lead-time seed {a.lead_seed}); target fill rate {a.target}")
    print("SKUs per class: " + ", ".join(f"{c} {len(r)}" for c, r in rows.items()))

    def run(policy, sub=None):
        return simulate(sc if sub is None else sc.subset(sub), policy, a.review_days,
                        a.lead_seed)

    def by_class(res):
        return {c: fill_and_stock(res, r) for c, r in rows.items()}

    t = time.perf_counter()
    restock = by_class(run(RestockPolicy(a.target, "fill")))
    print(f"restock run: {time.perf_counter() - t:.0f} s")
    true_mean = by_class(run(TrueMeanRestock(ts.mean, a.target, "fill")))
    oracle = by_class(run(OraclePolicy(sc.demand)))
    minmax = by_class(run(MinMaxPolicy()))
    known95 = by_class(run(KnownDistributionPolicy(ts.mean, ts.var, a.target)))
    cat = match_fill(lambda n: fill_and_stock(run(VelocityPolicy(n))), restock["all"][0],
                     0.0, 120.0, 12)
    n_cat, f_cat = cat.param, cat.fill
    vel_cat = by_class(run(VelocityPolicy(n_cat)))
    table = []
    for c, r in rows.items():
        fr, sr = restock[c]
        v = match_fill(lambda n: fill_and_stock(run(VelocityPolicy(n), r)), fr, 0.0, 120.0, 12)
        k = match_fill(lambda p: fill_and_stock(
            run(KnownDistributionPolicy(ts.mean[r], ts.var[r], p), r)), fr, 0.5, 0.9995, 10)
        n_v, s_v, ok_v, p_k, s_k, ok_k = v.param, v.stock, v.exact, k.param, k.stock, k.exact
        ft, st = true_mean[c]
        kt = match_fill(lambda p: fill_and_stock(
            run(KnownDistributionPolicy(ts.mean[r], ts.var[r], p), r)), ft, 0.5, 0.9995, 10)
        vt = match_fill(lambda n: fill_and_stock(run(VelocityPolicy(n), r)), ft, 0.0, 120.0, 12)
        table.append((c, len(r), fr, sr, n_v, s_v, ok_v, vel_cat[c], p_k, s_k, ok_k,
                      known95[c], oracle[c][1], minmax[c], ft, st / kt.stock, st / vt.stock))
    print(f"\nvelocity with one N for the catalog: N = {n_cat:.1f} days (overall fill "
          f"{f_cat:.3f})\n")
    head = (f"{'class':<13}{'SKUs':>5} | {'restock':>7} {'stock':>8} | {'vel N*':>6} "
            f"{'stock':>8} {'r/vel':>6} | {'catN fill':>9} {'stock':>8} {'r/vel':>6} | "
            f"{'known@.95':>9} {'stock@=':>8} {'r/known':>7} | {'oracle':>8} {'r/orc':>6} | "
            f"{'minmax':>6} {'stock':>8} | {'true-mean':>9} {'tm/known':>8} {'tm/vel':>6}")
    print(head)
    print("-" * len(head))
    for (c, n, fr, sr, n_v, s_v, ok_v, (fc_, sc_), p_k, s_k, ok_k, (fk, _), so,
         (fm, sm), ft, rt, rv) in table:
        mark_v = "" if ok_v else "!"
        mark_k = "" if ok_k else "!"
        print(f"{c:<13}{n:>5} | {fr:>7.3f} {sr:>8.0f} | {n_v:>5.1f}{mark_v or ' '} "
              f"{s_v:>8.0f} {sr / s_v:>6.2f} | {fc_:>9.3f} {sc_:>8.0f} {sr / sc_:>6.2f} | "
              f"{fk:>9.3f} {s_k:>8.0f}{mark_k or ' '}{sr / s_k:>6.2f} | {so:>8.0f} "
              f"{sr / so:>6.2f} | {fm:>6.3f} {sm:>8.0f} | {ft:>9.3f} {rt:>8.2f} {rv:>6.2f}")
    print("\nknown_distribution target giving restock's fill: " + ", ".join(
        f"{row[0]} {row[8]:.3f}" for row in table))
    print("stock = average on-hand value at cost; r/x = restock's stock / x's stock at "
          "restock's fill ('!' = restock's fill lies outside the tuning range: the bound's "
          "value); catN = velocity with the catalog-wide N (fills differ from restock's per "
          f"class). Total {time.perf_counter() - t0:.0f} s.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
