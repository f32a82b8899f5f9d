"""Customer pages: segments and CLV ``/customers``, re-buy reminders ``/reminders``.

``/customers`` reads the stored :class:`~core.storage.CustomerScore` rows of the latest
``scored_on`` day (and of the day before it that has scores, for the movement): customers,
share and predicted CLV per RFM segment, the segment movement matrix and the CPM grid. The
segment and group names and their order come from :mod:`core.segments` when it is there;
otherwise the values present in the scores are listed as they are.

``/reminders`` lists :class:`~core.storage.Reminder` rows by status (``?status=``,
``?reason=``, ``?page=``) with the reasons a reminder was held back and the substitute
offered for an out-of-stock variant.
"""
from __future__ import annotations

from datetime import timedelta

import pandas as pd
from flask import Blueprint, render_template
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from core.storage import Customer, CustomerScore, Reminder, Variant

from .common import choice_arg, current_run, current_shop, db, finite, int_arg, run_summary
from .minicharts import HBar, hbar_chart, heat_style

try:  # the segment definitions (optional: the page works from the stored values alone)
    from core.segments import CPM_GROUPS, SEGMENTS, segment_movement
except ImportError:  # pragma: no cover - depends on the installed core
    CPM_GROUPS, SEGMENTS, segment_movement = (), (), None

__all__ = ["bp", "REASON_LABELS", "STATUSES", "PAGE_SIZE", "segment_table", "movement",
           "cpm_grid"]

bp = Blueprint("customer_pages", __name__)

STATUSES = ("candidate", "suppressed", "sent", "superseded")
#: Why a reminder is held back (or offers a substitute), for people.
REASON_LABELS = {"no_marketing_consent": "no consent", "redacted": "customer data erased",
                 "no_contact": "no e-mail or phone", "cooldown": "recently sent",
                 "out_of_stock": "out of stock", "substitute": "substitute offered"}
PAGE_SIZE = 100
_COLUMNS = ["customer_id", "segment", "cpm_group", "predicted_clv", "p_alive",
            "expected_spend", "next_order_date"]


def _scores(shop_id: int, day) -> pd.DataFrame:
    rows = db().execute(select(*(getattr(CustomerScore, c) for c in _COLUMNS)).where(
        CustomerScore.shop_id == shop_id, CustomerScore.scored_on == day)).all()
    return pd.DataFrame(rows, columns=_COLUMNS)


def _order(present, canonical) -> list[str]:
    """Every canonical name (so empty segments show as 0), then any other present ones."""
    present = [p for p in present if p is not None and p == p]
    return list(canonical) + sorted(set(present) - set(canonical))


def segment_table(curr: pd.DataFrame, prev: pd.DataFrame | None) -> list[dict]:
    """Customers, share, CLV and the change since the previous day per segment."""
    names = _order(curr["segment"].unique().tolist(), SEGMENTS)
    total = max(len(curr), 1)
    before = prev["segment"].value_counts() if prev is not None else None
    out = []
    for name in names:
        g = curr[curr["segment"] == name]
        clv = pd.to_numeric(g["predicted_clv"], errors="coerce")
        n_before = int(before.get(name, 0)) if before is not None else None
        out.append({"segment": name, "customers": len(g), "share": len(g) / total,
                    "clv_total": float(clv.sum()) if clv.notna().any() else None,
                    "clv_mean": float(clv.mean()) if clv.notna().any() else None,
                    "p_alive": finite(pd.to_numeric(g["p_alive"], errors="coerce").mean()),
                    "before": n_before,
                    "change": len(g) - n_before if n_before is not None else None})
    return out


def movement(prev: pd.DataFrame, curr: pd.DataFrame) -> tuple[list[str], list[str], list]:
    """(row names, column names, matrix rows) of customers per (segment before, now)."""
    if segment_movement is not None:
        m = segment_movement(prev, curr)
    else:  # pragma: no cover - without core.segments
        both = prev[["customer_id", "segment"]].merge(
            curr[["customer_id", "segment"]], on="customer_id", how="outer",
            suffixes=("_prev", "_curr")).fillna("(none)")
        m = pd.crosstab(both["segment_prev"], both["segment_curr"])
    keep_rows = [r for r in m.index if m.loc[r].sum() > 0]
    keep_cols = [c for c in m.columns if m[c].sum() > 0]
    m = m.loc[keep_rows, keep_cols]
    vmax = float(m.to_numpy().max()) if m.size else 0.0
    rows = [[(int(m.loc[r, c]), heat_style(m.loc[r, c], vmax, (31, 138, 122)), r == c)
             for c in keep_cols] for r in keep_rows]
    return keep_rows, keep_cols, rows


