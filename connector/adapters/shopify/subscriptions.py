"""Subscribe a shop to restock's webhook topics when the app is installed.

:func:`subscribe_webhooks` calls ``webhookSubscriptionCreate`` once per topic with the
callback URI; a "has already been taken" / "already exists" user error counts as success, so
a reinstall (or a rerun) is harmless.

The mandatory compliance topics (``customers/data_request``, ``customers/redact``,
``shop/redact``) cannot be subscribed through the API: they are configured in the app's
``shopify.app.toml`` (``[webhooks] ... compliance_topics``), so they are skipped here.

:func:`make_on_installed` builds the hook that :mod:`connector.web.install` calls after every
token grant (``app.config["SHOPIFY_ON_INSTALLED"]``).
"""
from __future__ import annotations

import logging
from typing import Callable, Iterable

from webhooks.shopify import TOPICS

from . import queries as q
from .client import AdminClient

__all__ = ["COMPLIANCE_TOPICS", "WEBHOOK_PATH", "WebhookSubscriptionError", "make_on_installed",
           "subscribe_webhooks", "topic_enum"]

log = logging.getLogger(__name__)

COMPLIANCE_TOPICS = frozenset({"customers/data_request", "customers/redact", "shop/redact"})
WEBHOOK_PATH = "/webhooks/shopify"
_ALREADY = ("already been taken", "already exists", "already taken")


class WebhookSubscriptionError(RuntimeError):
    """Shopify refused a subscription for a reason other than "already exists"."""


def topic_enum(topic: str) -> str:
    """``orders/create`` -> ``ORDERS_CREATE`` (the ``WebhookSubscriptionTopic`` value)."""
    return topic.replace("/", "_").upper()


def subscribe_webhooks(client: AdminClient, callback_url: str,
                       topics: Iterable[str] = TOPICS) -> dict[str, str]:
    """Subscribe ``callback_url`` to every non-compliance topic.

    Args:
        client: The shop's Admin API client.
        callback_url: The HTTPS endpoint (``<app url>/webhooks/shopify``).
        topics: Topics in ``resource/event`` form; compliance topics are skipped (they live
            in the app's TOML, not the API).

    Returns:
        ``{topic: "created" | "exists"}``.

    Raises:
        WebhookSubscriptionError: any other user error (all topics are tried first).
        ShopifyError: the request itself failed.
    """
    result: dict[str, str] = {}
    problems: list[str] = []
    for topic in topics:
        if topic in COMPLIANCE_TOPICS:
            continue
        data = client.execute(q.WEBHOOK_SUBSCRIPTION_CREATE,
                              {"topic": topic_enum(topic), "uri": callback_url})
        payload = data.get("webhookSubscriptionCreate") or {}
        errors = payload.get("userErrors") or []
        if not errors and payload.get("webhookSubscription"):
            result[topic] = "created"
        elif errors and all(any(m in str(e.get("message", "")).lower() for m in _ALREADY)
                            for e in errors):
            result[topic] = "exists"
        else:
            problems.append(f"{topic}: " + "; ".join(str(e.get("message")) for e in errors))
    if problems:
        raise WebhookSubscriptionError("; ".join(problems))
    return result


def make_on_installed(app_url: str, *, admin_url: str | None = None,
                      client_factory: Callable[..., AdminClient] = AdminClient
                      ) -> Callable[[str, str], None]:
    """The ``SHOPIFY_ON_INSTALLED`` hook: subscribe ``<app_url>/webhooks/shopify``.

    Args:
        app_url: The app's public base URL (``SHOPIFY_APP_URL``).
        admin_url: Admin API base URL instead of ``https://<shop>`` (the sandbox fake).
        client_factory: Builds the client ``(shop_domain, token, admin_url=...)``.

    Returns:
        ``hook(shop_domain, token) -> None``.
    """
    callback = app_url.rstrip("/") + WEBHOOK_PATH

    def on_installed(shop_domain: str, token: str) -> None:
        client = client_factory(shop_domain, token, admin_url=admin_url)
        done = subscribe_webhooks(client, callback)
        log.info("shopify %s: webhooks %s", shop_domain,
                 ", ".join(f"{t}={s}" for t, s in sorted(done.items())))

    return on_installed
