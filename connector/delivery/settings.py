"""Delivery settings: the SMTP server, timeouts and retry timing.

Read from the environment only by :meth:`DeliverySettings.from_env` (called by the CLI, the
web app or a job, never on import):

* ``RESTOCK_SMTP_URL``: ``smtp://user:password@host:port`` (plain, upgraded with STARTTLS
  when the server offers it) or ``smtps://...`` (TLS from the start). User and password are
  optional and percent-decoded; the port defaults to 25 (``smtps``: 465).
* ``RESTOCK_SMTP_FROM``: the sender address of purchase-order emails.
* ``RESTOCK_DELIVERY_TIMEOUT``: seconds for one network call (default 30).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

__all__ = ["DeliverySettings", "SmtpServer", "parse_smtp_url", "DeliveryConfigError"]


class DeliveryConfigError(ValueError):
    """A delivery setting is missing or wrong; the message names it."""


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    user: str | None = None
    password: str | None = None
    tls: bool = False  # True: implicit TLS (smtps); False: STARTTLS when offered


def parse_smtp_url(url: str) -> SmtpServer:
    """``smtp[s]://[user[:password]@]host[:port]`` as an :class:`SmtpServer`.

    Raises:
        DeliveryConfigError: another scheme, or no host.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise DeliveryConfigError(f"RESTOCK_SMTP_URL {url!r} must look like "
                                  "smtp://user:password@host:port (or smtps://...)")
    tls = parts.scheme == "smtps"
    return SmtpServer(host=parts.hostname, port=parts.port or (465 if tls else 25),
                      user=unquote(parts.username) if parts.username else None,
                      password=unquote(parts.password) if parts.password else None, tls=tls)


@dataclass(frozen=True)
class DeliverySettings:
    """How purchase orders go out.

    Retry timing: after the ``k``-th failed attempt the next one is due
    ``min(backoff_cap, backoff_base * 2 ** (k - 1))`` seconds later. ``lease`` is how long
    a claimed ("sending") delivery is left alone before it counts as interrupted.
    """

    smtp_url: str | None = None
    smtp_from: str | None = None
    timeout: float = 30.0
    backoff_base: float = 60.0
    backoff_cap: float = 6 * 3600.0
    lease: float = 600.0
    environ: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_env(cls, environ=None, **overrides) -> "DeliverySettings":
        env = dict(os.environ if environ is None else environ)
        values = dict(smtp_url=env.get("RESTOCK_SMTP_URL") or None,
                      smtp_from=env.get("RESTOCK_SMTP_FROM") or None, environ=env)
        if env.get("RESTOCK_DELIVERY_TIMEOUT"):
            values["timeout"] = float(env["RESTOCK_DELIVERY_TIMEOUT"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def smtp(self) -> SmtpServer:
        if not self.smtp_url:
            raise DeliveryConfigError("email delivery needs an SMTP server: set "
                                      "RESTOCK_SMTP_URL=smtp://user:password@host:port")
        return parse_smtp_url(self.smtp_url)

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after ``attempts`` failed attempts (see the class docstring)."""
        return min(self.backoff_cap, self.backoff_base * 2 ** max(attempts - 1, 0))
