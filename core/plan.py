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

from .demand import split_series_id
from .plan_inputs import PlanInputs, last_order_day, read_inputs
from .plan_series import forecast_plan
from .policy import PolicyResult, cycle_level_for, plan_item, service_level_for
from .policy_empirical import empirical_levels
from .uncertainty import plan_uncertainty
from .season import check_season_settings, plan_season, season_fields
from .sellthrough import days_of_cover, season_end, season_leftover, stockout_date
from .storage import PlanLine, PlanRun, Shop, utcnow

__all__ = ["PlanSettings", "compute_plan", "run_plan", "abc_classes", "CHART_DAYS"]

CHART_DAYS = 56


@dataclass
class PlanSettings:
    """Plan knobs. ``service_levels`` maps an ABC x XYZ class ("AX") or an ABC class ("A")
    to a cycle service level; classes not listed use ``service_level``.
    ``max_surplus_days``: see the MOQ rule in :mod:`core.policy`.
    ``season_salvage_share``: what a seasonal leftover fetches at the season's end, as a
    share of unit cost (default 0.5: marked down to half its cost); ``season_sell_through``:
    the lowest expected sell-through a season buy may have (default 0.80). Both in
    :mod:`core.season`."""

    service_level: float = 0.95
    service_levels: dict = field(default_factory=dict)
    review_days: float = 7.0
    default_lead_time_days: float = 14.0
    holdout_days: int = 28
    max_surplus_days: float = 60.0
    safety_stock_method: str = "normal"  # normal | empirical (core.policy_empirical)
    service_level_kind: str = "cycle"  # cycle | fill (core.service)
    season_salvage_share: float = 0.5
    season_sell_through: float = 0.80

    def __post_init__(self):
        if self.service_level_kind not in ("cycle", "fill"):
            raise ValueError(f"service_level_kind must be 'cycle' or 'fill', "
                             f"not {self.service_level_kind!r}")
        if self.safety_stock_method not in ("normal", "empirical"):
            raise ValueError(f"safety_stock_method must be 'normal' or 'empirical', "
                             f"not {self.safety_stock_method!r}")
        check_season_settings(self.season_salvage_share, self.season_sell_through)

    @classmethod
    def from_shop(cls, shop: Shop, **overrides) -> "PlanSettings":
        known = {k: v for k, v in (shop.settings or {}).get("plan", {}).items()
                 if k in cls.__dataclass_fields__}
        known.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**known)


def abc_classes(revenue_by_sku: pd.Series) -> pd.Series:
    """ABC by gross margin (or any value per SKU): A = SKUs making the first 80% of it,
    B the next 15%, C the rest."""
    r = revenue_by_sku.sort_values(ascending=False)
    total = r.sum()
    if total <= 0:
        return pd.Series("C", index=r.index)
    before = (r.cumsum() - r) / total  # share of revenue of the SKUs ranked above
    return pd.Series(np.where(before < 0.80, "A", np.where(before < 0.95, "B", "C")),
                     index=r.index)


