"""Bulk query operations of the fake: validate, run in a background thread, serve JSONL.

``bulkOperationRunQuery`` checks the query as Shopify does (valid against the schema, no
deprecated fields, a connection at the top, at most 5 connections nested at most 2 deep),
creates the operation (``CREATED``), and a worker thread executes it (``RUNNING``) over the
top-level connection's objects in chunks (the store lock is held per chunk, not for the whole
run; :func:`.walk.walk` executes the validated query), flattens the result into Shopify's JSONL (one object per line; nodes of nested
connections on lines of their own carrying ``__parentId``; ``edges``/``node`` wrappers
removed) and marks it ``COMPLETED`` with ``objectCount``, ``rootObjectCount``, ``fileSize`` and
a download ``url``, then notifies listeners and ``BULK_OPERATIONS_FINISH`` webhook
subscriptions. ``min_seconds`` (on the injected clock) keeps an operation ``RUNNING`` at
least that long, so tests can watch the states.
"""
from __future__ import annotations

import hmac
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from graphql import (GraphQLSchema, NoDeprecatedCustomRule, TypeInfo, TypeInfoVisitor, Visitor,
                     get_named_type, parse, specified_rules, validate, visit)
from graphql.language import FieldNode, OperationDefinitionNode

from .nodes import FakeContext, iso
from .resources import RESOURCES, QueryRoot
from .store import FakeStore
from .walk import walk

__all__ = ["BulkOperation", "BulkRegistry", "flatten_jsonl"]

log = logging.getLogger(__name__)
_ROOTS = ("products", "orders", "customers", "locations")
_MAX_CONNECTIONS, _MAX_DEPTH, _MAX_RUNNING = 5, 2, 5


@dataclass
class BulkOperation:
    id: int
    query: str
    created_at: datetime
    started: float
    status: str = "CREATED"
    type: str = "QUERY"
    completed_at: datetime | None = None
    error_code: str | None = None
    object_count: int = 0
    root_object_count: int = 0
    data: bytes | None = None
    signature: str = ""
    base_url: str = ""


def _is_connection(value) -> bool:
    return isinstance(value, dict) and ("edges" in value or "nodes" in value) and \
        set(value) <= {"edges", "nodes", "pageInfo"}


def _children(conn: dict) -> list[dict]:
    if "edges" in conn:
        return [e["node"] for e in conn["edges"] if isinstance(e, dict) and "node" in e]
    return list(conn.get("nodes") or [])


def flatten_jsonl(root_connection: dict, out: list[dict]) -> int:
    """Append Shopify bulk lines for every node of ``root_connection``; return root count."""
    def emit(node: dict, parent: str | None) -> None:
        line, nested = {}, []
        for key, value in node.items():
            (nested.append(value) if _is_connection(value) else line.__setitem__(key, value))
        if parent is not None:
            line["__parentId"] = parent
        out.append(line)
        for conn in nested:
            for child in _children(conn):
                emit(child, node.get("id"))

    roots = _children(root_connection)
    for node in roots:
        emit(node, None)
    return len(roots)


def _check_shape(schema: GraphQLSchema, document) -> tuple[str | None, str | None]:
    """``(root field name, None)`` or ``(None, error message)`` for a bulk query."""
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(ops) != 1 or ops[0].operation.value != "query":
        return None, "Bulk queries must contain exactly one query operation."
    tops = [s for s in ops[0].selection_set.selections if isinstance(s, FieldNode)]
    info, stack, found = TypeInfo(schema), [], []

    class Counter(Visitor):
        def enter_field(self, *_):
            named = get_named_type(info.get_type())
            is_conn = named is not None and named.name.endswith("Connection")
            stack.append(is_conn)
            if is_conn:
                found.append(sum(stack))

        def leave_field(self, *_):
            stack.pop()

    visit(document, TypeInfoVisitor(info, Counter()))
    if not found:
        return None, "Bulk queries must contain at least one connection."
    if len(found) > _MAX_CONNECTIONS:
        return None, f"Bulk queries cannot contain more than {_MAX_CONNECTIONS} connections."
    if max(found) > _MAX_DEPTH:
        return None, f"Bulk queries cannot contain connections with a nesting depth greater " \
                     f"than {_MAX_DEPTH}."
    if len(tops) != 1 or tops[0].name.value not in _ROOTS:
        return None, "The Shopify fake runs bulk queries whose only top-level field is one " \
                     f"of {', '.join(_ROOTS)}."
    return tops[0].name.value, None


