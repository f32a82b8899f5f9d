"""The declarative job schedule and the thin job functions it names.

:data:`SCHEDULE` lists every recurring job under a stable id (the pattern of Redash's
``tasks/schedule.py``). :func:`connector.jobs.runner.reconcile` turns it into APScheduler
jobs at start-up and every few minutes: one job per spec, or for a ``per_shop`` spec one job
per active shop, with the APScheduler id ``"<spec id>:<shop id>"``. Renaming an id drops
the old job and adds a new one, so ids are never reused for something else.

Every job function takes one :class:`JobCall` (the app's context, the shop, the clock) and
returns a counts dict (or None); it raises :class:`JobSkipped` when there is nothing it can
do, which :func:`connector.jobs.runner.run_job` records as outcome ``skipped`` with the
reason. A job whose module is not part of this build yet (see :func:`require`) skips with
that reason instead of pretending to work.

Per-shop cron jobs fire in the shop's own time zone (``Shop.timezone``): the nightly plan
runs at 02:00 where the merchant is, reminders go out at 09:00 local time.
"""
from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select

from core.storage import Order, PurchaseOrder, Shop, ShopCredential, session_scope

__all__ = [
    "JobSpec", "JobCall", "JobSkipped", "SCHEDULE", "ShopRef", "as_shop_ref", "shop_refs", "cron",
    "interval", "get_spec", "require", "shop_zone", "inbox_drain", "shopify_sync", "nightly_plan", "po_delivery", "kpi_snapshot",
    "reminders",
]

_ID = re.compile(r"^[a-z][a-z0-9_.-]*$")
_HERE = __name__


class JobSkipped(Exception):
    """Raised by a job function that has nothing to do; the message is the recorded reason."""


def cron(**fields: Any) -> dict[str, Any]:
    """A cron trigger description, e.g. ``cron(hour=2, minute=0)`` (APScheduler fields)."""
    return {"type": "cron", **fields}


def interval(**length: Any) -> dict[str, Any]:
    """An interval trigger description, e.g. ``interval(minutes=15, jitter=60)``."""
    return {"type": "interval", **length}


@dataclass(frozen=True, eq=True)
class JobSpec:
    """One recurring job.

    Attributes:
        id: Stable id (lowercase, no ``:``); also ``JobRun.job_id``.
        func: ``"package.module:function"`` taking a :class:`JobCall`.
        trigger: :func:`cron` or :func:`interval` keyword arguments (``type`` + fields).
            Cron triggers of per-shop jobs use the shop's time zone unless ``timezone`` is
            given; everything else runs in UTC.
        per_shop: One APScheduler job per active (not uninstalled) shop.
        misfire_grace_time: Seconds a run may start late (scheduler down or busy) and still
            run; None derives it: the interval's length, or one hour for cron jobs.
        lease_seconds: A ``running`` JobRun older than this counts as abandoned (its process
            died) and no longer blocks a new run; keep it above the job's longest run.
        description: One line for ``restock scheduler --list``.
    """

    id: str
    func: str
    trigger: Mapping[str, Any] = field(hash=False)
    per_shop: bool = False
    misfire_grace_time: int | None = None
    lease_seconds: int = 3600
    description: str = ""

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise ValueError(f"job id {self.id!r}: use lowercase letters, digits, '_', '.', '-'")
        if self.trigger.get("type") not in ("cron", "interval"):
            raise ValueError(f"job {self.id}: trigger needs type 'cron' or 'interval' "
                             "(use cron(...) or interval(...))")
        if ":" not in self.func:
            raise ValueError(f"job {self.id}: func {self.func!r} must be 'module:function'")
        if self.lease_seconds <= 0:
            raise ValueError(f"job {self.id}: lease_seconds must be positive")

    def job_id(self, shop_id: int | None = None) -> str:
        """The APScheduler job id: ``id`` or ``"id:shop_id"``."""
        return self.id if shop_id is None else f"{self.id}:{shop_id}"

    @property
    def grace(self) -> int:
        """Misfire grace time in seconds (explicit or derived)."""
        if self.misfire_grace_time is not None:
            return int(self.misfire_grace_time)
        if self.trigger["type"] == "interval":
            keys = ("weeks", "days", "hours", "minutes", "seconds")
            span = timedelta(**{k: v for k, v in self.trigger.items() if k in keys})
            return max(1, int(span.total_seconds()))
        return 3600

    def build_trigger(self, tz: str = "UTC"):
        """The APScheduler trigger; ``tz`` is the shop's zone for per-shop cron jobs."""
        from apscheduler.triggers.cron import CronTrigger
        from apscheduler.triggers.interval import IntervalTrigger

        kwargs = {k: v for k, v in self.trigger.items() if k != "type"}
        if self.trigger["type"] == "cron":
            kwargs.setdefault("timezone", tz)
            return CronTrigger(**kwargs)
        kwargs.setdefault("timezone", "UTC")
        return IntervalTrigger(**kwargs)


