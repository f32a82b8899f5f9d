"""A small Tryton JSON-RPC client over ``requests``, with one retry policy and typed errors.

Wire protocol (checked against trytond 8.2):

* Every call is ``POST {base}/{database}/rpc/`` with the JSON body ``{"id", "method",
  "params"}`` exactly (any other key set makes Tryton answer bare HTTP errors instead of
  ``{"id", "result"}`` / ``{"id", "error"}``).
* ``common.db.login`` takes ``[login, {"password": ...}, language]`` and returns
  ``[user_id, token, bus_url]``. A wrong password is HTTP 401, too many attempts HTTP 429.
* Later calls carry ``Authorization: Session base64("login:user_id:token")``.
* Model calls are ``model.<name>.<method>`` with positional params, the context dict last:
  ``search_read`` takes ``[domain, offset, limit, order, fields, context]``, ``create``
  ``[[values, ...], context]``, ``write`` ``[ids, values, context]``, ``read``
  ``[ids, fields, context]``, buttons and workflow steps ``[ids, context]``.
* Non-JSON values travel as objects tagged with ``__class__``: ``Decimal`` as
  ``{"__class__": "Decimal", "decimal": "1.50"}``, ``date`` as ``{"__class__": "date",
  "year", "month", "day"}``, ``datetime`` likewise plus time fields, and ``timedelta`` as
  ``{"__class__": "timedelta", "seconds": <float total seconds>}``. This client encodes and
  decodes them to and from the Python types.
* A user error comes back as HTTP 200 with ``"error": ["UserError", [message, description,
  domain]]``; a user warning as ``["UserWarning", [name, message, description]]`` (acknowledge
  it with ``res.user.warning.create`` and call again); an unexpected server exception as
  ``[str(exception), traceback]``. Database lock or outage errors are HTTP 503.

Retry policy (all in :meth:`TrytonClient.call`): connection errors and HTTP 502/503/504 are
retried up to ``retries`` times with exponential backoff; a read timeout is retried only for
read-only methods (a write might have happened). An expired session (HTTP 401 on a model
call) triggers one fresh login. Exhausted retries raise :class:`TrytonUnavailable`.
"""
from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import logging
import time
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import requests

__all__ = ["TrytonClient", "TrytonError", "TrytonAuthError", "TrytonUserError",
           "TrytonUserWarning", "TrytonUnavailable", "encode", "decode"]

log = logging.getLogger(__name__)

_RETRY_STATUS = {502, 503, 504}
_READONLY_SUFFIXES = (".search", ".search_read", ".read", ".search_count", ".fields_get",
                      ".default_get", ".get_preferences", "common.server.version")


class TrytonError(Exception):
    """Base of every Tryton client error; the message is the server's own where it gave one.

    Attributes:
        method: The RPC method that failed.
        status: The HTTP status code, or None when no response arrived.
        kind: Tryton's error class name (``UserError``, ``UserWarning``, ...) or None.
        details: The raw ``error`` payload of the JSON-RPC response, if any.
        permanent: Retrying the same call cannot help until a person changes something
            (read by :mod:`connector.delivery` to hold an order instead of retrying it).
    """

    permanent = False

    def __init__(self, message: str, *, method: str | None = None, status: int | None = None,
                 kind: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.method = method
        self.status = status
        self.kind = kind
        self.details = details


class TrytonAuthError(TrytonError):
    """Login refused (wrong user or password, HTTP 401), rate limited (429) or forbidden."""

    permanent = True


class TrytonUserError(TrytonError):
    """The server refused the call with a user error (validation, access, workflow)."""

    permanent = True


class TrytonUserWarning(TrytonError):
    """The server asks to confirm a user warning; ``name`` is the key to acknowledge."""

    @property
    def name(self) -> str | None:
        return self.details[1][0] if self.details and len(self.details) > 1 else None


class TrytonUnavailable(TrytonError):
    """No answer: connection refused or reset, timeout, or HTTP 5xx after every retry."""


def encode(value: Any) -> Any:
    """``value`` with dates, datetimes, times, timedeltas, Decimals and bytes tagged for Tryton."""
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, dt.datetime):
        return {"__class__": "datetime", "year": value.year, "month": value.month,
                "day": value.day, "hour": value.hour, "minute": value.minute,
                "second": value.second, "microsecond": value.microsecond}
    if isinstance(value, dt.date):
        return {"__class__": "date", "year": value.year, "month": value.month,
                "day": value.day}
    if isinstance(value, dt.time):
        return {"__class__": "time", "hour": value.hour, "minute": value.minute,
                "second": value.second, "microsecond": value.microsecond}
    if isinstance(value, dt.timedelta):
        return {"__class__": "timedelta", "seconds": value.total_seconds()}
    if isinstance(value, (bytes, bytearray)):
        return {"__class__": "bytes", "base64": base64.b64encode(value).decode("ascii")}
    return value


