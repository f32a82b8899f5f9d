"""True demand of the sandbox shop: campaigns, expected units and the wanted-unit draws.

The expected demand (units) of SKU ``k`` at location ``l`` on day ``d`` is::

    E[k, l, d] = base[k] * share[k, l] * weekly[k, kind(l), dow(d)] * profile[k, d]
                 * uplift[k, d] * exists[k, d]

``profile`` carries the pattern (1 for smooth/intermittent/lumpy, a yearly cosine for
seasonal, ``exp(g * t)`` for trending, a ramp-up after launch for new, a bump inside the
season window and 0 outside for season_window). ``uplift`` is the campaign factor.

Wanted units are drawn so that their mean is exactly ``E``:

* smooth, seasonal, trending, new, season_window: the number of order lines is Poisson-gamma
  (negative binomial, dispersion ``k`` per SKU) with mean ``E / mean_qty``; each line's
  quantity is ``1 + Poisson(mu)`` (consumables: 1, 2 or 3 with probabilities .65/.27/.08).
* intermittent: one line with probability ``p = E / mean_size`` (capped at 0.9, and ``E`` is
  recomputed from the cap), size ``1 + Poisson(mu)`` (low variability, CV^2 < 0.25).
* lumpy: as intermittent, size ``1 + NegBin(0.6, mean m - 1)`` (very variable, CV^2 > 0.49).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sandbox.catalog import FAMILIES, SEASON_WINDOWS, Catalog
from sandbox.model import Calendar

__all__ = ["Campaigns", "DemandModel", "Lines", "build_campaigns", "build_demand", "draw_lines"]

_WEEKLY = np.array([
    [1.10, 1.05, 1.00, 0.95, 0.90, 0.90, 1.10],  # online (warehouse)
    [0.80, 0.85, 0.90, 1.00, 1.15, 1.45, 0.85],  # retail store
])
_SUMMER_FAMILIES = ("Garden", "Skincare", "Apparel")
_CONS_QTY = (np.array([1, 2, 3]), np.array([0.65, 0.27, 0.08]))
_LUMPY_N = 0.6
_P_CAP = 0.9
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass
class Campaigns:
    """Dated campaigns; days are inclusive day indices."""

    start_day: np.ndarray
    end_day: np.ndarray
    pct: np.ndarray
    uplift: np.ndarray
    skus: list[np.ndarray]
    name: list[str]
    code: list[str]

    @property
    def n(self) -> int:
        """Number of campaigns."""
        return len(self.name)


@dataclass
class DemandModel:
    """Expected demand and the per-SKU parameters it was built from."""

    expected: np.ndarray  # (K, L, D) float64 expected units
    base: np.ndarray  # (K,) mean daily units over all locations at profile 1
    qty_mean: np.ndarray  # (K,) mean units per line (per occurrence for intermittent/lumpy)
    qty_mu: np.ndarray  # (K,) Poisson parameter of the extra units per line
    dispersion: np.ndarray  # (K,) gamma shape of the line-count mixing
    trend: np.ndarray  # (K,) growth per year (log scale), 0 if not trending
    peak_doy: np.ndarray  # (K,) seasonal peak day of year, nan if not seasonal
    occurrence: np.ndarray  # (K,) bool: intermittent or lumpy


@dataclass
class Lines:
    """Wanted order lines, sorted by cell and, within a cell, by arrival order.

    ``cell = (k * L + l) * D + d``.
    """

    cell: np.ndarray
    qty: np.ndarray


def build_campaigns(rng: np.random.Generator, cat: Catalog, cal: Calendar) -> Campaigns:
    """Draw non-overlapping campaigns spread over the history."""
    n_days = cal.n
    n_c = int(np.clip(round(n_days / 730 * rng.uniform(4, 8)), 1, 8))
    seg = (n_days - 20) / n_c
    out: dict[str, list] = {
        k: [] for k in ("start", "end", "pct", "uplift", "skus", "name", "code")}
    for c in range(n_c):
        dur = int(min(rng.integers(5, 15), max(3, int(seg) - 1)))
        start = 10 + int(c * seg) + int(rng.integers(0, max(1, int(seg) - dur)))
        end = min(start + dur - 1, n_days - 1)
        pct = int(rng.choice([10, 15, 20, 25, 30]))
        live = np.flatnonzero((cat.created_day <= start) & (cat.end_day > end))
        n_pick = min(len(live), max(3, int(round(rng.uniform(0.05, 0.15) * len(live)))))
        skus = np.sort(rng.choice(live, size=n_pick, replace=False))
        day = cal.days[start]
        mon, yy = _MONTHS[day.month - 1], day.year % 100
        out["start"].append(start)
        out["end"].append(end)
        out["pct"].append(pct)
        out["uplift"].append(round(1.0 + pct / 100 * rng.uniform(3.0, 7.0), 3))
        out["skus"].append(skus)
        out["name"].append(f"{mon} {day.year} Sale {c + 1}")
        out["code"].append(f"{mon.upper()}{yy:02d}-{pct}-{c + 1}")
    return Campaigns(
        start_day=np.array(out["start"], dtype=np.int64),
        end_day=np.array(out["end"], dtype=np.int64),
        pct=np.array(out["pct"], dtype=np.int64), uplift=np.array(out["uplift"]),
        skus=out["skus"], name=out["name"], code=out["code"],
    )


def _window_profile(cal: Calendar, window: int) -> np.ndarray:
    (m1, d1), (m2, d2) = SEASON_WINDOWS[window]
    years = cal.days.year
    first = pd.to_datetime(pd.DataFrame({"year": years, "month": m1, "day": d1}))
    last = pd.to_datetime(pd.DataFrame({"year": years, "month": m2, "day": d2}))
    inside = (cal.days >= first.to_numpy()) & (cal.days <= last.to_numpy())
    frac = ((cal.days - first.to_numpy()) / (last.to_numpy() - first.to_numpy())).to_numpy()
    bump = (0.4 + np.sin(np.pi * np.clip(frac, 0, 1))) / (0.4 + 2 / np.pi)
    return np.where(inside, bump, 0.0)


def build_demand(rng: np.random.Generator, cat: Catalog, cal: Calendar, n_locations: int,
                 campaigns: Campaigns) -> DemandModel:
    """Draw per-SKU demand parameters and compute the exact expected demand array."""
    k_n, d_n = cat.n, cal.n
    pat = cat.pattern
    occurrence = np.isin(pat, ("intermittent", "lumpy"))
    base = rng.lognormal(np.log(0.5), 0.8, size=k_n)
    base = np.where(pat == "season_window", base * 2.5, base)
    base = np.where(cat.consumable, base * 1.8, base)  # consumables are steady sellers
    qty_mu = rng.uniform(0.05, 0.4, size=k_n)
    qty_mean = np.where(cat.consumable, float(_CONS_QTY[0] @ _CONS_QTY[1]), 1.0 + qty_mu)
    occ_rate = np.where(pat == "lumpy", rng.uniform(1 / 14, 1 / 3, size=k_n),
                        rng.uniform(1 / 8, 1 / 2.5, size=k_n))
    inter_mu = rng.uniform(0.0, 1.0, size=k_n)
    lumpy_m = rng.uniform(3.0, 12.0, size=k_n)
    inter, lumpy = pat == "intermittent", pat == "lumpy"
    qty_mu = np.where(inter, inter_mu, np.where(lumpy, lumpy_m - 1, qty_mu))
    qty_mean = np.where(inter, 1 + inter_mu, np.where(lumpy, lumpy_m, qty_mean))
    base = np.where(occurrence, occ_rate * qty_mean, base)
    dispersion = rng.uniform(2.0, 10.0, size=k_n)

    if n_locations == 1:
        share = np.ones((k_n, 1))
    else:
        store_w = rng.dirichlet(np.full(n_locations - 1, 4.0))
        stores = store_w[None, :] * rng.gamma(8.0, 1 / 8.0, size=(k_n, n_locations - 1))
        stores = stores / stores.sum(axis=1, keepdims=True)
        wh = rng.uniform(0.45, 0.75, size=k_n)
        share = np.column_stack([wh, (1 - wh)[:, None] * stores])
    amp = rng.uniform(0.5, 1.5, size=k_n)
    weekly = 1.0 + amp[:, None, None] * (_WEEKLY[None, :, :] - 1.0)
    weekly = weekly / weekly.mean(axis=2, keepdims=True)  # (K, 2, 7)

    t = np.arange(d_n, dtype=np.float64)
    profile = np.ones((k_n, d_n))
    summer = np.array([FAMILIES[f].name in _SUMMER_FAMILIES for f in cat.family])
    peak = np.where(summer, 190.0, 360.0) + rng.uniform(-20, 20, size=k_n)
    seas_amp = rng.uniform(0.35, 0.8, size=k_n)
    growth = rng.uniform(0.35, 0.9, size=k_n) * np.where(rng.random(k_n) < 0.6, 1.0, -1.0)
    tau = rng.uniform(5.0, 40.0, size=k_n)
    is_seas = pat == "seasonal"
    profile[is_seas] = 1 + seas_amp[is_seas, None] * np.cos(
        2 * np.pi * (cal.doy[None, :] - peak[is_seas, None]) / 365.25)
    is_trend = pat == "trending"
    profile[is_trend] = np.exp(growth[is_trend, None] * (t[None, :] - d_n / 2) / 365.0)
    is_new = pat == "new"
    since = t[None, :] - cat.created_day[is_new, None] + 1
    ramp = 1 - np.exp(-np.maximum(since, 0) / tau[is_new, None])
    profile[is_new] = np.where(since > 0, ramp, 0.0)
    for w in range(len(SEASON_WINDOWS)):
        sel = (pat == "season_window") & (cat.window == w)
        if sel.any():
            profile[sel] = _window_profile(cal, w)[None, :]
    succ = np.flatnonzero(cat.predecessor >= 0)
    pred = cat.predecessor[succ]
    for arr in (base, share, weekly, profile, qty_mean, qty_mu, dispersion):
        arr[succ] = arr[pred]
    exists = (t[None, :] >= cat.created_day[:, None]) & (t[None, :] < cat.end_day[:, None])
    profile *= exists
    for c in range(campaigns.n):
        s, e = campaigns.start_day[c], campaigns.end_day[c] + 1
        profile[campaigns.skus[c], s:e] *= campaigns.uplift[c]

    kind = np.array([0] + [1] * (n_locations - 1))
    wk = weekly[:, kind, :][:, :, cal.dow]  # (K, L, D)
    expected = (base[:, None] * share)[:, :, None] * wk * profile[:, None, :]
    occ = np.flatnonzero(occurrence)
    p = np.minimum(expected[occ] / qty_mean[occ, None, None], _P_CAP)
    expected[occ] = p * qty_mean[occ, None, None]
    return DemandModel(
        expected=expected, base=base, qty_mean=qty_mean, qty_mu=qty_mu, dispersion=dispersion,
        trend=np.where(is_trend, growth, 0.0),
        peak_doy=np.where(is_seas, np.mod(peak, 365.25), np.nan),
        occurrence=occurrence,
    )


def draw_lines(rng: np.random.Generator, cat: Catalog,
               dem: DemandModel) -> tuple[Lines, np.ndarray]:
    """Draw the wanted order lines.

    Returns:
        The lines (cell, quantity) in arrival order within each cell, and the wanted units as
        an int64 array of shape ``(K * L, D)``.
    """
    k_n, l_n, d_n = dem.expected.shape
    per_k = l_n * d_n
    cells, qtys = [], []

    lb = np.flatnonzero(~dem.occurrence)
    if len(lb):
        e_lb = dem.expected[lb]
        shape = dem.dispersion[lb, None, None]
        lines_mean = e_lb / dem.qty_mean[lb, None, None]
        lam = rng.gamma(np.broadcast_to(shape, e_lb.shape), lines_mean / shape)
        n = rng.poisson(lam)
        del lam, e_lb, lines_mean
        nz = np.flatnonzero(n)
        cell = np.repeat(lb[nz // per_k] * per_k + nz % per_k, n.ravel()[nz])
        k = cell // per_k
        q_cons = rng.choice(_CONS_QTY[0], size=len(cell), p=_CONS_QTY[1])
        q_gen = 1 + rng.poisson(dem.qty_mu[k])
        cells.append(cell)
        qtys.append(np.where(cat.consumable[k], q_cons, q_gen))

    oc = np.flatnonzero(dem.occurrence)
    if len(oc):
        p = dem.expected[oc] / dem.qty_mean[oc, None, None]
        nz = np.flatnonzero(rng.random(p.shape) < p)
        cell = oc[nz // per_k] * per_k + nz % per_k
        k = cell // per_k
        mu = dem.qty_mu[k]
        q_int = 1 + rng.poisson(np.where(cat.pattern[k] == "intermittent", mu, 0.0))
        q_lumpy = 1 + rng.negative_binomial(_LUMPY_N, _LUMPY_N / (_LUMPY_N + mu))
        cells.append(cell)
        qtys.append(np.where(cat.pattern[k] == "lumpy", q_lumpy, q_int))

    cell = np.concatenate(cells) if cells else np.zeros(0, np.int64)
    qty = np.concatenate(qtys).astype(np.int64) if qtys else np.zeros(0, np.int64)
    perm = rng.permutation(len(cell))
    order = perm[np.argsort(cell[perm], kind="stable")]
    cell, qty = cell[order], qty[order]
    wanted = np.bincount(cell, weights=qty, minlength=k_n * per_k).astype(np.int64)
    return Lines(cell=cell, qty=qty), wanted.reshape(k_n * l_n, d_n)
