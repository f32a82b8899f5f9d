"""The benchmark's load generator against real waitress servers on loopback."""
from __future__ import annotations

import importlib.util
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from waitress import create_server

from connector.app import create_app
from connector.config import Settings
from connector.context import build_context
from core.storage import WebhookEvent
from webhooks.inbox_writer import writer_for

ROOT = Path(__file__).resolve().parents[2]
BODY = (ROOT / "tests" / "fixtures" / "shopify" / "webhooks"
        / "orders_create.example.json").read_bytes()
_spec = importlib.util.spec_from_file_location("webhook_loadgen",
                                               ROOT / "scripts" / "webhook_loadgen.py")
loadgen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(loadgen)


def serve(app, threads: int):
    server = create_server(app, host="127.0.0.1", port=0, threads=threads)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    return server, thread


def test_every_signed_delivery_is_answered_and_stored(tmp_path):
    ctx = build_context(Settings(database_url=f"sqlite:///{tmp_path}/l.db", env="test"))
    app = create_app(config={"SHOPIFY_API_SECRET": "lg-secret"}, context=ctx)
    server, thread = serve(app, threads=8)
    try:
        port = server.effective_port
        reqs = loadgen.build_requests(BODY, "lg-secret", host="127.0.0.1", port=port, count=150)
        result = loadgen.run(reqs, rate=150, port=port, connections=4, timeout=20)
    finally:
        server.close()
        thread.join(5)
        writer_for(ctx.sessions).close()
    assert result["status"] == {"200": 150} and result["failed"] == 0
    assert result["answered"] == 150 and result["unanswered"] == 0
    assert 0 <= result["cpu_s"] <= result["wall_s"] + 0.5
    with ctx.sessions() as s:
        ids = s.scalars(select(WebhookEvent.event_id)).all()
        assert s.scalar(select(func.count()).select_from(WebhookEvent)) == 150
    assert all(i.startswith(result["event_id_prefix"]) for i in ids) and len(set(ids)) == 150


def test_latency_counts_from_the_due_time(tmp_path):
    # one thread, 50 ms per request: capacity 20/s. 40 requests due over 0.4 s at 100/s are
    # served back to back, so the last one finishes ~40 * 50 ms = 2 s after the first was
    # due, ~1.6 s after it was due itself. A client timing from its own send would see ~50 ms.
    def slow(environ, start_response):
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        time.sleep(0.05)
        start_response("200 OK", [("Content-Length", "2")])
        return [b"{}"]

    server, thread = serve(slow, threads=1)
    try:
        port = server.effective_port
        reqs = loadgen.build_requests(b"{}", "s", host="127.0.0.1", port=port, count=40)
        result = loadgen.run(reqs, rate=100, port=port, connections=2, max_connections=40,
                             timeout=20)
    finally:
        server.close()
        thread.join(5)
    assert result["answered"] == 40
    assert 1.3 <= result["max_ms"] / 1000 <= 3.0
    assert result["p50_ms"] > 500  # half the requests waited behind ten or more others


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="body is empty"):
        loadgen.build_requests(b"", "s", host="h", port=1, count=1)
    with pytest.raises(ValueError, match="rate must be positive"):
        loadgen.run([b"x"], rate=0, port=1)
    assert loadgen.main(["--port", "1", "--body", "/no/such/file", "--secret", "s"]) == 2
