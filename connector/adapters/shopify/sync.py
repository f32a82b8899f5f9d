"""Sync a Shopify shop into restock's storage, stream by stream (see :mod:`.streams`).

Backfill (``full=True``, or a stream without a bookmark yet) runs the stream's bulk query:
``bulkOperationRunQuery``, then ``bulkOperation(id)`` is polled until ``COMPLETED`` (a
``bulk_waiter`` - e.g. one woken by the ``bulk_operations/finish`` webhook - may do the
waiting first), the JSONL (asked for grouped: children directly below their parent) is
streamed to a temporary file and read back line by line (:mod:`.bulk`), and the roots, with
their children put back under them by ``__parentId``, are loaded in batches of
``_BULK_BATCH``, so memory follows the batch, not the file. The bookmark (the bulk operation's
``createdAt``, never past the sync start) is written only once every batch is in, so a crash
mid-load simply runs the backfill again: every load is an upsert.

Increments page through ``updated_at:>'<bookmark - 5 min>'`` sorted by ``UPDATED_AT``. Each
page is transformed (:mod:`.transform`), made loadable against the database
(:func:`.transform.resolve_references`: unknown SKUs dropped with a warning, stub customers
and locations) and loaded with :func:`core.ingest.load_records` in one transaction together
with the stream's new bookmark: the largest ``updatedAt`` loaded, capped at the sync start.
An interrupted sync resumes from the last bookmark; re-running changes nothing.

Follow-up queries complete what a page could not hold: ``product_variants`` for products
with more than 25 variants, ``order_line_items`` for orders with more than 10 lines, and
``order_refunds`` for orders whose refunds did not fit (and for every refunded order of a
bulk backfill, whose body cannot nest refund lines).
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import BinaryIO, Callable, Iterable

import pandas as pd
from sqlalchemy import select

from core.ingest import load_records
from core.records import ShopRecords
from core.shops import get_or_create_shop
from core.storage import Customer, Location, SyncState, Variant, session_scope
from core.upsert import refresh_statistics

from .client import AdminClient
from .queries import DOCUMENTS
from .bulk import BulkFileError, batch_gc, download, read_batches
from .streams import STREAMS, Stream, bookmark_key
from .transform import (Resolution, customers_records, inventory_records, locations_records,
                        max_cursor, orders_records, parse_time, products_records,
                        resolve_references)

__all__ = ["sync_shop", "ShopifySync", "ShopifySyncError", "OVERLAP"]

log = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=5)
"""Increments re-read this much before the bookmark (late index updates, equal stamps)."""
_BULK_BATCH = 2000
"""Parents (orders, products, ...) per bulk-load transaction."""
_TERMINAL = {"FAILED", "CANCELED", "EXPIRED"}
_BUSY = {"LIMIT_REACHED", "OPERATION_IN_PROGRESS"}
_TRANSFORMS = {"locations": locations_records, "products": products_records,
               "customers": customers_records, "orders": orders_records}


class ShopifySyncError(Exception):
    """A sync step failed in a way retries did not fix (bulk operation failed, bad file)."""


def sync_shop(session_factory, shop_name: str, client: AdminClient, full: bool = False,
              now: datetime | None = None, **options) -> dict[str, int]:
    """Sync every stream of one shop; return counts.

    Args:
        session_factory: A SQLAlchemy ``sessionmaker`` (``core.storage.make_sessionmaker``).
        shop_name: restock's shop name (created when missing; the CLI uses the domain).
        client: An :class:`AdminClient` for the shop.
        full: Backfill every stream with bulk operations, bookmarks or not.
        now: The sync start (bookmarks never pass it; inventory is dated on its day);
            defaults to the current time.
        **options: See :class:`ShopifySync` (``streams``, ``backfill``, ``sleep``,
            ``bulk_waiter``, ``on_page``, ``bulk_timeout``, ``poll_interval``).

    Returns:
        Rows loaded per entity (``locations``, ``products``, ``variants``, ``inventory``,
        ``customers``, ``orders``, ``order_lines``), ``pages``, ``bulk_operations``,
        ``requests`` made for follow-ups, ``warnings`` and ``unknown_sku_lines``.
    """
    return ShopifySync(session_factory, shop_name, client, now=now, **options).run(full=full)


class ShopifySync:
    """One sync run.

    Args:
        session_factory: A SQLAlchemy ``sessionmaker``.
        shop_name: restock's shop name.
        client: The Admin API client.
        now: Sync start; defaults to the current time.
        streams: Names of the streams to run (default: all, in :data:`.streams.STREAMS`
            order).
        backfill: ``"bulk"`` (default) or ``"pages"`` (backfill through the paged queries
            from the beginning; slow on big shops, handy for small ones and tests).
        sleep: Waits between bulk polls and download retries (injectable for tests).
        bulk_waiter: Called ``(operation GID, timeout seconds)`` before polling starts, e.g.
            to block until the ``bulk_operations/finish`` webhook arrives.
        on_page: Called ``(stream name, page number)`` after each committed page or batch.
        bulk_timeout: Seconds of polling after which a bulk operation is given up.
        poll_interval: First wait between polls (grows 1.5x to 15 s).
    """

    def __init__(self, session_factory, shop_name: str, client: AdminClient, *,
                 now: datetime | None = None, streams: Iterable[str] | None = None,
                 backfill: str = "bulk", sleep: Callable[[float], None] = time.sleep,
                 bulk_waiter: Callable[[str, float], None] | None = None,
                 on_page: Callable[[str, int], None] | None = None,
                 bulk_timeout: float = 4 * 3600.0, poll_interval: float = 1.0) -> None:
        if backfill not in ("bulk", "pages"):
            raise ValueError(f"backfill must be 'bulk' or 'pages', not {backfill!r}")
        self.sessions, self.shop_name, self.client = session_factory, shop_name, client
        start = pd.Timestamp(now or datetime.now(timezone.utc))
        self.start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
        names = {s.name for s in STREAMS}
        self.streams = [s for s in STREAMS if streams is None or s.name in set(streams)]
        unknown = set(streams or ()) - names
        if unknown:
            raise ValueError(f"unknown streams {sorted(unknown)}; known: {sorted(names)}")
        self.backfill, self.sleep, self.bulk_waiter, self.on_page = \
            backfill, sleep, bulk_waiter, on_page
        self.bulk_timeout, self.poll_interval = bulk_timeout, poll_interval
        self.counts: Counter = Counter()
        self.res = Resolution()
        self.shop_id: int | None = None
        self.day = None

    # ------------------------------------------------------------------ run
    def run(self, full: bool = False) -> dict[str, int]:
        """Run the selected streams in order; return the counts."""
        with session_scope(self.sessions) as s:
            shop = get_or_create_shop(s, self.shop_name, domain=self.client.shop_domain)
            self.shop_id, tz = shop.id, shop.timezone or "UTC"
        self.day = self.start.tz_convert(tz).date()
        for stream in self.streams:
            before = dict(self.counts)
            self._run_stream(stream, full)
            log.info("shopify %s: %s", stream.name, {k: v - before.get(k, 0)
                                                     for k, v in self.counts.items()
                                                     if v - before.get(k, 0)})
        for message in self.res.warnings[:20]:
            log.warning("shopify sync: %s", message)
        if len(self.res.warnings) > 20:
            log.warning("shopify sync: ... and %d more warnings", len(self.res.warnings) - 20)
        out = {k: int(self.counts.get(k, 0)) for k in (
            "locations", "products", "variants", "inventory", "customers", "orders",
            "order_lines", "pages", "bulk_operations", "requests")}
        out.update(warnings=len(self.res.warnings), unknown_sku_lines=self.res.unknown_sku_lines)
        return out

    def _run_stream(self, stream: Stream, full: bool) -> None:
        cursor = self._bookmark(stream)
        backfill = full or cursor is None
        if stream.mode == "full":
            self._pages(stream, None)
        elif stream.mode == "snapshot":
            if backfill and self.backfill == "bulk" and stream.bulk_document:
                self._bulk(stream)
            else:
                self._inventory_pages(stream)
        elif backfill and self.backfill == "bulk":
            self._bulk(stream)
        else:
            self._pages(stream, None if full else cursor)

    # ------------------------------------------------------------------ paged reads
    def _pages(self, stream: Stream, cursor: pd.Timestamp | None) -> None:
        variables: dict = {}
        if cursor is not None:
            since = (cursor - OVERLAP).strftime("%Y-%m-%dT%H:%M:%SZ")
            variables["query"] = f"updated_at:>'{since}'"
        mark, after, page = cursor, None, 0
        while True:
            data = self.client.execute(DOCUMENTS[stream.document], {**variables, "after": after})
            conn = data[stream.root]
            nodes = list(conn.get("nodes") or [])
            records = self._transform(stream, nodes, bulk=False)
            if stream.mode == "incremental":
                marks = [x for x in (mark, max_cursor(nodes, stream.cursor_field)) if x is not None]
                mark = max(marks) if marks else None
                bookmark = min(mark, self.start) if mark is not None else None
            else:
                bookmark = self.start
            page += 1
            self._load(stream, records, bookmark)
            self.counts["pages"] += 1
            self._hook(stream, page)
            info = conn.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                return
            after = info.get("endCursor")

    def _inventory_pages(self, stream: Stream) -> None:
        with session_scope(self.sessions) as s:
            ids = list(s.scalars(select(Location.external_id)
                                 .where(Location.shop_id == self.shop_id)
                                 .order_by(Location.id)))
        page = 0
        for ext in ids:
            location_gid, after = f"gid://shopify/Location/{ext}", None
            while True:
                data = self.client.execute(DOCUMENTS[stream.document], {
                    "locationId": location_gid, "after": after, "query": None})
                location = data.get(stream.root)
                if location is None:
                    self.res.warnings.append(f"location {ext} is gone from Shopify")
                    break
                conn = location["inventoryLevels"]
                levels = [(location_gid, n) for n in conn.get("nodes") or []]
                page += 1
                self._load(stream, inventory_records(levels, self.day), self.start)
                self.counts["pages"] += 1
                self._hook(stream, page)
                info = conn.get("pageInfo") or {}
                if not info.get("hasNextPage"):
                    break
                after = info.get("endCursor")

    # ------------------------------------------------------------------ bulk backfill
    def _bulk(self, stream: Stream) -> None:
        op, result = self._run_bulk(DOCUMENTS[stream.bulk_document])
        if result is not None:
            with result, batch_gc() as collect:
                try:
                    for number, batch in enumerate(
                            read_batches(result, stream.children, _BULK_BATCH), start=1):
                        if stream.mode == "snapshot":
                            levels = [(loc["id"], lv) for loc in batch
                                      for lv in loc["inventoryLevels"]["nodes"]]
                            records = inventory_records(levels, self.day)
                        else:
                            records = self._transform(stream, batch, bulk=True)
                        del batch
                        loaded = self._load(stream, records, None)
                        del records
                        collect()
                        if number & (number - 1) == 0:  # 1, 2, 4, 8, ...: fresh statistics
                            with session_scope(self.sessions) as s:
                                refresh_statistics(s, [t for t, n in loaded.items() if n])
                        self._hook(stream, number)
                except BulkFileError as exc:
                    raise ShopifySyncError(f"{stream.name} backfill: {exc}") from None
        created = parse_time(op.get("createdAt")) or self.start
        with session_scope(self.sessions) as s:
            self._write_bookmark(s, stream, min(created, self.start)
                                 if stream.mode == "incremental" else self.start)

    def _run_bulk(self, body: str) -> tuple[dict, BinaryIO | None]:
        """Start a bulk query, wait for it and download its JSONL into a temporary file.

        Returns the operation and the file, open for reading (deleted when closed), or None
        when the operation found no objects (Shopify then gives no file).
        """
        for attempt in range(10):
            data = self.client.execute(DOCUMENTS["bulk_operation_run_query"], {"query": body})
            payload = data["bulkOperationRunQuery"]
            errors = payload.get("userErrors") or []
            if not errors:
                break
            if not {e.get("code") for e in errors} & _BUSY or attempt == 9:
                raise ShopifySyncError("bulk query refused: "
                                       + "; ".join(e.get("message", "") for e in errors))
            self.sleep(min(60.0, self.poll_interval * 2 ** attempt))
        op = payload["bulkOperation"]
        self.counts["bulk_operations"] += 1
        if self.bulk_waiter is not None:
            self.bulk_waiter(op["id"], self.bulk_timeout)
        op = self._await(op["id"])
        if not op.get("url"):
            return op, None
        return op, self._download(op["url"])

    def _await(self, op_id: str) -> dict:
        waited, interval = 0.0, self.poll_interval
        while True:
            op = self.client.execute(DOCUMENTS["bulk_operation"], {"id": op_id})["bulkOperation"]
            if op is None:
                raise ShopifySyncError(f"bulk operation {op_id} not found")
            if op["status"] == "COMPLETED":
                return op
            if op["status"] in _TERMINAL:
                raise ShopifySyncError(f"bulk operation {op_id} {op['status'].lower()} "
                                       f"({op.get('errorCode')})")
            if waited >= self.bulk_timeout:
                raise ShopifySyncError(f"bulk operation {op_id} still {op['status']} after "
                                       f"{waited:.0f} s")
            self.sleep(interval)
            waited += interval
            interval = min(interval * 1.5, 15.0)

    def _download(self, url: str) -> BinaryIO:
        """The result file in a temporary file (see :func:`.bulk.download`)."""
        c = self.client
        try:
            return download(c.session, url, timeout=c.timeout, max_retries=c.max_retries,
                            backoff=(c.backoff_base, c.backoff_cap), sleep=self.sleep)
        except BulkFileError as exc:
            raise ShopifySyncError(str(exc)) from None

    # ------------------------------------------------------------------ follow-ups
    def _transform(self, stream: Stream, nodes: list[dict], bulk: bool) -> ShopRecords:
        if stream.name == "products":
            self._complete_variants(nodes)
        elif stream.name == "orders":
            self._complete_orders(nodes, bulk)
        return _TRANSFORMS[stream.name](nodes)

    def _complete_variants(self, products: list[dict]) -> None:
        for p in products:
            conn = p.get("variants") or {}
            info = conn.get("pageInfo") or {}
            while info.get("hasNextPage"):
                data = self.client.execute(DOCUMENTS["product_variants"], {
                    "productId": p["id"], "after": info.get("endCursor")})
                self.counts["requests"] += 1
                more = data["product"]["variants"]
                conn["nodes"].extend(more.get("nodes") or [])
                info = more.get("pageInfo") or {}

    def _complete_orders(self, orders: list[dict], bulk: bool) -> None:
        for o in orders:
            conn = o.get("lineItems") or {"nodes": []}
            info = conn.get("pageInfo") or {}
            while info.get("hasNextPage"):
                data = self.client.execute(DOCUMENTS["order_line_items"], {
                    "orderId": o["id"], "after": info.get("endCursor")})
                self.counts["requests"] += 1
                more = data["order"]["lineItems"]
                conn["nodes"].extend(more.get("nodes") or [])
                info = more.get("pageInfo") or {}
            refunds = o.get("refunds") or []
            if refunds and (bulk or len(refunds) >= 2 or any(_truncated(r) for r in refunds)):
                data = self.client.execute(DOCUMENTS["order_refunds"], {"orderId": o["id"]})
                self.counts["requests"] += 1
                o["refunds"] = (data.get("order") or {}).get("refunds") or []
                if len(o["refunds"]) >= 10 or any(_truncated(r) for r in o["refunds"]):
                    self.res.warnings.append(f"order {o['id']}: more refunds or refund lines "
                                             "than one request returns; refunded units may "
                                             "be undercounted")

    # ------------------------------------------------------------------ storage
    def _load(self, stream: Stream, records: ShopRecords, bookmark) -> dict[str, int]:
        """Resolve references, upsert and move the bookmark, in one transaction; return the
        rows written per table."""
        with session_scope(self.sessions) as s:
            sid = self.shop_id
            pairs = s.execute(select(Variant.sku, Variant.external_id)
                              .where(Variant.shop_id == sid)).all()
            wanted_c = set(records.orders["customer_external_id"].dropna())
            wanted_l = set(records.orders["location_external_id"].dropna()) | \
                set(records.inventory["location_external_id"].dropna())
            customers = set(s.scalars(select(Customer.external_id).where(
                Customer.shop_id == sid, Customer.external_id.in_(wanted_c)))) if wanted_c \
                else set()
            locations = set(s.scalars(select(Location.external_id).where(
                Location.shop_id == sid, Location.external_id.in_(wanted_l)))) if wanted_l \
                else set()
            records = resolve_references(
                records, skus={k for k, _ in pairs}, sku_by_variant={v: k for k, v in pairs},
                variant_by_sku=dict(pairs), customers=customers, locations=locations,
                res=self.res)
            loaded = load_records(s, sid, records)
            if bookmark is not None:
                self._write_bookmark(s, stream, bookmark)
        for table, n in loaded.items():
            self.counts["inventory" if table == "inventory_snapshots" else table] += n
        return loaded

    def _bookmark(self, stream: Stream) -> pd.Timestamp | None:
        with session_scope(self.sessions) as s:
            value = s.scalar(select(SyncState.cursor).where(
                SyncState.shop_id == self.shop_id, SyncState.stream == bookmark_key(stream)))
        return parse_time(value) if value else None

    def _write_bookmark(self, session, stream: Stream, value: pd.Timestamp) -> None:
        row = session.scalar(select(SyncState).where(
            SyncState.shop_id == self.shop_id, SyncState.stream == bookmark_key(stream)))
        if row is None:
            row = SyncState(shop_id=self.shop_id, stream=bookmark_key(stream))
            session.add(row)
        row.cursor = value.isoformat()
        row.updated_at = datetime.now(timezone.utc)

    def _hook(self, stream: Stream, page: int) -> None:
        if self.on_page is not None:
            self.on_page(stream.name, page)


def _truncated(refund: dict) -> bool:
    """True when a refund's lines were not (all) read."""
    lines = refund.get("refundLineItems")
    return lines is None or bool((lines.get("pageInfo") or {}).get("hasNextPage"))
