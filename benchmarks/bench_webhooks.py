"""Webhook acknowledgement latency under load, and webhook -> updated reorder state.

    .venv/bin/python benchmarks/bench_webhooks.py [--rate 500] [--seconds 10] [--db sqlite|postgresql]

1. Acknowledgement: the app runs under waitress (a production WSGI server, 8 threads) in a
   separate process on 127.0.0.1; a client sends correctly signed ``orders/create``
   deliveries with unique event ids at a fixed rate (open loop, 32 sender threads with
   keep-alive connections) and records each request's latency. Afterwards the inbox must
   hold exactly one row per delivery: nothing lost, nothing doubled.
2. Webhook to reorder point: a sandbox shop is loaded and planned; a drain worker runs
   ``restock inbox drain --loop`` logic in a thread; ``inventory_levels/update`` deliveries
   for random SKUs are sent one at a time and the time until the SKU's plan line shows the
   new stock is measured (p50/p95).
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import requests

SECRET = "bench-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sign(body: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


def start_server(db_url: str, port: int) -> subprocess.Popen:
    code = ("from waitress import serve; from connector.app import create_app; "
            "app = create_app(config={'SHOPIFY_API_SECRET': %r}); "
            "serve(app, host='127.0.0.1', port=%d, threads=8, connection_limit=200, "
            "_quiet=True)" % (SECRET, port))
    env = dict(os.environ, DATABASE_URL=db_url, RESTOCK_ENV="demo")
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    for _ in range(200):
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5)
            return proc
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def ack_latency(db_url: str, rate: int, seconds: int) -> None:
    from core.storage import make_engine, upgrade

    upgrade(make_engine(db_url))
    port = free_port()
    proc = start_server(db_url, port)
    url = f"http://127.0.0.1:{port}/webhooks/shopify"
    with open("tests/fixtures/shopify/webhooks/orders_create.example.json", "rb") as f:
        body = f.read()
    sig = sign(body)
    local = threading.local()
    total = rate * seconds
    lat = np.full(total, np.nan)
    status = np.zeros(total, dtype=int)
    t0 = time.perf_counter() + 0.5

    def send(i: int) -> None:
        sess = getattr(local, "s", None) or requests.Session()
        local.s = sess
        due = t0 + i / rate
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        start = time.perf_counter()
        r = sess.post(url, data=body, timeout=10, headers={
            "X-Shopify-Topic": "orders/create", "X-Shopify-Hmac-Sha256": sig,
            "X-Shopify-Shop-Domain": "bench.myshopify.com",
            "X-Shopify-Event-Id": str(uuid.uuid4()), "Content-Type": "application/json"})
        lat[i] = time.perf_counter() - start
        status[i] = r.status_code

    try:
        with ThreadPoolExecutor(32) as pool:
            list(pool.map(send, range(total)))
        elapsed = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(10)
    from sqlalchemy import func, select

    from core.storage import WebhookEvent, make_sessionmaker

    with make_sessionmaker(make_engine(db_url))() as s:
        stored = s.scalar(select(func.count()).select_from(WebhookEvent))
    ok = int((status == 200).sum())
    print(f"acknowledgement: {total} deliveries at {rate}/s target, {total / elapsed:.0f}/s "
          f"achieved; p50 {np.nanpercentile(lat, 50) * 1000:.1f} ms, p99 "
          f"{np.nanpercentile(lat, 99) * 1000:.1f} ms, max {np.nanmax(lat) * 1000:.1f} ms; "
          f"{ok} answered 200, {stored} stored in the inbox, lost {total - stored}")


WRK_SCRIPT = """
local counter = 0
wrk.method = "POST"
wrk.body = %(body)s
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Shopify-Topic"] = "orders/create"
wrk.headers["X-Shopify-Shop-Domain"] = "bench.myshopify.com"
wrk.headers["X-Shopify-Hmac-Sha256"] = "%(sig)s"
math.randomseed(os.time())
request = function()
  counter = counter + 1
  wrk.headers["X-Shopify-Event-Id"] = "evt-" .. counter .. "-" .. math.random(1, 1000000000)
  return wrk.format()
end
delay = function() return %(delay)d end
done = function(summary, latency, requests)
  io.write(string.format("WRK %%d %%d %%.3f %%.3f %%.3f %%d\\n", summary.requests,
    summary.duration, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout))