@dataclass
class JobCall:
    """What a job function gets: the app's context, its shop (detached) and the clock."""

    job_id: str
    context: Any  # connector.context.Context
    shop: Shop | None
    now: datetime

    @property
    def sessions(self):
        return self.context.sessions

    @property
    def settings(self):
        return self.context.settings

    @property
    def shop_id(self) -> int | None:
        return None if self.shop is None else self.shop.id


@dataclass(frozen=True)
class ShopRef:
    """The little of a shop that scheduling needs."""

    id: int
    name: str = ""
    timezone: str = "UTC"
    active: bool = True


def as_shop_ref(shop) -> ShopRef:
    """A ``Shop`` row (or anything with ``id``, ``name``, ``timezone``, ``settings``) as a
    :class:`ShopRef`; uninstalled shops are not active."""
    if isinstance(shop, ShopRef):
        return shop
    return ShopRef(id=shop.id, name=getattr(shop, "name", "") or "",
                   timezone=getattr(shop, "timezone", None) or "UTC",
                   active=not (getattr(shop, "settings", None) or {}).get("uninstalled"))


def shop_refs(sessions) -> list[ShopRef]:
    """Every shop, with ``active`` False for uninstalled ones."""
    with session_scope(sessions) as s:
        return [as_shop_ref(shop) for shop in s.scalars(select(Shop).order_by(Shop.id))]


def require(module: str, attr: str | None = None):
    """Import ``module`` (and fetch ``attr``) or raise :class:`JobSkipped` if not in this build.

    Only the absence of ``module`` itself (or of ``attr`` in it) skips: a missing
    dependency *inside* the module is a real error and propagates.
    """
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and (module == exc.name or module.startswith(exc.name + ".")):
            raise JobSkipped(f"module {module} is not part of this build yet") from None
        raise
    if attr is None:
        return mod
    if not hasattr(mod, attr):
        raise JobSkipped(f"{module}.{attr} is not part of this build yet")
    return getattr(mod, attr)


def shop_zone(name: str | None) -> str:
    """The shop's IANA zone name, or ``UTC`` when unset or unknown."""
    try:
        ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return name or "UTC"


def _local_today(shop: Shop, now: datetime) -> date:
    return now.astimezone(ZoneInfo(shop_zone(shop.timezone))).date()


def _as_counts(result, noun: str) -> dict:
    """A job result as counts: dicts as they are, numbers and collections as ``{noun: n}``."""
    if result is None:
        return {}
    if isinstance(result, Mapping):
        return dict(result)
    if isinstance(result, bool):
        return {noun: int(result)}
    if isinstance(result, (int, float)):
        return {noun: result}
    if hasattr(result, "__len__"):
        return {noun: len(result)}
    return {}


# ------------------------------------------------------------------ job functions
def inbox_drain(call: JobCall) -> dict:
    """Apply pending webhook events, then recalculate the SKUs they touched."""
    from .inbox import drain_inbox

    def recalc(shop_id: int, skus: set[str]):
        from .recalc import make_recalc  # imports the forecasting stack: only when needed

        return make_recalc(call.sessions)(shop_id, skus)

    result = drain_inbox(call.sessions, recalc=recalc)
    counts = result.as_dict()
    counts["skus_recalculated"] = sum(len(s) for s in result.touched.values())
    return counts


