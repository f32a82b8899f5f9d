"""``restock user``: logins for the standalone (self-hosted) admin UI.

::

    restock user create --email E [--password-env VAR]        # asks for the password
    restock user set-password --email E [--password-env VAR]
    restock user list

The password is asked for twice on the terminal (not echoed), or read from the
environment variable named by ``--password-env`` (for scripts; the variable must be set and
not empty). It needs at least :data:`connector.web.users.MIN_PASSWORD` characters; only a
salted hash is stored. With ``RESTOCK_ENV=production`` every page asks for a login.
"""
from __future__ import annotations

import getpass
import os
import sys

__all__ = ["register", "cmd_create", "cmd_set_password", "cmd_list", "read_password"]


class _Abort(Exception):
    """Print the message as ``restock: error: ...`` and exit with status 2."""


def read_password(env_var: str | None, prompt=getpass.getpass) -> str:
    """The new password: from ``env_var`` when given, else asked twice on the terminal.

    Raises:
        _Abort: the variable is unset or empty, or the two entries differ.
    """
    if env_var:
        value = os.environ.get(env_var)
        if not value:
            raise _Abort(f"--password-env {env_var}: the environment variable is not set or "
                         "empty")
        return value
    if not sys.stdin.isatty():
        raise _Abort("no terminal to ask for the password: use --password-env VAR")
    first = prompt("Password: ")
    if first != prompt("Password (again): "):
        raise _Abort("the two passwords differ")
    return first


def _run(fn, args) -> int:
    from core.storage import session_scope

    from .cli import _context
    from .web.users import UserError

    try:
        password = read_password(args.password_env) if hasattr(args, "password_env") else None
        ctx = _context(args)
        with session_scope(ctx.sessions) as s:
            message = fn(s, args, password)
    except (_Abort, UserError) as exc:
        print(f"restock: error: {exc}", file=sys.stderr)
        return 2
    print(message)
    return 0


def cmd_create(args) -> int:
    """Make a login for the admin UI."""
    from .web.users import create_user

    def create(session, a, password):
        user = create_user(session, a.email, password)
        return f"user {user.email} created: log in at /login"

    return _run(create, args)


def cmd_set_password(args) -> int:
    """Give an existing login a new password (its open sessions end)."""
    from .web.users import set_password

    def change(session, a, password):
        user = set_password(session, a.email, password)
        return f"password of {user.email} changed"

    return _run(change, args)


def cmd_list(args) -> int:
    """List the logins (e-mail, created, last login)."""
    from sqlalchemy import select

    from core.storage import User

    def show(session, _a, _password):
        users = session.scalars(select(User).order_by(User.email)).all()
        if not users:
            return "no users yet: restock user create --email E"
        return "\n".join(
            f"{u.email:<40} created {u.created_at:%Y-%m-%d %H:%M}  last login "
            f"{u.last_login_at.strftime('%Y-%m-%d %H:%M') if u.last_login_at else 'never'}"
            for u in users)

    return _run(show, args)


def register(subparsers) -> None:
    """Add ``user`` and its subcommands to the ``restock`` parser's subparsers."""
    parser = subparsers.add_parser("user", help="logins of the admin UI: create, set-password, "
                                   "list")
    sub = parser.add_subparsers(dest="user_cmd", required=True)
    for name, fn, helptext in (("create", cmd_create, "make a login"),
                               ("set-password", cmd_set_password, "change a login's password"),
                               ("list", cmd_list, "list the logins")):
        p = sub.add_parser(name, help=helptext, description=fn.__doc__)
        if name != "list":
            p.add_argument("--email", required=True, help="the login's e-mail address")
            p.add_argument("--password-env", metavar="VAR",
                           help="read the password from this environment variable instead "
                                "of asking for it")
        p.set_defaults(func=fn)
