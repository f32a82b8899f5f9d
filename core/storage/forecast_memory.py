"""Model memory of the forecasts: each series' kept model and what it produced.

One row per shop x series (``unique_id`` = ``SKU@location``). See
:mod:`core.forecast_memo` for how the entries are used; :func:`read_forecast_memory` and
:func:`write_forecast_memory` turn rows into the plain entries
:func:`core.forecast.forecast_series` takes and returns, and back.
"""
from __future__ import annotations

import math
from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, String, UniqueConstraint, delete, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .base import Base, UTCDateTime, utcnow

__all__ = ["ForecastMemory", "read_forecast_memory", "write_forecast_memory"]


class ForecastMemory(Base):
    __tablename__ = "forecast_memory"
    __table_args__ = (UniqueConstraint("shop_id", "unique_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    unique_id: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16))  # smooth | intermittent
    model: Mapped[str] = mapped_column(String(128))
    fingerprint: Mapped[str] = mapped_column(String(64))
    last_day: Mapped[date] = mapped_column(Date)
    selected_on: Mapped[date] = mapped_column(Date)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)  # h, holdout, n_windows, ...
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


_PAYLOAD = ("h", "holdout", "n_windows", "forecast", "window_errors", "summary")


def _json(v):
    """NaN and infinities are not JSON (PostgreSQL refuses them): stored as null."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "item"):  # numpy scalars
        return _json(v.item())
    return v


def read_forecast_memory(session: Session, shop_id: int) -> dict:
    """unique_id -> memory entry for ``shop_id`` (empty when nothing is kept)."""
    out = {}
    for row in session.scalars(select(ForecastMemory).where(ForecastMemory.shop_id == shop_id)):
        p = row.payload or {}
        summary = {k: (float("nan") if v is None and k not in ("model", "status", "fit")
                       else v) for k, v in (p.get("summary") or {}).items()}
        out[row.unique_id] = dict(kind=row.kind, model=row.model, fingerprint=row.fingerprint,
                                  last_day=str(row.last_day), selected_on=str(row.selected_on),
                                  h=p.get("h", 0), holdout=p.get("holdout", 0),
                                  n_windows=p.get("n_windows", 0),
                                  forecast=p.get("forecast", []),
                                  window_errors=p.get("window_errors", []), summary=summary)
    return out


def write_forecast_memory(session: Session, shop_id: int, memory: dict) -> int:
    """Replace the shop's memory with ``memory``; returns the number of rows written."""
    session.execute(delete(ForecastMemory).where(ForecastMemory.shop_id == shop_id))
    now = utcnow()
    rows = [dict(shop_id=shop_id, unique_id=str(uid), kind=e["kind"], model=e["model"],
                 fingerprint=e["fingerprint"], last_day=date.fromisoformat(e["last_day"]),
                 selected_on=date.fromisoformat(e["selected_on"]), updated_at=now,
                 payload={k: (e[k] if k not in ("summary",) else
                              {sk: _json(sv) for sk, sv in e[k].items()}) for k in _PAYLOAD})
            for uid, e in memory.items()]
    if rows:
        session.execute(insert(ForecastMemory), rows)
    return len(rows)
