"""Customer segments: RFM scores with named segments, and the CPM portfolio grid.

Both are computed as of a day over the customers with at least one order on or before it
(orders as :data:`core.next_order.ORDER_COLUMNS`: ``customer_id, order_id, order_date,
amount`` with ``amount`` the net spend).

**RFM.** recency = days since the last order (fewer is better), frequency = number of
orders, monetary = total net spend. Each becomes a score 1-5 (quintiles):
``score = 1 + floor(5 x share of customers with a strictly worse value)``, capped at 5.
For distinct values that is the plain quintile; tied customers share the score of the
lowest of them, so every one-order customer has F = 1 however many there are. Named
segments on R and ``FM = floor((F + M) / 2 + 0.5)``, first matching rule wins:

===========  ===============================
segment      rule
===========  ===============================
new          R >= 4 and F == 1
champions    R >= 4 and FM >= 4
loyal        R >= 3 and FM >= 3
promising    R >= 3
at_risk      R <= 2 and FM >= 3
hibernating  R == 2 and FM <= 2
lost         R == 1 and FM <= 2
===========  ===============================

As an R x FM grid (``new`` overrides the R >= 4 cells when F == 1)::

    R \\ FM   1            2            3        4          5
    5        promising    promising    loyal    champions  champions
    4        promising    promising    loyal    champions  champions
    3        promising    promising    loyal    loyal      loyal
    2        hibernating  hibernating  at_risk  at_risk    at_risk
    1        lost         lost         at_risk  at_risk    at_risk

**CPM grid** (customer portfolio, 10 groups). With ``I`` the shop's typical re-buy interval
(median days between a customer's consecutive purchase days, over all customers;
:func:`core.next_order.typical_interval`):

- *active* when the last order is at most ``2 I`` days old, else *lapsed*;
- *new* when the first order is less than 365 days old, else *established*;
- *high* when the cumulative net spend is above the median over all customers, else *low*;
- *frequent* (established high customers only): at least two purchase days and a mean gap
  ``(last - first) / (purchase days - 1)`` of at most ``I`` days.

The groups, ``{active|lapsed}_`` + one of ``new_low, new_high, established_low,
established_high, established_high_frequent`` (:data:`CPM_GROUPS`), partition the
customers; ``established_high`` holds the established high spenders that are not frequent.
"""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from . import next_order
from .storage import CustomerScore, Shop

__all__ = ["SEGMENTS", "CPM_GROUPS", "SCORE_COLUMNS", "NEW_CUSTOMER_DAYS", "rfm_table",
           "quintile_scores", "segment_name", "cpm_groups", "score_customers",
           "segment_movement", "segment_sizes", "clv_frame", "score_shop"]

SEGMENTS = ("champions", "loyal", "new", "promising", "at_risk", "hibernating", "lost")
_KINDS = ("new_low", "new_high", "established_low", "established_high",
          "established_high_frequent")
CPM_GROUPS = tuple(f"{state}_{kind}" for state in ("active", "lapsed") for kind in _KINDS)
SCORE_COLUMNS = ["customer_id", "first_order", "last_order", "orders", "monetary",
                 "recency_days", "tenure_days", "recency_score", "frequency_score",
                 "monetary_score", "rfm", "segment", "cpm_group", "p_alive",
                 "expected_purchases_90d", "expected_spend", "predicted_clv",
                 "next_order_date"]
NEW_CUSTOMER_DAYS = 365
_DAY = pd.Timedelta(days=1)