class BulkRegistry:
    """The shop's bulk operations.

    Args:
        store: The shop data.
        schema: The Admin schema.
        clock: Monotonic seconds (``min_seconds`` is measured on it).
        now: Wall clock for ``createdAt`` / ``completedAt``.
        min_seconds: Shortest time an operation stays RUNNING.
        chunk: Root objects executed per store-lock hold.
        shop_domain: The shop's domain.
        webhook_secret: Unused here: ``bulk_operations/finish`` goes out through the store's
            dispatcher (:mod:`.deliveries`), which signs with the app secret.
    """

    def __init__(self, store: FakeStore, schema: GraphQLSchema, clock: Callable[[], float],
                 now: Callable[[], datetime], min_seconds: float = 0.0, chunk: int = 2000,
                 shop_domain: str = "sandbox.myshopify.com",
                 webhook_secret: str | None = None) -> None:
        self.store, self.schema, self.clock, self.now = store, schema, clock, now
        self.min_seconds, self.chunk = min_seconds, chunk
        self.shop_domain, self.webhook_secret = shop_domain, webhook_secret
        self.listeners: list[Callable[[dict], None]] = []
        self._ops: dict[int, BulkOperation] = {}
        self._pending: dict[int, tuple] = {}
        self._next = 4_000_000_001
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ registry
    def all(self) -> list[BulkOperation]:
        with self._lock:
            return list(self._ops.values())

    def get(self, ident: int) -> BulkOperation | None:
        return self._ops.get(ident)

    def node(self, op: BulkOperation) -> dict:
        """The ``BulkOperation`` GraphQL object."""
        done = op.status == "COMPLETED"
        url = f"{op.base_url}bulk/{op.id}.jsonl?sig={op.signature}" if done and op.data else None
        return {"__typename": "BulkOperation", "id": f"gid://shopify/BulkOperation/{op.id}",
                "status": op.status, "type": op.type, "errorCode": op.error_code,
                "createdAt": iso(op.created_at), "completedAt": iso(op.completed_at),
                "objectCount": str(op.object_count), "rootObjectCount": str(op.root_object_count),
                "fileSize": str(len(op.data)) if done and op.data else None, "url": url,
                "partialDataUrl": None, "query": op.query}

    def download(self, ident: int, signature: str) -> bytes | None:
        """The JSONL of a completed operation, if the signature matches."""
        op = self._ops.get(ident)
        if op is None or op.data is None or not hmac.compare_digest(op.signature, signature):
            return None
        return op.data

    # ------------------------------------------------------------------ start
    def start(self, query: str, base_url: str) -> tuple[BulkOperation | None, list[dict]]:
        """Validate and start a bulk query; ``(operation, userErrors)``."""
        def error(message: str, code: str = "INVALID") -> tuple[None, list[dict]]:
            return None, [{"field": ["query"], "message": message, "code": code}]

        try:
            document = parse(query)
        except Exception as exc:  # graphql syntax error
            return error(f"Invalid bulk query: {getattr(exc, 'message', exc)}")
        problems = validate(self.schema, document, (*specified_rules, NoDeprecatedCustomRule))
        if problems:
            return error("Invalid bulk query: " + "; ".join(p.message for p in problems))
        root, problem = _check_shape(self.schema, document)
        if problem:
            return error(problem)
        with self._lock:
            running = [o for o in self._ops.values() if o.status in ("CREATED", "RUNNING")]
            if len(running) >= _MAX_RUNNING:
                return error(f"A maximum of {_MAX_RUNNING} bulk queries can run at a time.",
                             "LIMIT_REACHED")
            op = BulkOperation(self._next, query, self.now(), self.clock(),
                               signature=secrets.token_urlsafe(16), base_url=base_url)
            self._next += 1
            self._ops[op.id] = op
        self._pending[op.id] = (document, root)
        return op, []

    def launch(self, op: BulkOperation) -> None:
        """Start the worker of an operation made by :meth:`start` (after its CREATED state
        was reported)."""
        document, root = self._pending.pop(op.id)
        threading.Thread(target=self._run, args=(op, document, root), daemon=True,
                         name=f"fake-bulk-{op.id}").start()

    # ------------------------------------------------------------------ worker
    def _run(self, op: BulkOperation, document, root: str) -> None:
        op.status = "RUNNING"
        try:
            with self.store.lock:
                ids = sorted(o.id for o in RESOURCES[root].items(FakeContext(self.store)))
            lines: list[dict] = []
            roots = 0
            for start in range(0, max(len(ids), 1), self.chunk):
                with self.store.lock:
                    ctx = FakeContext(self.store, self, unlimited=True,
                                      root_ids=ids[start:start + self.chunk],
                                      shop_domain=self.shop_domain)
                    data = walk(self.schema, document, QueryRoot(), ctx)
                roots += flatten_jsonl(next(iter(data.values())), lines)
            op.data = "".join(json.dumps(line, separators=(",", ":")) + "\n"
                              for line in lines).encode()
            op.object_count, op.root_object_count = len(lines), roots
            while self.clock() < op.started + self.min_seconds:
                time.sleep(0.005)
            op.completed_at = self.now()
            op.status = "COMPLETED"
        except Exception as exc:  # noqa: BLE001 - an operation fails, the fake lives on
            log.exception("bulk operation %s failed", op.id)
            op.error_code, op.status, op.completed_at = "INTERNAL_SERVER_ERROR", "FAILED", self.now()
            op.query = op.query + f"\n# fake error: {exc}"
        self._notify(op)

    def _notify(self, op: BulkOperation) -> None:
        payload = {"admin_graphql_api_id": f"gid://shopify/BulkOperation/{op.id}",
                   "completed_at": op.completed_at.isoformat() if op.completed_at else None,
                   "created_at": op.created_at.isoformat(), "error_code":
                   op.error_code.lower() if op.error_code else None,
                   "status": op.status.lower(), "type": op.type.lower()}
        for listener in list(self.listeners):
            try:
                listener(payload)
            except Exception:  # noqa: BLE001
                log.exception("bulk finish listener failed")
        self.store._emit("bulk_operations/finish", lambda: payload)
