"""Plumbing shared by the API blueprints: their factory, JSON errors and pagination.

Every API blueprint authenticates in ``before_request`` (:func:`connector.api.auth.authenticate`)
and answers errors as JSON in flask-smorest's format ``{"code", "status", "message",
"errors"}``; these handlers are the blueprints' own, so the web pages keep their HTML error
pages. An exception that is not an HTTP error is a bug: it is logged with its traceback and
answered with a plain 500 JSON body.
"""
from __future__ import annotations

import math
import re

import pandas as pd
from flask import current_app, request
from flask_smorest import Blueprint, abort
from sqlalchemy import func, select
from werkzeug.exceptions import HTTPException, InternalServerError

from connector.web.common import db

from .auth import authenticate

__all__ = ["api_blueprint", "register_json_errors", "json_error", "unexpected_error", "paginate_select",
           "paginate_list", "records", "MAX_INT", "valid_text", "not_found"]

#: Largest id a path accepts (database integer columns are 32-bit signed on PostgreSQL).
MAX_INT = 2**31 - 1
_CODES = (400, 401, 403, 404, 405, 409, 413, 415, 422, 429)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def json_error(exc: HTTPException):
    """An HTTP error as ``{"code", "status", "message"[, "errors"]}`` with its headers."""
    code = exc.code or 500
    payload = {"code": code, "status": exc.name}
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    data = getattr(exc, "data", None) or {}
    if "message" in data:
        payload["message"] = data["message"]
    elif exc.description:
        payload["message"] = exc.description
    if "errors" in data:
        payload["errors"] = data["errors"]
    elif "messages" in data:  # webargs validation errors, by location then field
        payload["errors"] = data["messages"]
    headers.update(data.get("headers") or {})
    return payload, code, headers


def unexpected_error(exc: Exception):
    """Log a bug with its traceback and answer 500 JSON (the exception is not shown)."""
    if isinstance(exc, HTTPException):
        return json_error(exc)
    current_app.logger.exception("API error in %s %s", request.method, request.path)
    return json_error(InternalServerError("unexpected error: it was logged; please report it"))


def api_blueprint(name: str, description: str) -> Blueprint:
    """A flask-smorest blueprint under ``/api`` that authenticates and answers JSON errors.

    Args:
        name: Blueprint name (also the OpenAPI tag).
        description: The tag's description.
    """
    blp = Blueprint(name, __name__, url_prefix="/api", description=description)
    blp.before_request(authenticate)
    register_json_errors(blp)
    return blp


def register_json_errors(blp) -> None:
    """Answer ``blp``'s errors as JSON. The common codes are registered one by one too: a
    handler for a code wins over one for a class, so an app-wide ``errorhandler(404)`` of
    the web pages cannot turn an API 404 into HTML."""
    blp.register_error_handler(HTTPException, json_error)
    for code in _CODES:
        blp.register_error_handler(code, json_error)
    blp.register_error_handler(Exception, unexpected_error)


def not_found(message: str):
    """Answer 404 with ``message``."""
    abort(404, message=message)


def valid_text(value: str, max_length: int = 255) -> bool:
    """Whether a path value is plain text a database column could hold."""
    return 0 < len(value) <= max_length and not _CONTROL.search(value)


def paginate_select(stmt, pagination_parameters) -> list:
    """Rows of ``stmt`` (a 2.0 ``select``) for the requested page; sets the item count.

    A page past the end is empty (no OFFSET beyond the row count ever reaches the database).
    """
    session = db()
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    pagination_parameters.item_count = int(total or 0)
    offset = pagination_parameters.first_item
    if offset >= pagination_parameters.item_count:
        return []
    return list(session.execute(stmt.offset(offset).limit(pagination_parameters.page_size)))


def paginate_list(items: list, pagination_parameters) -> list:
    """The requested page of an in-memory list; sets the item count."""
    pagination_parameters.item_count = len(items)
    offset = pagination_parameters.first_item
    if offset >= len(items):
        return []
    return items[offset:offset + pagination_parameters.page_size]


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows of ``frame`` as dicts, missing and non-finite numbers as None."""
    out = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for row in out:
        for key, value in row.items():
            if isinstance(value, float) and not math.isfinite(value):
                row[key] = None
    return out
