"""Finding and creating shops by name."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .storage import Shop

__all__ = ["UnknownShopError", "get_or_create_shop", "resolve_shop"]


class UnknownShopError(LookupError):
    """No such shop, or none given where several exist; the message lists the known shops."""


def get_or_create_shop(session: Session, name: str, **fields) -> Shop:
    shop = session.scalar(select(Shop).where(Shop.name == name))
    if shop is None:
        shop = Shop(name=name, settings={}, **fields)
        session.add(shop)
        session.flush()
    return shop


def resolve_shop(session: Session, name: str | None) -> Shop:
    """The shop called ``name``; with no name, the only shop there is.

    Raises:
        UnknownShopError: naming the known shops and how to pick one (``--shop NAME``).
    """
    names = list(session.scalars(select(Shop.name).order_by(Shop.name)))
    if name is None:
        if len(names) == 1:
            return session.scalar(select(Shop).where(Shop.name == names[0]))
        if not names:
            raise UnknownShopError("no shop in the database yet: load one first "
                                   "(restock demo, or restock import shopify-csv ...)")
        raise UnknownShopError(f"several shops exist ({', '.join(names)}): pick one with --shop NAME")
    shop = session.scalar(select(Shop).where(Shop.name == name))
    if shop is None:
        known = ", ".join(names) if names else "none yet"
        raise UnknownShopError(f"unknown shop {name!r} (known shops: {known})")
    return shop
