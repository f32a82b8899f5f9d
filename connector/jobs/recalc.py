"""The targeted-recalculation hook handed to the inbox drain."""
from __future__ import annotations

from typing import Callable

from sqlalchemy.orm import Session, sessionmaker

from core.recalc import recalc_skus
from core.storage import Shop, session_scope

__all__ = ["make_recalc"]


def make_recalc(sessions: sessionmaker[Session]) -> Callable[[int, set[str]], int]:
    """``recalc(shop_id, skus)``: refresh those SKUs in the shop's latest plan, in its own
    transaction; returns the number of plan lines rewritten."""

    def recalc(shop_id: int, skus: set[str]) -> int:
        with session_scope(sessions) as session:
            shop = session.get(Shop, shop_id)
            if shop is None:
                return 0
            return recalc_skus(session, shop, skus)

    return recalc
