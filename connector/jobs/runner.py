"""Run scheduled jobs: reconcile the schedule into APScheduler, run one job under a lease.

Scheduler. :func:`make_scheduler` keeps jobs in a ``SQLAlchemyJobStore`` on the app's own
database (table ``apscheduler_jobs``, created by APScheduler), so next run times survive
restarts. Every job has ``coalesce=True`` (runs missed while down become one run),
``max_instances=1`` and the spec's ``misfire_grace_time`` (a run later than that is dropped
and :func:`record_missed` logs it in ``job_runs`` as ``skipped``). A stored job always calls
:func:`run_job` with ``(spec id, shop id)``; the spec's function path and lease travel as
keyword arguments, so :func:`reconcile` notices when they change.

Lease: no job runs twice at once, across threads and processes. A run holds its own
``job_runs`` row with outcome ``running``. Taking it is one short transaction that (1)
expires leases older than the spec's ``lease_seconds`` (their process died: ``error``,
"abandoned"), (2) looks for a live ``running`` row of the same (job, shop) and (3) inserts
ours, or a ``skipped`` row naming the holder. Steps 1-3 must not interleave:

* PostgreSQL: the transaction first takes ``pg_advisory_xact_lock(key)`` (key: 8 bytes of
  BLAKE2b of ``"restock-job:<job>:<shop>"``); a second worker waits for the first one's
  commit (milliseconds), then sees its row. The lock is released at commit.
* SQLite: statement (1) is an UPDATE, which takes the database's single write lock at
  statement start even when no row matches, and holds it until commit; (2) and (3) thus
  see every committed lease and no other writer runs in between (others wait up to
  ``busy_timeout``, 10 s). Without it, concurrent workers do run twice (checked).

The outcome (``ok``, ``error``, ``skipped``), error text, counts and ``finished_at`` written
to the same row release the lease. With one BlockingScheduler process this is belt and
braces; it matters for ``restock scheduler --once`` beside it, or two schedulers by mistake.

App context: :func:`configure` (the scheduler's composition root) builds the Flask app once
per process with :func:`connector.app.create_app`; every job runs in ``app.app_context()``.
"""
from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Iterable, Sequence

from apscheduler.util import ref_to_obj
from sqlalchemy import func, select, update

from core.storage import JobRun, Shop, session_scope

from .schedule import JobCall, JobSkipped, JobSpec, as_shop_ref, get_spec, shop_zone

__all__ = [
    "JOBSTORE", "INTERNAL_JOBSTORE", "RUN_JOB_REF", "RunResult", "ReconcileReport",
    "configure", "job_app", "run_job", "reconcile", "desired_jobs", "make_scheduler",
    "record_missed", "describe_trigger",
]

log = logging.getLogger("restock.jobs")

#: Alias of the persistent (SQLAlchemy) job store that holds the schedule's jobs.
JOBSTORE = "default"
#: Alias of the in-memory store for the scheduler's own housekeeping (re-reconciling).
INTERNAL_JOBSTORE = "internal"
RUN_JOB_REF = f"{__name__}:run_job"
RUNNING = "running"
_OPTIONS = ("name", "func", "args", "kwargs", "coalesce", "max_instances", "misfire_grace_time")

_app_lock = threading.Lock()
_app = None


# ------------------------------------------------------------------ composition root
def configure(context=None):
    """Build (or rebuild) this process's Flask app, in which every job runs.

    Args:
        context: The :class:`~connector.context.Context` to use; by default
            ``build_context(Settings.from_env())``.

    Returns:
        The app; its context is ``app.extensions["restock"]``.
    """
    global _app
    from connector.app import create_app

    if context is None:
        from connector.config import Settings
        from connector.context import build_context

        context = build_context(Settings.from_env())
    # the scheduler signs no cookies: a throw-away key keeps create_app from refusing
    config = {} if context.settings.secret_key else {"SECRET_KEY": secrets.token_hex(32)}
    app = create_app(config=config, context=context)
    with _app_lock:
        _app = app
    return app


def job_app():
    """This process's app, built from the environment on first use."""
    with _app_lock:
        app = _app
    return app if app is not None else configure()


