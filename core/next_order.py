"""When will a customer order next, and when is a consumable due again?

**Inputs.** :func:`read_order_lines` reads a shop's customer order lines up to a day (not
cancelled, units net of refunds, ``amount = quantity x price - discount``, days in the
shop's time zone); :func:`orders_from_lines` sums them per order. The CLV part comes in as
a frame ``customer_id, p_alive, expected_purchases_90d, predicted_clv`` (from
:func:`core.segments.clv_frame` or built by hand), so nothing here depends on its fit.

**Per customer x consumable** (:func:`product_dues`). Days per unit of one re-buy
``u_j = gap_j / q_j``: days to the next purchase day of the variant over the units bought
at the earlier one. The product's days per unit ``m`` is the median of every ``u_j`` of the
variant across customers; the customer's is shrunk towards it,
``u = (n x median_j u_j + KAPPA x m) / (n + KAPPA)``, ``n`` the customer's gaps (``u = m``
after a single purchase). Next due = last purchase day + last quantity x ``u``.
``p_rebuy`` = 1 once bought on two days, else the shop's adoption rate: the share of
customer x variant pairs whose first due date (+ ``OVERDUE_GRACE_DAYS``) has passed that
were bought again. A variant is a consumable (:func:`detect_consumables`) when re-bought
regularly: at least ``MIN_GAPS`` gaps from two or more customers and a median absolute
deviation of ``log u_j`` of at most ``MAX_LOG_MAD`` (0.25: half the re-buys within about
+-28 % of the median; chance re-buys of durables scatter over 0.5).

**Per customer** (:func:`customer_next_orders`). Shopping trips while alive are a Poisson
process with rate ``lambda`` (BG/NBD's assumption; optionally gamma renewal gaps):

- from the CLV frame, ``lambda = expected_purchases_90d / (90 x p_alive)``: the BG/NBD
  conditional expectation over the chance of being alive, i.e. purchases per day if alive;
- otherwise the NBD empirical-Bayes posterior mean ``lambda = (r + x) / (alpha + T)`` with
  ``x`` repeat purchase days, ``T`` days since the first one and ``(r, alpha)`` the Gamma
  prior fitted by maximum likelihood over the shop (:func:`fit_nbd_rates`). Customers with
  consumable re-buy days (:func:`rebuy_days`) always get this rate, counted on their other
  purchase days: a re-buy comes from the supply running out, and counting it as a trip as
  well would bring the next order forward twice.

Expected next purchase given none in the ``s = as_of - last`` days since the last one:
``last + s + E[G - s | G > s]`` for a gap ``G`` of mean ``mu = 1 / lambda``; exponential
gaps (``shape`` 1) are memoryless, so that is ``as_of + mu``; Gamma(k, theta = mu / k) gaps
give ``as_of + mu Q(k+1, s/theta) / Q(k, s/theta) - s`` (``Q`` the regularized upper
incomplete gamma function). Waits are capped at ``MAX_WAIT_DAYS``. Re-buys due on days
``D_1 <= D_2 <= ...`` (not overdue by more than ``OVERDUE_GRACE_DAYS``) happen with
probability ``p_j = p_rebuy``; the next order is the first of the trip and the re-buys,
with ``d_j = max(D_j - as_of, 0)`` and ``w`` the expected trip wait::

    E[next] - as_of = sum_j p_j prod_{i<j} (1 - p_i) (1 - exp(-d_j / w)) w
                      + prod_j (1 - p_j) w

(``E[min(W, d)] = (1 - exp(-d / w)) w`` for an exponential ``W``). ``p_alive`` is attached;
the dates are the dates *if the customer is alive*.
"""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from .storage import Order, OrderLine, Shop

__all__ = [
    "LINE_COLUMNS", "ORDER_COLUMNS", "CLV_COLUMNS", "NEXT_COLUMNS", "DUE_COLUMNS", "KAPPA",
    "MIN_GAPS", "MAX_LOG_MAD", "OVERDUE_GRACE_DAYS", "MAX_WAIT_DAYS", "read_order_lines",
    "orders_from_lines", "purchase_gaps", "typical_interval", "fit_nbd_rates", "residual_wait",
    "customer_next_orders", "rebuy_days", "detect_consumables", "product_dues",
]

LINE_COLUMNS = ["customer_id", "order_id", "order_date", "variant_id", "sku", "quantity",
                "amount"]
