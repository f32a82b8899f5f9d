"""The nightly cycle of one shop, in the order each step needs the one before:
customers scored (segments, CLV, next orders) -> SKU LTV weights -> plan with those
weights -> LTV decisions on the plan (protection, sell-now vs hold) -> KPI snapshots ->
repurchase reminders. Each step commits on its own, so a failure late in the cycle keeps
what was done and says which step failed."""
from __future__ import annotations

import logging
import time
from datetime import date, timedelta

from sqlalchemy.orm import Session, sessionmaker

from core.shops import resolve_shop
from core.storage import session_scope

__all__ = ["run_cycle"]

log = logging.getLogger(__name__)


def run_cycle(sessions: sessionmaker[Session], shop_name: str | None = None,
              kpi_days: int = 30, engine=None, echo=None) -> dict:
    """Run the cycle for a shop; return counts and seconds per step.

    Args:
        sessions: session factory of the composition root.
        shop_name: shop to run (the only shop when left out).
        kpi_days: how many trailing days get KPI snapshots (trends need more than one).
        engine: forecast engine (:mod:`core.engines`).
        echo: optional ``print``-like callable for progress lines.
    """
    from core.kpis import snapshot_kpis
    from core.ltv.apply import apply_ltv, ltv_weights_for_plan
    from core.plan import run_plan
    from core.plan_inputs import last_order_day
    from core.reminders import plan_reminders
    from core.segments import score_shop

    out: dict = {}

    def step(name, fn):
        t0 = time.perf_counter()
        with session_scope(sessions) as s:
            shop = resolve_shop(s, shop_name)
            result = fn(s, shop)
        shown = len(result) if hasattr(result, "__len__") and not isinstance(
            result, (str, dict)) else result
        out[name] = {"seconds": round(time.perf_counter() - t0, 2), "result": shown}
        if echo:
            echo(f"  {name}: {shown} ({out[name]['seconds']} s)")
        return result

    day = step("cutoff", lambda s, shop: last_order_day(s, shop) or date.today())
    step("customers", lambda s, shop: len(score_shop(s, shop, day)))
    weights = step("ltv_weights", lambda s, shop: ltv_weights_for_plan(s, shop, cutoff=day))

    def plan(s, shop):
        run = run_plan(s, shop, engine=engine, ltv_weight=weights)
        apply_ltv(s, shop, run)
        return {"run": run.id, "lines": run.n_series, "mase": run.mase}

    step("plan", plan)
    step("kpis", lambda s, shop: sum(
        snapshot_kpis(s, shop, day - timedelta(days=k))["written"]
        for k in range(kpi_days - 1, -1, -1)))
    step("reminders", lambda s, shop: _reminder_counts(plan_reminders(s, shop, day)))
    return out


def _reminder_counts(result) -> object:
    if hasattr(result, "value_counts"):
        return result["status"].value_counts().to_dict() if "status" in result else len(result)
    return result
