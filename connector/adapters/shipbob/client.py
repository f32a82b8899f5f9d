"""ShipBob REST API 2026-01 client: one retry policy, typed errors, every message validated.

Authentication: the description's only security scheme (``PAT``) is HTTP bearer and every
operation declares a required ``Authorization`` header, so each request carries
``Authorization: Bearer <token>`` (a Personal Access Token or an OAuth access token).
``shipbob_channel_id`` is sent when the client has a channel id and the operation declares
that header; none of the operations this client uses declares it, and the request check
fails before sending if an operation requires it and no channel id was given.

Validation: each request (query, path and header parameters and the JSON body) is checked
against the description *before* it is sent (:class:`ShipBobRequestInvalid`, nothing sent);
each response whose status the client acts on (2xx, and documented 4xx) is checked after it
arrives (:class:`ShipBobResponseInvalid`). 429 and 5xx answers are retried without a check:
the description documents neither for most operations (they come from the gateway).

Retry policy (all of it in :meth:`ShipBobClient.request`; one budget of ``max_retries``
retries per call, shared by every kind):

* HTTP 429: wait ``Retry-After`` or ShipBob's ``x-retry-after`` seconds (developer.shipbob.com
  "Rate limit": 150 requests/minute, sliding window), at most ``max_wait``; exponential
  backoff when neither header is readable; exhausted -> :class:`ShipBobThrottled`.
* HTTP 5xx, timeouts and connection errors: exponential backoff with equal jitter,
  ``d = min(backoff_cap, backoff_base * 2**attempt)``, sleep uniformly in ``[d/2, d]``;
  exhausted -> :class:`ShipBobServerError`. A POST or PATCH is only re-sent after its
  caller's ``recover`` hook found that the failed attempt left nothing behind (see
  :meth:`ShipBobClient.create_receiving_order`); without a hook it is not retried.
* Any other status >= 400 -> :class:`ShipBobError` (``ShipBobAuthError`` for 401/403,
  ``ShipBobNotFound`` for 404), no retry.

The description documents no request id header; errors carry the first of
``x-request-id``, ``request-id``, ``x-correlation-id`` present, else a ``traceId`` in the body.
"""
from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Callable, Iterable, Mapping, Sequence
from urllib.parse import parse_qsl, quote, urljoin, urlsplit

import requests

from .errors import (ShipBobAuthError, ShipBobError, ShipBobNotFound, ShipBobRequestInvalid,
                     ShipBobResponseInvalid, ShipBobServerError, ShipBobThrottled,
                     error_message, request_id, validation_errors)
from .openapi import OpenAPIDescription, SchemaViolation, load_description

__all__ = [
    "API_VERSION",
    "ShipBobAuthError",
    "ShipBobClient",
    "ShipBobError",
    "ShipBobNotFound",
    "ShipBobRequestInvalid",
    "ShipBobResponseInvalid",
    "ShipBobServerError",
    "ShipBobThrottled",
    "Response",
]

log = logging.getLogger(__name__)

API_VERSION = "2026-01"
PACKING_TYPES = ("EverythingInOneBox", "OneSkuPerBox", "MultipleSkuPerBox")


@dataclass
class Response:
    """A validated answer: status, parsed JSON body (None when empty) and headers.

    ``recovered`` is True when the body came from a ``recover`` hook after an ambiguous
    failure rather than from the request's own answer (``status`` is then 200).
    """

    status: int
    body: Any
    headers: Mapping[str, str]
    recovered: bool = False


class _Retry(Exception):
    """Internal: a retryable failure, the wait, the error if retries run out, and whether
    the request may have been carried out (5xx, timeout) or surely was not (429)."""

    def __init__(self, wait: float, error: ShipBobError, ambiguous: bool) -> None:
        super().__init__(str(error))
        self.wait, self.error, self.ambiguous = wait, error, ambiguous


