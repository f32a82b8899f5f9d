"""A plan run: demand -> classes -> forecasts -> policy -> stored plan lines and draft POs.

:func:`compute_plan` is pure (DataFrames in, a DataFrame out); :func:`run_plan` reads the
shop's data, computes, and stores the run with its data cut-off, per-SKU results and holdout
accuracy in one transaction.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import insert
from sqlalchemy.orm import Session

from .classify import classify_series
from .demand import daily_demand, split_series_id
from .forecast import forecast_series
from .plan_inputs import PlanInputs, last_order_day, read_inputs
from .policy import plan_item
from .storage import PlanLine, PlanRun, Shop, utcnow

__all__ = ["PlanSettings", "compute_plan", "run_plan", "abc_classes", "CHART_DAYS"]

CHART_DAYS = 56


@dataclass
class PlanSettings:
    """Plan knobs. ``service_levels`` maps an ABC class (A, B, C) to a cycle service level;
    classes not listed use ``service_level``."""

    service_level: float = 0.95
    service_levels: dict = field(default_factory=dict)
    review_days: float = 7.0
    default_lead_time_days: float = 14.0
    holdout_days: int = 28

    @classmethod
    def from_shop(cls, shop: Shop, **overrides) -> "PlanSettings":
        known = {k: v for k, v in (shop.settings or {}).get("plan", {}).items()
                 if k in cls.__dataclass_fields__}
        known.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**known)


def abc_classes(revenue_by_sku: pd.Series) -> pd.Series:
    """ABC by revenue: A = SKUs making the first 80% of revenue, B the next 15%, C the rest."""
    r = revenue_by_sku.sort_values(ascending=False)
    total = r.sum()
    if total <= 0:
        return pd.Series("C", index=r.index)
    before = (r.cumsum() - r) / total  # share of revenue of the SKUs ranked above
    return pd.Series(np.where(before < 0.80, "A", np.where(before < 0.95, "B", "C")),
                     index=r.index)


def compute_plan(inp: PlanInputs, settings: PlanSettings) -> tuple[pd.DataFrame, dict]:
    """Plan every active SKU x location that sold or holds stock.

    Returns:
        (lines, accuracy): one row per SKU x location with the PlanLine fields, and the run's
        overall ``mase`` (mean of per-series MASE), ``wape`` and ``bias`` on the holdout.
    """
    cutoff = pd.Timestamp(inp.cutoff)
    variants = inp.variants.set_index("id")
    active = variants[variants["status"].fillna("active") != "archived"]
    starts = None
    if len(inp.lines):
        created = pd.to_datetime(variants["created_at"], utc=True).dt.tz_localize(None)
        pairs = inp.lines[["sku", "variant_id", "location_id"]].drop_duplicates(
            ["sku", "location_id"])
        uid = pairs["sku"].astype(str) + "@" + pairs["location_id"].astype(str)
        starts = pd.Series(pairs["variant_id"].map(created).dt.normalize().to_numpy(),
                           index=uid.to_numpy())
    series = daily_demand(inp.lines, cutoff, inp.stock if len(inp.stock) else None, starts)
    classes = classify_series(series) if len(series) else pd.DataFrame(
        columns=["demand_class", "seasonal", "history_days"])
    if inp.revenue is not None:
        revenue = inp.revenue
    else:
        revenue = inp.lines[inp.lines["day"] > cutoff - pd.Timedelta(days=365)] \
            .groupby("sku")["revenue"].sum() if len(inp.lines) else pd.Series(dtype=float)
    abc = abc_classes(revenue)
    supply = inp.supply
    lead = supply["lead_time_days"] if len(supply) else pd.Series(dtype=float)
    max_protect = float(lead.max()) if len(lead) else settings.default_lead_time_days
    h = int(min(max(math.ceil(max(max_protect, settings.default_lead_time_days)
                              + settings.review_days) + 1, CHART_DAYS), 366))
    fc = forecast_series(series, classes["demand_class"], h, settings.holdout_days) \
        if len(series) else None
    by_uid = {u: g["mean"].to_numpy() for u, g in fc.forecasts.groupby("unique_id")} if fc else {}
    # every active variant x location with sales or stock gets a line
    keys = set()
    if len(series):
        keys |= {split_series_id(u) for u in series["unique_id"].unique()}
    sku_to_id = dict(zip(active["sku"], active.index))
    pos = inp.position.set_index(["variant_id", "location_id"]) if len(inp.position) else None
    if pos is not None:
        keys |= {(variants.at[v, "sku"], int(l)) for v, l in pos.index if v in active.index}
    onord = inp.on_order.set_index(["variant_id", "location_id"])["units"] \
        if len(inp.on_order) else pd.Series(dtype=float)
    rows = []
    for sku, loc in sorted(keys):
        vid = sku_to_id.get(sku)
        if vid is None:
            continue  # archived or unknown SKU
        uid = f"{sku}@{loc}"
        summ = fc.summary.loc[uid] if fc is not None and uid in fc.summary.index else None
        daily = by_uid.get(uid, np.zeros(h))
        sup = supply.loc[vid] if len(supply) and vid in supply.index else None
        lt = float(sup["lead_time_days"]) if sup is not None else settings.default_lead_time_days
        lt_std = float(sup["lead_time_std_days"] or 0.0) if sup is not None else 0.0
        cls = abc.get(sku, "C")
        sl = float(settings.service_levels.get(cls, settings.service_level))
        on_hand = committed = incoming = 0.0
        if pos is not None and (vid, loc) in pos.index:
            p = pos.loc[(vid, loc)]
            on_hand, committed, incoming = float(p["on_hand"]), float(p["committed"]), \
                float(p["incoming"])
        on_order = float(onord.get((vid, loc), 0.0)) + incoming
        sigma = float(summ["sigma"]) if summ is not None else 0.0
        res = plan_item(daily, sigma, sl, lt, settings.review_days, on_hand, on_order,
                        committed, lt_std, int(sup["moq"]) if sup is not None else 1,
                        int(sup["case_pack"]) if sup is not None else 1)
        status = summ["status"] if summ is not None else "insufficient_history"
        if sup is None and status == "ok":
            status = "no_supplier"
        seasonal = bool(classes.at[uid, "seasonal"]) if uid in classes.index else False
        rows.append(dict(
            variant_id=int(vid), location_id=int(loc), sku=sku,
            list="seasonal" if seasonal else "staple", status=status,
            demand_class=classes.at[uid, "demand_class"] if uid in classes.index else "none",
            abc=cls, model=summ["model"] if summ is not None else None,
            history_days=int(summ["history_days"]) if summ is not None else 0,
            forecast_daily=float(np.mean(daily[:max(int(round(lt + settings.review_days)), 1)])),
            sigma_daily=sigma, service_level=sl, lead_time_days=lt,
            review_days=settings.review_days, safety_stock=res.safety_stock,
            reorder_point=res.reorder_point, order_up_to=res.order_up_to, on_hand=on_hand,
            on_order=on_order, committed=committed,
            recommended_qty=res.recommended_qty if sup is not None else 0,
            supplier_id=int(sup["supplier_id"]) if sup is not None else None,
            unit_cost=(float(sup["unit_cost"]) if sup is not None and pd.notna(sup["unit_cost"])
                       else _num(variants.at[vid, "unit_cost"])),
            mase=_num(summ["mase"]) if summ is not None else None,
            wape=_num(summ["wape"]) if summ is not None else None,
            bias=_num(summ["bias"]) if summ is not None else None,
            forecast={"start": str((cutoff + pd.Timedelta(days=1)).date()),
                      "mean": [round(float(x), 4) for x in daily[:CHART_DAYS]]}))
    lines = pd.DataFrame(rows)
    return lines, _accuracy(fc.summary if fc is not None else None)


def _num(v) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) or pd.isna(v) else float(v)


def _accuracy(summary: pd.DataFrame | None) -> dict:
    if summary is None or summary.empty:
        return {"mase": None, "wape": None, "bias": None}
    ok = summary[summary["status"] == "ok"]
    units = ok["holdout_units"].sum()
    m = ok["mase"].replace([np.inf, -np.inf], np.nan).dropna()
    # bias_i * units_i = forecast units_i - actual units_i, so this is the pooled bias
    pooled_bias = (ok["bias"].fillna(0.0) * ok["holdout_units"]).sum()
    return {
        "mase": float(m.mean()) if len(m) else None,
        "wape": float(ok["holdout_abs_error"].sum() / units) if units > 0 else None,
        "bias": float(pooled_bias / units) if units > 0 else None,
    }


def run_plan(session: Session, shop: Shop, settings: PlanSettings | None = None,
             cutoff: date | None = None) -> PlanRun:
    """Plan ``shop`` with data up to ``cutoff`` (default: the day of its last order) and store
    the run, its lines and draft purchase orders. The caller commits."""
    from .purchasing import draft_purchase_orders

    settings = settings or PlanSettings.from_shop(shop)
    cutoff = cutoff or last_order_day(session, shop) or date.today()
    run = PlanRun(shop_id=shop.id, data_cutoff=cutoff, status="running",
                  settings=asdict(settings))
    session.add(run)
    session.flush()
    inp = read_inputs(session, shop, cutoff)
    lines, acc = compute_plan(inp, settings)
    if len(lines):
        records = lines.assign(plan_run_id=run.id, shop_id=shop.id)
        session.execute(insert(PlanLine), [
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
            for r in records.to_dict("records")])
    run.n_series = len(lines)
    run.mase, run.wape, run.bias = acc["mase"], acc["wape"], acc["bias"]
    draft_purchase_orders(session, shop, run)
    run.status = "done"
    run.finished_at = utcnow()
    session.flush()
    return run
