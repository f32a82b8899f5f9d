"""Standalone logins: making users, checking passwords (shared by the login page and the
``restock user`` command).

Passwords are hashed with :func:`werkzeug.security.generate_password_hash` (its default
scrypt scheme, salted) and checked with :func:`~werkzeug.security.check_password_hash`.
E-mail addresses are kept stripped and in lower case, so logging in is case-insensitive.
A failed lookup still runs one hash check against a dummy hash, so a wrong e-mail takes as
long as a wrong password.
"""
from __future__ import annotations

import hashlib
import re
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from core.storage import User, utcnow

__all__ = ["MIN_PASSWORD", "MAX_PASSWORD", "UserError", "normalize_email", "email_problem",
           "password_problem", "create_user", "set_password", "check_login", "has_users",
           "fingerprint"]

MIN_PASSWORD = 10
MAX_PASSWORD = 1024
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class UserError(ValueError):
    """A user cannot be made or changed; the message says why."""


def normalize_email(email: str | None) -> str:
    """``email`` stripped and in lower case ('' for None)."""
    return (email or "").strip().lower()


def email_problem(email: str) -> str | None:
    """Why ``email`` (normalized) is not usable as a login, or None."""
    if not email:
        return "Enter your e-mail address."
    if len(email) > 320 or not _EMAIL.fullmatch(email):
        return "This is not an e-mail address (name@example.com)."
    return None


def password_problem(password: str | None, new: bool = False) -> str | None:
    """Why ``password`` is not acceptable, or None (``new``: also the minimum length)."""
    if not password:
        return "Enter a password."
    if len(password) > MAX_PASSWORD:
        return f"The password is longer than {MAX_PASSWORD} characters."
    if new and len(password) < MIN_PASSWORD:
        return f"The password needs at least {MIN_PASSWORD} characters."
    return None


def has_users(session: Session) -> bool:
    """Whether at least one login exists."""
    return bool(session.scalar(select(func.count(User.id))))


def create_user(session: Session, email: str, password: str) -> User:
    """Add a login (flushed; the caller commits).

    Raises:
        UserError: bad e-mail or password, or the e-mail is taken.
    """
    email = normalize_email(email)
    problem = email_problem(email) or password_problem(password, new=True)
    if problem:
        raise UserError(problem)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise UserError(f"a user {email} exists already (restock user set-password changes "
                        "its password)")
    user = User(email=email, password_hash=generate_password_hash(password), created_at=utcnow())
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, email: str, password: str) -> User:
    """Give an existing login a new password (flushed; the caller commits).

    Raises:
        UserError: no such user, or the password is not acceptable.
    """
    email = normalize_email(email)
    problem = password_problem(password, new=True)
    if problem:
        raise UserError(problem)
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        raise UserError(f"there is no user {email} (restock user create makes one)")
    user.password_hash = generate_password_hash(password)
    session.flush()
    return user


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return generate_password_hash("restock-no-such-user")


def check_login(session: Session, email: str, password: str) -> User | None:
    """The user with this e-mail and password, or None (same work either way)."""
    user = session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def fingerprint(user: User) -> str:
    """A short digest of the user's password hash, kept in the session cookie: a password
    change ends every session opened with the old one."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]
