"""Purchase-order deliveries to suppliers and goods receipts."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow

__all__ = ["PODelivery", "Receipt"]


class PODelivery(Base):
    """Sending one purchase order through one channel (email, HTTP, ERP, WMS), exactly once:
    the idempotency key is the order's; attempts and the last error are kept for the UI."""

    __tablename__ = "po_deliveries"
    __table_args__ = (UniqueConstraint("purchase_order_id", "channel"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_order_id: Mapped[int] = mapped_column(
        ForeignKey("purchase_orders.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(32))  # email | http | tryton | shipbob
    status: Mapped[str] = mapped_column(String(32), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    remote_ref: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Receipt(Base):
    """Units of a purchase-order line received at a location."""

    __tablename__ = "receipts"
    __table_args__ = (UniqueConstraint("shop_id", "source", "external_id"),
                      Index("ix_receipts_po", "purchase_order_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    purchase_order_id: Mapped[int] = mapped_column(
        ForeignKey("purchase_orders.id", ondelete="CASCADE"))
    purchase_order_line_id: Mapped[int] = mapped_column(
        ForeignKey("purchase_order_lines.id", ondelete="CASCADE"))
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(32), default="manual")
    external_id: Mapped[str] = mapped_column(String(255))
