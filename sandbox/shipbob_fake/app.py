"""The ShipBob fake's Flask app: the endpoints restock's client uses, checked both ways.

Every incoming request is matched to an operation of the same OpenAPI description the client
uses and validated (parameters, headers, JSON body); a request that fails gets 400 with the
error body the operation documents for 400 (``Receiving.Post.2.0.Receiving.Bad.Request.Object``
for ``POST /receiving``: ``{"<field>": ["message"]}``; ProblemDetails elsewhere). Every answer
the fake builds is validated before it leaves; a fake bug becomes a 500 recorded in
``ShipBobFake.internal_errors``, which tests assert is empty.

Order of checks per request: route -> bearer token (401) -> injected 429 -> injected random
5xx -> request validation (400) -> handler -> own response validation -> "lost response"
(the work is done, the answer is replaced by a 5xx) -> deliberate corruption.
"""
from __future__ import annotations

import base64
import json
import uuid
from typing import Any, Callable
from urllib.parse import urlencode

from flask import Flask, Response, request

from connector.adapters.shipbob.openapi import SchemaViolation

from .state import FakeRejection

__all__ = ["create_app", "HANDLERS"]

V = "/2026-01"
HANDLERS: dict[tuple[str, str], Callable] = {}


def handles(method: str, template: str):
    """Register a handler ``(fake, path_params, args, body) -> (status, body)``."""
    def register(fn):
        HANDLERS[(method, template)] = fn
        return fn
    return register


