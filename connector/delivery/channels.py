"""The channel registry: how a purchase order reaches a supplier.

A channel is a function ``fn(call: ChannelCall) -> str | None`` that delivers
``call.order`` and returns the remote system's reference (a Message-ID, an HTTP response id,
an ERP record id) or None. It raises :class:`DeliveryError` (or any exception) on failure.

``email`` and ``http`` are built in. Other systems (``tryton``, ``shipbob``) register
theirs with :func:`register_channel`; a supplier whose ``delivery["method"]`` names a
channel nobody registered fails with :class:`ChannelNotConfigured`.

``idempotent=True`` declares that the remote side recognises a repeated
``call.order.idempotency_key`` and does not act twice. Only such channels are retried
automatically after an interrupted send (see :mod:`connector.delivery.sender`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlalchemy.orm import Session, sessionmaker

from .document import OrderDocument
from .settings import DeliverySettings

__all__ = ["ChannelCall", "Channel", "DeliveryError", "ChannelNotConfigured",
           "register_channel", "unregister_channel", "get_channel", "channel_names"]


class DeliveryError(RuntimeError):
    """A delivery attempt failed.

    Attributes:
        permanent: the remote side refused the order itself (SMTP 5xx, HTTP 4xx): it is
            not retried automatically, only when a person sends it again.
    """

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


class ChannelNotConfigured(DeliveryError):
    """The supplier's delivery method has no registered channel, or lacks a setting."""


@dataclass(frozen=True)
class ChannelCall:
    """One delivery attempt: the order, the supplier's ``delivery`` settings and context."""

    order: OrderDocument
    config: dict
    settings: DeliverySettings
    sessions: sessionmaker[Session] | None
    now: datetime
    attempt: int


@dataclass(frozen=True)
class Channel:
    name: str
    send: Callable[[ChannelCall], str | None]
    idempotent: bool = False


_CHANNELS: dict[str, Channel] = {}


def register_channel(name: str, fn: Callable[[ChannelCall], str | None], *,
                     idempotent: bool = False) -> None:
    """Make ``fn`` the sender of channel ``name`` (replacing any earlier one).

    Args:
        name: the value of ``Supplier.delivery["method"]`` it serves.
        fn: ``fn(call) -> remote reference or None``; raise on failure.
        idempotent: the remote side dedups on ``call.order.idempotency_key``.
    """
    if not name or not callable(fn):
        raise ValueError("register_channel needs a name and a callable")
    _CHANNELS[name] = Channel(name, fn, idempotent)


def unregister_channel(name: str) -> None:
    _CHANNELS.pop(name, None)


def channel_names() -> list[str]:
    return sorted(_CHANNELS)


def get_channel(name: str) -> Channel:
    """The channel called ``name``.

    Raises:
        ChannelNotConfigured: nothing registered under that name.
    """
    _load_builtins()
    channel = _CHANNELS.get(name)
    if channel is None:
        known = ", ".join(channel_names()) or "none"
        raise ChannelNotConfigured(f"delivery channel {name!r} is not configured: no sender "
                                   f"is registered for it (registered: {known})")
    return channel


def _load_builtins() -> None:
    if "email" in _CHANNELS and "http" in _CHANNELS:
        return
    from .http_post import send_http
    from .smtp import send_email

    _CHANNELS.setdefault("email", Channel("email", send_email, idempotent=False))
    _CHANNELS.setdefault("http", Channel("http", send_http, idempotent=True))