class _LazyRefresher:
    """Builds the Shopify token client only when a token must be renewed."""

    def __init__(self, settings) -> None:
        self._settings = settings

    def _oauth(self):
        from connector.adapters.shopify.auth import ShopifyOAuth

        return ShopifyOAuth(self._settings.shopify_api_key, self._settings.shopify_api_secret)

    def refresh(self, shop_domain, refresh_token, refresh_expires_at=None):
        return self._oauth().refresh(shop_domain, refresh_token, refresh_expires_at)

    def client_credentials(self, shop_domain):
        return self._oauth().client_credentials(shop_domain)


def shopify_sync(call: JobCall) -> dict:
    """Incremental Shopify sync of one shop with its stored (refreshed) access token."""
    sync_shop = require("connector.adapters.shopify.sync", "sync_shop")

    client = _shopify_client(call)
    with session_scope(call.sessions) as s:
        name = s.get(Shop, call.shop_id).name
    return dict(sync_shop(call.sessions, name, client, full=False, now=call.now))


def _shopify_client(call: JobCall):
    """An AdminClient with the shop's stored (refreshed) token; JobSkipped without one."""
    from connector.adapters.shopify.client import AdminClient
    from connector.adapters.shopify.tokens import access_token, token_cipher

    with session_scope(call.sessions) as s:
        shop = s.get(Shop, call.shop_id)
        cred = s.scalar(select(ShopCredential).where(ShopCredential.shop_id == shop.id,
                                                     ShopCredential.platform == "shopify"))
        if cred is None or cred.uninstalled_at is not None or cred.access_token_enc is None:
            raise JobSkipped("no Shopify access token: the shop was not installed through "
                             "Shopify (CSV or sandbox data)")
        cipher = token_cipher(call.settings.secret_key, call.settings.env)
        token = access_token(s, shop, _LazyRefresher(call.settings), cipher=cipher,
                             now=call.now)
        domain, admin_url = shop.domain or shop.name, cred.admin_url
    return AdminClient(domain, token, admin_url=admin_url)


def _deliver(call: JobCall) -> dict:
    send_approved = require("connector.delivery", "send_approved")
    return send_approved(call.sessions, call.shop_id, now=call.now).counts()


def nightly_plan(call: JobCall) -> dict:
    """Score customers (segments, CLV), weigh SKUs by their customers' LTV, forecast and plan
    the shop (drafting purchase orders, auto-approving the small ones), fill the LTV
    decisions (protection, sell now vs hold), then send the approved orders."""
    from core.engines import engine_from_url
    from core.ltv.apply import apply_ltv, ltv_weights_for_plan
    from core.plan import run_plan
    from core.plan_inputs import last_order_day
    from core.segments import score_shop

    with session_scope(call.sessions) as s:
        shop = s.get(Shop, call.shop_id)
        if s.scalar(select(Order.id).where(Order.shop_id == shop.id).limit(1)) is None:
            raise JobSkipped("no orders yet: nothing to plan")
        day = last_order_day(s, shop)
        scored = len(score_shop(s, shop, day))  # segments, CLV, next orders: the LTV input
    with session_scope(call.sessions) as s:
        shop = s.get(Shop, call.shop_id)
        weights = ltv_weights_for_plan(s, shop, cutoff=day)
        run = run_plan(s, shop, engine=engine_from_url(call.settings.forecast_engine),
                       ltv_weight=weights)
        apply_ltv(s, shop, run)
        counts: dict = {"customers_scored": scored, "plan_run_id": run.id,
                        "series": run.n_series}
        for status, n in s.execute(select(PurchaseOrder.status, func.count())
                                   .where(PurchaseOrder.plan_run_id == run.id)
                                   .group_by(PurchaseOrder.status)):
            counts[f"po_{status}"] = n
    try:
        counts.update({f"delivery_{k}": v for k, v in _deliver(call).items()})
    except JobSkipped as exc:
        counts["delivery"] = f"skipped: {exc}"
    return counts