def rfm_table(orders: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Per customer with an order on or before ``as_of``: first and last order day,
    ``orders``, ``purchase_days``, ``monetary``, ``recency_days`` and ``tenure_days``."""
    now = pd.Timestamp(as_of)
    o = orders.assign(order_date=pd.to_datetime(orders["order_date"]).dt.normalize())
    o = o[o["order_date"] <= now]
    g = o.groupby("customer_id")
    out = pd.DataFrame({"first_order": g["order_date"].min(), "last_order": g["order_date"].max(),
                        "orders": g["order_id"].nunique(),
                        "purchase_days": g["order_date"].nunique(),
                        "monetary": g["amount"].sum().astype(float)})
    out["recency_days"] = ((now - out["last_order"]) / _DAY).astype(int)
    out["tenure_days"] = ((now - out["first_order"]) / _DAY).astype(int)
    return out


def quintile_scores(values: pd.Series, higher_is_better: bool = True) -> pd.Series:
    """Scores 1-5: ``1 + floor(5 x share strictly worse)`` (ties get the lowest score)."""
    if values.empty:
        return pd.Series(dtype=int, index=values.index)
    v = values.astype(float) if higher_is_better else -values.astype(float)
    worse = v.rank(method="min") - 1.0
    return np.minimum(5, 1 + np.floor(5.0 * worse / len(v))).astype(int)


def segment_name(r: int, f: int, m: int) -> str:
    """The named segment of one R, F, M score triple (rule table in the module docstring)."""
    fm = int(np.floor((f + m) / 2.0 + 0.5))
    if r >= 4 and f == 1:
        return "new"
    if r >= 4 and fm >= 4:
        return "champions"
    if r >= 3 and fm >= 3:
        return "loyal"
    if r >= 3:
        return "promising"
    if fm >= 3:
        return "at_risk"
    return "hibernating" if r == 2 else "lost"


def cpm_groups(table: pd.DataFrame, interval: float) -> pd.Series:
    """The CPM group of every row of :func:`rfm_table` for typical interval ``interval``."""
    if table.empty:
        return pd.Series(dtype=object, index=table.index)
    state = np.where(table["recency_days"] <= 2.0 * interval, "active", "lapsed")
    new = table["tenure_days"] < NEW_CUSTOMER_DAYS
    high = table["monetary"] > table["monetary"].median()
    span = (table["last_order"] - table["first_order"]) / _DAY
    mean_gap = span / (table["purchase_days"] - 1).where(table["purchase_days"] >= 2)
    frequent = high & ~new & (mean_gap <= interval)
    kind = np.select([new & ~high, new & high, ~new & ~high, frequent],
                     ["new_low", "new_high", "established_low", "established_high_frequent"],
                     "established_high")
    return pd.Series([f"{s}_{k}" for s, k in zip(state, kind)], index=table.index)


def score_customers(orders_df: pd.DataFrame, as_of: date, clv_df: pd.DataFrame | None = None,
                    next_orders: pd.DataFrame | None = None) -> pd.DataFrame:
    """RFM scores, segment, CPM group, CLV columns and next order date per customer.

    Args:
        orders_df: :data:`core.next_order.ORDER_COLUMNS`; orders after ``as_of`` are ignored.
        as_of: The scoring day.
        clv_df: Optional ``customer_id, p_alive, expected_purchases_90d, predicted_clv``
            (and ``expected_spend``) frame, merged as is (NaN where missing).
        next_orders: Optional :func:`core.next_order.customer_next_orders` result; None
            computes it from ``orders_df`` and ``clv_df`` (without product re-buys).

    Returns:
        :data:`SCORE_COLUMNS`, one row per customer with an order, sorted by customer id.
    """
    table = rfm_table(orders_df, as_of)
    if table.empty:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    o = orders_df[pd.to_datetime(orders_df["order_date"]) <= pd.Timestamp(as_of)]
    table["recency_score"] = quintile_scores(table["recency_days"], higher_is_better=False)
    table["frequency_score"] = quintile_scores(table["orders"])
    table["monetary_score"] = quintile_scores(table["monetary"])
    rfm = table[["recency_score", "frequency_score", "monetary_score"]].to_numpy()
    table["rfm"] = [f"{r}{f}{m}" for r, f, m in rfm]
    table["segment"] = [segment_name(r, f, m) for r, f, m in rfm]
    table["cpm_group"] = cpm_groups(table, next_order.typical_interval(o))
    out = table.reset_index()
    clv_cols = ["p_alive", "expected_purchases_90d", "expected_spend", "predicted_clv"]
    if clv_df is not None and len(clv_df):
        have = [c for c in clv_cols if c in clv_df.columns]
        out = out.merge(clv_df[["customer_id", *have]], on="customer_id", how="left")
    for c in clv_cols:
        if c not in out.columns:
            out[c] = np.nan
    if next_orders is None:
        next_orders = next_order.customer_next_orders(o, as_of, clv_df)
    nxt = next_orders.set_index("customer_id")["next_order_date"]
    out["next_order_date"] = pd.to_datetime(out["customer_id"].map(nxt))
    return out[SCORE_COLUMNS].sort_values("customer_id").reset_index(drop=True)


def segment_movement(prev: pd.DataFrame, curr: pd.DataFrame,
                     column: str = "segment") -> pd.DataFrame:
    """Transition matrix: customers per (segment before, segment now).

    Rows are ``prev``'s ``column`` values, columns ``curr``'s, both in the canonical order
    (:data:`SEGMENTS` or :data:`CPM_GROUPS`) plus ``"(none)"`` for customers present on one
    side only (newly acquired customers, or customers no longer scored). Matched on
    ``customer_id``.
    """
    order = list(CPM_GROUPS if column == "cpm_group" else SEGMENTS) + ["(none)"]
    both = prev[["customer_id", column]].merge(curr[["customer_id", column]], on="customer_id",
                                               how="outer", suffixes=("_prev", "_curr"))
    before = both[f"{column}_prev"].fillna("(none)")
    after = both[f"{column}_curr"].fillna("(none)")
    extra = sorted((set(before) | set(after)) - set(order))
    order = order[:-1] + extra + order[-1:]
    m = pd.crosstab(before, after).reindex(index=order, columns=order, fill_value=0)
    m.index.name, m.columns.name = "before", "now"
    return m.astype(int)


def segment_sizes(scores: pd.DataFrame, column: str = "segment") -> pd.DataFrame:
    """Customers, share, revenue and predicted CLV per segment (every segment listed)."""
    order = list(CPM_GROUPS if column == "cpm_group" else SEGMENTS)
    extra = sorted(set(scores[column].dropna()) - set(order)) if len(scores) else []
    g = scores.groupby(column)
    out = pd.DataFrame({"customers": g.size(), "revenue": g["monetary"].sum(),
                        "predicted_clv": g["predicted_clv"].sum(min_count=1)})
    out = out.reindex(order + extra)
    out["customers"] = out["customers"].fillna(0).astype(int)
    out["revenue"] = out["revenue"].astype(float).fillna(0.0).round(2)
    out["predicted_clv"] = out["predicted_clv"].astype(float)
    out["share"] = (out["customers"] / max(len(scores), 1)).round(4)
    out.index.name = column
    return out[["customers", "share", "revenue", "predicted_clv"]]


def clv_frame(orders: pd.DataFrame, as_of: date, months: int = 12) -> pd.DataFrame | None:
    """The CLV frame (``customer_id, p_alive, expected_purchases_90d, predicted_clv,
    expected_spend``) from :mod:`core.clv`, or None without it (or without orders).

    Purchase days up to ``as_of`` are summarised in weeks (:func:`core.clv.data.summarize`),
    BG/NBD and Gamma-Gamma are fitted shrunk toward the CDNOW prior
    (:func:`core.clv.value.fit_with_prior`; the prior's weight fades as customers add up),
    ``expected_purchases_90d = E[Y(90/7 weeks) | x, t_x, T]`` and ``predicted_clv`` is the
    discounted value over ``months`` months (:func:`core.clv.value.customer_value`).
    """
    try:
        from .clv.data import summarize
        from .clv.value import CDNOW_PRIOR, customer_value, fit_with_prior
    except ImportError:
        return None
    o = orders[pd.to_datetime(orders["order_date"]) <= pd.Timestamp(as_of)]
    if len(o) == 0:
        return None
    summary = summarize(o, as_of, customer="customer_id", when="order_date", amount="amount")
    models = fit_with_prior(summary, CDNOW_PRIOR).models
    value = customer_value(models, summary, months=months)
    x, t_x, t = (summary[c].to_numpy(dtype=float) for c in ("x", "t_x", "T"))
    e90 = models.bgnbd.expected_purchases(np.full(x.shape, 90.0 / 7.0), x, t_x, t)
    return pd.DataFrame({"customer_id": summary.index.to_numpy(),
                         "p_alive": value["p_alive"].to_numpy(dtype=float),
                         "expected_purchases_90d": np.asarray(e90, dtype=float),
                         "predicted_clv": value["clv"].to_numpy(dtype=float),
                         "expected_spend": value["expected_spend"].to_numpy(dtype=float)})


def score_shop(session: Session, shop: Shop, as_of: date,
               clv_df: pd.DataFrame | None = None) -> pd.DataFrame:
    """Score every customer of ``shop`` as of ``as_of`` and write the ``CustomerScore`` rows.

    Re-scoring the same day overwrites that day's rows (unique per shop, customer and day),
    so it is idempotent. Without ``clv_df`` the CLV frame comes from :mod:`core.clv` when
    it is installed (:func:`clv_frame`). The next order date includes consumable re-buys
    (:func:`core.next_order.product_dues`, re-buy days left out of the trip rate).

    Returns:
        The :func:`score_customers` frame that was written.
    """
    from .ingest import upsert_rows

    lines = next_order.read_order_lines(session, shop, as_of)
    orders = next_order.orders_from_lines(lines)
    if clv_df is None:
        clv_df = clv_frame(orders, as_of)
    cons = next_order.detect_consumables(lines)
    dues = next_order.product_dues(lines, as_of, clv_df, cons)
    nxt = next_order.customer_next_orders(orders, as_of, clv_df, dues=dues,
                                          rebuys=next_order.rebuy_days(lines, cons))
    scores = score_customers(orders, as_of, clv_df, next_orders=nxt)
    rows = [{"shop_id": shop.id, "customer_id": int(r.customer_id), "scored_on": as_of,
             "recency_score": int(r.recency_score), "frequency_score": int(r.frequency_score),
             "monetary_score": int(r.monetary_score), "segment": r.segment,
             "cpm_group": r.cpm_group, "p_alive": _num(r.p_alive),
             "expected_purchases_90d": _num(r.expected_purchases_90d),
             "expected_spend": _num(r.expected_spend), "predicted_clv": _num(r.predicted_clv),
             "next_order_date": None if pd.isna(r.next_order_date) else r.next_order_date.date()}
            for r in scores.itertuples(index=False)]
    upsert_rows(session, CustomerScore, rows, ["shop_id", "customer_id", "scored_on"])
    return scores


def _num(v) -> float | None:
    return None if v is None or pd.isna(v) else float(v)
