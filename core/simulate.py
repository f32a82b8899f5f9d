"""Replay restock's plan over known demand: re-exported from :mod:`core.simulator`."""
from __future__ import annotations

from .simulator.replay import replay_plan

__all__ = ["replay_plan"]
