"""Group commit for the webhook inbox: many requests, one short transaction.

A request thread hands its row to :meth:`InboxWriter.submit` and blocks until the row is
committed; one writer thread per database takes everything queued so far (up to
``max_batch`` rows), inserts it in a single transaction and wakes each waiter with its
outcome. While one batch commits the next one gathers, so under load the cost of a commit
(and of SQLite's single write lock, or PostgreSQL's WAL flush) is shared by every request
in the batch, and request threads never fight each other for the write lock (SQLite's busy
handler sleeps 1, 2, 5, 10 ... ms between retries, which is what made the tail long). A
batch is one multi-row statement, so the writer gives up the GIL for the database once per
batch rather than once per row (each hand-back can cost a GIL switch interval).

Guarantees:

* ``submit`` returns only after the transaction holding the row has committed, so the 200
  that follows is never sent for a row that is not stored.
* Dedupe is done by the database: ``INSERT ... ON CONFLICT (source, event_id) DO NOTHING``
  (SQLite and PostgreSQL); a row that conflicts, with the inbox or with an earlier row of the
  same batch, comes back as ``"duplicate"`` and is stored once.
* A failing batch is rolled back and its rows retried one per transaction, so one bad row
  fails alone; the caller of a row that cannot be stored gets the database's exception (the
  endpoint answers 503 and Shopify retries).
* SQLite durability: the writer's connection commits with ``PRAGMA synchronous=FULL`` (the
  WAL is fsynced at every commit, i.e. once per batch), so an acknowledged delivery survives
  a power loss, not only a process crash; the rest of restock keeps ``NORMAL``.

The writer thread keeps one connection while it runs (no pool checkout or ping per batch;
a failure on it is retried once on a fresh one), is started on demand and stops after
``idle_exit`` seconds without work; a writer found in a forked child is replaced (threads
do not survive ``fork``).
"""
from __future__ import annotations

import logging
import os
import threading
import weakref

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from core.storage import WebhookEvent

__all__ = ["InboxWriter", "writer_for", "WriterTimeout"]

log = logging.getLogger(__name__)

_TABLE = WebhookEvent.__table__
_KEY = ["source", "event_id"]


class WriterTimeout(RuntimeError):
    """The writer did not report within the wait limit (the row may or may not be stored)."""


class _Slot:
    __slots__ = ("row", "done", "outcome", "error")

    def __init__(self, row: dict):
        self.row = row
        self.done = threading.Event()
        self.outcome = None
        self.error = None


