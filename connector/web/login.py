"""``/login`` and ``/logout`` for the standalone (self-hosted) admin UI.

Logins are :class:`~core.storage.User` rows made with ``restock user create --email E``.
A bad form (no e-mail, no password, not an e-mail address) answers 400 with the field
messages; a wrong e-mail or password answers 401 with one message that does not say which
of the two was wrong. After :data:`MAX_FAILURES` failures for one address (or from one
client) within :data:`FAILURE_WINDOW` seconds, further attempts answer 429 until the
window has passed (counted in this process). Both forms carry the CSRF token.
"""
from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

from flask import Blueprint, redirect, render_template, request, url_for

from core.storage import utcnow

from .auth import log_in, log_out, login_required, safe_next, session_user
from .common import db
from .users import check_login, email_problem, has_users, normalize_email

__all__ = ["bp", "MAX_FAILURES", "FAILURE_WINDOW", "reset_throttle"]

bp = Blueprint("login", __name__)

MAX_FAILURES = 10
FAILURE_WINDOW = 15 * 60
_failures: dict[str, deque] = defaultdict(deque)
_lock = threading.Lock()


def _throttled(keys: list[str], now: float) -> bool:
    with _lock:
        for key in keys:
            q = _failures[key]
            while q and q[0] < now - FAILURE_WINDOW:
                q.popleft()
            if len(q) >= MAX_FAILURES:
                return True
    return False


def _fail(keys: list[str], now: float) -> None:
    with _lock:
        for key in keys:
            _failures[key].append(now)


def reset_throttle() -> None:
    """Forget every counted failure (tests)."""
    with _lock:
        _failures.clear()


def _page(status: int = 200, errors: dict | None = None, message: str | None = None,
          email: str = ""):
    return render_template("login.html", errors=errors or {}, message=message, email=email,
                           next=safe_next(request.values.get("next"), ""),
                           no_users=not has_users(db()), required=login_required(),
                           active=None), status


@bp.get("/login")
def login():
    """The login form (straight on to ``next`` when already logged in)."""
    if session_user() is not None:
        return redirect(safe_next(request.args.get("next"), url_for("dashboard.index")))
    return _page()


@bp.post("/login")
def login_post():
    """Check e-mail and password; start the session and go to ``next`` (or the dashboard)."""
    email = normalize_email(request.form.get("email"))
    password = request.form.get("password") or ""
    errors = {}
    problem = email_problem(email)
    if problem:
        errors["email"] = problem
    if not password:
        errors["password"] = "Enter your password."
    elif len(password) > 1024:
        errors["password"] = "The password is too long."
    if errors:
        return _page(400, errors=errors, email=email)
    now = time.monotonic()
    keys = [f"email:{email}", f"addr:{request.remote_addr or '-'}"]
    if _throttled(keys, now):
        return _page(429, message="Too many failed attempts: wait a few minutes and try "
                                  "again.", email=email)
    user = check_login(db(), email, password)
    if user is None:
        _fail(keys, now)
        return _page(401, message="Wrong e-mail or password.", email=email)
    user.last_login_at = utcnow()
    db().commit()
    log_in(user)
    return redirect(safe_next(request.form.get("next"), url_for("dashboard.index")), code=303)


@bp.get("/logout")
def logout_page():
    """A page with the log-out button (logging out is a POST, so no link can do it)."""
    user = session_user()
    return render_template("logout.html", user=user, active=None)


@bp.post("/logout")
def logout():
    """End the session and go to the login page."""
    log_out()
    return redirect(url_for("login.login"), code=303)