_DECODERS = {
    "datetime": lambda d: dt.datetime(d["year"], d["month"], d["day"], d["hour"], d["minute"],
                                      d["second"], d["microsecond"]),
    "date": lambda d: dt.date(d["year"], d["month"], d["day"]),
    "time": lambda d: dt.time(d["hour"], d["minute"], d["second"], d["microsecond"]),
    "timedelta": lambda d: dt.timedelta(seconds=d["seconds"]),
    "Decimal": lambda d: Decimal(d["decimal"]),
    "bytes": lambda d: base64.b64decode(d["base64"]),
}


def decode(obj: dict) -> Any:
    """JSON object hook turning Tryton's ``__class__``-tagged objects into Python values."""
    decoder = _DECODERS.get(obj.get("__class__"))
    return decoder(obj) if decoder else obj


def _error_message(error: Any) -> tuple[str, str | None]:
    """(message, kind) from a JSON-RPC ``error`` payload."""
    if isinstance(error, (list, tuple)) and error:
        kind = error[0] if isinstance(error[0], str) else None
        args = error[1] if len(error) > 1 else None
        if kind in ("UserError", "UserWarning", "LoginException", "ConcurrencyException",
                    "RateLimitException", "TimeOutException"):
            if isinstance(args, (list, tuple)):
                # UserError: (message, description, domain); UserWarning: (name, message,
                # description); LoginException: (name, message, type).
                start, stop = {"UserWarning": (1, 3), "LoginException": (1, 2)}.get(kind, (0, 2))
                parts = [str(a) for a in args[start:stop] if a]
                return " - ".join(parts) or kind, kind
            return str(args or kind), kind
        return str(kind or error), None
    return str(error), None


