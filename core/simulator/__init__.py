"""Inventory simulation: an engine, restock's policy, baselines, bounds and measures.

- :mod:`.engine`: the day-by-day lost-sales simulation and the policy interface.
- :mod:`.restock`: restock's forecast + (R, S) plan as a policy.
- :mod:`.policies`: velocity (Stocky-style), min/max (Odoo-style), the perfect-foresight
  oracle and the known-distribution (R, S) policy.
- :mod:`core.service` (re-exported): safety factors for fill-rate and cycle-service targets.
- :mod:`.calibrate`: tune a policy to a fill rate, to compare stock at equal fill.
- :mod:`.measures`: fill rate, cycle service level, stock and turnover.
- :mod:`.inputs`: scenarios from demand and item frames.
- :mod:`.truth`: scenarios with known true demand (the sandbox's ground truth).
- :mod:`.replay`: :func:`replay_plan`, the plan's replay used by the plan-quality tests.
"""
from .calibrate import Match, fill_and_stock, match_fill
from .engine import (History, Item, LookaheadError, Policy, Scenario, SimContext, SimResult,
                     draw_lead_times, simulate)
from .inputs import items_from_frame, scenario_from_frames
from .measures import MEASURES, aggregate
from .policies import (KnownDistributionPolicy, MinMaxPolicy, OraclePolicy, VelocityPolicy,
                       rs_decision)
from .replay import replay_plan
from .restock import RestockPolicy
from ..service import fill_rate_k, fill_rate_of_k, normal_loss, safety_factor
from .truth import TruthScenario, true_variance, truth_scenario

__all__ = ["Match", "fill_and_stock", "match_fill", "History", "Item", "LookaheadError", "Policy", "Scenario", "SimContext", "SimResult",
           "draw_lead_times", "simulate", "items_from_frame", "scenario_from_frames",
           "MEASURES", "aggregate", "KnownDistributionPolicy", "MinMaxPolicy", "OraclePolicy",
           "VelocityPolicy", "rs_decision", "replay_plan", "RestockPolicy", "fill_rate_k",
           "fill_rate_of_k", "normal_loss", "safety_factor", "TruthScenario", "true_variance",
           "truth_scenario"]
