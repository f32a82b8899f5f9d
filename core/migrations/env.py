"""Alembic environment: the engine comes from the caller (core.storage.engine.upgrade)."""
from alembic import context

from core.storage import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # plain `alembic` command line: fall back to sqlalchemy.url
    from core.storage import make_engine

    engine = make_engine(config.get_main_option("sqlalchemy.url"))

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