def _page_links(template: str, args, total: int, default_size: int = 50) -> tuple[int, int, dict]:
    """Cursor paging: ``Cursor`` is an opaque base64 offset; links keep ``PageSize``."""
    size = int(args.get("PageSize") or default_size)
    cursor = args.get("Cursor")
    start = int(base64.urlsafe_b64decode(cursor.encode()).decode()) if cursor else 0
    extra = {k: v for k, v in args.items() if k not in ("Cursor",)}

    def link(offset: int) -> str:
        token = base64.urlsafe_b64encode(str(offset).encode()).decode()
        return f"{template}?{urlencode({**extra, 'PageSize': size, 'Cursor': token})}"
    last_start = max(0, (total - 1) // size * size)
    links = {"first": link(0), "last": link(last_start),
             "next": link(start + size) if start + size < total else None,
             "prev": link(max(0, start - size)) if start > 0 else None}
    return start, size, links


@handles("GET", f"{V}/inventory-level")
def inventory_level(fake, _params, args, _body):
    with fake.state.lock:
        rows = []
        for inv, item in sorted(fake.state.items.items()):
            totals = {k: sum(lv[k] for lv in item["levels"].values())
                      for k in ("fulfillable_quantity", "on_hand_quantity", "committed_quantity",
                                "awaiting_quantity", "internal_transfer_quantity")}
            rows.append({
                "inventory_id": inv, "sku": item["sku"], "name": item["name"],
                "total_fulfillable_quantity": totals["fulfillable_quantity"],
                "total_on_hand_quantity": totals["on_hand_quantity"],
                "total_committed_quantity": totals["committed_quantity"],
                "total_awaiting_quantity": totals["awaiting_quantity"],
                "total_internal_transfer_quantity": totals["internal_transfer_quantity"],
                "total_sellable_quantity": totals["fulfillable_quantity"]
                + totals["awaiting_quantity"],
                "total_backordered_quantity": 0, "total_exception_quantity": 0})
    start, size, links = _page_links(f"{V}/inventory-level", args, len(rows))
    return 200, {"items": rows[start:start + size], **links}


@handles("GET", f"{V}/inventory-level/locations")
def inventory_level_locations(fake, _params, args, _body):
    only = args.get("LocationId")
    with fake.state.lock:
        rows = []
        for inv, item in sorted(fake.state.items.items()):
            locs = [{"location_id": fc, "name": fake.state.fulfillment_centers.get(
                        fc, {}).get("name"), **levels}
                    for fc, levels in sorted(item["levels"].items())
                    if only is None or str(fc) == only]
            rows.append({"inventory_id": inv, "sku": item["sku"], "name": item["name"],
                         "locations": locs})
    start, size, links = _page_links(f"{V}/inventory-level/locations", args, len(rows))
    return 200, {"items": rows[start:start + size], **links}


@handles("GET", f"{V}/fulfillment-center")
def fulfillment_centers(fake, _params, _args, _body):
    with fake.state.lock:
        return 200, [dict(fc) for _, fc in sorted(fake.state.fulfillment_centers.items())]


@handles("GET", f"{V}/receiving")
def list_receiving(fake, _params, args, _body):
    def split(name):
        return {v for v in (args.get(name) or "").split(",") if v}
    pos, statuses, ids, fcs = (split("PurchaseOrderNumbers"), split("Statuses"), split("IDs"),
                               split("FulfillmentCenterIds"))
    page, limit = int(args.get("Page") or 1), int(args.get("Limit") or 50)
    with fake.state.lock:
        views = [fake.state.wro_view(i) for i in sorted(fake.state.wros)]
    views = [w for w in views
             if (not pos or w["purchase_order_number"] in pos)
             and (not statuses or w["status"] in statuses)
             and (not ids or str(w["id"]) in ids)
             and (not fcs or str(w["fulfillment_center"]["id"]) in fcs)]
    return 200, views[(page - 1) * limit: page * limit]


@handles("POST", f"{V}/receiving")
def create_receiving(fake, _params, _args, body):
    return 201, fake.state.create_wro(body)


@handles("GET", f"{V}/receiving/{{id}}")
def get_receiving(fake, params, _args, _body):
    wro_id = int(params["id"])
    with fake.state.lock:
        if wro_id not in fake.state.wros:
            raise FakeRejection(404, "Not Found", detail=f"Receiving order {wro_id} not found")
        return 200, fake.state.wro_view(wro_id)


def _resolve(description, schema: dict | None) -> dict:
    while schema and "$ref" in schema:
        schema = description.schema(schema["$ref"].rsplit("/", 1)[-1])
    return schema or {}


def error_body(description, method: str, template: str, status: int, title: str,
               errors: dict[str, list[str]], detail: str | None = None) -> Any:
    """An error body shaped as the operation documents for ``status`` (ProblemDetails, a
    ``{field: [messages]}`` object), or a ValidationProblemDetails when it documents none."""
    found = description.response_schema(method, template, status)
    schema = _resolve(description, found[1] if found else None)
    props = schema.get("properties", {})
    if not props and isinstance(schema.get("additionalProperties"), dict):
        return errors or {"": [detail or title]}
    body = {"type": "https://tools.ietf.org/html/rfc9110#section-15.5.1", "title": title,
            "status": status,
            "detail": detail or "; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items())}
    if errors and (not props or "errors" in props):
        body["errors"] = errors
    return body


def create_app(fake) -> Flask:
    """The WSGI app answering for ``fake`` (a :class:`~.ShipBobFake`)."""
    app = Flask("shipbob_fake")
    description = fake.description

    @app.route("/<path:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def dispatch(path: str) -> Response:
        with fake.state.lock:  # one request at a time: state and fault knobs stay consistent
            return _dispatch(path)

    def _dispatch(path: str) -> Response:
        method, full = request.method, "/" + path
        matched = description.match(method, full)
        handler = HANDLERS.get((method, matched[0])) if matched else None
        if handler is None:
            return _send(fake, method, full, 404, {"title": "Not Found", "status": 404})
        template, params = matched
        if request.headers.get("Authorization") != f"Bearer {fake.token}":
            return _send(fake, method, template, 401, {"message": "Authorization has been "
                                                       "denied for this request."})
        wait = fake.faults.next_throttle()
        if wait is not None:
            return _send(fake, method, template, 429, {
                "statusCode": 429,
                "message": f"Rate limit is exceeded. Try again in {wait:g} seconds."},
                {"Retry-After": f"{wait:g}", "x-retry-after": f"{wait:g}",
                 "x-remaining-calls": "0"})
        status = fake.faults.random_error()
        if status is not None:
            return _send(fake, method, template, status, {"message": "injected fault"})
        body = None
        if request.get_data():
            try:
                body = json.loads(request.get_data())
            except ValueError as exc:
                return _send(fake, method, template, 400, error_body(
                    description, method, template, 400, "Invalid JSON", {"$": [str(exc)]}))
        try:
            description.validate_request(method, template, body, params=request.args,
                                         headers=request.headers, path_params=params)
            status, out = handler(fake, params, request.args, body)
        except SchemaViolation as exc:
            fake.rejected.append(exc)
            errors: dict[str, list[str]] = {}
            for p in exc.problems:
                errors.setdefault(p.path, []).append(p.message)
            return _send(fake, method, template, 400, error_body(
                description, method, template, 400, "One or more validation errors occurred.",
                errors))
        except FakeRejection as exc:
            return _send(fake, method, template, exc.status, error_body(
                description, method, template, exc.status, exc.title, exc.errors, exc.detail))
        return _send(fake, method, template, status, out, validate=True)

    return app


def _send(fake, method: str, template: str, status: int, body: Any,
          headers: dict | None = None, validate: bool = False) -> Response:
    """Validate (when the operation documents the status), apply faults, log, answer."""
    try:
        documented = fake.description.response_schema(method, template, status) is not None
    except SchemaViolation:  # no such operation (an unknown route): nothing to check against
        documented = False
    if validate or (documented and 400 <= status < 500):
        try:
            fake.description.validate_response(method, template, status, body)
        except SchemaViolation as exc:
            fake.internal_errors.append(str(exc))
            status, body = 500, {"fake_error": str(exc)}
    if status < 300:
        lost = fake.faults.lost_status(method, template)
        if lost is not None:
            status, body = lost, {"message": "injected fault: the work was done"}
        else:
            mutate = fake.faults.corruption(method, template)
            if mutate is not None:
                body = mutate(body)
    fake.log.append((method, template, status))
    out = {"Content-Type": "application/json", "x-request-id": uuid.uuid4().hex,
           "x-remaining-calls": "149", **(headers or {})}
    return Response(json.dumps(body), status=status, headers=out)