ORDER_COLUMNS = ["customer_id", "order_id", "order_date", "amount"]
CLV_COLUMNS = ["customer_id", "p_alive", "expected_purchases_90d", "predicted_clv"]
NEXT_COLUMNS = ["customer_id", "last_order", "rate_per_day", "p_alive", "next_trip_date",
                "next_due_date", "next_order_date"]
DUE_COLUMNS = ["customer_id", "variant_id", "sku", "purchases", "last_purchase_date",
               "last_quantity", "cycle_days", "product_cycle_days", "next_purchase_date",
               "p_rebuy", "p_alive"]
#: Weight (in gaps) of the product's days per unit against the customer's own median.
KAPPA = 2.0
MIN_GAPS = 3
MAX_LOG_MAD = 0.25
#: Expected waits are capped at ten years (a date that far out means "not expected").
MAX_WAIT_DAYS = 3650.0
#: A re-buy overdue by more than this many days no longer counts towards the next order.
OVERDUE_GRACE_DAYS = 14
_DAY = pd.Timedelta(days=1)


def _local_day(values: pd.Series, tz: str) -> pd.Series:
    ts = pd.to_datetime(values, utc=True)
    return ts.dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()


def read_order_lines(session: Session, shop: Shop, as_of: date) -> pd.DataFrame:
    """Customer order lines of ``shop`` up to ``as_of`` (:data:`LINE_COLUMNS`).

    Cancelled orders and guest orders are left out; ``quantity`` is net of refunds and
    ``amount = max(0, quantity x price - discount x quantity / ordered)``.
    """
    end = pd.Timestamp(as_of) + pd.Timedelta(days=2)  # widened for time zones, cut below
    res = session.execute(
        select(Order.customer_id, Order.id.label("order_id"), Order.created_at,
               OrderLine.variant_id, OrderLine.sku, OrderLine.quantity,
               OrderLine.refunded_quantity, OrderLine.price, OrderLine.discount)
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.shop_id == shop.id, Order.cancelled_at.is_(None),
               Order.customer_id.is_not(None), Order.created_at < end.to_pydatetime()))
    df = pd.DataFrame(res.fetchall(), columns=list(res.keys()))
    if df.empty:
        return pd.DataFrame(columns=LINE_COLUMNS)
    df["order_date"] = _local_day(df["created_at"], shop.timezone or "UTC")
    df = df[df["order_date"] <= pd.Timestamp(as_of)]
    ordered = pd.to_numeric(df["quantity"]).astype(float)
    net = (ordered - pd.to_numeric(df["refunded_quantity"]).fillna(0)).clip(lower=0)
    share = (net / ordered.where(ordered > 0)).fillna(0.0)
    price = pd.to_numeric(df["price"]).fillna(0.0)
    discount = pd.to_numeric(df["discount"]).fillna(0.0)
    df["amount"] = (net * price - discount * share).clip(lower=0.0)
    df["quantity"] = net
    df["variant_id"] = df["variant_id"].astype("Int64")
    return df[LINE_COLUMNS].reset_index(drop=True)


def orders_from_lines(lines: pd.DataFrame) -> pd.DataFrame:
    """One row per order (:data:`ORDER_COLUMNS`); orders refunded in full are left out."""
    if lines.empty:
        return pd.DataFrame(columns=ORDER_COLUMNS)
    g = lines.groupby(["customer_id", "order_id", "order_date"], as_index=False).agg(
        amount=("amount", "sum"), units=("quantity", "sum"))
    return g[g["units"] > 0][ORDER_COLUMNS].reset_index(drop=True)


def _purchase_days(orders: pd.DataFrame) -> pd.DataFrame:
    days = pd.DataFrame({"customer_id": orders["customer_id"].to_numpy(),
                         "day": pd.to_datetime(orders["order_date"]).dt.normalize().to_numpy()})
    return days.drop_duplicates().sort_values(["customer_id", "day"])


def purchase_gaps(orders: pd.DataFrame) -> pd.Series:
    """Days between each customer's consecutive purchase days, pooled over customers."""
    days = _purchase_days(orders)
    gaps = days.groupby("customer_id")["day"].diff().dropna() / _DAY
    return gaps.astype(float).reset_index(drop=True)


