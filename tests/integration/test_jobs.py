"""Scheduled jobs: schedule reconciliation, the run lease, misfires, failures, the inbox job
and the ``restock scheduler`` process. APScheduler runs for real on temporary databases,
driven with short intervals and run times set in the past (no waiting for cron)."""
from __future__ import annotations

import argparse
import json
import multiprocessing
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from connector import cli_scheduler
from connector.config import Settings
from connector.context import Context, build_context
from connector.jobs.runner import configure, job_app, make_scheduler, reconcile, run_job
from connector.jobs.schedule import SCHEDULE, JobSpec, cron, interval, require, shop_refs
from core.storage import Customer, JobRun, Shop, WebhookEvent, make_sessionmaker, session_scope

HERE = __name__


# ------------------------------------------------------------------ job functions for tests
def ok_job(call):
    return {"n": 1, "shop": call.shop_id}


def boom_job(call):
    raise ValueError("boom: the supplier feed is empty")


def missing_module_job(call):
    require("restock_no_such_module")


WORKERS = 4


def wait_for_rivals(call):
    """Hold the lease until every rival run has been turned away (so all runs overlapped)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with call.sessions() as s:
            if s.scalar(select(func.count()).select_from(JobRun).where(
                    JobRun.job_id == call.job_id, JobRun.outcome == "skipped")) >= WORKERS - 1:
                return {"waited": 1}
        time.sleep(0.02)
    raise RuntimeError("the rival runs never showed up")


def spec(job_id, func="ok_job", trigger=None, **kw):
    return JobSpec(job_id, f"{HERE}:{func}", trigger or interval(minutes=5), **kw)


def runs(app, job_id):
    with session_scope(app.extensions["restock"].sessions) as s:
        return list(s.scalars(select(JobRun).where(JobRun.job_id == job_id).order_by(JobRun.id)))


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def app(tmp_path):
    ctx = build_context(Settings(database_url=f"sqlite:///{tmp_path}/jobs.db", env="test"))
    yield configure(ctx)
    ctx.engine.dispose()


def add_shop(app, name, **fields):
    with session_scope(app.extensions["restock"].sessions) as s:
        shop = Shop(name=name, settings=fields.pop("settings", {}), **fields)
        s.add(shop)
        s.flush()
        return shop.id


# ------------------------------------------------------------------ reconciliation
def test_reconcile_removes_reschedules_and_adds_and_follows_shops(app):
    engine = app.extensions["restock"].engine
    first = make_scheduler(engine, app=app)
    first.start(paused=True)
    assert reconcile(first, [spec("a"), spec("b")], []).added == ["a", "b"]
    first.shutdown()

    deploy = make_scheduler(engine, app=app)  # a new release starts with A, B in the store
    deploy.start(paused=True)
    try:
        report = reconcile(deploy, [spec("b", trigger=interval(minutes=7)),
                                    spec("c", trigger=cron(hour=2))], [])
        assert (report.removed, report.rescheduled, report.added) == (["a"], ["b"], ["c"])
        assert {j.id for j in deploy.get_jobs()} == {"b", "c"}
        assert str(deploy.get_job("b").trigger) == "interval[0:07:00]"
        kept = deploy.get_job("c").next_run_time
        report = reconcile(deploy, [spec("b", trigger=interval(minutes=7)),
                                    spec("c", trigger=cron(hour=2), lease_seconds=99)], [])
        assert report.modified == ["c"] and report.unchanged == ["b"]
        assert deploy.get_job("c").kwargs["lease_seconds"] == 99
        assert deploy.get_job("c").next_run_time == kept  # options change keeps the run time

        per_shop = [spec("sync", per_shop=True, trigger=cron(hour=2))]
        one = add_shop(app, "one")
        two = add_shop(app, "two", timezone="Europe/Berlin")
        report = reconcile(deploy, per_shop, shop_refs(app.extensions["restock"].sessions))
        assert (sorted(report.added), sorted(report.removed)) == (
            [f"sync:{one}", f"sync:{two}"], ["b", "c"])  # removal order follows run times
        assert str(deploy.get_job(f"sync:{two}").trigger.timezone) == "Europe/Berlin"
        with session_scope(app.extensions["restock"].sessions) as s:
            s.get(Shop, two).settings = {"uninstalled": True}
        three = add_shop(app, "three")
        report = reconcile(deploy, per_shop, shop_refs(app.extensions["restock"].sessions))
        assert (report.added, report.removed, report.unchanged) == (
            [f"sync:{three}"], [f"sync:{two}"], [f"sync:{one}"])
    finally:
        deploy.shutdown()
    with engine.connect() as conn:  # what the store holds survives the process
        assert set(conn.scalars(text("SELECT id FROM apscheduler_jobs"))) == {
            f"sync:{one}", f"sync:{three}"}


def test_the_real_schedule_reconciles_to_one_job_per_active_shop(app):
    add_shop(app, "a")
    add_shop(app, "b", settings={"uninstalled": True})
    scheduler = make_scheduler(app.extensions["restock"].engine, app=app)
    scheduler.start(paused=True)
    try:
        shops = shop_refs(app.extensions["restock"].sessions)
        report = reconcile(scheduler, SCHEDULE, shops)
        per_shop = [s.id for s in SCHEDULE if s.per_shop]
        assert sorted(report.added) == sorted(["inbox_drain"] + [f"{i}:1" for i in per_shop])
        assert not reconcile(scheduler, SCHEDULE, shops).changed
        for job in scheduler.get_jobs():
            assert (job.coalesce, job.max_instances) == (True, 1)
            assert job.misfire_grace_time and job.func_ref == "connector.jobs.runner:run_job"
    finally:
        scheduler.shutdown()


# ------------------------------------------------------------------ the lease
def _race(app, barrier, queue):
    app.extensions["restock"].engine.dispose(close=False)  # no connection shared with the parent
    barrier.wait(10)
    result = run_job("race", func=f"{HERE}:wait_for_rivals", lease_seconds=60, app=app)
    queue.put((result.outcome, result.error))


def test_concurrent_workers_never_run_the_same_job_at_once(engine):
    ctx = Context(settings=Settings(database_url=str(engine.url), env="test"), engine=engine,
                  sessions=make_sessionmaker(engine))
    app = configure(ctx)
    mp = multiprocessing.get_context("fork")
    queue, barrier = mp.Queue(), mp.Barrier(WORKERS)
    workers = [mp.Process(target=_race, args=(app, barrier, queue)) for _ in range(WORKERS)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    results = sorted(queue.get(timeout=5) for _ in workers)
    assert [r[0] for r in results] == ["ok"] + ["skipped"] * (WORKERS - 1)
    assert all(r[1].startswith("already running: job run") for r in results[1:])
    rows = runs(app, "race")
    assert sorted((r.outcome, r.counts) for r in rows) == [("ok", {"waited": 1})] + [
        ("skipped", {})] * (WORKERS - 1)
    assert all(r.finished_at is not None for r in rows)


def test_an_abandoned_lease_expires_and_a_live_one_blocks(app):
    sessions = app.extensions["restock"].sessions
    now = datetime.now(timezone.utc)
    with session_scope(sessions) as s:
        s.add(JobRun(job_id="lease", started_at=now - timedelta(hours=2), outcome="running",
                     counts={}))
    assert run_job("lease", func=f"{HERE}:ok_job", lease_seconds=60, app=app).outcome == "ok"
    dead, ok = runs(app, "lease")
    assert dead.outcome == "error" and dead.error.startswith("abandoned")
    with session_scope(sessions) as s:
        s.add(JobRun(job_id="lease", started_at=now, outcome="running", counts={}))
    blocked = run_job("lease", func=f"{HERE}:ok_job", lease_seconds=60, app=app)
    assert blocked.outcome == "skipped" and runs(app, "lease")[-1].outcome == "skipped"


# ------------------------------------------------------------------ misfires and failures
def test_missed_runs_are_coalesced_within_grace_and_dropped_beyond(app):
    specs = [spec("hourly", trigger=interval(hours=1), misfire_grace_time=2 * 3600),
             spec("daily", trigger=interval(days=1), misfire_grace_time=60)]
    engine, now = app.extensions["restock"].engine, datetime.now(timezone.utc)
    before = make_scheduler(engine, app=app)
    before.start(paused=True)
    reconcile(before, specs, [])
    before.shutdown()

    after = make_scheduler(engine, app=app)
    events = {"executed": [], "missed": []}
    after.add_listener(lambda e: events["executed"].append(e.job_id), EVENT_JOB_EXECUTED)
    after.add_listener(lambda e: events["missed"].append(e.job_id), EVENT_JOB_MISSED)
    after.start(paused=True)
    try:
        # as if the scheduler had been down while 5 hourly runs and 1 daily run passed
        after.modify_job("hourly", next_run_time=now - timedelta(hours=4, minutes=30))
        after.modify_job("daily", next_run_time=now - timedelta(hours=2))
        assert not reconcile(after, specs, []).changed  # start-up keeps the missed run times
        after.resume()
        assert wait_until(lambda: events["executed"] and events["missed"]
                          and len(runs(app, "daily")) == 1)
        time.sleep(0.3)  # room for a wrong second run
        assert after.get_job("hourly").next_run_time > now
    finally:
        after.shutdown()
    assert events == {"executed": ["hourly"], "missed": ["daily"]}
    assert [(r.outcome, r.counts) for r in runs(app, "hourly")] == [("ok", {"n": 1,
                                                                            "shop": None})]
    (missed,) = runs(app, "daily")
    assert missed.outcome == "skipped" and missed.error.startswith("missed: was due")


def test_a_failing_job_is_recorded_and_the_scheduler_keeps_going(app):
    result = run_job("boom", func=f"{HERE}:boom_job", lease_seconds=60, app=app)
    assert (result.outcome, result.error) == ("error", "ValueError: boom: the supplier feed "
                                                       "is empty")
    specs = [spec("boom", "boom_job", interval(seconds=0.2)),
             spec("fine", "ok_job", interval(seconds=0.2))]
    scheduler = make_scheduler(app.extensions["restock"].engine, app=app)
    scheduler.start(paused=True)
    reconcile(scheduler, specs, [])
    scheduler.resume()
    try:
        assert wait_until(lambda: len(runs(app, "boom")) >= 3 and len(runs(app, "fine")) >= 2)
        assert scheduler.running
    finally:
        scheduler.shutdown()
    assert {r.outcome for r in runs(app, "boom")} == {"error"}
    assert all("ValueError: boom" in r.error for r in runs(app, "boom"))
    assert {r.outcome for r in runs(app, "fine")} == {"ok"}


def test_missing_modules_and_uninstalled_shops_skip_with_a_reason(app):
    shop = add_shop(app, "gone", settings={"uninstalled": True})
    missing = run_job("later", func=f"{HERE}:missing_module_job", lease_seconds=60, app=app)
    assert missing.outcome == "skipped" and "restock_no_such_module" in missing.error
    assert runs(app, "later")[0].error == missing.error
    uninstalled = run_job("po_delivery", shop, app=app)
    assert (uninstalled.outcome, uninstalled.error) == ("skipped", "shop gone is uninstalled")
    assert runs(app, "po_delivery")[0].shop_id == shop


# ------------------------------------------------------------------ the inbox job
def test_inbox_drain_job_drains_pending_events_and_records_counts(app):
    shop = add_shop(app, "acme", domain="acme.myshopify.com")
    customer = {"id": 7001, "email": "ann@example.com", "first_name": "Ann",
                "last_name": "Lee", "updated_at": "2026-11-20T10:00:00Z"}
    with session_scope(app.extensions["restock"].sessions) as s:
        s.add_all([WebhookEvent(source="shopify", event_id="e1", topic="customers/create",
                                shop_domain="acme.myshopify.com", status="pending",
                                payload=json.dumps(customer)),
                   WebhookEvent(source="shopify", event_id="e2", topic="customers/create",
                                shop_domain="other.myshopify.com", status="pending",
                                payload=json.dumps(customer))])
    result = run_job("inbox_drain", app=app)
    assert result.outcome == "ok"
    assert (result.counts["done"], result.counts["skipped"], result.counts["failed"]) == (1, 1, 0)
    (row,) = runs(app, "inbox_drain")
    assert row.counts == result.counts and row.finished_at is not None
    with session_scope(app.extensions["restock"].sessions) as s:
        assert s.scalar(select(Customer.email).where(Customer.shop_id == shop)) == \
            "ann@example.com"
        assert set(s.scalars(select(WebhookEvent.status))) == {"done", "skipped"}


# ------------------------------------------------------------------ the command
def _cli(*argv):
    parser = argparse.ArgumentParser()
    cli_scheduler.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["scheduler", *argv])
    return args.func(args)


def test_cli_lists_the_schedule_and_runs_one_job(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    monkeypatch.setenv("RESTOCK_ENV", "test")
    assert _cli("--list") == 0
    listing = capsys.readouterr().out
    assert all(s.id in listing for s in SCHEDULE)
    assert _cli("--once", "inbox_drain") == 0
    assert capsys.readouterr().out.startswith("job inbox_drain: ok in ")
    assert _cli("--once", "no_such_job") == 2
    assert "unknown job 'no_such_job'" in capsys.readouterr().err
    add_shop(job_app(), "acme")
    assert _cli("--once", "po_delivery", "--shop", "acme") == 0
    assert capsys.readouterr().out.startswith("job po_delivery (shop acme): ok in ")
    assert _cli("--once", "inbox_drain", "--shop", "acme") == 2
    assert [r.outcome for r in runs(job_app(), "inbox_drain")] == ["ok"]


def test_scheduler_process_reconciles_at_start_and_picks_up_new_shops(app, capsys):
    add_shop(app, "first")
    proc = cli_scheduler.SchedulerProcess(app, reconcile_every=0.3, workers=2)
    engine = app.extensions["restock"].engine

    def stored():
        try:
            with engine.connect() as conn:
                return set(conn.scalars(text("SELECT id FROM apscheduler_jobs")))
        except OperationalError:  # APScheduler has not created its table yet
            return set()

    runner = threading.Thread(target=proc.run)  # the BlockingScheduler blocks this thread
    runner.start()
    try:
        assert wait_until(lambda: "nightly_plan:1" in stored())
        second = add_shop(app, "second")
        assert wait_until(lambda: f"nightly_plan:{second}" in stored())
    finally:
        proc.stop()
        runner.join(10)
    assert not runner.is_alive()
    assert f"restock scheduler: {len(SCHEDULE)} added" in capsys.readouterr().out


def test_reminders_job_plans_and_skips_the_push_without_a_shopify_token(app):
    shop = add_shop(app, "csv-only")
    result = run_job("reminders", shop_id=shop, app=app)
    assert result.outcome == "ok", result.error
    assert result.counts["push"].startswith("skipped: no Shopify access token")
