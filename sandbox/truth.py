"""Ground-truth frames of a sandbox shop (see :class:`sandbox.model.SandboxTruth`)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from sandbox.catalog import SEASON_WINDOWS, Catalog
from sandbox.catalog_frames import live_cells, location_ids, supplier_ids
from sandbox.customers import Population
from sandbox.demand import Campaigns, DemandModel
from sandbox.matching import Matching
from sandbox.model import Calendar

__all__ = ["demand_truth", "sku_truth", "campaign_truth", "customer_truth"]


def _cell_frame(cat: Catalog, cal: Calendar, n_locations: int, cells: np.ndarray,
                name: str, values: np.ndarray) -> pd.DataFrame:
    kl, d = np.divmod(cells, cal.n)
    return pd.DataFrame({
        "sku": cat.sku[kl // n_locations],
        "location_external_id": location_ids(n_locations)[kl % n_locations],
        "date": cal.naive(d),
        name: values,
    })


def demand_truth(cat: Catalog, cal: Calendar, n_locations: int, dem: DemandModel,
                 wanted: np.ndarray, sold: np.ndarray) -> tuple[pd.DataFrame, ...]:
    """``expected_demand`` (every live day), ``wanted`` and ``lost_sales`` (non-zero rows)."""
    cells = live_cells(cat, n_locations, cal.n)
    expected = _cell_frame(cat, cal, n_locations, cells, "expected_units",
                           dem.expected.ravel()[cells])
    w = wanted.ravel()
    nz = np.flatnonzero(w)
    wanted_df = _cell_frame(cat, cal, n_locations, nz, "wanted_units", w[nz])
    lost = w - sold.ravel()
    nz = np.flatnonzero(lost)
    lost_df = _cell_frame(cat, cal, n_locations, nz, "lost_units", lost[nz])
    return expected, wanted_df, lost_df


def sku_truth(cat: Catalog, cal: Calendar, dem: DemandModel) -> pd.DataFrame:
    """One row per SKU: pattern, consumption cycle, supplier lead time, life span, levels."""
    win = cat.window
    fmt = [f"{m:02d}-{d:02d}" for (m, d), _ in SEASON_WINDOWS]
    fmt_end = [f"{m:02d}-{d:02d}" for _, (m, d) in SEASON_WINDOWS]
    pred = cat.predecessor
    return pd.DataFrame({
        "sku": cat.sku,
        "pattern": cat.pattern,
        "consumable": cat.consumable,
        "cycle_days": cat.cycle_days,
        "supplier_external_id": supplier_ids(len(cat.sup_lt_mean))[cat.supplier],
        "lead_time_mean": cat.sup_lt_mean[cat.supplier],
        "lead_time_std": cat.sup_lt_std[cat.supplier],
        "season_start": np.array([fmt[w] if w >= 0 else None for w in win], dtype=object),
        "season_end": np.array([fmt_end[w] if w >= 0 else None for w in win], dtype=object),
        "created_date": cal.naive(cat.created_day),
        "discontinued_date": np.where(cat.end_day < cal.n, cal.naive(cat.end_day),
                                      np.datetime64("NaT", "ns")),
        "successor_sku": cat.successor,
        "predecessor_sku": np.where(pred >= 0, cat.sku[np.maximum(pred, 0)], None),
        "base_units": dem.base,
        "mean_units_per_line": dem.qty_mean,
        "trend_per_year": dem.trend,
        "seasonal_peak_doy": dem.peak_doy,
    })


def campaign_truth(campaigns: Campaigns, cal: Calendar) -> pd.DataFrame:
    """Campaigns with their true demand uplift factor."""
    return pd.DataFrame({
        "external_id": np.array([f"CMP-{c + 1:02d}" for c in range(campaigns.n)], dtype=object),
        "code": campaigns.code,
        "starts_at": cal.utc(campaigns.start_day),
        "ends_at": cal.utc(campaigns.end_day, 86_399.0),
        "discount_pct": campaigns.pct.astype(np.float64),
        "uplift": campaigns.uplift,
        "n_skus": [len(s) for s in campaigns.skus],
    })


def _day_or_nat(cal: Calendar, t: np.ndarray, ok: np.ndarray) -> np.ndarray:
    day = np.floor(np.where(ok, t, 0)).astype(np.int64)
    return np.where(ok, cal.naive(day), np.datetime64("NaT", "ns"))


def customer_truth(pop: Population, match: Matching, cat: Catalog, cal: Calendar,
                   ids: np.ndarray, n_locations: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``customers`` and ``customer_products`` truth frames.

    ``next_purchase_date`` of a customer is the earlier of the next trip after the end and
    the next consumable re-buy due (``next_rebuy_date``); of a customer x SKU, the due day of
    the next re-buy while the customer still holds it and has not dropped out before it.
    A due date on or before the last day means the re-buy is overdue (waiting for stock).
    """
    n_d = cal.n
    alive = pop.death >= n_d
    c, k = match.cp_customer, match.cp_sku
    ok = match.cp_active & alive[c] & (match.cp_due < pop.death[c])
    products = pd.DataFrame({
        "customer_external_id": ids[c] if len(c) else np.zeros(0, object),
        "sku": cat.sku[k] if len(k) else np.zeros(0, object),
        "last_purchase_date": cal.naive(match.cp_last_day),
        "last_quantity": match.cp_last_qty,
        "cycle_days": cat.cycle_days[k] if len(k) else np.zeros(0),
        "next_purchase_date": _day_or_nat(cal, match.cp_due, ok),
    })
    rebuy = np.full(pop.n, np.inf)
    np.minimum.at(rebuy, c[ok], match.cp_due[ok])
    trip = np.where(np.isnan(pop.next_trip), np.inf, pop.next_trip)
    nxt = np.minimum(trip, rebuy)
    groups = ["web", "marketplace"] + ["pos"] * (n_locations - 1)
    locs = ["1", "1"] + [str(i + 1) for i in range(1, n_locations)]
    customers = pd.DataFrame({
        "external_id": ids,
        "home_channel": np.array(groups, dtype=object)[pop.group],
        "location_external_id": np.array(locs, dtype=object)[pop.group],
        "rate_per_day": pop.rate,
        "dropout_p": pop.dropout,
        "joined_at": cal.utc(np.zeros(pop.n, np.int64), np.floor(pop.join * 86400.0)),
        "dropout_date": _day_or_nat(cal, pop.death, np.isfinite(pop.death)),
        "alive_at_end": alive,
        "next_trip_date": _day_or_nat(cal, trip, np.isfinite(trip)),
        "next_rebuy_date": _day_or_nat(cal, rebuy, np.isfinite(rebuy)),
        "next_purchase_date": _day_or_nat(cal, nxt, np.isfinite(nxt)),
    })
    return customers, products