end
"""


def ack_latency_wrk(db_url: str, rate: int, seconds: int, connections: int = 12) -> None:
    """The same measurement with wrk (C, Debian's package) as the client, so the load
    generator does not compete with the server for the CPU as much as Python threads do.
    wrk is closed-loop: each connection waits 85% of ``connections / rate`` between requests
    (the rest is the request itself), so the achieved rate is printed beside the target."""
    import shutil

    if not shutil.which("wrk"):
        print("acknowledgement (wrk): skipped, wrk is not installed (apt-get install wrk)")
        return
    from core.storage import make_engine, upgrade

    upgrade(make_engine(db_url))
    port = free_port()
    proc = start_server(db_url, port)
    with open("tests/fixtures/shopify/webhooks/orders_create.example.json", "rb") as f:
        body = f.read()
    script = os.path.join(tempfile.mkdtemp(), "post.lua")
    with open(script, "w") as f:
        f.write(WRK_SCRIPT % {"body": json.dumps(body.decode()), "sig": sign(body),
                              "delay": int(0.85 * 1000 * connections / rate)})
    try:
        out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", script,
                              f"http://127.0.0.1:{port}/webhooks/shopify"],
                             capture_output=True, text=True, timeout=seconds + 60).stdout
    finally:
        proc.terminate()
        proc.wait(10)
    line = next(l for l in out.splitlines() if l.startswith("WRK "))
    n, micros, p50, p99, mx, errors = line.split()[1:]
    from sqlalchemy import func, select

    from core.storage import WebhookEvent, make_sessionmaker

    with make_sessionmaker(make_engine(db_url))() as s:
        stored = s.scalar(select(func.count()).select_from(WebhookEvent))
    print(f"acknowledgement (wrk, {connections} connections): {n} deliveries, "
          f"{int(n) / (int(micros) / 1e6):.0f}/s achieved; p50 {float(p50):.1f} ms, "
          f"p99 {float(p99):.1f} ms, max {float(mx):.1f} ms; {errors} errors, {stored} stored "
          f"(deliveries still in flight when wrk stops may be stored without being counted)")


def recalc_latency(db_url: str, samples: int) -> None:
    from sqlalchemy import select

    from connector.app import create_app
    from connector.config import Settings
    from connector.context import build_context
    from connector.jobs.inbox import drain_inbox
    from connector.jobs.recalc import make_recalc
    from core.plan import run_plan
    from core.storage import PlanLine, Variant, session_scope
    from sandbox.load import load_sandbox

    ctx = build_context(Settings(database_url=db_url, env="demo"))
    with session_scope(ctx.sessions) as s:
        shop, _ = load_sandbox(s, "bench.myshopify.com", seed=3, n_skus=200, n_customers=3000,
                               n_days=365, n_locations=1)
        shop.domain = "bench.myshopify.com"
        run = run_plan(s, shop)
        items = [(l.sku, s.get(Variant, l.variant_id).inventory_item_id) for l in
                 s.scalars(select(PlanLine).where(PlanLine.plan_run_id == run.id))]
    app = create_app(config={"SHOPIFY_API_SECRET": SECRET}, context=ctx)
    client = app.test_client()
    stop = threading.Event()

    def drainer() -> None:
        recalc = make_recalc(ctx.sessions)
        while not stop.is_set():
            if not drain_inbox(ctx.sessions, recalc=recalc).as_dict()["done"]:
                time.sleep(0.02)

    worker = threading.Thread(target=drainer, daemon=True)
    worker.start()
    rng = np.random.default_rng(0)
    took = []
    for i in range(samples):
        sku, item = items[int(rng.integers(len(items)))]
        stock = 10_000 + i
        body = json.dumps({"inventory_item_id": int(item), "location_id": 1, "available": stock,
                           "updated_at": f"2026-11-20T10:{i // 60:02d}:{i % 60:02d}Z"}).encode()
        t0 = time.perf_counter()
        client.post("/webhooks/shopify", data=body, headers={
            "X-Shopify-Topic": "inventory_levels/update", "X-Shopify-Hmac-Sha256": sign(body),
            "X-Shopify-Shop-Domain": "bench.myshopify.com",
            "X-Shopify-Event-Id": str(uuid.uuid4()), "Content-Type": "application/json"})
        while True:
            with ctx.sessions() as s:
                on_hand = s.scalar(select(PlanLine.on_hand).where(PlanLine.plan_run_id == run.id,
                                                                  PlanLine.sku == sku))
            if on_hand == stock:
                break
            if time.perf_counter() - t0 > 30:
                raise RuntimeError(f"{sku} not recalculated within 30 s")
            time.sleep(0.01)
        took.append(time.perf_counter() - t0)
    stop.set()
    worker.join(5)
    took = np.array(took)
    print(f"webhook -> updated plan line: {samples} deliveries, p50 {np.percentile(took, 50):.2f} s, "
          f"p95 {np.percentile(took, 95):.2f} s, max {took.max():.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=int, default=500)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--samples", type=int, default=40)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp()
    if args.db == "sqlite":
        url = f"sqlite:///{tmp}/bench.db"
    else:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        from core.storage import make_engine

        with make_engine("postgresql://postgres@127.0.0.1:5432/test").begin() as c:
            c.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        url = f"postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
    ack_latency(url, args.rate, args.seconds)
    wrk_url = f"sqlite:///{tmp}/wrk.db" if args.db == "sqlite" else url
    if args.db != "sqlite":
        from core.storage import WebhookEvent, make_engine as _me

        with _me(url).begin() as c:
            c.execute(WebhookEvent.__table__.delete())
    ack_latency_wrk(wrk_url, args.rate, args.seconds)
    recalc_latency(f"sqlite:///{tmp}/recalc.db" if args.db == "sqlite" else url, args.samples)


if __name__ == "__main__":
    main()
