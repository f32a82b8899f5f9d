"""Customer scores (segments, CLV, next order) and per-product re-buy dates."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow

__all__ = ["CustomerScore", "CustomerProductDue"]


class CustomerScore(Base):
    """One customer's scores as of a day (kept per day so segment movement shows)."""

    __tablename__ = "customer_scores"
    __table_args__ = (UniqueConstraint("shop_id", "customer_id", "scored_on"),
                      Index("ix_customer_scores_shop_day", "shop_id", "scored_on"))
    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    scored_on: Mapped[date] = mapped_column(Date)
    recency_score: Mapped[int | None] = mapped_column()
    frequency_score: Mapped[int | None] = mapped_column()
    monetary_score: Mapped[int | None] = mapped_column()
    segment: Mapped[str | None] = mapped_column(String(32))
    cpm_group: Mapped[str | None] = mapped_column(String(64))
    p_alive: Mapped[float | None] = mapped_column(Float)
    expected_purchases_90d: Mapped[float | None] = mapped_column(Float)
    expected_spend: Mapped[float | None] = mapped_column(Float)
    predicted_clv: Mapped[float | None] = mapped_column(Float)
    next_order_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CustomerProductDue(Base):
    """When a customer is expected to buy a consumable again."""

    __tablename__ = "customer_product_due"
    __table_args__ = (UniqueConstraint("shop_id", "customer_id", "variant_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"))
    last_purchase_date: Mapped[date | None] = mapped_column(Date)
    last_quantity: Mapped[float | None] = mapped_column(Float)
    cycle_days: Mapped[float | None] = mapped_column(Float)  # days one unit lasts
    next_purchase_date: Mapped[date | None] = mapped_column(Date)
    p_alive: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
