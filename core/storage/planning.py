"""Plan runs and their per-SKU results, purchase orders and reminders."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (JSON, Date, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow

__all__ = ["PlanRun", "PlanLine", "PurchaseOrder", "PurchaseOrderLine", "Reminder",
           "PO_STATUSES"]

PO_STATUSES = ("draft", "approved", "sent", "partially_received", "received", "cancelled")


class PlanRun(Base):
    __tablename__ = "plan_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    data_cutoff: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(32), default="running")
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    n_series: Mapped[int] = mapped_column(Integer, default=0)
    mase: Mapped[float | None] = mapped_column(Float)
    wape: Mapped[float | None] = mapped_column(Float)
    bias: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    # group parameters of the safety-stock uncertainty model (core.uncertainty), reused by
    # targeted recalculations of this run
    uncertainty: Mapped[dict | None] = mapped_column(JSON)


class PlanLine(Base):
    """One SKU x location result of a plan run."""

    __tablename__ = "plan_lines"
    __table_args__ = (UniqueConstraint("plan_run_id", "variant_id", "location_id"),
                      Index("ix_plan_lines_run_sku", "plan_run_id", "sku"))
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_run_id: Mapped[int] = mapped_column(ForeignKey("plan_runs.id", ondelete="CASCADE"))
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(String(255))
    list: Mapped[str] = mapped_column(String(16))  # staple | seasonal
    status: Mapped[str] = mapped_column(String(32))  # ok | insufficient_history | no_supplier
    demand_class: Mapped[str | None] = mapped_column(String(16))
    model: Mapped[str | None] = mapped_column(String(64))
    history_days: Mapped[int] = mapped_column(Integer, default=0)
    forecast_daily: Mapped[float] = mapped_column(Float, default=0.0)
    sigma_daily: Mapped[float] = mapped_column(Float, default=0.0)
    service_level: Mapped[float] = mapped_column(Float)
    lead_time_days: Mapped[float | None] = mapped_column(Float)
    review_days: Mapped[float] = mapped_column(Float)
    safety_stock: Mapped[float] = mapped_column(Float, default=0.0)
    reorder_point: Mapped[float] = mapped_column(Float, default=0.0)
    order_up_to: Mapped[float] = mapped_column(Float, default=0.0)
    on_hand: Mapped[float] = mapped_column(Float, default=0.0)
    on_order: Mapped[float] = mapped_column(Float, default=0.0)
    committed: Mapped[float] = mapped_column(Float, default=0.0)
    recommended_qty: Mapped[int] = mapped_column(Integer, default=0)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id", ondelete="SET NULL"))
    unit_cost: Mapped[float | None] = mapped_column(Float)
    mase: Mapped[float | None] = mapped_column(Float)
    wape: Mapped[float | None] = mapped_column(Float)
    bias: Mapped[float | None] = mapped_column(Float)
    abc: Mapped[str | None] = mapped_column(String(1))
    xyz: Mapped[str | None] = mapped_column(String(1))
    lifecycle: Mapped[str | None] = mapped_column(String(16))  # new | growing | mature | declining
    lost_units: Mapped[float | None] = mapped_column(Float)  # estimated lost sales, last 90 days
    days_of_cover: Mapped[float | None] = mapped_column(Float)
    stockout_date: Mapped[date | None] = mapped_column(Date)
    season_leftover: Mapped[float | None] = mapped_column(Float)
    # seasonal SKUs planned by core.season: this season's window, the demand expected from the
    # first plan day to its end, the buy the season sells at the critical ratio beyond the
    # position, and that ratio
    season_start: Mapped[date | None] = mapped_column(Date)
    season_end: Mapped[date | None] = mapped_column(Date)
    season_demand: Mapped[float | None] = mapped_column(Float)
    season_buy_qty: Mapped[int | None] = mapped_column(Integer)
    critical_ratio: Mapped[float | None] = mapped_column(Float)
    notes: Mapped[str | None] = mapped_column(Text)
    ltv_weight: Mapped[float | None] = mapped_column(Float)
    protected_units: Mapped[float | None] = mapped_column(Float)  # reserved for high-LTV buyers
    excess_units: Mapped[float | None] = mapped_column(Float)
    excess_action: Mapped[str | None] = mapped_column(String(16))  # sell_now | hold
    excess_reason: Mapped[str | None] = mapped_column(Text)
    forecast: Mapped[dict] = mapped_column(JSON, default=dict)  # {"start": "YYYY-MM-DD", "mean": [...]}


class PurchaseOrder(Base):
    __tablename__ = "purchase_orders"
    __table_args__ = (UniqueConstraint("shop_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(64))
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="RESTRICT"))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id", ondelete="SET NULL"))
    plan_run_id: Mapped[int | None] = mapped_column(ForeignKey("plan_runs.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(32), default="draft")
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expected_at: Mapped[date | None] = mapped_column(Date)
    last_error: Mapped[str | None] = mapped_column(Text)


class PurchaseOrderLine(Base):
    __tablename__ = "purchase_order_lines"
    __table_args__ = (UniqueConstraint("purchase_order_id", "variant_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_order_id: Mapped[int] = mapped_column(
        ForeignKey("purchase_orders.id", ondelete="CASCADE"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="RESTRICT"))
    sku: Mapped[str] = mapped_column(String(255))
    quantity: Mapped[int] = mapped_column(Integer)
    received_quantity: Mapped[int] = mapped_column(Integer, default=0)
    unit_cost: Mapped[float | None] = mapped_column(Float)


class Reminder(Base):
    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("shop_id", "customer_id", "variant_id", "due_date"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"))
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(32), default="candidate")
    reason: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(String(32))
    substitute_variant_id: Mapped[int | None] = mapped_column(
        ForeignKey("variants.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