class ShipBobClient:
    """Talk to one ShipBob account.

    Args:
        base_url: ``https://api.shipbob.com``, ``https://sandbox-api.shipbob.com`` or a fake.
        token: Personal Access Token or OAuth access token (sent as a bearer token).
        session: A ``requests.Session`` to reuse; a new one by default.
        max_retries: Retries per request, shared by every retry kind.
        sleep: Called with the seconds to wait (injectable for tests).
        channel_id: Value for ``shipbob_channel_id`` on operations that declare it.
        timeout: Seconds per HTTP request.
        backoff_base: First backoff step in seconds.
        backoff_cap: Largest backoff step in seconds.
        max_wait: Longest wait honoured from a Retry-After header.
        rng: Returns a float in [0, 1) for jitter.
        description: The OpenAPI description; the packaged one by default.
    """

    def __init__(self, base_url: str, token: str, session: requests.Session | None = None,
                 max_retries: int = 4, sleep: Callable[[float], None] = time.sleep, *,
                 channel_id: int | str | None = None, timeout: float = 30,
                 backoff_base: float = 1.0, backoff_cap: float = 30.0,
                 max_wait: float = 120.0, rng: Callable[[], float] = random.random,
                 description: OpenAPIDescription | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.max_retries = max_retries
        self.channel_id = channel_id
        self.timeout = timeout
        self.backoff_base, self.backoff_cap, self.max_wait = backoff_base, backoff_cap, max_wait
        self.description = description or load_description()
        if self.description.bearer_scheme() is None:
            raise ValueError("the ShipBob description has no HTTP bearer security scheme")
        self.remaining_calls: int | None = None
        self._token = token
        self._sleep = sleep
        self._rng = rng

    # ------------------------------------------------------------------ endpoints
    def inventory_levels(self, page_size: int = 250) -> list[dict]:
        """Every inventory item's totals across fulfillment centers (``GET /inventory-level``,
        following ``next`` links). Items are ``Inventory.InventoryQuantityResponse``."""
        return self._paged(f"/{API_VERSION}/inventory-level", {"PageSize": str(page_size)})

    def inventory_levels_by_location(self, page_size: int = 250) -> list[dict]:
        """Inventory per item and fulfillment center (``GET /inventory-level/locations``).
        Items are ``Inventory.InventoryQuantityFcResponse`` (``locations`` per FC)."""
        return self._paged(f"/{API_VERSION}/inventory-level/locations",
                           {"PageSize": str(page_size)})

    def fulfillment_centers(self) -> list[dict]:
        """Fulfillment centers that can receive inventory (``GET /fulfillment-center``)."""
        return self.request("GET", f"/{API_VERSION}/fulfillment-center").body or []

    def list_receiving_orders(self, *, purchase_order_numbers: Iterable[str] = (),
                              statuses: Iterable[str] = (), ids: Iterable[int] = (),
                              limit: int = 100) -> list[dict]:
        """Warehouse receiving orders, filtered, every page (``Page``/``Limit`` paging)."""
        params = {"Limit": str(limit)}
        for key, values in (("PurchaseOrderNumbers", purchase_order_numbers),
                            ("Statuses", statuses), ("IDs", ids)):
            joined = ",".join(str(v) for v in values)
            if joined:
                params[key] = joined
        out: list[dict] = []
        for page in range(1, 10_000):
            batch = self.request("GET", f"/{API_VERSION}/receiving",
                                 params={**params, "Page": str(page)}).body or []
            out.extend(batch)
            if len(batch) < limit:
                break
        return out

    def find_receiving_order(self, purchase_order_number: str) -> dict | None:
        """The oldest WRO, not cancelled, whose ``purchase_order_number`` is exactly this."""
        found = [w for w in self.list_receiving_orders(
                     purchase_order_numbers=[purchase_order_number])
                 if w.get("purchase_order_number") == purchase_order_number
                 and w.get("status") != "Cancelled"]
        if len(found) > 1:
            log.warning("shipbob: %d WROs carry PO number %s; using the oldest",
                        len(found), purchase_order_number)
        return min(found, key=lambda w: w["id"]) if found else None

    def create_receiving_order(self, *, fulfillment_center_id: int,
                               items: Mapping[int, int] | Sequence[tuple[int, int]],
                               expected_arrival_date: date | datetime | str,
                               purchase_order_number: str, package_type: str = "Package",
                               box_packaging_type: str = "EverythingInOneBox",
                               tracking_number: str | None = None,
                               boxes: list[dict] | None = None) -> dict:
        """Create a WRO (``Receiving.CreateReceivingOrderModel``), at most once per PO number.

        Before creating, and again before re-sending after an ambiguous failure (5xx,
        timeout: the first attempt may have been carried out), the WROs with the same
        ``purchase_order_number`` are listed; an existing one is returned instead.

        Args:
            fulfillment_center_id: ShipBob fulfillment center id.
            items: ShipBob ``inventory_id`` -> quantity (or pairs).
            expected_arrival_date: When all boxes should have arrived (a date is midnight UTC).
            purchase_order_number: restock's PO number: the idempotency key.
            package_type: ``Package`` | ``Pallet`` | ``FloorLoadedContainer``.
            box_packaging_type: ``EverythingInOneBox`` (one box with every item),
                ``OneSkuPerBox`` (a box per item) or ``MultipleSkuPerBox`` (one box here).
            tracking_number: Carrier tracking number for the boxes, if known.
            boxes: ``Receiving.AddBoxToOrderModel`` list, replacing the boxes built from items.

        Returns:
            The WRO (``Receiving.V2.WarehouseReceivingOrderViewModel``), new or existing.
        """
        if not purchase_order_number:
            raise ValueError("purchase_order_number is required: it keeps creation idempotent")
        pairs = [(int(i), int(q)) for i, q in (items.items() if isinstance(items, Mapping)
                                              else items)]
        if boxes is None:
            box_items = [{"inventory_id": i, "quantity": q} for i, q in pairs]
            groups = ([[b] for b in box_items] if box_packaging_type == "OneSkuPerBox"
                      else [box_items])
            boxes = [{"tracking_number": tracking_number, "box_items": g} for g in groups]
        body = {
            "fulfillment_center": {"id": int(fulfillment_center_id)},
            "package_type": package_type,
            "box_packaging_type": box_packaging_type,
            "boxes": boxes,
            "expected_arrival_date": _date_time(expected_arrival_date),
            "purchase_order_number": purchase_order_number,
        }
        path = f"/{API_VERSION}/receiving"
        # Refuse a bad body before any call, the idempotency look-up included.
        self._check_request("POST", path, body, {}, self._headers("POST", path))
        existing = self.find_receiving_order(purchase_order_number)
        if existing is not None:
            log.info("shipbob: WRO %s already exists for PO %s", existing["id"],
                     purchase_order_number)
            return existing
        return self.request("POST", path, body=body,
                            recover=lambda: self.find_receiving_order(purchase_order_number)
                            ).body

    def get_receiving_order(self, wro_id: int) -> dict:
        """One WRO with its status and per-item expected/received/stowed quantities."""
        return self.request("GET", f"/{API_VERSION}/receiving/{{id}}",
                            path_params={"id": str(int(wro_id))}).body

    # ------------------------------------------------------------------ transport
    def request(self, method: str, path_template: str, *,
                path_params: Mapping[str, str] | None = None,
                params: Mapping[str, str] | None = None, body: Any = None,
                url: str | None = None,
                recover: Callable[[], Any] | None = None) -> Response:
        """Send one operation with the retry policy; validate before and after.

        Args:
            method: HTTP method.
            path_template: The description's path key; filled from ``path_params``.
            path_params: Values for ``{name}`` segments.
            params: Query parameters.
            body: JSON body.
            url: A full or relative URL to use instead (a ``next`` link); its query string
                becomes ``params``.
            recover: For non-idempotent methods: called before re-sending after an ambiguous
                failure; a non-None result is returned as the body instead of re-sending.

        Raises:
            ShipBobRequestInvalid: the request does not match the description (not sent).
            ShipBobResponseInvalid: the answer does not match the description.
            ShipBobError: and subclasses, as the module docstring says.
        """
        path_params = dict(path_params or {})
        if url is not None:
            target = self._same_origin(url)
            params = dict(parse_qsl(urlsplit(target).query, keep_blank_values=True))
            target = target.split("?", 1)[0]
        else:
            path = path_template
            for name, value in path_params.items():
                path = path.replace("{" + name + "}", quote(str(value), safe=""))
            target = self.base_url + path
        params = dict(params or {})
        headers = self._headers(method, path_template)
        self._check_request(method, path_template, body, params, headers, path_params)
        attempt = 0
        while True:
            try:
                return self._attempt(method, path_template, target, params, headers, body,
                                     attempt)
            except _Retry as retry:
                unsafe = retry.ambiguous and method.upper() in ("POST", "PATCH")
                if attempt >= self.max_retries or (unsafe and recover is None):
                    raise retry.error from None
                log.warning("shipbob %s %s: %s; retry %d/%d in %.2fs", method, path_template,
                            retry.error, attempt + 1, self.max_retries, retry.wait)
                self._sleep(retry.wait)
                attempt += 1
                if retry.ambiguous and recover is not None:
                    found = recover()
                    if found is not None:
                        log.info("shipbob %s %s: the failed attempt had been carried out",
                                 method, path_template)
                        return Response(200, found, {}, recovered=True)

    def _attempt(self, method: str, template: str, url: str, params: dict, headers: dict,
                 body: Any, attempt: int) -> Response:
        try:
            resp = self.session.request(method, url, params=params or None, json=body,
                                        headers=headers, timeout=self.timeout)
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise _Retry(self._backoff(attempt), ShipBobServerError(
                f"{type(exc).__name__}: {exc}"), ambiguous=True) from None
        status = resp.status_code
        remaining = resp.headers.get("x-remaining-calls")
        if remaining is not None and remaining.strip().isdigit():
            self.remaining_calls = int(remaining)
        parsed = _json_or_text(resp)
        rid = request_id(resp, parsed)
        if status == 429:
            raise _Retry(self._retry_after(resp, attempt), ShipBobThrottled(
                error_message(parsed) or "rate limited", status=status, request_id=rid,
                body=parsed), ambiguous=False)
        if status >= 500:
            raise _Retry(self._backoff(attempt), ShipBobServerError(
                error_message(parsed) or resp.reason or "server error", status=status,
                request_id=rid, body=parsed), ambiguous=True)
        documented = self.description.response_schema(method, template, status) is not None
        if status < 400 or documented:
            try:
                self.description.validate_response(method, template, status, parsed)
            except SchemaViolation as exc:
                raise ShipBobResponseInvalid(exc, status=status, request_id=rid,
                                             body=parsed) from None
        if status < 400:
            return Response(status, parsed, resp.headers)
        cls = {401: ShipBobAuthError, 403: ShipBobAuthError, 404: ShipBobNotFound}.get(
            status, ShipBobError)
        raise cls(error_message(parsed) or resp.reason or f"HTTP {status}", status=status,
                  validation_errors=validation_errors(parsed), request_id=rid, body=parsed)

    # ------------------------------------------------------------------ helpers
    def _headers(self, method: str, template: str) -> dict:
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        if self.channel_id is not None and any(
                p["in"] == "header" and p["name"] == "shipbob_channel_id"
                for p in self.description.parameters(method, template)):
            headers["shipbob_channel_id"] = str(self.channel_id)
        return headers

    def _check_request(self, method: str, template: str, body: Any, params: Mapping,
                       headers: Mapping, path_params: Mapping | None = None) -> None:
        try:
            self.description.validate_request(method, template, body, params=params,
                                              headers=headers,
                                              path_params=path_params)
        except SchemaViolation as exc:
            raise ShipBobRequestInvalid(exc) from None

    def _paged(self, template: str, params: dict) -> list[dict]:
        out: list[dict] = []
        page = self.request("GET", template, params=params).body or {}
        seen: set[str] = set()
        while True:
            out.extend(page.get("items") or [])
            link = page.get("next")
            if not link or link in seen:
                return out
            seen.add(link)
            page = self.request("GET", template, url=link).body or {}

    def _same_origin(self, url: str) -> str:
        full = urljoin(self.base_url + "/", url)
        if urlsplit(full)[:2] != urlsplit(self.base_url)[:2]:
            raise ShipBobError(f"refusing to follow a pagination link off {self.base_url}: "
                               f"{url}")
        return full

    def _backoff(self, attempt: int) -> float:
        step = min(self.backoff_cap, self.backoff_base * 2 ** attempt)
        return step / 2 + self._rng() * step / 2

    def _retry_after(self, resp: requests.Response, attempt: int) -> float:
        for name in ("Retry-After", "x-retry-after"):
            value = resp.headers.get(name)
            try:
                return min(self.max_wait, max(0.0, float(value)))
            except (TypeError, ValueError):
                continue
        return self._backoff(attempt)


def _date_time(value: date | datetime | str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{value.isoformat()}T00:00:00Z"


def _json_or_text(resp: requests.Response) -> Any:
    if not resp.content:
        return None
    try:
        return resp.json()
    except ValueError:
        return resp.text
