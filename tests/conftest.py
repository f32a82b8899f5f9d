"""Shared fixtures: a migrated database on SQLite and, when it answers, PostgreSQL."""
from __future__ import annotations

import socket
import uuid

import pytest

from core.storage import make_engine, make_sessionmaker, upgrade

PG_HOST, PG_PORT = "127.0.0.1", 5432


def postgres_answers() -> bool:
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request, tmp_path):
    """A freshly migrated database: a SQLite file, or a throw-away PostgreSQL schema."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path}/restock.db")
        upgrade(eng)
        yield eng
        eng.dispose()
        return
    if not postgres_answers():
        pytest.skip("skipped: no PostgreSQL at 127.0.0.1:5432")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(f"postgresql://postgres@{PG_HOST}:{PG_PORT}/test")
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    eng = make_engine(f"postgresql://postgres@{PG_HOST}:{PG_PORT}/test"
                      f"?options=-csearch_path%3D{schema}")
    try:
        upgrade(eng)
        yield eng
    finally:
        eng.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture
def sessions(engine):
    return make_sessionmaker(engine)