# ------------------------------------------------------------------ lease
def _lock_key(job_id: str, shop_id: int | None) -> int:
    digest = hashlib.blake2b(f"restock-job:{job_id}:{shop_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _same(job_id: str, shop_id: int | None) -> list:
    return [JobRun.job_id == job_id,
            JobRun.shop_id.is_(None) if shop_id is None else JobRun.shop_id == shop_id]


def _acquire(sessions, job_id: str, shop_id: int | None, lease: float):
    """(our running row's id, None) or (None, the holder's (id, started_at))."""
    now = datetime.now(timezone.utc)
    with session_scope(sessions) as s:
        if s.get_bind().dialect.name == "postgresql":
            s.execute(select(func.pg_advisory_xact_lock(_lock_key(job_id, shop_id))))
        # keep this UPDATE the first statement: on SQLite it takes the write lock (see above)
        s.execute(update(JobRun).where(
            *_same(job_id, shop_id), JobRun.outcome == RUNNING,
            JobRun.started_at < now - timedelta(seconds=lease))
            .values(outcome="error", finished_at=now,
                    error=f"abandoned: lease of {lease:.0f} s expired (its process died?)")
            .execution_options(synchronize_session=False))
        holder = s.execute(select(JobRun.id, JobRun.started_at).where(
            *_same(job_id, shop_id), JobRun.outcome == RUNNING)
            .order_by(JobRun.id).limit(1)).first()
        now = datetime.now(timezone.utc)  # after any earlier holder's release
        if holder is not None:
            s.add(JobRun(job_id=job_id, shop_id=shop_id, started_at=now, finished_at=now,
                         outcome="skipped", counts={},
                         error=f"already running: job run {holder.id} started "
                               f"{holder.started_at:%Y-%m-%d %H:%M:%S} UTC"))
            return None, tuple(holder)
        run = JobRun(job_id=job_id, shop_id=shop_id, started_at=now, outcome=RUNNING, counts={})
        s.add(run)
        s.flush()
        return run.id, None


def _finish(sessions, run_id: int, outcome: str, error: str | None, counts: dict) -> None:
    try:
        with session_scope(sessions) as s:
            row = s.get(JobRun, run_id)
            if row.outcome != RUNNING:  # the lease expired and was taken over meanwhile
                note = f"finished after its lease expired ({row.outcome}: {row.error})"
                error = f"{error}; {note}" if error else note
            row.outcome, row.error, row.counts = outcome, error, counts
            row.finished_at = datetime.now(timezone.utc)
    except Exception:  # the lease then expires after lease_seconds
        log.exception("job run %s: could not record its outcome %s", run_id, outcome)


def _record(sessions, job_id: str, shop_id: int | None, outcome: str, error: str) -> None:
    now = datetime.now(timezone.utc)
    with session_scope(sessions) as s:
        s.add(JobRun(job_id=job_id, shop_id=shop_id, started_at=now, finished_at=now,
                     outcome=outcome, error=error, counts={}))


def _jsonable(value):
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return value.isoformat() if isinstance(value, (date, datetime)) else str(value)


# ------------------------------------------------------------------ running one job
@dataclass
class RunResult:
    """What one :func:`run_job` call did; ``run_id`` is its ``job_runs`` row (if any)."""

    job_id: str
    shop_id: int | None
    outcome: str  # ok | error | skipped
    error: str | None = None
    counts: dict = field(default_factory=dict)
    run_id: int | None = None
    seconds: float = 0.0


def run_job(job_id: str, shop_id: int | None = None, *, func: str | None = None,
            lease_seconds: float | None = None, specs: Sequence[JobSpec] | None = None,
            app=None) -> RunResult:
    """Run one job now, inside the app context, under its lease; record a ``job_runs`` row.

    Args:
        job_id: The spec id (``JobRun.job_id``).
        shop_id: The shop of a per-shop job.
        func: ``"module:function"`` to call; by default the spec's (looked up in ``specs``).
        lease_seconds: The lease; by default the spec's.
        specs: Where to look the spec up (default: :data:`~connector.jobs.schedule.SCHEDULE`).
        app: The Flask app (default: :func:`job_app`).

    Returns:
        The :class:`RunResult`. The job's own exceptions are recorded (outcome ``error``
        with ``"<Type>: <message>"``) and logged, never raised, so the scheduler goes on.

    Raises:
        KeyError: ``func`` not given and no spec has ``job_id``.
    """
    if func is None or lease_seconds is None:
        spec = get_spec(job_id, specs)
        func, lease_seconds = func or spec.func, lease_seconds or spec.lease_seconds
    app = app if app is not None else job_app()
    ctx = app.extensions["restock"]
    t0 = time.perf_counter()
    result = RunResult(job_id, shop_id, "skipped")
    with app.app_context():
        shop = None
        if shop_id is not None:
            with session_scope(ctx.sessions) as s:
                shop = s.get(Shop, shop_id)
            if shop is None or (shop.settings or {}).get("uninstalled"):
                result.error = (f"shop {shop_id} no longer exists" if shop is None
                                else f"shop {shop.name} is uninstalled")
                _record(ctx.sessions, job_id, shop_id if shop else None, "skipped", result.error)
                log.info("job %s shop %s: skipped (%s)", job_id, shop_id, result.error)
                return result
        try:
            result.run_id, holder = _acquire(ctx.sessions, job_id, shop_id, lease_seconds)
        except Exception as exc:  # database unreachable or locked: nothing can be recorded
            result.outcome, result.error = "error", f"lease: {type(exc).__name__}: {exc}"
            log.error("job %s shop %s: could not take its lease: %s", job_id, shop_id, exc)
            return result
        if holder is not None:
            result.error = f"already running: job run {holder[0]}"
            log.info("job %s shop %s: skipped, %s", job_id, shop_id, result.error)
            return result
        try:
            target = ref_to_obj(func)
            now = datetime.now(timezone.utc)
            counts = target(JobCall(job_id=job_id, context=ctx, shop=shop, now=now))
            result.outcome, result.counts = "ok", dict(counts or {})
        except JobSkipped as exc:
            result.outcome, result.error = "skipped", str(exc)
        except Exception as exc:
            result.outcome, result.error = "error", f"{type(exc).__name__}: {exc}"[:4000]
            log.exception("job %s shop %s failed", job_id, shop_id)
        except BaseException:  # interrupted: free the lease, then let it propagate
            _finish(ctx.sessions, result.run_id, "error", "interrupted", {})
            raise
        result.counts = json.loads(json.dumps(result.counts, default=_jsonable))
        _finish(ctx.sessions, result.run_id, result.outcome, result.error, result.counts)
    result.seconds = time.perf_counter() - t0
    log.info("job %s shop %s: %s in %.2f s%s %s", job_id, shop_id, result.outcome,
             result.seconds, f" ({result.error})" if result.error else "", result.counts)
    return result


# ------------------------------------------------------------------ reconciling
def describe_trigger(trigger) -> str:
    """What identifies a trigger's timing: its text, time zone and jitter."""
    return (f"{trigger}|tz={getattr(trigger, 'timezone', None)}"
            f"|jitter={getattr(trigger, 'jitter', None)}")


def desired_jobs(specs: Iterable[JobSpec], shops: Iterable) -> dict[str, dict]:
    """APScheduler job id -> ``add_job`` keyword arguments, for active shops only."""
    active = [ref for ref in map(as_shop_ref, shops) if ref.active]
    wanted: dict[str, dict] = {}
    for spec in specs:
        for shop in (active if spec.per_shop else [None]):
            shop_id = None if shop is None else shop.id
            job_id = spec.job_id(shop_id)
            wanted[job_id] = dict(
                id=job_id, name=job_id if shop is None else f"{spec.id} ({shop.name or shop_id})",
                func=RUN_JOB_REF, args=(spec.id, shop_id),
                kwargs={"func": spec.func, "lease_seconds": spec.lease_seconds},
                trigger=spec.build_trigger(shop_zone(shop.timezone) if shop else "UTC"),
                coalesce=True, max_instances=1, misfire_grace_time=spec.grace)
    return wanted


@dataclass
class ReconcileReport:
    """Job ids by what :func:`reconcile` did to them."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    rescheduled: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.rescheduled or self.modified)

    def __str__(self) -> str:
        return ", ".join(f"{len(getattr(self, k))} {k}" for k in
                         ("added", "removed", "rescheduled", "modified", "unchanged"))


def _current(job, option: str):
    return {"func": job.func_ref, "args": tuple(job.args)}.get(option) or getattr(job, option)


def reconcile(scheduler, specs: Iterable[JobSpec], shops: Iterable, *,
              jobstore: str = JOBSTORE) -> ReconcileReport:
    """Make the job store hold exactly the schedule's jobs.

    Jobs not in the schedule (dropped specs, uninstalled or deleted shops) are removed;
    missing ones are added; a job whose trigger description changed is rescheduled (next
    run computed afresh); one whose options changed is modified in place. Unchanged jobs
    are left alone, so their next run time (and any run missed while down) is kept.

    Args:
        scheduler: A started (running or paused) APScheduler 3 scheduler.
        specs: The schedule.
        shops: ``Shop`` rows or :class:`~connector.jobs.schedule.ShopRef` (see
            :func:`~connector.jobs.schedule.shop_refs`); uninstalled ones get no jobs.
        jobstore: The alias of the store to reconcile.

    Raises:
        RuntimeError: the scheduler is not started (its stores cannot be read yet).
    """
    from apscheduler.schedulers.base import STATE_STOPPED

    if scheduler.state == STATE_STOPPED:
        raise RuntimeError("reconcile needs a started scheduler: start(paused=True) first")
    wanted = desired_jobs(specs, shops)
    report = ReconcileReport()
    for job in scheduler.get_jobs(jobstore=jobstore):
        kw = wanted.pop(job.id, None)
        if kw is None:
            scheduler.remove_job(job.id, jobstore)
            report.removed.append(job.id)
            continue
        changes = {k: kw[k] for k in _OPTIONS if _current(job, k) != kw[k]}
        if changes:
            scheduler.modify_job(job.id, jobstore, **changes)
            report.modified.append(job.id)
        if describe_trigger(job.trigger) != describe_trigger(kw["trigger"]):
            scheduler.reschedule_job(job.id, jobstore, trigger=kw["trigger"])
            report.rescheduled.append(job.id)
        elif not changes:
            report.unchanged.append(job.id)
    for job_id, kw in wanted.items():
        scheduler.add_job(jobstore=jobstore, replace_existing=True, **kw)
        report.added.append(job_id)
    if report.changed:
        log.info("schedule reconciled: %s", report)
    return report


# ------------------------------------------------------------------ the scheduler
def record_missed(event, app=None) -> None:
    """Listener for ``EVENT_JOB_MISSED``: write the missed run to ``job_runs`` as skipped."""
    if getattr(event, "jobstore", JOBSTORE) != JOBSTORE:
        return
    spec_id, _, shop = event.job_id.partition(":")
    reason = (f"missed: was due {event.scheduled_run_time:%Y-%m-%d %H:%M:%S %Z}, longer ago "
              "than its misfire grace time")
    log.warning("job %s %s", event.job_id, reason)
    try:
        ctx = (app or job_app()).extensions["restock"]
        with session_scope(ctx.sessions) as s:
            shop_id = int(shop) if shop.isdigit() and s.get(Shop, int(shop)) else None
        _record(ctx.sessions, spec_id, shop_id, "skipped", reason)
    except Exception:
        log.exception("could not record the missed run of %s", event.job_id)


def make_scheduler(engine_or_url, *, blocking: bool = False, max_workers: int = 8,
                   tablename: str = "apscheduler_jobs", app=None):
    """An APScheduler 3 scheduler with the job store in the app's database.

    Args:
        engine_or_url: The app's engine (``context.engine``) or ``Settings.database_url``
            (SQLite or PostgreSQL, normalised by :func:`core.storage.make_engine`).
        blocking: ``BlockingScheduler`` (its own process) instead of ``BackgroundScheduler``.
        max_workers: Threads that run jobs.
        tablename: The job store's table (created by APScheduler when missing).
        app: The app whose database :func:`record_missed` writes to (default: job_app()).
    """
    from apscheduler.events import EVENT_JOB_MISSED
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.memory import MemoryJobStore
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    from core.storage import make_engine

    engine = make_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = cls(
        jobstores={JOBSTORE: SQLAlchemyJobStore(engine=engine, tablename=tablename),
                   INTERNAL_JOBSTORE: MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(max_workers)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
        timezone="UTC")
    scheduler.add_listener(lambda event: record_missed(event, app), EVENT_JOB_MISSED)
    return scheduler
