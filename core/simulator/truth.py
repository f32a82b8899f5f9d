"""Scenarios with known true demand: the sandbox shop's ground truth as a simulation.

:func:`truth_scenario` takes a shop object with the sandbox's frames (``truth.wanted``,
``truth.expected_demand``, ``truth.skus``, ``records.supplier_items``,
``records.variants``, ``end``; duck-typed, :mod:`sandbox` is not imported) and builds:

- the :class:`~core.simulator.engine.Scenario`: true demand = ``truth.wanted`` (demand
  before stock limits) summed over locations, on every day; the last ``simulate_days``
  days are simulated, the days before are the history (taken as fully observed sales).
  Items are the SKUs live over the whole simulated stretch with at least ``min_history``
  days of life before it. Lead times are the *true* distribution (``lead_time_mean``,
  ``lead_time_std`` of ``truth.skus``), told to every policy, so that policies differ by
  their demand side only; MOQ, case pack and unit cost from the supplier items; every item
  starts warm (the policy's own order-up-to level).
- the true daily mean (``truth.expected_demand``) and variance of the simulated days, for
  :class:`~core.simulator.policies.KnownDistributionPolicy`.

The sandbox does not publish the variance; it draws a day's units as a gamma-Poisson
number of lines times a line size, or as a Bernoulli line times a size, so that
Var(D_t) = a x E_t + b x E_t^2 per SKU (compound Poisson-gamma: a = E[Q^2]/E[Q],
b = 1/r; Bernoulli: b = -1). :func:`true_variance` fits a and b per SKU by least squares
of the squared deviations (D_t - E_t)^2 on (E_t, E_t^2) over every live day (a method-of-
moments estimate from ~700 days), floored at 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .engine import Scenario
from .inputs import scenario_from_frames

__all__ = ["TruthScenario", "true_variance", "truth_scenario"]


@dataclass
class TruthScenario:
    """A scenario and its truth: ``mean``/``var`` are (n, S) over the simulated days;
    ``pattern`` is the sandbox's demand pattern per SKU (a Series indexed by SKU)."""

    scenario: Scenario
    mean: np.ndarray
    var: np.ndarray
    pattern: pd.Series


def true_variance(expected: np.ndarray, realised: np.ndarray) -> np.ndarray:
    """Per-row fit of Var = a E + b E^2 (see module docstring); returns Var per cell.

    Args:
        expected: (n, T) true daily means; NaN on days a SKU was not live (ignored).
        realised: (n, T) realised demand.
    """
    out = np.zeros_like(expected, dtype=float)
    for i in range(expected.shape[0]):
        e = expected[i]
        ok = np.isfinite(e)
        if ok.sum() < 2:
            continue
        x = np.column_stack([e[ok], e[ok] ** 2])
        coef, *_ = np.linalg.lstsq(x, (realised[i, ok] - e[ok]) ** 2, rcond=None)
        out[i] = np.maximum(coef[0] * np.nan_to_num(e) + coef[1] * np.nan_to_num(e) ** 2, 0.0)
    return out


def truth_scenario(shop, simulate_days: int = 90, min_history: int = 90) -> TruthScenario:
    """The scenario of the module docstring from a sandbox shop."""
    truth, rec = shop.truth, shop.records
    end = pd.Timestamp(shop.end).normalize()
    sim_start = end - pd.Timedelta(days=simulate_days - 1)
    sk = truth.skus.set_index("sku")
    created = pd.to_datetime(sk["created_date"])
    gone = pd.to_datetime(sk["discontinued_date"])
    live = sk.index[(created <= sim_start - pd.Timedelta(days=min_history))
                    & (gone.isna() | (gone > end))]
    wanted = truth.wanted[truth.wanted["sku"].isin(live)]
    wanted = wanted.groupby(["sku", "date"], as_index=False)["wanted_units"].sum()
    first = pd.Timestamp(shop.start).normalize()
    # an explicit first row per SKU: its life starts at max(created, first day of data)
    starts = pd.DataFrame({"sku": live, "date": created[live].clip(lower=first).to_numpy(),
                           "quantity": 0.0})
    ends = pd.DataFrame({"sku": live, "date": end, "quantity": 0.0})
    demand = pd.concat([wanted.rename(columns={"wanted_units": "quantity"}), starts, ends])
    demand = demand.groupby(["sku", "date"], as_index=False)["quantity"].sum()
    sup = rec.supplier_items.drop_duplicates("sku").set_index("sku")
    price = rec.variants.drop_duplicates("sku").set_index("sku")["price"]
    items = pd.DataFrame({"lead_time_days": sk["lead_time_mean"],
                          "lead_time_std_days": sk["lead_time_std"],
                          "moq": sup["moq"], "case_pack": sup["case_pack"],
                          "unit_cost": sup["unit_cost"], "price": price}).loc[live]
    scen = scenario_from_frames(demand, items, simulate_days)
    skus = [it.sku for it in scen.items]
    exp = truth.expected_demand.groupby(["sku", "date"])["expected_units"].sum()
    exp = exp.unstack("date").reindex(index=skus, columns=scen.days).to_numpy(dtype=float)
    real = np.concatenate([scen.history_sold, scen.demand], axis=1)
    var = true_variance(exp, real)
    t0 = scen.t0
    return TruthScenario(scenario=scen, mean=np.nan_to_num(exp[:, t0:]), var=var[:, t0:],
                         pattern=sk["pattern"].reindex(skus))
