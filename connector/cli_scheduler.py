"""``restock scheduler``: run the job schedule in its own process (not in web workers).

* ``restock scheduler`` starts a BlockingScheduler with the job store in the app's
  database, reconciles :data:`~connector.jobs.schedule.SCHEDULE` with the shops at start-up
  (before any job runs) and again every ``--reconcile-every`` seconds (new shops get their
  jobs, uninstalled ones lose them). SIGTERM or Ctrl+C stops it; running jobs finish first.
* ``restock scheduler --once JOB_ID [--shop NAME]`` runs one job now, under the same lease
  as scheduled runs, and exits 0 (ok or skipped) or 1 (error).
* ``restock scheduler --list`` prints the schedule.

Wire into the main parser with :func:`register` (``register(sub)``).
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

__all__ = ["register", "cmd_scheduler", "format_schedule", "SchedulerProcess"]

log = logging.getLogger("restock.jobs")


def _trigger_text(spec) -> str:
    fields = ", ".join(f"{k}={v}" for k, v in spec.trigger.items() if k != "type")
    local = spec.per_shop and spec.trigger["type"] == "cron" and "timezone" not in spec.trigger
    return f"{spec.trigger['type']}({fields})" + (" shop time" if local else "")


def format_schedule(specs=None) -> str:
    """The schedule as a table: id, trigger, scope, misfire grace, lease, description."""
    from .jobs.schedule import SCHEDULE

    specs = SCHEDULE if specs is None else specs
    rows = [("JOB", "TRIGGER", "SCOPE", "GRACE", "LEASE", "WHAT")]
    rows += [(s.id, _trigger_text(s), "per shop" if s.per_shop else "global",
              f"{s.grace}s", f"{s.lease_seconds}s", s.description) for s in specs]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r[:5], widths)) + "  " + r[5]
                     for r in rows).rstrip()


def _once(app, args) -> int:
    from core.shops import resolve_shop
    from core.storage import session_scope

    from .jobs.runner import run_job
    from .jobs.schedule import get_spec

    spec = get_spec(args.once)
    shop_id = None
    if spec.per_shop:
        with session_scope(app.extensions["restock"].sessions) as s:
            shop_id = resolve_shop(s, args.shop).id
    elif args.shop:
        print(f"restock: error: job {spec.id} is not per shop: leave out --shop",
              file=sys.stderr)
        return 2
    result = run_job(spec.id, shop_id, app=app)
    counts = ", ".join(f"{k}={v}" for k, v in result.counts.items())
    where = f" (shop {args.shop or shop_id})" if shop_id is not None else ""
    print(f"job {spec.id}{where}: {result.outcome} in {result.seconds:.2f} s"
          + (f": {result.error}" if result.error else "") + (f"; {counts}" if counts else ""))
    return 1 if result.outcome == "error" else 0


class SchedulerProcess:
    """The scheduler of ``restock scheduler``: a BlockingScheduler that reconciles the schedule
    at start-up (inside ``start()``, before any job is processed) and then periodically.

    Args:
        app: The app from :func:`connector.jobs.runner.configure`.
        reconcile_every: Seconds between reconciliations after the first.
        workers: Threads running jobs.
        specs: The schedule (default :data:`~connector.jobs.schedule.SCHEDULE`).
    """

    def __init__(self, app, reconcile_every: float = 300.0, workers: int = 8,
                 specs=None) -> None:
        from apscheduler.events import EVENT_SCHEDULER_STARTED

        from .jobs.runner import INTERNAL_JOBSTORE, make_scheduler
        from .jobs.schedule import SCHEDULE

        self.context = app.extensions["restock"]
        self.specs = SCHEDULE if specs is None else specs
        self.reconcile_every = reconcile_every
        self.failure: BaseException | None = None
        self._stopping = threading.Event()
        self.scheduler = make_scheduler(self.context.engine, blocking=True,
                                        max_workers=workers, app=app)
        self.scheduler.add_listener(self._on_start, EVENT_SCHEDULER_STARTED)
        self.scheduler.add_job(self.reconcile, "interval", seconds=reconcile_every,
                               id="restock:reconcile", jobstore=INTERNAL_JOBSTORE,
                               coalesce=True, max_instances=1,
                               misfire_grace_time=max(1, int(reconcile_every)))

    def reconcile(self):
        """Bring the job store in line with the schedule and the current shops."""
        from .jobs.runner import reconcile
        from .jobs.schedule import shop_refs

        return reconcile(self.scheduler, self.specs, shop_refs(self.context.sessions))

    def _on_start(self, _event) -> None:
        try:
            report = self.reconcile()
        except Exception as exc:  # no job may run on a schedule we could not check
            self.failure = exc
            self._shutdown()
            return
        print(f"restock scheduler: {report}; reconciling every {self.reconcile_every:g} s "
              "(Ctrl+C stops it)", flush=True)
        if self._stopping.is_set():  # stop() came while start() was still setting up
            self._shutdown()

    def run(self) -> int:
        """Block until :meth:`stop`; 1 when the start-up reconciliation failed, else 0."""
        if self._stopping.is_set():
            return 0
        self.scheduler.start()
        if self.failure is not None:
            print(f"restock: error: reconciling the schedule failed: {self.failure}",
                  file=sys.stderr)
            return 1
        return 0

    def stop(self) -> None:
        """Stop taking new runs; running jobs finish (the process waits for them). Safe to
        call from another thread or a signal handler, also before the scheduler started."""
        self._stopping.set()
        self._shutdown()

    def _shutdown(self) -> None:
        from apscheduler.schedulers import SchedulerNotRunningError

        try:
            self.scheduler.shutdown(wait=False)
        except SchedulerNotRunningError:
            pass  # not started yet (start-up sees the flag) or already stopped


def _serve(app, args) -> int:
    if log.level == logging.NOTSET:  # a daemon reports every run (counts, duration)
        log.setLevel(logging.INFO)
    proc = SchedulerProcess(app, reconcile_every=args.reconcile_every, workers=args.workers)
    if threading.current_thread() is threading.main_thread():
        def stop(signum, _frame) -> None:
            log.warning("signal %s: stopping the scheduler after the running jobs", signum)
            proc.stop()

        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, stop)
    return proc.run()


def cmd_scheduler(args: argparse.Namespace) -> int:
    """Run the scheduler, one job (``--once``) or print the schedule (``--list``)."""
    if args.list:
        print(format_schedule())
        return 0
    if args.shop and not args.once:
        print("restock: error: --shop goes with --once JOB_ID", file=sys.stderr)
        return 2
    from .jobs.runner import configure
    from .jobs.schedule import get_spec

    if args.once:
        try:
            get_spec(args.once)
        except KeyError as exc:
            print(f"restock: error: {exc.args[0]}", file=sys.stderr)
            return 2

    app = configure()
    return _once(app, args) if args.once else _serve(app, args)


def register(subparsers) -> argparse.ArgumentParser:
    """Add ``scheduler`` to the ``restock`` command's subparsers; return its parser."""
    p = subparsers.add_parser(
        "scheduler", help="run scheduled jobs (sync, plan, delivery, reminders, KPIs, inbox) "
        "in this process; or one job now (--once), or print the schedule (--list)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--once", metavar="JOB_ID", help="run this job now and exit")
    mode.add_argument("--list", action="store_true", help="print the schedule and exit")
    p.add_argument("--shop", metavar="NAME", help="the shop of a per-shop --once job (may be "
                   "left out when there is only one)")
    p.add_argument("--reconcile-every", type=float, default=300.0, metavar="SECONDS",
                   help="re-read shops and the schedule this often (default 300)")
    p.add_argument("--workers", type=int, default=8, help="threads running jobs (default 8)")
    p.set_defaults(func=cmd_scheduler)
    return p