def po_delivery(call: JobCall) -> dict:
    """Send approved purchase orders that are due (new ones and retries after failures)."""
    return _deliver(call)


def kpi_snapshot(call: JobCall) -> dict:
    """Store yesterday's KPIs (the last complete day in the shop's time zone)."""
    snapshot_kpis = require("core.kpis", "snapshot_kpis")
    day = _local_today(call.shop, call.now) - timedelta(days=1)
    with session_scope(call.sessions) as s:
        counts = _as_counts(snapshot_kpis(s, s.get(Shop, call.shop_id), day), "kpis")
    counts["day"] = day.isoformat()
    return counts


def reminders(call: JobCall) -> dict:
    """Plan today's repurchase reminders (stock- and consent-aware, in core.reminders), then
    push them and the customer signals to Shopify when the shop was installed there."""
    plan_reminders = require("core.reminders", "plan_reminders")
    as_of = _local_today(call.shop, call.now)
    with session_scope(call.sessions) as s:
        counts = _as_counts(plan_reminders(s, s.get(Shop, call.shop_id), as_of), "reminders")
    try:
        client = _shopify_client(call)
    except JobSkipped as exc:
        counts["push"] = f"skipped: {exc}"
        return counts
    from connector.adapters.shopify.pushback import push_customer_signals, push_reminders

    with session_scope(call.sessions) as s:
        shop = s.get(Shop, call.shop_id)
        counts.update({f"signals_{k}": v for k, v in push_customer_signals(s, shop, client).items()})
        counts.update({f"push_{k}": v for k, v in push_reminders(s, shop, client).items()})
    return counts


def _ref(name: str) -> str:
    return f"{_HERE}:{name}"


#: The schedule. Ids are stable: the scheduler's job store and ``job_runs`` refer to them.
SCHEDULE: tuple[JobSpec, ...] = (
    JobSpec("inbox_drain", _ref("inbox_drain"), interval(seconds=30), per_shop=False,
            misfire_grace_time=30, lease_seconds=15 * 60,
            description="apply pending webhook events, recalculate touched SKUs"),
    JobSpec("shopify_sync", _ref("shopify_sync"), interval(minutes=15, jitter=60),
            per_shop=True, misfire_grace_time=15 * 60, lease_seconds=3 * 3600,
            description="incremental Shopify sync (orders, products, stock, customers)"),
    JobSpec("nightly_plan", _ref("nightly_plan"), cron(hour=2, minute=0), per_shop=True,
            misfire_grace_time=6 * 3600, lease_seconds=6 * 3600,
            description="full forecast and plan, draft purchase orders, send approved ones"),
    JobSpec("po_delivery", _ref("po_delivery"), interval(minutes=10), per_shop=True,
            misfire_grace_time=10 * 60, lease_seconds=3600,
            description="send approved purchase orders; retry failed deliveries"),
    JobSpec("kpi_snapshot", _ref("kpi_snapshot"), cron(hour=3, minute=0), per_shop=True,
            misfire_grace_time=12 * 3600, lease_seconds=3600,
            description="store yesterday's KPIs"),
    JobSpec("reminders", _ref("reminders"), cron(hour=9, minute=0), per_shop=True,
            misfire_grace_time=3 * 3600, lease_seconds=3600,
            description="plan repurchase reminders due today"),
)


def get_spec(job_id: str, specs=None) -> JobSpec:
    """The spec with ``job_id`` (or the spec part of ``"<id>:<shop id>"``).

    Raises:
        KeyError: unknown id; the message lists the known ones.
    """
    specs = SCHEDULE if specs is None else specs
    wanted = job_id.partition(":")[0]
    for spec in specs:
        if spec.id == wanted:
            return spec
    raise KeyError(f"unknown job {job_id!r} (known jobs: {', '.join(s.id for s in specs)})")

