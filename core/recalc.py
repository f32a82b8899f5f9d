"""Targeted recalculation: refresh the latest plan's lines for a few SKUs only.

Webhooks (an order, a stock change) touch a handful of SKUs; recomputing the whole plan for
them would waste minutes. This reads only those SKUs' data, forecasts and applies the policy
with the latest run's settings, and replaces their lines in that run in one transaction.
ABC classes keep using every SKU's revenue, so service levels do not shift, and the
safety-stock uncertainty model applies the run's group parameters (:mod:`core.uncertainty`)
instead of fitting them on a handful of series; each series keeps the model the full plan
selected for it (the forecast memory of :mod:`core.forecast_memo`), refitted on its new data. Draft purchase
orders are left to the next full plan.
"""
from __future__ import annotations

import math
from datetime import date

from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from .plan import PlanSettings, compute_plan, run_plan
from .plan_inputs import last_order_day, read_inputs
from .plan_series import read_memory, write_memory
from .reports import latest_run
from .storage import PlanLine, Shop

__all__ = ["recalc_skus"]


def recalc_skus(session: Session, shop: Shop, skus, cutoff: date | None = None) -> int:
    """Recompute ``skus`` in the shop's latest plan run; return the number of lines written.

    With no plan run yet, a full plan is run instead. The caller commits.
    """
    skus = sorted({str(s) for s in skus if s})
    run = latest_run(session, shop)
    if run is None:
        return run_plan(session, shop).n_series
    if not skus:
        return 0
    settings = PlanSettings(**{k: v for k, v in (run.settings or {}).items()
                               if k in PlanSettings.__dataclass_fields__})
    cutoff = cutoff or max(run.data_cutoff, last_order_day(session, shop) or run.data_cutoff)
    inp = read_inputs(session, shop, cutoff, skus=skus)
    inp.forecast_memory = read_memory(session, shop)  # the full plan's models, kept
    lines, _ = compute_plan(inp, settings, uncertainty=run.uncertainty)
    write_memory(session, shop, inp.forecast_memory)
    session.execute(delete(PlanLine).where(PlanLine.plan_run_id == run.id,
                                           PlanLine.sku.in_(skus)))
    if len(lines):
        records = lines.assign(plan_run_id=run.id, shop_id=shop.id)
        session.execute(insert(PlanLine), [
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
            for r in records.to_dict("records")])
    session.flush()
    return len(lines)