def typical_interval(orders: pd.DataFrame, default: float = 90.0) -> float:
    """The shop's typical re-buy interval: median of :func:`purchase_gaps` (``default``
    when nobody bought twice)."""
    gaps = purchase_gaps(orders)
    return float(gaps.median()) if len(gaps) else float(default)


def fit_nbd_rates(orders: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Empirical-Bayes purchase rates (NBD: Poisson purchases, Gamma(r, alpha) rates).

    Maximises ``sum_i [lgamma(r + x_i) - lgamma(r) + r log(alpha) - (r + x_i) log(alpha +
    T_i)]`` over ``(r, alpha)`` and returns per customer ``x`` (repeat purchase days),
    ``T`` (days since the first purchase day, at least 1) and the posterior mean
    ``rate_per_day = (r + x) / (alpha + T)``; the fitted ``r`` and ``alpha`` are in
    ``.attrs``.
    """
    from scipy.optimize import minimize
    from scipy.special import gammaln

    days = _purchase_days(orders)
    g = days.groupby("customer_id")["day"]
    x = (g.size() - 1).astype(float)
    t = ((pd.Timestamp(as_of) - g.min()) / _DAY).clip(lower=1.0).astype(float)
    xv, tv = x.to_numpy(), t.to_numpy()

    def nll(p):
        r, a = np.exp(p)
        return -np.sum(gammaln(r + xv) - gammaln(r) + r * np.log(a) - (r + xv) * np.log(a + tv))

    if len(xv) and xv.sum() > 0:
        guess = np.log([1.0, max(tv.mean() / max(xv.mean(), 1e-3), 1.0)])
        res = minimize(nll, guess, method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-8,
                                                                     "maxiter": 2000})
        r, a = (float(v) for v in np.exp(res.x))
    else:
        r, a = 1.0, 365.0  # nobody bought twice: about one purchase a year a priori
    out = pd.DataFrame({"x": x, "T": t, "rate_per_day": (r + x) / (a + t)})
    out.attrs.update(r=r, alpha=a)
    return out


def residual_wait(mean_gap: np.ndarray, elapsed: np.ndarray, shape: float = 1.0) -> np.ndarray:
    """Expected days still to wait, ``E[G - s | G > s]``, for gaps of mean ``mean_gap``.

    ``shape = 1`` (exponential) gives ``mean_gap`` whatever ``s``; for Gamma(k, theta) gaps
    it is ``k theta Q(k+1, s/theta) / Q(k, s/theta) - s``, tending to ``theta`` for large
    ``s``.
    """
    mu = np.asarray(mean_gap, dtype=float)
    if shape == 1.0:
        return mu.copy()
    from scipy.special import gammaincc

    s = np.maximum(np.asarray(elapsed, dtype=float), 0.0)
    theta = mu / shape
    z = s / theta
    q0, q1 = gammaincc(shape, z), gammaincc(shape + 1.0, z)
    with np.errstate(divide="ignore", invalid="ignore"):
        wait = mu * q1 / q0 - s
    return np.where((q0 > 1e-300) & np.isfinite(wait) & (wait > 0), wait, theta)


def _clv_rates(clv_df: pd.DataFrame | None) -> pd.DataFrame:
    if clv_df is None or len(clv_df) == 0:
        return pd.DataFrame({"p_alive": pd.Series(dtype=float),
                             "clv_rate": pd.Series(dtype=float)})
    c = clv_df.set_index("customer_id")
    p = pd.to_numeric(c["p_alive"], errors="coerce")
    e = pd.to_numeric(c["expected_purchases_90d"], errors="coerce")
    rate = (e / (90.0 * p)).where((p > 1e-3) & (e > 0))
    return pd.DataFrame({"p_alive": p, "clv_rate": rate})


def customer_next_orders(orders: pd.DataFrame, as_of: date, clv_df: pd.DataFrame | None = None,
                         dues: pd.DataFrame | None = None, rebuys: pd.DataFrame | None = None,
                         shape: float = 1.0) -> pd.DataFrame:
    """Expected next order date per customer with an order (see the module docstring).

    Args:
        orders: :data:`ORDER_COLUMNS` (only ``customer_id`` and ``order_date`` are read).
        as_of: The day the prediction is made (the end of the data).
        clv_df: Optional :data:`CLV_COLUMNS` frame; its rate is used where it has one.
        dues: Optional :func:`product_dues` result (``p_rebuy`` missing: 1 for pairs bought
            on two or more days, else 0).
        rebuys: Optional :func:`rebuy_days` result, left out of the trip process.
        shape: Gamma shape ``k`` of the gaps between trips (1 = exponential).

    Returns:
        :data:`NEXT_COLUMNS` (dates as midnight timestamps; ``next_due_date`` is the first
        due date of a habit, ``p_rebuy`` = 1).
    """
    if len(orders) == 0:
        return pd.DataFrame(columns=NEXT_COLUMNS)
    now = pd.Timestamp(as_of)
    days = _purchase_days(orders)
    last = days.groupby("customer_id")["day"].max()
    rate = _clv_rates(clv_df).reindex(last.index)
    trips, rebuyers = days, []
    if rebuys is not None and len(rebuys):
        rebuyers = rebuys["customer_id"].unique()
        again = pd.MultiIndex.from_arrays([rebuys["customer_id"],
                                           pd.to_datetime(rebuys["order_date"])])
        first = days.groupby("customer_id")["day"].transform("min") == days["day"]
        trips = days[first | ~pd.MultiIndex.from_frame(days).isin(again)]
    nbd = fit_nbd_rates(trips.rename(columns={"day": "order_date"}), as_of)
    own = rate["clv_rate"].where(~rate.index.isin(rebuyers))
    lam = own.fillna(nbd["rate_per_day"].reindex(last.index)).to_numpy(dtype=float)
    elapsed = ((now - last) / _DAY).to_numpy(dtype=float)
    wait = np.minimum(residual_wait(1.0 / lam, elapsed, shape), MAX_WAIT_DAYS)
    out = pd.DataFrame({"customer_id": last.index, "last_order": last.to_numpy(),
                        "rate_per_day": lam, "p_alive": rate["p_alive"].to_numpy()})
    out["next_trip_date"] = now + pd.to_timedelta(np.round(wait), unit="D")
    expect = pd.Series(wait, index=last.index)
    out["next_due_date"] = pd.NaT
    if dues is not None and len(dues):
        d = dues[dues["next_purchase_date"] >= now - pd.Timedelta(days=OVERDUE_GRACE_DAYS)]
        p = d["p_rebuy"] if "p_rebuy" in d.columns else (d["purchases"] >= 2).astype(float)
        d = d.assign(p=p.astype(float)).sort_values(["customer_id", "next_purchase_date"])
        d = d[d["p"] > 0]
        w = expect.reindex(d["customer_id"]).to_numpy()
        ahead = np.maximum((d["next_purchase_date"] - now) / _DAY, 0.0).to_numpy(float)
        miss = (1.0 - d["p"]).groupby(d["customer_id"])
        before = miss.cumprod().groupby(d["customer_id"]).shift(1).fillna(1.0)  # prod_{i<j}
        term = (d["p"] * before * (1.0 - np.exp(-ahead / w)) * w).groupby(d["customer_id"]).sum()
        idx = term.index
        expect.loc[idx] = term + miss.prod().reindex(idx) * expect.loc[idx]
        habit = d[d["p"] >= 1.0].groupby("customer_id")["next_purchase_date"].min()
        out["next_due_date"] = out["customer_id"].map(habit)
    out["next_order_date"] = now + pd.to_timedelta(np.round(expect.to_numpy()), unit="D")
    out["next_due_date"] = pd.to_datetime(out["next_due_date"])
    return out[NEXT_COLUMNS].reset_index(drop=True)


def _rebuys(lines: pd.DataFrame) -> pd.DataFrame:
    """Purchase days per customer x variant with units, the gap to the next purchase day
    and the days per unit ``u`` of that gap."""
    ln = lines[lines["variant_id"].notna() & (lines["quantity"] > 0)]
    p = ln.groupby(["customer_id", "variant_id", "order_date"], as_index=False).agg(
        quantity=("quantity", "sum"), sku=("sku", "first"))
    p = p.sort_values(["customer_id", "variant_id", "order_date"])
    nxt = p.groupby(["customer_id", "variant_id"])["order_date"].shift(-1)
    p["gap"] = (nxt - p["order_date"]) / _DAY
    p["u"] = p["gap"] / p["quantity"]
    return p


def rebuy_days(lines: pd.DataFrame, consumables) -> pd.DataFrame:
    """``customer_id, order_date`` of the days a customer bought a consumable variant again
    (any purchase of it but the first): re-buys driven by the supply running out, left out
    of the trip process by :func:`customer_next_orders`."""
    p = _rebuys(lines[lines["variant_id"].isin([int(v) for v in consumables])])
    again = p.groupby(["customer_id", "variant_id"]).cumcount() > 0
    return p.loc[again, ["customer_id", "order_date"]].drop_duplicates().reset_index(drop=True)


def detect_consumables(lines: pd.DataFrame, min_gaps: int = MIN_GAPS,
                       max_log_mad: float = MAX_LOG_MAD) -> set:
    """Variant ids re-bought on a regular cycle (see the module docstring)."""
    p = _rebuys(lines)
    g = p[p["u"] > 0]
    if g.empty:
        return set()
    logu = np.log(g["u"].astype(float))
    dev = (logu - logu.groupby(g["variant_id"]).transform("median")).abs()
    stats = pd.DataFrame({"gaps": g.groupby("variant_id").size(),
                          "customers": g.groupby("variant_id")["customer_id"].nunique(),
                          "mad": dev.groupby(g["variant_id"]).median()})
    ok = (stats["gaps"] >= min_gaps) & (stats["customers"] >= 2) & (stats["mad"] <= max_log_mad)
    return {int(v) for v in stats.index[ok]}


def product_dues(lines: pd.DataFrame, as_of: date, clv_df: pd.DataFrame | None = None,
                 consumables=None, kappa: float = KAPPA) -> pd.DataFrame:
    """Next re-buy date per customer x consumable variant (see the module docstring).

    Args:
        lines: :data:`LINE_COLUMNS` up to ``as_of``.
        as_of: The end of the data (only used to cut ``lines``).
        clv_df: Optional :data:`CLV_COLUMNS` frame for ``p_alive``.
        consumables: Variant ids to treat as consumables; None detects them with
            :func:`detect_consumables`.
        kappa: Shrinkage weight of the product median, in gaps.

    Returns:
        :data:`DUE_COLUMNS`; ``cycle_days`` is the customer's days per unit,
        ``product_cycle_days`` the product median. Variants without any re-buy gap in the
        shop get no row (nothing to estimate from).
    """
    lines = lines[pd.to_datetime(lines["order_date"]) <= pd.Timestamp(as_of)]
    wanted = detect_consumables(lines) if consumables is None else {int(v) for v in consumables}
    if not wanted or lines.empty:
        return pd.DataFrame(columns=DUE_COLUMNS)
    p = _rebuys(lines[lines["variant_id"].isin(list(wanted))])
    gaps = p[p["u"] > 0]
    m = gaps.groupby("variant_id")["u"].median()
    key = ["customer_id", "variant_id"]
    own = gaps.groupby(key)["u"].agg(["median", "size"])
    g = p.groupby(key)
    out = pd.DataFrame({"purchases": g.size(), "last_purchase_date": g["order_date"].max(),
                        "last_quantity": g["quantity"].last(), "sku": g["sku"].last()})
    out = out.join(own).reset_index()
    out["product_cycle_days"] = out["variant_id"].map(m)
    out = out[out["product_cycle_days"].notna()]
    n = out["size"].fillna(0.0)
    own_med = out["median"].fillna(0.0)
    out["cycle_days"] = (n * own_med + kappa * out["product_cycle_days"]) / (n + kappa)
    days = np.round(out["last_quantity"].astype(float) * out["cycle_days"])
    out["next_purchase_date"] = out["last_purchase_date"] + pd.to_timedelta(days, unit="D")
    pairs = pd.MultiIndex.from_frame(out[key])
    first_due = (g["order_date"].min().reindex(pairs).to_numpy() + pd.to_timedelta(np.round(
        g["quantity"].first().reindex(pairs).to_numpy() * out["product_cycle_days"].to_numpy()
        ) + OVERDUE_GRACE_DAYS, unit="D"))
    mature = np.asarray(first_due <= pd.Timestamp(as_of))
    adoption = float((out["purchases"].to_numpy()[mature] >= 2).mean()) if mature.any() else 0.5
    out["p_rebuy"] = np.where(out["purchases"] >= 2, 1.0, adoption)
    out["p_alive"] = out["customer_id"].map(_clv_rates(clv_df)["p_alive"]).astype(float)
    out["variant_id"] = out["variant_id"].astype(int)
    return out[DUE_COLUMNS].sort_values(key).reset_index(drop=True)
