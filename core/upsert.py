"""Fast ``INSERT ... ON CONFLICT DO UPDATE`` of many rows given column by column.

:func:`core.ingest.upsert_rows` and :func:`core.ingest.load_records` write through
:func:`upsert_columns`. The statement is the one SQLAlchemy builds (a Core insert with
``on_conflict_do_update``, every non-key column set to ``coalesce(excluded.c, stored c)``,
so a value that arrives empty keeps the stored one); only the way the rows reach the
database differs from ``session.execute(stmt, list_of_dicts)``:

* the statement is compiled once per call and each column's bind processor (SQLite stores
  datetimes as text, JSON is serialised, ...) is applied to the whole column at once, where
  SQLAlchemy's executemany builds and processes a parameter dict per row;
* SQLite: the processed rows go to the driver's ``executemany`` in one call;
* PostgreSQL (psycopg 3): the rows are streamed with ``COPY`` into a temporary table and
  upserted from it with one ``INSERT ... SELECT ... ON CONFLICT``. PostgreSQL refuses to
  update one row twice in a statement, so a chunk that holds a key twice goes row by row
  (executemany) instead, where the later row wins as before.

Columns with a Python-side callable default or ``onupdate`` that the rows do not carry are
left to SQLAlchemy's own executemany, which computes them per row.
"""
from __future__ import annotations

from sqlalchemy import column, func, select, table as sql_table, text
from sqlalchemy.orm import Session

__all__ = ["upsert_columns", "refresh_statistics", "CHUNK"]

CHUNK = 5000
"""Rows per statement (SQLite) or per COPY (PostgreSQL)."""


def _insert_for(dialect_name: str):
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect_name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise RuntimeError(f"upserts are implemented for SQLite and PostgreSQL, not "
                           f"{dialect_name}; use a sqlite:// or postgresql:// DATABASE_URL")
    return insert


def _statement(insert, target, cols: list[str], key: list[str], updated: list[str],
               source=None):
    """Insert ``cols``; on a key conflict set each of ``updated`` unless it came empty."""
    stmt = insert(target) if source is None else insert(target).from_select(cols, source)
    update = {c: func.coalesce(getattr(stmt.excluded, c), target.c[c])
              for c in updated if c not in key}
    return stmt.on_conflict_do_update(index_elements=key, set_=update) if update \
        else stmt.on_conflict_do_nothing(index_elements=key)


def upsert_columns(session: Session, model, columns: dict[str, list], key: list[str]) -> int:
    """Upsert the rows given as ``columns`` (name -> equally long lists) into ``model``.

    Returns:
        The number of rows written.

    Raises:
        ValueError: The columns differ in length, name no column of the table, or leave out
            a key column.
    """
    cols = list(columns)
    target = model.__table__
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise ValueError(f"{target.name}: columns differ in length "
                         f"{ {c: len(v) for c, v in columns.items()} }; give every column "
                         "one value per row")
    unknown = [c for c in cols if c not in target.c]
    if unknown:
        raise ValueError(f"{target.name} has no column {unknown}; its columns are "
                         f"{[c.name for c in target.c]}")
    missing = [k for k in key if k not in columns]
    if missing:
        raise ValueError(f"{target.name}: key column(s) {missing} missing from the rows")
    n = lengths.pop() if lengths else 0
    if not n:
        return 0
    dialect = session.get_bind().dialect
    insert = _insert_for(dialect.name)
    defaults = _scalar_defaults(target, cols)
    if defaults is None:  # a callable default or onupdate: SQLAlchemy computes it per row
        rows = [dict(zip(cols, r)) for r in zip(*columns.values())]
        stmt = _statement(insert, target, cols, key, cols)
        for start in range(0, n, CHUNK):
            session.execute(stmt, rows[start:start + CHUNK])
        return n
    # a left-out column gets its default on insert only, as SQLAlchemy does: an update
    # never touches it
    updated = cols
    columns = {**columns, **{c: [v] * n for c, v in defaults.items()}}
    cols = list(columns)
    values = _processed(target, columns, dialect)
    if dialect.name == "postgresql":
        _copy_upsert(session, insert, target, cols, key, updated, columns, values, n)
    else:
        stmt = _statement(insert, target, cols, key, updated)
        compiled = stmt.compile(dialect=dialect, column_keys=cols)
        order = [cols.index(name) for name in compiled.positiontup]
        rows = list(zip(*(values[i] for i in order)))
        conn = session.connection()
        for start in range(0, n, CHUNK):
            conn.exec_driver_sql(compiled.string, rows[start:start + CHUNK])
    return n


def refresh_statistics(session: Session, tables: list[str]) -> None:
    """``ANALYZE`` the given tables on PostgreSQL (nothing on SQLite).

    A bulk load grows tables from nothing faster than autovacuum re-samples them; with the
    statistics of an empty table the planner answers the per-batch external-id lookups
    with a scan of every row of the shop instead of the unique index, and a backfill turns
    quadratic. Call it as a load grows (e.g. after batches 1, 2, 4, 8, ...).
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for name in tables:
        session.execute(text(f'ANALYZE "{name}"'))


def _scalar_defaults(target, cols: list[str]) -> dict | None:
    """Values of the scalar insert defaults of columns the rows leave out; None when one of
    them (or an ``onupdate``) must be computed by SQLAlchemy."""
    out = {}
    for col in target.c:
        if col.onupdate is not None:
            return None
        if col.name in cols or col.default is None:
            continue
        if not col.default.is_scalar:
            if col.primary_key:
                continue
            return None
        out[col.name] = col.default.arg
    return out


def _processed(target, columns: dict[str, list], dialect) -> list[list]:
    """Each column's values through its type's bind processor for ``dialect``."""
    out = []
    for name, values in columns.items():
        proc = target.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        out.append(values if proc is None else [proc(v) for v in values])
    return out


def _copy_upsert(session, insert, target, cols, key, updated, columns, values, n) -> None:
    stage = f"_restock_stage_{target.name}"
    conn = session.connection()
    raw = conn.connection.driver_connection  # the psycopg connection of this transaction
    quoted = ", ".join(f'"{c}"' for c in cols)
    key_pos = [cols.index(k) for k in key]
    with raw.cursor() as cur:
        cur.execute(f'CREATE TEMP TABLE IF NOT EXISTS "{stage}" AS '
                    f'SELECT {quoted} FROM "{target.name}" WITH NO DATA')
    source = select(*[column(c) for c in cols]).select_from(
        sql_table(stage, *[column(c) for c in cols]))
    upsert = _statement(insert, target, cols, key, updated, source)
    for start in range(0, n, CHUNK):
        rows = list(zip(*(v[start:start + CHUNK] for v in values)))
        if len({tuple(r[i] for i in key_pos) for r in rows}) < len(rows):
            # a key twice: row by row through SQLAlchemy (unprocessed values), later wins
            plain = [dict(zip(cols, r)) for r in
                     zip(*(columns[c][start:start + CHUNK] for c in cols))]
            session.execute(_statement(insert, target, cols, key, updated), plain)
            continue
        with raw.cursor() as cur:
            cur.execute(f'TRUNCATE "{stage}"')
            with cur.copy(f'COPY "{stage}" ({quoted}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
        session.execute(upsert)
    with raw.cursor() as cur:
        cur.execute(f'DROP TABLE "{stage}"')
