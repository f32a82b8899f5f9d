"""The Flask app of the Shopify Admin GraphQL fake.

Routes:

* ``POST /admin/api/2026-07/graphql.json`` - GraphQL (see :mod:`.engine`). Needs
  ``X-Shopify-Access-Token``; a wrong or missing token gets 401 with Shopify's body. Other
  API versions get 404 (the fake only has the 2026-07 schema).
* ``GET /bulk/<id>.jsonl?sig=...`` - a completed bulk operation's result (the ``url``).
* ``POST /_fake/faults`` - change fault knobs (JSON, see :class:`.faults.FaultConfig`);
  ``GET /_fake/faults`` reads them and the counts injected so far.
* ``POST /_fake/clock`` - advance the simulated clock (``{"days": 1}``, ``{"hours": 6}``
  or ``{"until": ISO time}``), releasing the replayed sandbox days (see :mod:`.replay`) as
  webhooks; ``GET /_fake/clock`` reads the time and what is still held back.
* ``POST /_fake/webhooks`` - subscribe ``{"topic": ..., "uri": ...}`` (``"topic": "all"``
  for every topic) without GraphQL; ``GET /_fake/webhooks`` lists subscriptions and the
  delivery outcomes.

Every response carries ``X-Request-Id``. The :class:`ShopifyFake` behind an app (store with
test hooks, bucket, bulk registry, faults, request log) is ``app.extensions["shopify_fake"]``
(or :func:`get_fake`).
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

import pandas as pd

from flask import Flask, Response, jsonify, request

from connector.adapters.shopify.schema import ADMIN_API_VERSION, admin_schema

from .bulk import BulkRegistry
from .deliveries import TOPIC_ENUMS, WebhookDispatcher
from .engine import GraphQLEndpoint
from .faults import Faults
from .replay import Replay, split_records
from .store import FakeStore
from .timing import LeakyBucket, ManualClock, utcnow

__all__ = ["ShopifyFake", "make_fake_app", "get_fake", "INVALID_TOKEN_BODY"]

INVALID_TOKEN_BODY = {"errors": "[API] Invalid API key or access token (unrecognized login or "
                                "wrong password)"}


@dataclass
class ShopifyFake:
    """Everything behind one fake shop.

    Attributes:
        store: Data and test hooks (``add_order``, ``cancel_order``, ``add_refund``,
            ``set_inventory``, ``set_marketing``).
        bulk: Bulk operations; ``bulk.listeners`` get the ``bulk_operations/finish`` payload.
        bucket: The cost bucket.
        faults: Fault injection.
        endpoint: The GraphQL request handler.
        token: The access token the fake accepts.
        calls: One entry per GraphQL request: operation name, HTTP status, requested cost,
            and the error code (``THROTTLED``, ``fault`` ...) if any.
    """

    store: FakeStore
    bulk: BulkRegistry
    bucket: LeakyBucket
    faults: Faults
    endpoint: GraphQLEndpoint
    token: str
    calls: list[dict] = field(default_factory=list)
    dispatcher: WebhookDispatcher | None = None
    replay: Replay | None = None
    clock: ManualClock | None = None

    def advance(self, *, days: float = 0.0, hours: float = 0.0,
                until: datetime | None = None) -> dict[str, int]:
        """Move the simulated clock forward and release the replayed events up to the new
        time (each becomes webhooks); returns the events released per kind.

        Raises:
            ValueError: the fake does not own its clock (it was given ``now``), or the time
                would go backwards.
        """
        if self.clock is None:
            raise ValueError("this fake does not own its clock: build it with replay_from "
                             "and without now= to advance it")
        start = self.clock.now()
        target = until if until is not None else start + timedelta(days=days, hours=hours)
        if target.tzinfo is None:
            target = target.replace(tzinfo=timezone.utc)
        if target < start:
            raise ValueError(f"cannot move the clock back from {start.isoformat()} to "
                             f"{target.isoformat()}")

        def set_time(when: datetime) -> None:
            gap = (when - self.clock.now()).total_seconds()
            if gap > 0:
                self.clock.advance(gap)

        released = self.replay.release(target, set_time) if self.replay is not None else {}
        set_time(target)
        return released


def get_fake(app: Flask) -> ShopifyFake:
    """The :class:`ShopifyFake` of an app made by :func:`make_fake_app`."""
    return app.extensions["shopify_fake"]


def make_fake_app(sandbox_shop, token: str = "shpat_test", *,
                  shop_domain: str = "sandbox.myshopify.com", max_available: float = 2000.0,
                  restore_rate: float = 100.0, max_cost: int = 1000,
                  clock: Callable[[], float] = time.monotonic,
                  now: Callable[[], datetime] = utcnow, bulk_min_seconds: float = 0.0,
                  bulk_chunk: int = 2000, marketplace_source: str = "amazon",
                  webhook_secret: str | None = None, replay_from=None,
                  webhook_attempts: int = 4, webhook_retry_base: float = 1.0,
                  **fault_knobs) -> Flask:
    """Build the fake Shopify Admin API over a sandbox shop.

    Args:
        sandbox_shop: A :class:`sandbox.SandboxShop` (its ``records`` are served).
        token: The accepted ``X-Shopify-Access-Token``.
        shop_domain: The shop's domain.
        max_available: Bucket size (``maximumAvailable``).
        restore_rate: Bucket refill in points per second.
        max_cost: Single-query cost limit.
        clock: Monotonic seconds for the bucket and bulk timing (inject to make tests fast).
        now: Wall clock for ``createdAt``/``updatedAt`` of changes and bulk operations.
        bulk_min_seconds: Shortest RUNNING time of a bulk operation, on ``clock``.
        bulk_chunk: Root objects per store-lock hold while a bulk query runs.
        marketplace_source: ``sourceName`` of the sandbox's marketplace orders.
        webhook_secret: The app's client secret: signs every webhook delivery.
        replay_from: A day (date or ISO string) within the sandbox: the fake starts with the
            shop as it was at the end of that day and :meth:`ShopifyFake.advance` replays
            the later days. Unless ``now`` is given the fake then runs on its own simulated
            clock (:attr:`ShopifyFake.clock`), starting at the end of that day.
        webhook_attempts: Tries per webhook delivery (first one included).
        webhook_retry_base: Seconds before the first retry of a failed delivery (doubling).
        **fault_knobs: :class:`.faults.FaultConfig` fields (``error_rate``, ``hang_rate``,
            ``rate_429``, ``retry_after``, ``hang_seconds``, ``seed``, ``downloads``).

    Returns:
        The Flask app; its fake is ``app.extensions["shopify_fake"]``.
    """
    schema = admin_schema()
    history_end = (sandbox_shop.end + timedelta(days=1, seconds=-1)).tz_localize("UTC")
    records, sim_clock, cutoff_end = sandbox_shop.records, None, None
    if replay_from is not None:
        day = pd.Timestamp(replay_from).normalize()
        first = sandbox_shop.records.orders["created_at"].min()
        if pd.isna(first) or day.tz_localize("UTC") < first.normalize() or \
                day > sandbox_shop.end:
            raise ValueError(f"replay_from {day.date()} is outside the sandbox history; "
                             f"pick a day up to {sandbox_shop.end.date()}")
        cutoff_end = (day + timedelta(days=1, seconds=-1)).tz_localize("UTC").to_pydatetime()
        records = split_records(records, cutoff_end)
        if now is utcnow:
            sim_clock = ManualClock(cutoff_end)
            now = sim_clock.now
    store = FakeStore(records, cutoff_end or history_end.to_pydatetime(), now,
                      marketplace_source=marketplace_source)
    dispatcher = WebhookDispatcher(store, shop_domain, webhook_secret,
                                   max_attempts=webhook_attempts, retry_base=webhook_retry_base)
    store.dispatcher = dispatcher
    replay = Replay(store, sandbox_shop.records, cutoff_end, history_end.to_pydatetime(),
                    marketplace_source) if cutoff_end is not None else None
    bulk = BulkRegistry(store, schema, clock, now, min_seconds=bulk_min_seconds,
                        chunk=bulk_chunk, shop_domain=shop_domain, webhook_secret=webhook_secret)
    bucket = LeakyBucket(max_available, restore_rate, clock)
    endpoint = GraphQLEndpoint(store, bulk, bucket, schema, max_cost, shop_domain)
    fake = ShopifyFake(store, bulk, bucket, Faults(**fault_knobs), endpoint, token,
                       dispatcher=dispatcher, replay=replay, clock=sim_clock)

    app = Flask("sandbox.shopify_fake")
    app.extensions["shopify_fake"] = fake

    @app.after_request
    def _request_id(resp: Response) -> Response:
        resp.headers["X-Request-Id"] = str(uuid.uuid4())
        resp.headers.setdefault("X-Shopify-API-Version", ADMIN_API_VERSION)
        return resp

    def _fault(download: bool = False) -> Response | None:
        fault = fake.faults.draw(download)
        if fault is None:
            return None
        if fault.kind == "hang":
            time.sleep(fake.faults.config.hang_seconds)
            return None
        if fault.kind == "429":
            resp = jsonify({"errors": "Exceeded 2 calls per second for api client. Reduce "
                                      "request rates to resume uninterrupted service."})
            resp.status_code = 429
            resp.headers["Retry-After"] = f"{fake.faults.config.retry_after:g}"
            return resp
        resp = Response("<html><body><h1>%d</h1>The server had a problem.</body></html>"
                        % fault.status, status=fault.status, mimetype="text/html")
        return resp

    @app.post("/admin/api/<version>/graphql.json")
    def graphql_endpoint(version: str):
        if request.headers.get("X-Shopify-Access-Token") != fake.token:
            fake.calls.append({"operation": None, "status": 401, "code": "auth"})
            return jsonify(INVALID_TOKEN_BODY), 401
        if version != ADMIN_API_VERSION:
            return jsonify({"errors": "Not Found"}), 404
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return jsonify({"errors": {"query": "Required parameter missing or invalid"}}), 400
        name = body.get("operationName") or _operation_name(body.get("query"))
        faulted = _fault()
        if faulted is not None:
            fake.calls.append({"operation": name, "status": faulted.status_code,
                               "code": "fault"})
            return faulted
        payload = fake.endpoint.handle(body, request.host_url)
        cost = payload.get("extensions", {}).get("cost", {})
        codes = [(e.get("extensions") or {}).get("code") for e in payload.get("errors", [])]
        fake.calls.append({"operation": name, "status": 200, "code": codes[0] if codes else None,
                           "requested": cost.get("requestedQueryCost"),
                           "actual": cost.get("actualQueryCost")})
        return jsonify(payload)

    @app.get("/bulk/<int:ident>.jsonl")
    def bulk_download(ident: int):
        faulted = _fault(download=True)
        if faulted is not None:
            return faulted
        data = fake.bulk.download(ident, request.args.get("sig", ""))
        if data is None:
            return Response("<Error><Code>AccessDenied</Code></Error>", status=403,
                            mimetype="application/xml")
        return Response(data, mimetype="application/jsonl")

    @app.route("/_fake/faults", methods=["GET", "POST"])
    def faults_control():
        if request.method == "POST":
            try:
                config = fake.faults.configure(**(request.get_json(silent=True) or {}))
            except (ValueError, TypeError) as exc:
                return jsonify({"error": str(exc)}), 400
        else:
            config = fake.faults.configure()
        return jsonify({"config": config, "injected": dict(fake.faults.injected)})

    @app.route("/_fake/clock", methods=["GET", "POST"])
    def clock_control():
        released = {}
        if request.method == "POST":
            body = request.get_json(silent=True) or {}
            try:
                until = body.get("until")
                released = fake.advance(days=float(body.get("days") or 0),
                                        hours=float(body.get("hours") or 0),
                                        until=pd.Timestamp(until).to_pydatetime()
                                        if until else None)
            except (ValueError, TypeError) as exc:
                return jsonify({"error": str(exc)}), 400
        nxt = fake.replay.next_time() if fake.replay else None
        return jsonify({"now": fake.store.now().isoformat(), "released": released,
                        "pending": fake.replay.pending if fake.replay else 0,
                        "next_event": nxt.isoformat() if nxt else None})

    @app.route("/_fake/webhooks", methods=["GET", "POST"])
    def webhooks_control():
        if request.method == "POST":
            body = request.get_json(silent=True) or {}
            topics = list(TOPIC_ENUMS.values()) if body.get("topic") == "all" \
                else [body.get("topic") or ""]
            try:
                for topic in topics:
                    dispatcher.subscribe(topic, str(body.get("uri") or ""))
            except ValueError as exc:
                return jsonify({"error": str(exc)}), 400
        subs = [{"id": s["id"], "topic": s["topic"], "uri": s["uri"]}
                for s in store.webhooks.values()]
        done = [{"topic": d.topic, "uri": d.uri, "event_id": d.event_id, "ok": d.ok,
                 "attempts": d.attempts, "status": d.status, "errors": d.errors}
                for d in list(dispatcher.deliveries)[-200:]]
        return jsonify({"subscriptions": subs, "deliveries": done,
                        "failures": len(dispatcher.failures)})

    return app


def _operation_name(text) -> str | None:
    """The operation's name from a query text (``query OrdersPage(...)`` -> OrdersPage)."""
    if not isinstance(text, str):
        return None
    head = text.strip().split("(")[0].split("{")[0].split()
    return head[1] if len(head) >= 2 else None
