"""The one place that builds the engine and session factory from settings."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from core.storage import make_engine, make_sessionmaker, upgrade

from .config import Settings

__all__ = ["Context", "build_context"]


@dataclass
class Context:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]


def build_context(settings: Settings, migrate: bool = True) -> Context:
    """Engine, session factory, the schema brought up to date (by default) and the
    purchase-order delivery channels registered."""
    from .delivery.platforms import register_platform_channels

    engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    register_platform_channels()  # ERP/WMS purchase-order channels (credentials from env)
    return Context(settings=settings, engine=engine, sessions=make_sessionmaker(engine))
