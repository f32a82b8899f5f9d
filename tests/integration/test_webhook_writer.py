"""The group-commit inbox writer and the plain WSGI webhook endpoint under concurrency.

Ground truth is what the test sends: which event ids, how many times, from how many threads.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError

from connector.app import create_app
from connector.config import Settings
from connector.context import Context
from core.storage import WebhookEvent, make_sessionmaker
from webhooks.inbox_writer import InboxWriter, writer_for
from webhooks.shopify import sign

SECRET = "writer-secret"
BODY = (Path(__file__).resolve().parents[1] / "fixtures" / "shopify" / "webhooks"
        / "orders_create.example.json").read_bytes()


def row(event_id: str, payload: str | None = "{}") -> dict:
    return {"source": "shopify", "event_id": event_id, "topic": "orders/create",
            "shop_domain": "w.myshopify.com", "triggered_at": None, "payload": payload,
            "status": "pending"}


def stored(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(select(WebhookEvent.event_id, func.count())
                                 .group_by(WebhookEvent.event_id)).all())


@pytest.fixture
def app(engine):
    ctx = Context(settings=Settings(database_url="sqlite://", env="test"), engine=engine,
                  sessions=make_sessionmaker(engine))
    app = create_app(config={"TESTING": True, "SHOPIFY_API_SECRET": SECRET}, context=ctx)
    yield app
    writer_for(ctx.sessions).close()


def deliver(client, event_id: str, body: bytes = BODY):
    return client.post("/webhooks/shopify", data=body, headers={
        "X-Shopify-Topic": "orders/create", "X-Shopify-Hmac-Sha256": sign(SECRET, body),
        "X-Shopify-Shop-Domain": "w.myshopify.com", "X-Shopify-Event-Id": event_id,
        "Content-Type": "application/json"})


def test_concurrent_deliveries_each_stored_once(app, engine):
    # 120 distinct events, 40 of them sent three times, from 16 threads at once
    ids = [f"evt-{i}" for i in range(120)]
    sends = ids + ids[:40] * 2
    answers: dict[str, list[str]] = {i: [] for i in ids}
    lock = threading.Lock()

    def send(event_id: str) -> None:
        resp = deliver(app.test_client(), event_id)  # a client per call (not thread-safe)
        assert resp.status_code == 200
        with lock:
            answers[event_id].append(resp.json["status"])

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(send, sends))
    assert stored(engine) == {i: 1 for i in ids}
    for event_id in ids:  # exactly one "accepted" per event, the repeats are "duplicate"
        got = sorted(answers[event_id])
        repeats = 3 if event_id in ids[:40] else 1
        assert got == ["accepted"] + ["duplicate"] * (repeats - 1), (event_id, got)
    writer = writer_for(app.extensions["restock"].sessions)
    assert writer.rows == len(sends)


def test_rows_queued_behind_a_busy_database_share_one_commit(engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("holds SQLite's write lock to make the queue build up")
    writer = InboxWriter(engine, idle_exit=5)
    blocker = engine.raw_connection()
    blocker.execute("BEGIN IMMEDIATE")  # the writer's first commit waits for this lock
    outcomes = []

    def wait_for_queue(n: int) -> None:
        deadline = time.monotonic() + 10
        while len(writer._queue) != n and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(writer._queue) == n

    try:
        with ThreadPoolExecutor(40) as pool:
            futures = [pool.submit(writer.submit, row("q-0"))]
            wait_for_queue(0)  # the writer took q-0 and is stuck on the lock
            futures += [pool.submit(writer.submit, row(f"q-{i}")) for i in range(1, 40)]
            wait_for_queue(39)  # the rest queue up behind it
            blocker.rollback()
            outcomes = [f.result(timeout=20) for f in futures]
    finally:
        blocker.close()
        writer.close()
    assert outcomes == ["accepted"] * 40
    assert writer.batches == 2 and writer.rows == 40  # the stuck one, then the 39 together
    assert stored(engine) == {f"q-{i}": 1 for i in range(40)}


def test_a_bad_row_fails_alone_and_repeats_in_a_batch_are_duplicates(engine):
    writer = InboxWriter(engine)
    barrier = threading.Barrier(6)

    def submit(r):
        barrier.wait()
        try:
            return writer.submit(r)
        except IntegrityError:
            return "refused"

    rows = [row("a"), row("b"), row("a"), row("bad", payload=None), row("c"), row("b")]
    try:
        with ThreadPoolExecutor(6) as pool:
            results = dict(zip(range(6), pool.map(submit, rows)))
    finally:
        writer.close()
    assert results[3] == "refused"  # payload NULL breaks NOT NULL: only that caller hears it
    by_id: dict[str, list[str]] = {}
    for i, r in enumerate(rows):
        if i != 3:
            by_id.setdefault(r["event_id"], []).append(results[i])
    assert {k: sorted(v) for k, v in by_id.items()} == {
        "a": ["accepted", "duplicate"], "b": ["accepted", "duplicate"], "c": ["accepted"]}
    assert stored(engine) == {"a": 1, "b": 1, "c": 1}


def test_database_error_in_the_writer_answers_503(app, engine):
    with engine.begin() as conn:
        conn.execute(WebhookEvent.__table__.delete())
        WebhookEvent.__table__.drop(conn)  # every insert now fails inside the writer
    r = deliver(app.test_client(), "lost-table")
    assert r.status_code == 503 and r.json["status"] == "unavailable"
    with engine.begin() as conn:
        WebhookEvent.__table__.create(conn)
    r = deliver(app.test_client(), "lost-table")  # the writer reconnects and stores it
    assert r.status_code == 200 and r.json["status"] == "accepted"
    assert stored(engine) == {"lost-table": 1}


def test_sqlite_writer_fsyncs_each_commit_and_leaves_the_pool_alone(engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's synchronous pragma")
    writer = InboxWriter(engine)
    try:
        assert writer.submit(row("durable")) == "accepted"
        with writer._cond:
            level = writer._conn.exec_driver_sql("PRAGMA synchronous").scalar()
        assert level == 2  # FULL: the WAL is synced at every commit
        with engine.connect() as other:
            assert other.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    finally:
        writer.close()
    assert writer._thread is None and writer._conn is None


def test_idle_writer_stops_and_restarts_on_demand(engine):
    writer = InboxWriter(engine, idle_exit=0.05)
    try:
        assert writer.submit(row("one")) == "accepted"
        deadline = time.monotonic() + 5
        while writer._thread is not None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert writer._thread is None
        assert writer.submit(row("two")) == "accepted"
        assert writer.submit(row("one")) == "duplicate"
    finally:
        writer.close()
    assert stored(engine) == {"one": 1, "two": 1}


def test_endpoint_request_errors(app):
    client = app.test_client()
    assert client.get("/webhooks/shopify").status_code == 405
    r = client.post("/webhooks/shopify", data=BODY, environ_overrides={"CONTENT_LENGTH": "abc"})
    assert r.status_code == 400 and r.json["status"] == "malformed"
    r = client.post("/webhooks/shopify", data=BODY[:100],
                    environ_overrides={"CONTENT_LENGTH": str(len(BODY))})
    assert r.status_code == 400  # the body ended before its declared length
    assert client.get("/healthz").status_code == 200  # other paths still reach Flask


def test_bad_writer_settings_are_refused(engine):
    with pytest.raises(ValueError, match="max_batch"):
        InboxWriter(engine, max_batch=0)
    with pytest.raises(TypeError, match="make_sessionmaker"):
        writer_for(type("Factory", (), {"kw": {}})())


def test_dead_database_refuses_with_an_operational_error(tmp_path):
    from sqlalchemy import create_engine

    writer = InboxWriter(create_engine(f"sqlite:///{tmp_path}/no/such/dir/x.db"))
    try:
        with pytest.raises(OperationalError):
            writer.submit(row("x"))
    finally:
        writer.close()