def cpm_grid(curr: pd.DataFrame) -> dict:
    """The CPM grid: ``{"states", "kinds", "cells"}`` when core.segments names the groups
    (``<state>_<kind>``), else ``{"flat": [(group, customers, clv)]}``."""
    clv = pd.to_numeric(curr["predicted_clv"], errors="coerce")
    g = curr.assign(clv=clv).groupby("cpm_group")
    counts, values = g.size(), g["clv"].sum(min_count=1)
    if not CPM_GROUPS:
        return {"flat": [(k, int(counts[k]), finite(values.get(k))) for k in counts.index]}
    states = list(dict.fromkeys(name.split("_", 1)[0] for name in CPM_GROUPS))
    kinds = list(dict.fromkeys(name.split("_", 1)[1] for name in CPM_GROUPS))
    vmax = float(counts.max()) if len(counts) else 0.0
    cells = {}
    for name in CPM_GROUPS:
        n = int(counts.get(name, 0))
        cells[name] = {"customers": n, "clv": finite(values.get(name)),
                       "share": n / len(curr) if len(curr) else None,
                       "style": heat_style(n, vmax, (141, 95, 199))}
    other = [(k, int(counts[k])) for k in counts.index if k not in CPM_GROUPS]
    return {"states": states, "kinds": kinds, "cells": cells, "other": other}


@bp.get("/customers")
def index():
    """Segment sizes and CLV, the movement since the previous scoring day, the CPM grid."""
    shop = current_shop()
    day = db().scalar(select(func.max(CustomerScore.scored_on)).where(
        CustomerScore.shop_id == shop.id))
    ctx = {"day": day, "prev_day": None, "segments": [], "matrix": None, "cpm": None,
           "chart": "", "total": 0, "clv_total": None, "due_30": 0}
    if day is not None:
        curr = _scores(shop.id, day)
        prev_day = db().scalar(select(func.max(CustomerScore.scored_on)).where(
            CustomerScore.shop_id == shop.id, CustomerScore.scored_on < day))
        prev = _scores(shop.id, prev_day) if prev_day is not None else None
        segments = segment_table(curr, prev)
        clv = pd.to_numeric(curr["predicted_clv"], errors="coerce")
        nxt = pd.to_datetime(curr["next_order_date"], errors="coerce")
        ctx.update(prev_day=prev_day, segments=segments, total=len(curr),
                   clv_total=float(clv.sum()) if clv.notna().any() else None,
                   due_30=int(((nxt >= pd.Timestamp(day))
                               & (nxt <= pd.Timestamp(day + timedelta(days=30)))).sum()),
                   matrix=movement(prev, curr) if prev is not None else None,
                   cpm=cpm_grid(curr),
                   chart=hbar_chart([HBar(s["segment"].replace("_", " "), s["customers"],
                                          note=f"{s['customers']:,} · {s['share']:.0%}")
                                     for s in segments], "Customers per segment",
                                    width=420, label_w=90, note_w=80,
                                    fmt=lambda v: f"{v:,.0f}"))
    return render_template("customers.html", shop=shop, header=run_summary(current_run(shop)),
                           active="customers", **ctx)


@bp.get("/reminders")
def reminders():
    """Re-buy reminders by status, with the reasons and substitutes."""
    shop = current_shop()
    status = choice_arg("status", STATUSES)
    reason = choice_arg("reason", tuple(REASON_LABELS))
    page = int_arg("page", 1, 1, 100000)
    by_status = dict(db().execute(select(Reminder.status, func.count()).where(
        Reminder.shop_id == shop.id).group_by(Reminder.status)).all())
    by_reason = dict(db().execute(select(Reminder.reason, func.count()).where(
        Reminder.shop_id == shop.id, Reminder.status == "suppressed")
        .group_by(Reminder.reason)).all())
    sub = aliased(Variant)
    stmt = (select(Reminder, Customer, Variant.sku, Variant.title, sub.sku.label("sub_sku"))
            .join(Customer, Customer.id == Reminder.customer_id)
            .join(Variant, Variant.id == Reminder.variant_id)
            .outerjoin(sub, sub.id == Reminder.substitute_variant_id)
            .where(Reminder.shop_id == shop.id))
    count = select(func.count(Reminder.id)).where(Reminder.shop_id == shop.id)
    if status:
        stmt, count = stmt.where(Reminder.status == status), count.where(Reminder.status == status)
    if reason:
        stmt, count = stmt.where(Reminder.reason == reason), count.where(Reminder.reason == reason)
    n = int(db().scalar(count) or 0)
    pages = max(1, -(-n // PAGE_SIZE))
    rows = db().execute(stmt.order_by(Reminder.due_date, Reminder.id)
                        .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    return render_template("reminders.html", shop=shop, header=run_summary(current_run(shop)),
                           rows=rows, status=status, reason=reason, statuses=STATUSES,
                           reasons=REASON_LABELS, by_status=by_status, by_reason=by_reason,
                           total=sum(by_status.values()), n=n, page=page, pages=pages,
                           active="reminders")
