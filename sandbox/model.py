"""Result types of the sandbox shop generator and the shared calendar.

:class:`SandboxShop` is what :func:`sandbox.generator.generate` returns: the canonical intake
records a real shop would give us, plus :class:`SandboxTruth`, the exact ground truth the
records were generated from (true demand intensity, lost sales, customer parameters), so that
forecasting, stock-out correction and customer models can be scored against it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.records import ShopRecords

__all__ = [
    "PATTERNS",
    "PATTERN_MIX",
    "Calendar",
    "SandboxShop",
    "SandboxTruth",
]

#: Demand patterns assigned to SKUs, in a fixed order.
PATTERNS: tuple[str, ...] = (
    "smooth", "seasonal", "trending", "intermittent", "lumpy", "new", "season_window",
)

#: Target share of SKUs per pattern (before SKU switches are added).
PATTERN_MIX: dict[str, float] = {
    "smooth": 0.35, "seasonal": 0.15, "trending": 0.10, "intermittent": 0.20,
    "lumpy": 0.08, "new": 0.07, "season_window": 0.05,
}


@dataclass(frozen=True)
class Calendar:
    """The simulated days: day index ``d`` in ``0..n_days-1`` is ``start + d`` days.

    Attributes:
        days: Naive midnight timestamps of every day.
        dow: Day of week per day (Monday = 0).
        doy: Day of year per day (1-based).
        month: Month per day (1-12).
        start_ns: ``start`` as int64 nanoseconds since the epoch (UTC), for fast timestamps.
    """

    days: pd.DatetimeIndex
    dow: np.ndarray
    doy: np.ndarray
    month: np.ndarray
    start_ns: int

    @classmethod
    def ending(cls, end_date: str, n_days: int) -> "Calendar":
        """Build the calendar of ``n_days`` days ending on ``end_date`` (inclusive)."""
        end = pd.Timestamp(end_date).normalize().tz_localize(None)
        days = pd.date_range(end=end, periods=n_days, freq="D")
        return cls(
            days=days,
            dow=days.dayofweek.to_numpy(),
            doy=days.dayofyear.to_numpy(),
            month=days.month.to_numpy(),
            start_ns=int(days[0].value),
        )

    @property
    def n(self) -> int:
        """Number of days."""
        return len(self.days)

    def utc(self, day: np.ndarray, seconds: np.ndarray | float = 0.0) -> pd.DatetimeIndex:
        """Timezone-aware UTC timestamps for day indices plus seconds into the day."""
        ns = self.start_ns + np.asarray(day, dtype=np.int64) * 86_400_000_000_000
        ns = ns + np.round(np.asarray(seconds, dtype=np.float64) * 1e9).astype(np.int64)
        return pd.DatetimeIndex(pd.to_datetime(ns, unit="ns", utc=True))

    def naive(self, day: np.ndarray) -> np.ndarray:
        """Naive ``datetime64[ns]`` day starts for day indices (may lie outside the history)."""
        ns = self.start_ns + np.asarray(day, dtype=np.int64) * 86_400_000_000_000
        return ns.astype("datetime64[ns]")


@dataclass
class SandboxTruth:
    """Ground truth behind a sandbox shop. Dates are naive ``datetime64`` days.

    Attributes:
        expected_demand: ``sku, location_external_id, date, expected_units`` for every day the
            variant exists: the exact mean of the wanted units drawn that day (base level x
            pattern x weekly cycle x campaign uplift).
        wanted: ``sku, location_external_id, date, wanted_units``: realised demand before
            stock limits. Only rows with ``wanted_units > 0``; missing rows mean zero.
        lost_sales: ``sku, location_external_id, date, lost_units``: wanted units that found
            no stock. Only rows with ``lost_units > 0``. Sold units (quantities of order lines
            of non-cancelled orders) + lost units = wanted units, per sku x location x day.
        skus: One row per SKU: ``sku, pattern, consumable, cycle_days, supplier_external_id,
            lead_time_mean, lead_time_std, season_start, season_end`` (``"MM-DD"`` or None),
            ``created_date, discontinued_date, successor_sku, predecessor_sku, base_units``
            (mean daily units at pattern level 1, all locations), ``trend_per_year``,
            ``seasonal_peak_doy``.
        campaigns: ``external_id, code, starts_at, ends_at, discount_pct, uplift, n_skus``;
            ``uplift`` multiplies the expected demand of the campaign's SKUs on its days.
        customers: ``external_id, home_channel`` (web / marketplace / pos),
            ``location_external_id`` (of the home channel), ``rate_per_day`` (BG/NBD trip
            rate), ``dropout_p``, ``joined_at`` (UTC), ``dropout_date`` (day of the trip after
            which the customer dropped out; may lie after the end, NaT if not within the
            365-day look-ahead), ``alive_at_end``, ``next_trip_date`` (first trip after the
            end), ``next_rebuy_date`` (earliest consumable re-buy due), ``next_purchase_date``
            (the earlier of the two). Next dates are NaT for customers dead at the end. See
            :mod:`sandbox.customers` and :mod:`sandbox.matching`.
        customer_products: ``customer_external_id, sku, last_purchase_date, last_quantity,
            cycle_days, next_purchase_date`` per customer x consumable SKU the customer took up
            as a habit; ``next_purchase_date`` is the day the supply bought last runs out
            (NaT if the customer dropped the SKU or dropped out first; on or before the last
            day if the re-buy is overdue, waiting for stock).
    """

    expected_demand: pd.DataFrame
    wanted: pd.DataFrame
    lost_sales: pd.DataFrame
    skus: pd.DataFrame
    campaigns: pd.DataFrame
    customers: pd.DataFrame
    customer_products: pd.DataFrame


@dataclass
class SandboxShop:
    """A generated shop: intake records, ground truth and replenishment receipts.

    Attributes:
        records: Canonical intake records (see :mod:`core.records`).
        truth: Ground truth the records were generated from.
        receipts: Replenishment receipts received within the history: ``supplier_external_id,
            sku, location_external_id, ordered_date, received_date, quantity`` (naive days).
        start: First simulated day (naive midnight).
        end: Last simulated day (naive midnight).
        seed: Seed of the random generator.
    """

    records: ShopRecords
    truth: SandboxTruth
    receipts: pd.DataFrame
    start: pd.Timestamp
    end: pd.Timestamp
    seed: int
