"""Webhook acknowledgement under load (before and after, SQLite and PostgreSQL), and
webhook -> updated reorder point.

    .venv/bin/python benchmarks/bench_webhooks.py [--rate 500] [--seconds 30]
        [--db sqlite,postgresql] [--baseline REF] [--samples 40]

1. Acknowledgement: ``restock serve`` (waitress, the production WSGI server, see
   ``connector/server.py``: one process on SQLite, one per core on PostgreSQL) runs on
   127.0.0.1; ``scripts/webhook_loadgen.py``
   (one asyncio loop, pre-signed pre-serialised requests, open loop, latency from each
   request's due time) sends signed ``orders/create`` deliveries (Shopify's 15 kB example)
   with unique event ids at ``--rate`` for ``--seconds``. Afterwards the inbox is counted:
   *lost* = deliveries sent but not stored, *acked-not-stored* = answered 200 but absent
   (must be 0: the 200 follows the commit). It runs for the working tree ("after") and, when
   ``--baseline`` names a commit, for that commit's code exported with ``git archive`` into
   a temporary folder ("before"), on each database, and prints one table. The server's CPU
   per delivery (from /proc) and the load generator's own CPU are printed beside, with the
   machine's load average (other processes on the 2 cores move the tail).
2. Webhook to reorder point: a sandbox shop is loaded and planned; a drain worker runs the
   ``restock inbox drain --loop`` logic in a thread; ``inventory_levels/update`` deliveries
   for random SKUs (each with a new, unique stock figure) are posted one at a time and the
   time until the SKU's plan line changes its on-hand figure is measured (goal p95 <= 2 s).

PostgreSQL: postgresql://postgres@127.0.0.1:5432/test (``--pg-url``), one throw-away schema
per run, dropped at the end.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-secret"
BODY = ROOT / "tests" / "fixtures" / "shopify" / "webhooks" / "orders_create.example.json"
#: The last commit before the group-commit writer and the plain WSGI endpoint.
BASELINE = "999140eed061dd745851a4afaae9331f161e5f4c"
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a process so far (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float | None:
    """CPU of a process and its children (the pre-forked web workers on PostgreSQL)."""
    own = cpu_seconds(pid)
    if own is None:
        return None
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        kids = []
    return own + sum(cpu_seconds(int(k)) or 0.0 for k in kids)


def load_average() -> str:
    try:
        return "/".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def export_baseline(ref: str, into: Path) -> Path:
    """The code of commit ``ref`` in ``into`` (``git archive``; the repository is untouched)."""
    if not shutil.which("git"):
        raise RuntimeError("git is not installed")
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", ref],
                             capture_output=True)
    if archive.returncode:
        raise RuntimeError(f"git archive {ref}: {archive.stderr.decode().strip()}")
    into.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def start_server(src: Path, db_url: str, port: int, log: Path) -> subprocess.Popen:
    """``restock serve`` from the source tree ``src`` (its modules first on the path)."""
    import urllib.request

    env = dict(os.environ, DATABASE_URL=db_url, RESTOCK_ENV="demo", SHOPIFY_API_SECRET=SECRET,
               PYTHONPATH=str(src))
    env.pop("SHOPIFY_API_KEY", None)
    with open(log, "ab") as sink:  # waitress's queue-depth warnings go here, not on screen
        proc = subprocess.Popen([sys.executable, "-m", "connector.cli", "serve", "--host",
                                 "127.0.0.1", "--port", str(port)], cwd=src, env=env,
                                stdout=sink, stderr=sink)
    for _ in range(600):
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the server from {src} exited with {proc.returncode}:\n{tail}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=0.5).read()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the server did not answer /healthz within 60 s")


def count_inbox(db_url: str) -> int:
    from sqlalchemy import func, select

    from core.storage import WebhookEvent, make_engine

    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(WebhookEvent.__table__))
    finally:
        engine.dispose()


def ack_latency(src: Path, db_url: str, rate: int, seconds: int, log: Path) -> dict:
    port = free_port()
    proc = start_server(src, db_url, port, log)
    try:
        cpu0 = tree_cpu_seconds(proc.pid)
        load0 = load_average()
        out = subprocess.run([sys.executable, str(ROOT / "scripts" / "webhook_loadgen.py"),
                              "--port", str(port), "--rate", str(rate), "--seconds",
                              str(seconds), "--body", str(BODY), "--secret", SECRET,
                              "--timeout", "30"], capture_output=True, text=True,
                             timeout=seconds + 120)
        cpu1 = tree_cpu_seconds(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)
    if out.returncode:
        raise RuntimeError(f"load generator failed: {out.stderr.strip()}")
    result = json.loads(out.stdout)
    stored = count_inbox(db_url)
    ok = result["status"].get("200", 0)
    result.update(stored=stored, ok=ok, lost=result["requests"] - stored,
                  acked_not_stored=max(0, ok - stored), load=f"{load0} -> {load_average()}",
                  server_cpu_ms=(None if cpu0 is None else
                                 round((cpu1 - cpu0) * 1000 / result["requests"], 2)))
    return result


def recalc_latency(db_url: str, samples: int) -> str:
    from sqlalchemy import select

    from connector.app import create_app
    from connector.config import Settings
    from connector.context import build_context
    from connector.jobs.inbox import drain_inbox
    from connector.jobs.recalc import make_recalc
    from core.plan import run_plan
    from core.storage import PlanLine, Variant, session_scope
    from sandbox.load import load_sandbox
    from webhooks.shopify import sign

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
        with ctx.sessions() as s:
            before = s.scalar(select(PlanLine.on_hand).where(PlanLine.plan_run_id == run.id,
                                                             PlanLine.sku == sku))
        t0 = time.perf_counter()
        r = client.post("/webhooks/shopify", data=body, headers={
            "X-Shopify-Topic": "inventory_levels/update",
            "X-Shopify-Hmac-Sha256": sign(SECRET, body),
            "X-Shopify-Shop-Domain": "bench.myshopify.com",
            "X-Shopify-Event-Id": str(uuid.uuid4()), "Content-Type": "application/json"})
        if r.status_code != 200:
            raise RuntimeError(f"delivery {i} answered {r.status_code}")
        while True:
            with ctx.sessions() as s:
                on_hand = s.scalar(select(PlanLine.on_hand).where(PlanLine.plan_run_id == run.id,
                                                                  PlanLine.sku == sku))
            if on_hand != before:  # the plan line was recalculated with the new stock
                break  # (on hand = available + what the sandbox holds as committed etc.)
            if time.perf_counter() - t0 > 30:
                raise RuntimeError(f"{sku} not recalculated within 30 s")
            time.sleep(0.01)
        took.append(time.perf_counter() - t0)
    stop.set()
    worker.join(5)
    ctx.engine.dispose()
    took = np.array(took)
    return (f"{samples} deliveries, p50 {np.percentile(took, 50):.2f} s, "
            f"p95 {np.percentile(took, 95):.2f} s, max {took.max():.2f} s")


class Databases:
    """Fresh databases: a SQLite file or a PostgreSQL schema per call, removed at the end."""

    def __init__(self, tmp: Path, pg_url: str):
        self.tmp, self.pg_url, self.schemas = tmp, pg_url, []

    def new(self, kind: str, name: str) -> str:
        name = f"{name}_{uuid.uuid4().hex[:8]}"
        if kind == "sqlite":
            return f"sqlite:///{self.tmp}/{name}.db"
        from core.storage import make_engine

        schema = f"bench_{name}"
        engine = make_engine(self.pg_url)
        with engine.begin() as c:
            c.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        engine.dispose()
        self.schemas.append(schema)
        return f"{self.pg_url}?options=-csearch_path%3D{schema}"

    def drop(self) -> None:
        if not self.schemas:
            return
        from core.storage import make_engine

        engine = make_engine(self.pg_url)
        with engine.begin() as c:
            for schema in self.schemas:
                c.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        engine.dispose()


def _fmt(x, unit="") -> str:
    return "-" if x is None else f"{x:g}{unit}"


def main() -> None:
    ap = argparse.ArgumentParser(description="webhook acknowledgement and recalculation "
                                 "latency")
    ap.add_argument("--rate", type=int, default=500)
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--db", default="sqlite,postgresql",
                    help="comma-separated: sqlite, postgresql")
    ap.add_argument("--baseline", default=BASELINE,
                    help="commit whose code is measured as 'before' ('' to skip)")
    ap.add_argument("--pg-url", default=PG_URL)
    ap.add_argument("--samples", type=int, default=40,
                    help="deliveries timed for webhook -> reorder point (0 to skip)")
    args = ap.parse_args()
    kinds = [k.strip() for k in args.db.split(",") if k.strip()]
    bad = [k for k in kinds if k not in ("sqlite", "postgresql")]
    if bad or not kinds:
        ap.error(f"--db takes sqlite and/or postgresql, got {args.db!r}")
    tmp = Path(tempfile.mkdtemp(prefix="bench_webhooks_"))
    dbs = Databases(tmp, args.pg_url)
    codes = []
    if args.baseline:
        try:
            codes.append((f"before {args.baseline[:7]}", export_baseline(args.baseline,
                                                                         tmp / "baseline")))
        except (RuntimeError, subprocess.CalledProcessError) as exc:
            print(f"before: skipped ({exc})")
    codes.append(("after (working tree)", ROOT))
    rows = []
    try:
        for kind in kinds:
            for label, src in codes:
                url = dbs.new(kind, "ack")
                print(f"... {label}, {kind}: {args.rate}/s for {args.seconds} s", flush=True)
                rows.append((label, kind, ack_latency(src, url, args.rate, args.seconds,
                                                      tmp / "server.log")))
        print(f"\nwebhook acknowledgement: orders/create (15 kB), {args.rate}/s target for "
              f"{args.seconds} s, open loop, latency from the due time")
        head = (f"{'code':<22}{'db':<11}{'sent':>6}{'rate/s':>8}{'p50 ms':>9}{'p95 ms':>9}"
                f"{'p99 ms':>9}{'max ms':>9}{'200s':>7}{'failed':>7}{'stored':>8}{'lost':>6}"
                f"{'acked!st':>9}{'srv CPU ms':>11}{'client CPU':>11}  load avg")
        print(head)
        for label, kind, r in rows:
            print(f"{label:<22}{kind:<11}{r['requests']:>6}{_fmt(r['rate_achieved']):>8}"
                  f"{_fmt(r['p50_ms']):>9}{_fmt(r['p95_ms']):>9}{_fmt(r['p99_ms']):>9}"
                  f"{_fmt(r['max_ms']):>9}{r['ok']:>7}{r['failed'] + r['unanswered']:>7}"
                  f"{r['stored']:>8}{r['lost']:>6}"
                  f"{r['acked_not_stored']:>9}{_fmt(r['server_cpu_ms']):>11}"
                  f"{r['cpu_share'] * 100:>10.1f}%  {r['load']}")
        print("(failed: connection dropped or no answer; srv CPU ms: server CPU per delivery; "
              "client CPU: load generator CPU seconds per wall second; acked!st: answered 200 "
              "but not stored)")
        if os.environ.get("BENCH_JSON"):
            print(json.dumps(rows))
        if args.samples:
            print("\nwebhook -> updated plan line (goal p95 <= 2 s):")
            for kind in kinds:
                print(f"  {kind}: {recalc_latency(dbs.new(kind, 'recalc'), args.samples)}",
                      flush=True)
    finally:
        dbs.drop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
