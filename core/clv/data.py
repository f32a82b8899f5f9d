"""Transactions to the per-customer summaries that the BG/NBD and Gamma-Gamma models use.

For each customer whose first purchase is on or before the calibration end ``E`` (all times
in WEEKS, days / 7, purchases on the same day merged into one purchase of their summed
amount):

- ``x``: repeat purchase days in the calibration period (distinct purchase days after the
  first one, up to and including ``E``);
- ``t_x``: recency, (last calibration purchase day - first purchase day) / 7;
- ``T``: age, (``E`` - first purchase day) / 7;
- ``monetary``: mean amount of the ``x`` repeat purchase days (NaN when ``x = 0``); the
  first purchase is left out, as in Fader, Hardie & Lee (2005b), "RFM and CLV: Using
  Iso-Value Curves for Customer Base Analysis", J. Marketing Research 42(4), 415-430;
- ``holdout``: purchase days after ``E`` (up to ``holdout_end`` when given), each one a
  repeat purchase since the first purchase is in the calibration period.

With ``E`` = 1997-09-30 this reproduces Hardie's CDNOW summary (x, t_x, T rounded to 0.01
week) used by Fader, Hardie & Lee (2005a), "Counting Your Customers the Easy Way",
Marketing Science 24(2), 275-284: customer 1 has x = 2, t_x = 30.43, T = 38.86.

:func:`read_cdnow` reads the CDNOW files shipped in the ``lifetimes`` wheel (test data only;
restock does not need ``lifetimes`` at run time).
"""
from __future__ import annotations

import importlib.resources
import importlib.util
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["SUMMARY_COLUMNS", "summarize", "holdout_weeks", "read_cdnow", "cdnow_path"]

SUMMARY_COLUMNS = ["x", "t_x", "T", "monetary", "holdout", "first_purchase"]
_DAY = pd.Timedelta(days=1)


def _day(value) -> pd.Timestamp:
    """A date, timestamp or ISO string as a midnight :class:`pandas.Timestamp` (no zone)."""
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts.normalize()


def _days(values) -> np.ndarray:
    """Calendar days (midnight, no zone) of dates, timestamps or ISO 8601 strings."""
    series = pd.Series(values)
    text = series.dtype == object or pd.api.types.is_string_dtype(series.dtype)
    stamps = pd.to_datetime(series, format="ISO8601") if text else pd.to_datetime(series)
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_localize(None)
    return stamps.dt.normalize().to_numpy()


def summarize(transactions: pd.DataFrame, calibration_end: date | str,
              holdout_end: date | str | None = None, *, customer: str = "customer_id",
              when: str = "date", amount: str = "amount") -> pd.DataFrame:
    """Per-customer calibration summary and holdout count.

    Args:
        transactions: One row per transaction with the columns named by ``customer``,
            ``when`` (dates or timestamps; only the calendar day is used) and ``amount``.
        calibration_end: Last day ``E`` of the calibration period (included).
        holdout_end: Last day of the holdout period (included); None counts every
            transaction after ``E``.
        customer: Customer id column.
        when: Date column.
        amount: Amount column.

    Returns:
        A frame indexed by customer id (customers with a first purchase on or before ``E``,
        sorted by id) with the columns :data:`SUMMARY_COLUMNS`: x (int), t_x, T (weeks),
        monetary (mean repeat-day amount or NaN), holdout (int) and first_purchase.
    """
    end = _day(calibration_end)
    stop = None if holdout_end is None else _day(holdout_end)
    days = pd.DataFrame({
        "customer": transactions[customer].to_numpy(),
        "day": _days(transactions[when]),
        "amount": pd.to_numeric(transactions[amount]).to_numpy(dtype=float),
    })
    days = days.groupby(["customer", "day"], sort=True, as_index=False)["amount"].sum()
    first = days.groupby("customer")["day"].min()
    first = first[first <= end]
    days = days[days["customer"].isin(first.index)]
    cal = days[days["day"] <= end]
    out = days[days["day"] > end]
    if stop is not None:
        out = out[out["day"] <= stop]
    g = cal.groupby("customer")
    n_days = g.size()
    last = g["day"].max()
    total = g["amount"].sum()
    first_amount = cal.loc[cal.groupby("customer")["day"].idxmin(), ["customer", "amount"]]
    first_amount = first_amount.set_index("customer")["amount"]
    x = (n_days - 1).astype(int)
    repeat_sum = total - first_amount.reindex(total.index)
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = (repeat_sum / x).where(x > 0)
    summary = pd.DataFrame({
        "x": x,
        "t_x": (last - first.reindex(last.index)) / _DAY / 7.0,
        "T": (end - first.reindex(last.index)) / _DAY / 7.0,
        "monetary": monetary.astype(float),
        "holdout": out.groupby("customer").size().reindex(x.index, fill_value=0).astype(int),
        "first_purchase": first.reindex(x.index),
    })
    summary.index.name = customer
    return summary


def holdout_weeks(calibration_end: date | str, holdout_end: date | str) -> float:
    """Length of the holdout period (``E``, ``holdout_end``] in weeks."""
    return float((_day(holdout_end) - _day(calibration_end)) / _DAY / 7.0)


def cdnow_path(which: str = "sample") -> Path:
    """Locate ``CDNOW_sample.txt`` or ``CDNOW_master.txt`` in the installed ``lifetimes``.

    Uses :mod:`importlib.resources` and, when ``lifetimes`` is installed without its
    dependencies (so that importing it fails), the package's location from
    :func:`importlib.util.find_spec`, which does not import it.

    Raises:
        FileNotFoundError: if ``lifetimes`` or the file is not installed.
    """
    name = {"sample": "CDNOW_sample.txt", "master": "CDNOW_master.txt"}[which]
    try:
        res = importlib.resources.files("lifetimes.datasets").joinpath(name)
        path = Path(str(res))
    except Exception:  # noqa: BLE001 - lifetimes missing or its imports failing
        try:
            spec = importlib.util.find_spec("lifetimes")
        except (ImportError, ValueError):
            spec = None
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError("the CDNOW data needs the 'lifetimes' package: "
                                    "pip install --no-deps lifetimes") from None
        path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / name
    if not path.is_file():
        raise FileNotFoundError(f"{name} is not in the installed lifetimes package")
    return path


def read_cdnow(which: str = "sample") -> pd.DataFrame:
    """Read a CDNOW transaction file as ``customer_id, date, cds, amount`` (+ ``master_id``).

    ``CDNOW_sample.txt`` has no header and five whitespace-separated columns: master
    customer id, sample customer id (1..2357, Hardie's numbering, used here), date
    YYYYMMDD, number of CDs, dollar amount. ``CDNOW_master.txt`` has a header line and four
    columns (customer id, date, number of CDs, dollar value). The sample's frame keeps the
    master id as ``master_id`` (the sample is a 1/10 systematic sample of the master's
    23,570 customers, all of whom made their first purchase in the first quarter of 1997).
    """
    path = cdnow_path(which)
    if which == "sample":
        raw = pd.read_csv(path, sep=r"\s+", header=None,
                          names=["master_id", "customer_id", "date", "cds", "amount"],
                          dtype={"date": str})
    else:
        raw = pd.read_csv(path, sep=r"\s+", header=0,
                          names=["customer_id", "date", "cds", "amount"], dtype={"date": str})
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    if which == "sample":
        return raw[["customer_id", "date", "cds", "amount", "master_id"]]
    return raw[["customer_id", "date", "cds", "amount"]]
