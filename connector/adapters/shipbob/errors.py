"""Typed errors of the ShipBob client and how they are read from ShipBob's answers.

Error bodies, as the description defines them: ``Inventory.ProblemDetails`` and
``Receiving.ValidationProblemDetails`` (RFC 7807 ``title``/``detail`` plus ``errors``: field
-> messages), ``Receiving.Post.2.0.Receiving.Bad.Request.Object`` (the body *is* field ->
messages), and the rate limiter's ``{"statusCode", "message"}`` (developer.shipbob.com).
"""
from __future__ import annotations

from typing import Any, Mapping

import requests

from .openapi import SchemaViolation

__all__ = [
    "REQUEST_ID_HEADERS",
    "ShipBobAuthError",
    "ShipBobError",
    "ShipBobNotFound",
    "ShipBobRequestInvalid",
    "ShipBobResponseInvalid",
    "ShipBobServerError",
    "ShipBobThrottled",
    "error_message",
    "request_id",
    "validation_errors",
]

#: The description documents no request id header; these are looked for, in order.
REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-correlation-id")


class ShipBobError(Exception):
    """Base of every ShipBob client error.

    Attributes:
        status: HTTP status, or None when no response arrived.
        message: The API's message (``detail``/``title``/``message``) or the client's own.
        validation_errors: Field -> messages, from the body's ``errors`` object
            (``ValidationProblemDetails``) or the body itself (``...Bad.Request.Object``).
        request_id: The request id header (or body ``traceId``), if any.
        body: The parsed error body, if any.
    """

    def __init__(self, message: str, *, status: int | None = None,
                 validation_errors: Mapping[str, list[str]] | None = None,
                 request_id: str | None = None, body: Any = None) -> None:
        self.message = message
        self.status = status
        self.validation_errors = dict(validation_errors or {})
        self.request_id = request_id
        self.body = body
        parts = [f"HTTP {status}: {message}" if status else message]
        if self.validation_errors:
            parts.append("; ".join(f"{k}: {', '.join(v)}"
                                   for k, v in self.validation_errors.items()))
        if request_id:
            parts.append(f"request id {request_id}")
        super().__init__(" | ".join(parts))


class ShipBobAuthError(ShipBobError):
    """401/403: the token is missing, invalid, expired or lacks a scope."""


class ShipBobNotFound(ShipBobError):
    """404: the resource does not exist."""


class ShipBobThrottled(ShipBobError):
    """Still 429 after every retry."""


class ShipBobServerError(ShipBobError):
    """5xx, timeout or connection error after every retry."""


class ShipBobRequestInvalid(ShipBobError):
    """The request does not match the description; it was not sent.

    Attributes:
        problems: The :class:`~.openapi.SchemaProblem` list.
    """

    def __init__(self, violation: SchemaViolation) -> None:
        super().__init__(str(violation))
        self.problems = violation.problems


class ShipBobResponseInvalid(ShipBobError):
    """ShipBob answered with a status or body the description does not allow.

    Attributes:
        problems: The :class:`~.openapi.SchemaProblem` list.
    """

    def __init__(self, violation: SchemaViolation, **kwargs: Any) -> None:
        super().__init__(str(violation), **kwargs)
        self.problems = violation.problems


def request_id(resp: requests.Response, body: Any) -> str | None:
    for name in REQUEST_ID_HEADERS:
        if resp.headers.get(name):
            return resp.headers[name]
    if isinstance(body, dict) and isinstance(body.get("traceId"), str):
        return body["traceId"]
    return None


def error_message(body: Any) -> str | None:
    """The API's human message: ProblemDetails ``detail``/``title``, or ``message``."""
    if isinstance(body, str):
        return body.strip()[:500] or None
    if not isinstance(body, dict):
        return None
    for key in ("detail", "message", "title", "error"):
        if isinstance(body.get(key), str) and body[key]:
            return body[key]
    errors = validation_errors(body)
    if errors:
        return "; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items())
    return None


def validation_errors(body: Any) -> dict[str, list[str]]:
    """``errors`` of a ValidationProblemDetails, or a ``{field: [messages]}`` body."""
    if not isinstance(body, dict):
        return {}
    if isinstance(body.get("errors"), dict):
        source = body["errors"]
    elif body and all(isinstance(v, list) for v in body.values()):
        source = body
    else:
        return {}
    return {str(k): [str(m) for m in (v if isinstance(v, list) else [v])]
            for k, v in source.items()}
