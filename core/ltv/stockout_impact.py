"""Do customers who meet a stockout come back less?

Events. A customer *meets a stockout* at an event (customer, SKU, location, day) when the
inventory snapshot of that SKU x location that day shows ``available <= 0``. Events are

- ``order``: the customer ordered the SKU that day (the day's snapshot is taken at the end
  of the day, so "out" means the customer met the shelf running empty);
- ``due``: the customer was due to re-order the SKU that day and had not re-ordered it
  before. Due days come from ``due`` when given, and from the customer's own history:
  after their j-th purchase of the SKU (j >= 2), due = that day + the median gap between
  their purchases of it so far; at the location of that purchase.

Events without a snapshot that day are dropped (exposure unknown), as are events later than
``cutoff - churn_days`` (the outcome must be observable).

Sample. Each customer contributes **one** event drawn at random (seeded) from their events,
exposed or not. Drawing independently of exposure keeps the comparison fair: picking the
exposed event of every customer who was ever exposed would fill the control group with
customers who stopped buying early (fewer events, fewer chances to be exposed).

Outcomes, from the event day d: ``repurchase_90d`` = any order on days (d, d + 90];
``churn_180d`` = no order on days (d, d + 180].

Comparison (:func:`compare`). Comparable customers share a stratum: segment x frequency
(days with an order in [d - 365, d): 0, 1, 2-3, 4+) x event kind. Per segment, the difference is
standardised to the exposed customers (strata without both groups are left out):

    diff = sum_b w_b (p1_b - p0_b),   w_b = n1_b / sum n1_b
    var  = sum_b w_b^2 (p1_b (1 - p1_b) / n1_b + p0_b (1 - p0_b) / n0_b)
    CI   = diff +- z sqrt(var),  z = 1.96

i.e. the normal approximation for the difference of two proportions, within strata; with a
single stratum it is exactly the textbook two-proportion interval. ``normal_ok`` says whether
the approximation is fit: at least 5 successes and 5 failures in each group (n x rate); small
shops and small segments fail it and their intervals are too narrow. The segment should be
known before the events (a segment computed after them absorbs the effect): pass segments
as of the study period, or none (rows ``all`` stratify on frequency and kind only).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["rebuy_due_days", "stockout_events", "compare", "stockout_impact",
           "FREQ_EDGES", "Z95"]

FREQ_EDGES = (1, 2, 4)
Z95 = 1.959963984540054


def rebuy_due_days(lines: pd.DataFrame) -> pd.DataFrame:
    """Due days of re-buys from each customer's purchase history of each SKU.

    Returns:
        ``customer_id, sku, location_id, day`` for every purchase after the first whose
        due day (purchase day + median earlier gap) came before or on the next purchase.
    """
    keys = ["customer_id", "sku"]
    p = (lines[lines["customer_id"].notna()]
         .assign(day=lambda f: pd.to_datetime(f["day"]))
         .sort_values("day").groupby([*keys, "day"], as_index=False)
         .agg(location_id=("location_id", "last"))
         .sort_values([*keys, "day"], kind="stable").reset_index(drop=True))
    g = p.groupby(keys, sort=False)
    p["gap"] = g["day"].diff().dt.days
    p["median_gap"] = (p.groupby(keys, sort=False)["gap"].expanding().median()
                       .reset_index(level=keys, drop=True).sort_index())
    p["next_day"] = g["day"].shift(-1)
    p = p[p["gap"].notna()].copy()
    p["due"] = p["day"] + pd.to_timedelta(np.round(p["median_gap"]), unit="D")
    p = p[p["next_day"].isna() | (p["next_day"] >= p["due"])]
    return (p[[*keys, "location_id", "due"]].rename(columns={"due": "day"})
            .reset_index(drop=True))


def _order_days(lines: pd.DataFrame) -> pd.DataFrame:
    o = (lines[lines["customer_id"].notna()][["customer_id", "day"]]
         .assign(day=lambda f: pd.to_datetime(f["day"])).drop_duplicates()
         .sort_values(["customer_id", "day"]))
    o["n"] = o.groupby("customer_id").cumcount() + 1
    return o


def _asof(events: pd.DataFrame, orders: pd.DataFrame, on: str, direction: str,
          exact: bool) -> pd.DataFrame:
    left = events.assign(_t=events[on]).sort_values("_t")
    right = orders.rename(columns={"day": "_t"}).assign(_d=lambda f: f["_t"]).sort_values("_t")
    return pd.merge_asof(left, right, on="_t", by="customer_id", direction=direction,
                         allow_exact_matches=exact).drop(columns="_t")


def stockout_events(lines: pd.DataFrame, stock: pd.DataFrame, cutoff, *,
                    due: pd.DataFrame | None = None, customers: pd.DataFrame | None = None,
                    repurchase_days: int = 90, churn_days: int = 180,
                    freq_edges=FREQ_EDGES, seed: int = 0) -> pd.DataFrame:
    """One sampled event per customer with its exposure, stratum and outcomes.

    Args:
        lines: Order lines: ``customer_id`` (null for guests), ``sku, location_id, day``.
        stock: Snapshots: ``sku, location_id, day, available``.
        cutoff: Last day of data.
        due: Extra predicted due days: ``customer_id, sku, location_id, day``.
        customers: ``customer_id, segment`` (``all`` for everyone without it; ``none`` for
            customers missing from it).
        repurchase_days, churn_days: Outcome windows.
        freq_edges: Lower edges of the frequency bins after 0.
        seed: Seed of the event draw.

    Returns:
        ``customer_id, sku, location_id, day, kind, exposed, segment, frequency, freq_bin,
        repurchase_90d, churn_180d`` (the outcome columns are named after the windows).
    """
    rep, churn = f"repurchase_{repurchase_days}d", f"churn_{churn_days}d"
    cols = ["customer_id", "sku", "location_id", "day", "kind", "exposed", "segment",
            "frequency", "freq_bin", rep, churn]
    ident = lines[lines["customer_id"].notna()]
    if ident.empty or stock.empty:
        return pd.DataFrame(columns=cols)
    ev = [ident[["customer_id", "sku", "location_id", "day"]].assign(kind="order"),
          rebuy_due_days(ident).assign(kind="due")]
    if due is not None and len(due):
        ev.append(due[["customer_id", "sku", "location_id", "day"]].assign(kind="due"))
    ev = pd.concat(ev, ignore_index=True)
    ev["day"] = pd.to_datetime(ev["day"])
    ev = ev.sort_values("kind", ascending=False).drop_duplicates(
        ["customer_id", "sku", "location_id", "day"])  # an order beats a due day
    st = stock[["sku", "location_id", "day", "available"]].assign(
        day=lambda f: pd.to_datetime(f["day"]))
    ev = ev.merge(st, on=["sku", "location_id", "day"], how="inner")
    last = pd.Timestamp(cutoff) - pd.Timedelta(days=churn_days)
    ev = ev[(ev["day"] <= last) & ev["available"].notna()]
    if ev.empty:
        return pd.DataFrame(columns=cols)
    ev["exposed"] = ev["available"] <= 0
    rng = np.random.default_rng(seed)
    ev = ev.sort_values(["customer_id", "day", "sku", "kind"]).reset_index(drop=True)
    ev = ev.iloc[rng.permutation(len(ev))].drop_duplicates("customer_id")
    orders = _order_days(ident)
    nxt = _asof(ev, orders[["customer_id", "day"]], "day", "forward", False)
    gap = (nxt["_d"] - nxt["day"]).dt.days
    nxt[rep] = (gap <= repurchase_days).fillna(False).astype(int)
    nxt[churn] = (~(gap <= churn_days).fillna(False)).astype(int)
    nxt = nxt.drop(columns="_d")
    before = _asof(nxt, orders, "day", "backward", False).rename(columns={"n": "n_now"})
    before = before.drop(columns="_d").assign(start=lambda f: f["day"] - pd.Timedelta(days=365))
    old = _asof(before, orders, "start", "backward", False)
    old["frequency"] = (old["n_now"].fillna(0) - old["n"].fillna(0)).astype(int)
    edges = [-np.inf, *freq_edges, np.inf]
    labels = ["0"] + [f"{a}" if b - a == 1 else f"{a}+" if b == np.inf else f"{a}-{b - 1}"
                      for a, b in zip(freq_edges, [*freq_edges[1:], np.inf])]
    old["freq_bin"] = pd.cut(old["frequency"], edges, right=False, labels=labels).astype(str)
    seg = customers.drop_duplicates("customer_id").set_index("customer_id")["segment"] \
        if customers is not None and "segment" in customers else pd.Series(dtype=object)
    old["segment"] = old["customer_id"].map(seg).fillna("none") if len(seg) else "all"
    return old[cols].sort_values(["customer_id"]).reset_index(drop=True)


def compare(events: pd.DataFrame, outcome: str, strata=("freq_bin", "kind"),
            z: float = Z95) -> dict:
    """Exposed vs comparable controls on a 0/1 ``outcome`` (module docstring formulas).

    Returns:
        ``n_exposed, n_control`` (in strata holding both), ``rate_exposed, rate_control``
        (control standardised to the exposed), ``diff, ci_low, ci_high`` (None when no
        stratum holds both groups) and ``normal_ok``.
    """
    g = events.groupby([*strata, "exposed"])[outcome].agg(["sum", "count"]).unstack("exposed")
    res = dict(n_exposed=0, n_control=0, rate_exposed=None, rate_control=None, diff=None,
               ci_low=None, ci_high=None, normal_ok=False)
    if True not in g.columns.get_level_values(1) or False not in g.columns.get_level_values(1):
        return res
    n1, n0 = g[("count", True)].fillna(0), g[("count", False)].fillna(0)
    both = (n1 > 0) & (n0 > 0)
    if not both.any():
        return res
    n1, n0 = n1[both], n0[both]
    p1, p0 = g[("sum", True)][both] / n1, g[("sum", False)][both] / n0
    w = n1 / n1.sum()
    diff = float((w * (p1 - p0)).sum())
    se = float(np.sqrt((w ** 2 * (p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)).sum()))
    r1, r0, m1, m0 = float((w * p1).sum()), float((w * p0).sum()), n1.sum(), n0.sum()
    ok = min(m1 * r1, m1 * (1 - r1), m0 * r0, m0 * (1 - r0)) >= 5
    return dict(n_exposed=int(m1), n_control=int(m0), rate_exposed=r1, rate_control=r0,
                diff=diff, ci_low=diff - z * se, ci_high=diff + z * se, normal_ok=bool(ok))


def stockout_impact(lines: pd.DataFrame, stock: pd.DataFrame, cutoff, *,
                    customers: pd.DataFrame | None = None, due: pd.DataFrame | None = None,
                    repurchase_days: int = 90, churn_days: int = 180, seed: int = 0,
                    events: pd.DataFrame | None = None) -> pd.DataFrame:
    """Repurchase and churn of customers who met a stockout vs comparable ones, per segment
    and for ``all`` (module docstring).

    Args:
        lines, stock, cutoff, customers, due, repurchase_days, churn_days, seed: As
            :func:`stockout_events`.
        events: Already sampled events (skips the sampling).

    Returns:
        ``segment, metric, n_exposed, n_control, rate_exposed, rate_control, diff, ci_low,
        ci_high, normal_ok``: one row per segment x metric (``repurchase_<n>d``, ``churn_<n>d``).
    """
    if events is None:
        events = stockout_events(lines, stock, cutoff, due=due, customers=customers,
                                 repurchase_days=repurchase_days, churn_days=churn_days,
                                 seed=seed)
    metrics = [f"repurchase_{repurchase_days}d", f"churn_{churn_days}d"]
    rows = []
    if len(events):
        segs = sorted(s for s in events["segment"].unique() if s != "all")
        for metric in metrics:
            rows.append(dict(segment="all", metric=metric,
                             **compare(events, metric, ("segment", "freq_bin", "kind"))))
            for s in segs:
                rows.append(dict(segment=s, metric=metric,
                                 **compare(events[events["segment"] == s], metric)))
    return pd.DataFrame(rows, columns=["segment", "metric", "n_exposed", "n_control",
                                       "rate_exposed", "rate_control", "diff", "ci_low",
                                       "ci_high", "normal_ok"])