def compute_plan(inp: PlanInputs, settings: PlanSettings, engine=None,
                 uncertainty: dict | None = None) -> tuple[pd.DataFrame, dict]:
    """Plan every active SKU x location that sold or holds stock.

    Returns:
        (lines, accuracy): one row per SKU x location with the PlanLine fields, and the run's
        overall ``mase`` (mean of per-series MASE), ``wape`` and ``bias`` on the holdout plus
        ``uncertainty``, the safety-stock model's group parameters (stored with the run).
    """
    cutoff = pd.Timestamp(inp.cutoff)
    start = (cutoff + pd.Timedelta(days=1)).date()
    variants = inp.variants.set_index("id")
    active = variants[variants["status"].fillna("active") != "archived"]
    margin = inp.margin if inp.margin is not None else (
        inp.lines.groupby("sku")["revenue"].sum() if len(inp.lines) else pd.Series(dtype=float))
    abc = abc_classes(margin)
    supply = inp.supply
    lead = supply["lead_time_days"] if len(supply) else pd.Series(dtype=float)
    max_protect = float(lead.max()) if len(lead) else settings.default_lead_time_days
    h = int(min(max(math.ceil(max(max_protect, settings.default_lead_time_days)
                              + settings.review_days) + 1, CHART_DAYS), 366))
    sp = forecast_plan(inp, h, settings.holdout_days, engine)
    summary = sp.result.summary if sp.result is not None else pd.DataFrame()
    keys = {split_series_id(u) for u in sp.series["unique_id"].unique()} if len(sp.series) \
        else set()
    sku_to_id = dict(zip(active["sku"], active.index))
    pos = inp.position.set_index(["variant_id", "location_id"]) if len(inp.position) else None
    if pos is not None:
        keys |= {(variants.at[v, "sku"], int(l)) for v, l in pos.index if v in active.index}
    onord = inp.on_order.set_index(["variant_id", "location_id"])["units"] \
        if len(inp.on_order) else pd.Series(dtype=float)
    ltv = inp.ltv_weight if inp.ltv_weight is not None else pd.Series(dtype=float)
    # sigma per series; the group parameters are fitted here or, for a recalculation of a
    # few SKUs, those of the full run (``uncertainty``), so a SKU's safety stock does not
    # depend on which SKUs are planned with it
    unc = plan_uncertainty(sp.result, sp.classes, sp.daily, params=uncertainty)
    rows = []
    for sku, loc in sorted(keys):
        vid = sku_to_id.get(sku)
        if vid is None:
            continue  # archived or unknown SKU
        uid = f"{sku}@{loc}"
        summ = summary.loc[uid] if uid in summary.index else None
        cls = sp.classes.loc[uid] if uid in sp.classes.index else None
        daily = sp.daily.get(uid, np.zeros(h))
        sup = supply.loc[vid] if len(supply) and vid in supply.index else None
        lt = float(sup["lead_time_days"]) if sup is not None else settings.default_lead_time_days
        lt_std = float(sup["lead_time_std_days"] or 0.0) if sup is not None else 0.0
        xyz = cls["xyz"] if cls is not None else "Z"
        sl = service_level_for(settings.service_level, settings.service_levels,
                               abc.get(sku, "C"), xyz, ltv.get(sku))
        on_hand = committed = incoming = 0.0
        if pos is not None and (vid, loc) in pos.index:
            p = pos.loc[(vid, loc)]
            on_hand, committed, incoming = float(p["on_hand"]), float(p["committed"]), \
                float(p["incoming"])
        on_order = float(onord.get((vid, loc), 0.0)) + incoming
        # daily-equivalent sigma over L + R: shrunk noise plus level error (core.uncertainty)
        sigma = unc.sigma_d(uid, lt + settings.review_days,
                            float(summ["sigma"]) if summ is not None else 0.0)
        # the stored level is the target; the policy gets the cycle level that meets it
        cycle_sl = cycle_level_for(settings.service_level_kind, sl, daily, sigma, lt,
                                   settings.review_days, lt_std,
                                   int(sup["moq"]) if sup is not None else 1,
                                   int(sup["case_pack"]) if sup is not None else 1)
        levels = None
        resid = (sp.result.residuals or {}).get(uid) if sp.result is not None else None
        if settings.safety_stock_method == "empirical" and resid is not None:
            levels = empirical_levels(daily, resid, cycle_sl, lt, settings.review_days, lt_std)
        res = plan_item(daily, sigma, cycle_sl, lt, settings.review_days, on_hand, on_order,
                        committed, lt_std, int(sup["moq"]) if sup is not None else 1,
                        int(sup["case_pack"]) if sup is not None else 1,
                        settings.max_surplus_days, levels)
        status = summ["status"] if summ is not None else "insufficient_history"
        if sup is None and status == "ok":
            status = "no_supplier"
        if "untracked" in variants and bool(variants.at[vid, "untracked"]):
            # Shopify does not count this item's stock: a zero on hand is no reason to order
            status, res = "untracked", PolicyResult(**{**asdict(res), "recommended_qty": 0})
        seasonal = bool(cls["seasonal"]) if cls is not None else False
        position = on_hand + on_order - committed
        end = season_end(sp.history[uid], cutoff.date()) if seasonal and uid in sp.history \
            else None
        unit_cost = (float(sup["unit_cost"]) if sup is not None and pd.notna(sup["unit_cost"])
                     else _num(variants.at[vid, "unit_cost"]))
        sea = plan_season(sp.history[uid], daily, sigma, cutoff.date(), lt, settings, position,
                          _num(variants.at[vid, "price"]) if "price" in variants else None,
                          unit_cost, sl, res, int(sup["moq"]) if sup is not None else 1,
                          int(sup["case_pack"]) if sup is not None else 1,
                          can_order=sup is not None and status != "untracked") \
            if seasonal and uid in sp.history else None
        if sea is not None:
            res = sea.policy
        rows.append(dict(
            variant_id=int(vid), location_id=int(loc), sku=sku,
            list="seasonal" if seasonal else "staple", status=status,
            demand_class=cls["demand_class"] if cls is not None else "none",
            abc=abc.get(sku, "C"), xyz=xyz,
            lifecycle=cls["lifecycle"] if cls is not None else "new",
            model=summ["model"] if summ is not None else None,
            history_days=int(summ["history_days"]) if summ is not None else 0,
            forecast_daily=float(np.mean(daily[:max(int(round(lt + settings.review_days)), 1)])),
            sigma_daily=sigma, service_level=sl, lead_time_days=lt,
            review_days=settings.review_days, safety_stock=res.safety_stock,
            reorder_point=res.reorder_point, order_up_to=res.order_up_to, on_hand=on_hand,
            on_order=on_order, committed=committed,
            recommended_qty=res.recommended_qty if sup is not None else 0,
            supplier_id=int(sup["supplier_id"]) if sup is not None else None,
            unit_cost=unit_cost,
            mase=_num(summ["mase"]) if summ is not None else None,
            wape=_num(summ["wape"]) if summ is not None else None,
            bias=_num(summ["bias"]) if summ is not None else None,
            lost_units=_num(sp.lost.get(uid)),
            days_of_cover=days_of_cover(on_hand, committed, daily),
            stockout_date=stockout_date(start, on_hand, committed, on_order, lt, daily),
            season_leftover=(sea.leftover if sea is not None and sea.leftover is not None
                             else season_leftover(position, daily, start, end)),
            **season_fields(sea),
            notes=res.note,
            forecast={"start": str(start), "mean": [round(float(x), 4) for x in daily[:CHART_DAYS]]}))
    lines = pd.DataFrame(rows)
    return lines, {**_accuracy(summary if len(summary) else None), "uncertainty": unc.params()}


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
             cutoff: date | None = None, engine=None,
             ltv_weight: pd.Series | None = None) -> PlanRun:
    """Plan ``shop`` with data up to ``cutoff`` (default: the day of its last order) and store
    the run, its lines and draft purchase orders. The caller commits."""
    from .purchasing import draft_purchase_orders

    settings = settings or PlanSettings.from_shop(shop)
    asof = cutoff  # an explicit cut-off plans as of that day, stock included
    cutoff = cutoff or last_order_day(session, shop) or date.today()
    started = utcnow()
    inp = read_inputs(session, shop, cutoff, position_asof=asof)
    inp.ltv_weight = ltv_weight  # from core.ltv.apply.ltv_weights_for_plan, when known
    from .plan_series import read_memory, write_memory  # kept forecast models
    inp.forecast_memory = read_memory(session, shop)
    lines, acc = compute_plan(inp, settings, engine)
    # written only now: the minutes of forecasting hold no write lock (SQLite has one)
    run = PlanRun(shop_id=shop.id, data_cutoff=cutoff, status="running", started_at=started,
                  settings=asdict(settings))
    session.add(run)
    session.flush()
    if len(lines):
        records = lines.assign(plan_run_id=run.id, shop_id=shop.id)
        session.execute(insert(PlanLine), [
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
            for r in records.to_dict("records")])
    run.n_series = len(lines)
    write_memory(session, shop, inp.forecast_memory)
    run.mase, run.wape, run.bias = acc["mase"], acc["wape"], acc["bias"]
    run.uncertainty = acc["uncertainty"]
    draft_purchase_orders(session, shop, run)
    run.status = "done"
    run.finished_at = utcnow()
    session.flush()
    return run
