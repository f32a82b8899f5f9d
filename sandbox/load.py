"""Load a generated sandbox shop into storage (the demo's data path until the Shopify fake
serves it through the real adapter)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from core.ingest import load_records
from core.shops import get_or_create_shop
from core.storage import Shop

from .generator import generate

__all__ = ["load_sandbox"]


def load_sandbox(session: Session, shop_name: str = "sandbox", **knobs) -> tuple[Shop, dict]:
    """Generate the sandbox shop (``knobs`` go to :func:`sandbox.generate`) and upsert it into
    the shop called ``shop_name``; return the shop and the row counts loaded."""
    shop_data = generate(**knobs)
    shop = get_or_create_shop(session, shop_name, currency="USD", timezone="UTC")
    counts = load_records(session, shop.id, shop_data.records)
    return shop, counts