class TrytonClient:
    """A logged-in connection to one Tryton database.

    Args:
        url: ``http://HOST:PORT/DATABASE`` (the database is the last path segment).
        user: The login, e.g. ``admin``.
        password: The user's password.
        language: Language code sent at login.
        timeout: Seconds to wait for one HTTP answer.
        retries: Retries after a connection error, a retryable 5xx or a read timeout.
        backoff: Base of the exponential backoff in seconds (``backoff * 2**attempt``).
        http: An optional ``requests.Session`` to use.
    """

    def __init__(self, url: str, user: str, password: str, *, language: str = "en",
                 timeout: float = 60.0, retries: int = 3, backoff: float = 0.3,
                 http: requests.Session | None = None) -> None:
        parts = urlsplit(url.rstrip("/"))
        base_path, _, database = parts.path.rpartition("/")
        if parts.scheme not in ("http", "https") or not parts.netloc or not database:
            raise ValueError(f"Tryton URL {url!r} must look like http://HOST:PORT/DATABASE")
        self.base_url = f"{parts.scheme}://{parts.netloc}{base_path}"
        self.database = database
        self.rpc_url = f"{self.base_url}/{database}/rpc/"
        self.user = user
        self._password = password
        self.language = language
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.http = http or requests.Session()
        self._ids = itertools.count(1)
        self.user_id: int | None = None
        self._auth: str | None = None
        self.context: dict[str, Any] = {}

    # -- transport -------------------------------------------------------------------------

    def _post(self, method: str, params: list) -> requests.Response:
        body = json.dumps({"id": next(self._ids), "method": method, "params": encode(params)})
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._auth and method != "common.db.login":
            headers["Authorization"] = self._auth
        readonly = method.endswith(_READONLY_SUFFIXES)
        attempt = 0
        while True:
            try:
                response = self.http.post(self.rpc_url, data=body, headers=headers,
                                          timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                # A refused connection never reached the server; a read timeout might have.
                retryable = readonly or not isinstance(exc, requests.ReadTimeout)
                problem = f"{type(exc).__name__}: {exc}"
                status = None
            else:
                if response.status_code not in _RETRY_STATUS:
                    return response
                retryable, status = True, response.status_code
                problem = f"HTTP {status} {response.reason}"
            if not retryable or attempt >= self.retries:
                raise TrytonUnavailable(
                    f"Tryton at {self.rpc_url} did not answer {method} after {attempt + 1} "
                    f"attempt(s): {problem}", method=method, status=status)
            delay = self.backoff * 2 ** attempt
            log.warning("tryton %s: %s; retrying in %.1f s", method, problem, delay)
            time.sleep(delay)
            attempt += 1

    def call(self, method: str, *params: Any) -> Any:
        """Call ``method`` with positional ``params``; return the decoded result.

        Raises:
            TrytonAuthError: login refused, session rejected or method forbidden.
            TrytonUserWarning: a user warning to acknowledge (see :meth:`acknowledge`).
            TrytonUserError: a user error (validation, workflow).
            TrytonError: any other error the server reported.
            TrytonUnavailable: no usable answer after the retries.
        """
        if self._auth is None and method.startswith("model."):
            self.login()
        response = self._post(method, list(params))
        if response.status_code == 401 and method != "common.db.login" and self._auth:
            log.info("tryton session rejected; logging in again")
            self.login()
            response = self._post(method, list(params))
        return self._result(method, response)

    def _result(self, method: str, response: requests.Response) -> Any:
        status = response.status_code
        if status in (401, 403, 429):
            what = {401: "wrong user or password, or the session expired",
                    403: "access forbidden", 429: "too many login attempts, wait and retry"}
            raise TrytonAuthError(f"Tryton refused {method} for user {self.user!r} on database "
                                  f"{self.database!r}: {what[status]} (HTTP {status})",
                                  method=method, status=status)
        if status == 404:
            raise TrytonError(f"Tryton has no database {self.database!r} at {self.base_url} "
                              f"(HTTP 404 for {method})", method=method, status=status)
        if status >= 500:
            raise TrytonUnavailable(f"Tryton failed on {method}: HTTP {status} "
                                    f"{response.text[:200]}", method=method, status=status)
        try:
            payload = json.loads(response.text, object_hook=decode)
        except ValueError:
            raise TrytonError(f"Tryton answered {method} with HTTP {status} and no JSON: "
                              f"{response.text[:200]!r}", method=method, status=status) from None
        if status >= 400 or (isinstance(payload, dict) and payload.get("error") is not None):
            error = payload.get("error") if isinstance(payload, dict) else payload
            message, kind = _error_message(error)
            cls = {"UserError": TrytonUserError, "UserWarning": TrytonUserWarning,
                   "LoginException": TrytonAuthError}.get(kind, TrytonError)
            raise cls(f"Tryton {method}: {message}", method=method, status=status, kind=kind,
                      details=error)
        return payload.get("result") if isinstance(payload, dict) else payload

    # -- session ---------------------------------------------------------------------------

    def login(self) -> int:
        """Log in; store the session header and the user's context; return the user id."""
        result = self._result("common.db.login", self._post(
            "common.db.login", [self.user, {"password": self._password}, self.language]))
        user_id, token = result[0], result[1]
        raw = f"{self.user}:{user_id}:{token}".encode()
        self._auth = "Session " + base64.b64encode(raw).decode("ascii")
        self.user_id = user_id
        prefs = self._result("model.res.user.get_preferences",
                             self._post("model.res.user.get_preferences", [True, {}]))
        self.context = dict(prefs or {})
        return user_id

    def logout(self) -> None:
        """End the session on the server (errors are ignored)."""
        if self._auth:
            try:
                self._post("common.db.logout", [])
            except TrytonError:
                pass
            self._auth = None

    def refresh_context(self) -> dict[str, Any]:
        """Reload the user's context (after the company or preferences changed)."""
        self.context = dict(self.call("model.res.user.get_preferences", True, {}) or {})
        return self.context

    # -- model helpers ---------------------------------------------------------------------

    def _ctx(self, context: dict | None) -> dict:
        return {**self.context, **(context or {})}

    def execute(self, model: str, method: str, *args: Any, context: dict | None = None) -> Any:
        """``model.<model>.<method>(*args, context)``, e.g. a button: ``([ids])``."""
        if self._auth is None:
            self.login()
        return self.call(f"model.{model}.{method}", *args, self._ctx(context))

    def search(self, model: str, domain: list, *, offset: int = 0, limit: int | None = None,
               order: list | None = None, context: dict | None = None) -> list[int]:
        return self.execute(model, "search", domain, offset, limit, order, context=context)

    def search_read(self, model: str, domain: list, fields: list[str], *, offset: int = 0,
                    limit: int | None = None, order: list | None = None,
                    context: dict | None = None) -> list[dict]:
        return self.execute(model, "search_read", domain, offset, limit, order, fields,
                            context=context)

    def read(self, model: str, ids: list[int], fields: list[str], *,
             context: dict | None = None) -> list[dict]:
        return self.execute(model, "read", list(ids), fields, context=context)

    def create(self, model: str, values: list[dict], *, context: dict | None = None) -> list[int]:
        return self.execute(model, "create", values, context=context)

    def write(self, model: str, ids: list[int], values: dict, *,
              context: dict | None = None) -> None:
        self.execute(model, "write", list(ids), values, context=context)

    def delete(self, model: str, ids: list[int], *, context: dict | None = None) -> None:
        self.execute(model, "delete", list(ids), context=context)

    def acknowledge(self, warning: TrytonUserWarning) -> None:
        """Record ``warning`` as accepted (``res.user.warning``) so the next call passes."""
        self.create("res.user.warning", [{"user": self.user_id, "name": warning.name,
                                          "always": False}])

    def execute_confirming(self, model: str, method: str, *args: Any,
                           context: dict | None = None, max_warnings: int = 5) -> Any:
        """:meth:`execute`, acknowledging up to ``max_warnings`` user warnings on the way."""
        for _ in range(max_warnings):
            try:
                return self.execute(model, method, *args, context=context)
            except TrytonUserWarning as warning:
                log.info("tryton warning %s acknowledged", warning.name)
                self.acknowledge(warning)
        return self.execute(model, method, *args, context=context)