def _conflict_free_insert(dialect: str):
    """``INSERT ... ON CONFLICT (source, event_id) DO NOTHING RETURNING source, event_id``
    for the dialect (SQLAlchemy sends a batch as one multi-row statement), or None."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        return None
    return (dialect_insert(_TABLE).on_conflict_do_nothing(index_elements=_KEY)
            .returning(_TABLE.c.source, _TABLE.c.event_id))


class InboxWriter:
    """One writer thread that commits queued inbox rows in batches (see the module doc).

    Args:
        engine: the database holding ``webhook_events``.
        max_batch: most rows in one transaction.
        idle_exit: seconds without work after which the thread stops (restarted on demand).
        wait_limit: seconds a caller waits for its outcome before :class:`WriterTimeout`.
    """

    def __init__(self, engine: Engine, *, max_batch: int = 256, idle_exit: float = 30.0,
                 wait_limit: float = 60.0):
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self.engine = engine
        self.max_batch = max_batch
        self.idle_exit = idle_exit
        self.wait_limit = wait_limit
        self.pid = os.getpid()
        self._sqlite = engine.dialect.name == "sqlite"
        self._upsert = _conflict_free_insert(engine.dialect.name)
        self._plain = insert(_TABLE)
        self._cond = threading.Condition()
        self._queue: list[_Slot] = []
        self._thread: threading.Thread | None = None
        self._conn = None  # the writer thread's connection, kept while it runs
        self._closing = False
        self.batches = 0  # committed transactions, for tests and benchmarks
        self.rows = 0

    def submit(self, row: dict) -> str:
        """Store ``row`` (column -> value of ``webhook_events``); wait for the commit.

        Returns:
            ``"accepted"`` when the row was inserted, ``"duplicate"`` when its
            ``(source, event_id)`` was already in the inbox.

        Raises:
            sqlalchemy.exc.SQLAlchemyError: the row could not be stored.
            WriterTimeout: no outcome within ``wait_limit`` seconds.
        """
        slot = _Slot(row)
        with self._cond:
            self._queue.append(slot)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="inbox-writer",
                                                daemon=True)
                self._thread.start()
            else:
                self._cond.notify()
        if not slot.done.wait(self.wait_limit):
            raise WriterTimeout(f"the inbox writer gave no answer within {self.wait_limit} s")
        if slot.error is not None:
            raise slot.error
        return slot.outcome

    def close(self, timeout: float = 10.0) -> None:
        """Let the writer thread finish what is queued, stop, and release its connection."""
        with self._cond:
            thread, self._closing = self._thread, True
            self._cond.notify()
        if thread is not None:
            thread.join(timeout)
        with self._cond:
            self._closing = False

    # ---------------------------------------------------------------- writer thread
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    if self._closing or (not self._cond.wait(self.idle_exit)
                                         and not self._queue):
                        self._stop_locked()
                        return
                batch = self._queue[:self.max_batch]
                del self._queue[:self.max_batch]
            try:
                self._write(batch)
            except BaseException as exc:  # never leave a caller waiting
                for slot in batch:
                    if not slot.done.is_set():
                        slot.error = exc
                        slot.done.set()
                if not isinstance(exc, Exception):
                    with self._cond:
                        self._stop_locked()
                    raise

    def _stop_locked(self) -> None:
        """End of the thread (lock held): a thread started after this gets a new connection."""
        self._drop_connection()
        self._thread = None

    def _write(self, batch: list[_Slot]) -> None:
        reused = self._conn is not None
        try:
            outcomes = self._transaction(batch)
        except Exception as exc:
            self._drop_connection()
            if reused:  # the kept connection may have gone stale (server restart): once more
                try:
                    outcomes = self._transaction(batch)
                except Exception as again:
                    self._drop_connection()
                    exc = again
                else:
                    return self._finish(batch, outcomes)
            if len(batch) == 1:
                batch[0].error = exc
                batch[0].done.set()
                return
            log.warning("inbox writer: batch of %d failed (%s); retrying row by row",
                        len(batch), type(exc).__name__)
            for slot in batch:
                self._write([slot])
            return
        self._finish(batch, outcomes)

    def _finish(self, batch: list[_Slot], outcomes: list[str]) -> None:
        self.batches += 1
        self.rows += len(batch)
        for slot, outcome in zip(batch, outcomes):
            slot.outcome = outcome
            slot.done.set()

    def _transaction(self, batch: list[_Slot]) -> list[str]:
        if self._conn is None:  # kept between batches: no pool checkout or ping per batch
            self._conn = self.engine.connect()
            if self._sqlite:  # fsync the WAL at each commit (see the module doc)
                self._conn.exec_driver_sql("PRAGMA synchronous=FULL")
                self._conn.commit()
        conn = self._conn
        try:
            outcomes = self._insert(conn, [slot.row for slot in batch])
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        return outcomes

    def _drop_connection(self) -> None:
        """Close the kept connection; it never goes back to the pool (its pragma stays)."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.invalidate()
            conn.close()
        except Exception:  # already broken: nothing more to release
            log.debug("inbox writer: closing a broken connection", exc_info=True)

    def _insert(self, conn, rows: list[dict]) -> list[str]:
        """Insert ``rows`` in the open transaction; ``accepted``/``duplicate`` for each."""
        outcomes = ["duplicate"] * len(rows)
        first: dict[tuple, int] = {}  # a repeat inside the batch is a duplicate of the first
        for i, row in enumerate(rows):
            first.setdefault((row["source"], row["event_id"]), i)
        if self._upsert is not None:  # one statement; only inserted rows come back
            result = conn.execute(self._upsert, [rows[i] for i in first.values()])
            for key in result:
                outcomes[first[tuple(key)]] = "accepted"
            return outcomes
        for i in first.values():  # other databases: a savepoint per row
            nested = conn.begin_nested()
            try:
                conn.execute(self._plain, rows[i])
            except IntegrityError:
                nested.rollback()
                continue
            nested.commit()
            outcomes[i] = "accepted"
        return outcomes


_writers: "weakref.WeakKeyDictionary[object, InboxWriter]" = weakref.WeakKeyDictionary()
_writers_lock = threading.Lock()


def writer_for(sessions) -> InboxWriter:
    """The :class:`InboxWriter` of a session factory's engine (one per factory and process)."""
    with _writers_lock:
        writer = _writers.get(sessions)
        if writer is None or writer.pid != os.getpid():
            engine = getattr(sessions, "kw", {}).get("bind")
            if engine is None:
                raise TypeError("the session factory has no engine bound: build it with "
                                "core.storage.make_sessionmaker(engine)")
            writer = InboxWriter(engine)
            _writers[sessions] = writer
        return writer
