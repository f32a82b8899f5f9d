"""Operations pages: "Run plan now" with its progress page, and the job-run log ``/jobs``.

``POST /plan/run`` (CSRF) records a :class:`~core.storage.JobRun` ``plan_now`` row with
outcome ``running`` for the shop, starts :func:`core.plan.run_plan` in a background thread
and redirects to ``/plan/progress/<job run id>``. That page reloads itself every
:data:`REFRESH_SECONDS` seconds (``<meta http-equiv="refresh">``, no JavaScript) until the
job has finished; then it shows the new :class:`~core.storage.PlanRun` and its status
(``done``), or the error. While a ``plan_now`` or ``nightly_plan`` run of the shop is
running (younger than :data:`LEASE`), pressing the button again opens that run's progress
instead of starting a second one (checked under a lock in this process; the scheduler's
own lease covers ``nightly_plan``). A ``running`` row older than the lease is taken for
abandoned (its process died) and marked ``error``.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone

from flask import Blueprint, abort, current_app, flash, redirect, render_template
from sqlalchemy import func, or_, select, update

from core.storage import JobRun, Order, PlanRun, PurchaseOrder, Shop, session_scope

from .auth import current_identity
from .common import choice_arg, current_run, current_shop, db, int_arg, run_summary, shop_url

__all__ = ["bp", "JOB_ID", "LEASE", "REFRESH_SECONDS", "plan_in_background", "OUTCOMES"]

log = logging.getLogger(__name__)

bp = Blueprint("ops", __name__)

JOB_ID = "plan_now"
PLAN_JOBS = (JOB_ID, "nightly_plan")
LEASE = timedelta(hours=6)
REFRESH_SECONDS = 2
OUTCOMES = ("running", "ok", "error", "skipped")
_start_lock = threading.Lock()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def plan_in_background(app, job_run_id: int, shop_id: int) -> None:
    """Plan the shop and record the outcome on the job run (runs in its own thread)."""
    from core.engines import engine_from_url
    from core.plan import run_plan

    context = app.extensions["restock"]
    outcome, error, counts = "ok", None, {}
    try:
        with app.app_context(), session_scope(context.sessions) as s:
            shop = s.get(Shop, shop_id)
            if s.scalar(select(Order.id).where(Order.shop_id == shop_id).limit(1)) is None:
                outcome, error = "skipped", "no orders yet: nothing to plan"
            else:
                run = run_plan(s, shop, engine=engine_from_url(context.settings.forecast_engine))
                counts = {"plan_run_id": run.id, "series": run.n_series}
                for status, n in s.execute(select(PurchaseOrder.status, func.count())
                                           .where(PurchaseOrder.plan_run_id == run.id)
                                           .group_by(PurchaseOrder.status)):
                    counts[f"po_{status}"] = int(n)
    except Exception as exc:  # recorded on the job run and shown on the progress page
        outcome, error, counts = "error", f"{type(exc).__name__}: {exc}"[:4000], {}
        log.exception("plan run of shop %s (job run %s) failed", shop_id, job_run_id)
    try:
        with session_scope(context.sessions) as s:
            row = s.get(JobRun, job_run_id)
            row.outcome, row.error, row.finished_at = outcome, error, _now()
            row.counts = {**(row.counts or {}), **counts}
    except Exception:
        log.exception("job run %s: could not record outcome %s", job_run_id, outcome)


def _running(shop_id: int) -> JobRun | None:
    """The shop's live plan job run, after marking abandoned ones (module docstring)."""
    stale = _now() - LEASE
    db().execute(update(JobRun).where(
        JobRun.shop_id == shop_id, JobRun.job_id == JOB_ID, JobRun.outcome == "running",
        JobRun.started_at < stale).values(
        outcome="error", finished_at=_now(),
        error=f"abandoned: still running after {LEASE} (its process died?)")
        .execution_options(synchronize_session=False))
    return db().scalar(select(JobRun).where(
        JobRun.shop_id == shop_id, JobRun.job_id.in_(PLAN_JOBS), JobRun.outcome == "running",
        JobRun.started_at >= stale).order_by(JobRun.id.desc()).limit(1))


@bp.post("/plan/run")
def run_plan():
    """Start planning the shop in the background and open the progress page."""
    shop = current_shop()
    app = current_app._get_current_object()
    who = current_identity()
    with _start_lock:
        live = _running(shop.id)
        if live is not None:
            db().commit()
            flash("A plan run of this shop is already running: here is its progress.", "error")
            return redirect(shop_url("ops.progress", job_run_id=live.id), code=303)
        row = JobRun(job_id=JOB_ID, shop_id=shop.id, started_at=_now(), outcome="running",
                     counts={"requested_by": who.label if who and who.label else "web"})
        db().add(row)
        db().commit()
        row_id = row.id
    threading.Thread(target=plan_in_background, args=(app, row_id, shop.id), daemon=True,
                     name=f"restock-plan-{shop.id}-{row_id}").start()
    return redirect(shop_url("ops.progress", job_run_id=row_id), code=303)


@bp.get("/plan/progress/<int:job_run_id>")
def progress(job_run_id: int):
    """The state of one plan job run; reloads itself until the run has finished."""
    shop = current_shop()
    row = db().scalar(select(JobRun).where(JobRun.id == job_run_id, JobRun.shop_id == shop.id,
                                           JobRun.job_id.in_(PLAN_JOBS)))
    if row is None:
        abort(404, description=f"Shop {shop.name!r} has no plan job run {job_run_id}.")
    started = _as_utc(row.started_at)
    finished = _as_utc(row.finished_at)
    elapsed = ((finished or _now()) - started).total_seconds() if started else None
    plan_run = None
    plan_run_id = (row.counts or {}).get("plan_run_id")
    if plan_run_id is not None:
        plan_run = db().scalar(select(PlanRun).where(PlanRun.id == int(plan_run_id),
                                                     PlanRun.shop_id == shop.id))
    running = row.outcome == "running"
    return render_template("plan_progress.html", shop=shop, job=row, plan_run=plan_run,
                           running=running, elapsed=elapsed, refresh=REFRESH_SECONDS,
                           header=run_summary(current_run(shop)), active="dashboard")


@bp.get("/jobs")
def jobs():
    """The latest job runs of the shop and of the shop-less jobs (``?outcome=``, ``?job=``,
    ``?limit=``)."""
    shop = current_shop()
    outcome = choice_arg("outcome", OUTCOMES)
    limit = int_arg("limit", 100, 1, 1000)
    scope = or_(JobRun.shop_id == shop.id, JobRun.shop_id.is_(None))
    known = sorted(db().scalars(select(JobRun.job_id).where(scope).distinct()))
    job = choice_arg("job", known) if known else None
    stmt = select(JobRun).where(scope)
    if outcome:
        stmt = stmt.where(JobRun.outcome == outcome)
    if job:
        stmt = stmt.where(JobRun.job_id == job)
    rows = db().scalars(stmt.order_by(JobRun.started_at.desc(), JobRun.id.desc())
                        .limit(limit)).all()
    counts = dict(db().execute(select(JobRun.outcome, func.count()).where(scope)
                               .group_by(JobRun.outcome)).all())
    now = _now()
    runs = []
    for r in rows:
        started, finished = _as_utc(r.started_at), _as_utc(r.finished_at)
        runs.append({"row": r, "seconds": ((finished or now) - started).total_seconds()
                     if started else None, "live": finished is None})
    return render_template("jobs.html", shop=shop, runs=runs, outcome=outcome, job=job,
                           known=known, outcomes=OUTCOMES, counts=counts, limit=limit,
                           header=run_summary(current_run(shop)), active="jobs")
