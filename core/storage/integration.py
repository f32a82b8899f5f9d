"""Platform credentials, install nonces, idempotent pushes and links to outside records."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow

__all__ = ["ShopCredential", "OAuthState", "PushRecord", "ExternalLink"]


class ShopCredential(Base):
    """An access token for a shop on a platform, encrypted at rest (ciphertext only)."""

    __tablename__ = "shop_credentials"
    __table_args__ = (UniqueConstraint("shop_id", "platform"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(32), default="shopify")
    grant: Mapped[str] = mapped_column(String(32))  # token_exchange | authorization_code | client_credentials
    access_token_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    access_token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refresh_token_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    refresh_token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scopes: Mapped[str | None] = mapped_column(Text)
    admin_url: Mapped[str | None] = mapped_column(String(512))
    installed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    uninstalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OAuthState(Base):
    """A one-time ``state`` nonce of an authorization-code install."""

    __tablename__ = "oauth_states"
    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(128), unique=True)
    shop_domain: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PushRecord(Base):
    """One push to an outside system, keyed so a retry never pushes twice."""

    __tablename__ = "push_records"
    __table_args__ = (UniqueConstraint("shop_id", "kind", "idempotency_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32), default="pending")
    remote_id: Mapped[str | None] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ExternalLink(Base):
    """Which outside record (ERP, WMS) a local row corresponds to."""

    __tablename__ = "external_links"
    __table_args__ = (UniqueConstraint("shop_id", "system", "entity", "local_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    system: Mapped[str] = mapped_column(String(32))  # tryton | shipbob | ...
    entity: Mapped[str] = mapped_column(String(64))  # purchase_order | supplier | location ...
    local_id: Mapped[int] = mapped_column()
    remote_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
