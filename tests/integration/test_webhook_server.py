"""``restock serve`` (connector.server) as a real process: webhooks stored once, clean stop."""
from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select

from connector.server import default_workers
from core.storage import WebhookEvent

ROOT = Path(__file__).resolve().parents[2]
BODY = (ROOT / "tests" / "fixtures" / "shopify" / "webhooks"
        / "orders_create.example.json").read_bytes()
_spec = importlib.util.spec_from_file_location("webhook_loadgen",
                                               ROOT / "scripts" / "webhook_loadgen.py")
loadgen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(loadgen)


def children_of(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not hasattr(os, "fork") or not Path("/proc").exists(),
                    reason="pre-fork server and /proc are Linux-only")
def test_served_webhooks_are_stored_once_and_sigterm_stops_every_worker(engine):
    url = engine.url.render_as_string(hide_password=False).replace("+psycopg", "")
    port = free_port()
    env = dict(os.environ, DATABASE_URL=url, RESTOCK_ENV="demo", SHOPIFY_API_SECRET="srv")
    env.pop("SHOPIFY_API_KEY", None)
    proc = subprocess.Popen([sys.executable, "-m", "connector.cli", "serve", "--port",
                             str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
                time.sleep(0.1)
        workers = children_of(proc.pid)
        expected = default_workers(engine)
        assert len(workers) == (expected if expected > 1 else 0)
        reqs = loadgen.build_requests(BODY, "srv", host="127.0.0.1", port=port, count=200)
        reqs += reqs[:50]  # Shopify retrying 50 of them: stored once, answered "duplicate"
        result = loadgen.run(reqs, rate=250, port=port, connections=8, timeout=20)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(20)
    assert result["status"] == {"200": 250} and result["failed"] == 0
    # the supervisor stops its workers and exits 0; a single waitress dies of the signal
    assert code == 0 if workers else code in (0, -signal.SIGTERM)
    for pid in workers:  # no worker outlives the parent
        assert not Path(f"/proc/{pid}").exists() or \
            Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    with engine.connect() as conn:
        rows = conn.execute(select(WebhookEvent.event_id, func.count())
                            .group_by(WebhookEvent.event_id)).all()
    assert len(rows) == 200 and all(n == 1 for _, n in rows)


def test_worker_count_follows_the_database(engine):
    expected = 1 if engine.dialect.name == "sqlite" else max(1, min(4, os.cpu_count() or 1))
    assert default_workers(engine) == expected
