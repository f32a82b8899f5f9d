"""Sales channel of an order, from its raw ``source`` (Shopify's ``sourceName``).

Shopify documents ``Order.sourceName`` (REST ``source_name``) as the platform the order was
placed on. The values are open: Shopify's own channels use fixed names, a sales-channel or
marketplace app's orders carry the app's API client id (digits), and an order created
through the Admin API may carry any string the creating app chose. restock keeps the raw
value in ``orders.source`` and a small vocabulary in ``orders.channel``:

=====================================  ==============  ==========================================
``source`` (case-insensitive)          ``channel``      why
=====================================  ==============  ==========================================
``web``, ``checkout_next``,            online_store     Online Store checkout (``checkout_next``
``online_store``, ``shopify``                           is the newer checkout's name)
``pos``                                pos              Shopify POS (a retail location)
``shopify_draft_order``, ``draft``     draft_order      draft order completed by the merchant
``iphone``, ``android``,               mobile_app       Shopify mobile admin apps
``mobile_app``
digits only (e.g. ``2329312``)         marketplace      a sales-channel / marketplace app's API
                                                        client id (Amazon, eBay, Google, ...)
``marketplace``, ``amazon``, ``ebay``  marketplace      restock's sandbox label, and the custom
``etsy``, ``walmart``, ``google``,                      source names marketplace connector apps
``facebook``, ``instagram``,                            write when they import orders through
``tiktok``                                              the API
any other non-empty text               api              an order created through the Admin API
                                                        under a custom source name
empty / missing                        unknown          the source was not given
=====================================  ==============  ==========================================

:data:`CHANNELS` lists the vocabulary. :func:`channel_for_source` is pure and total: every
input gets a channel. :mod:`core.ingest` fills ``orders.channel`` from ``source`` when a
record does not bring a channel of its own, so the Shopify sync, the webhooks, the CSV import
and the sandbox all store the same channel for the same source.
"""
from __future__ import annotations

__all__ = ["CHANNELS", "channel_for_source"]

#: The channel vocabulary (``orders.channel``).
CHANNELS = ("online_store", "pos", "draft_order", "mobile_app", "marketplace", "api", "unknown")

_NAMED = {
    "web": "online_store", "checkout_next": "online_store", "online_store": "online_store",
    "shopify": "online_store",
    "pos": "pos",
    "shopify_draft_order": "draft_order", "draft": "draft_order",
    "iphone": "mobile_app", "android": "mobile_app", "mobile_app": "mobile_app",
    "marketplace": "marketplace", "amazon": "marketplace", "ebay": "marketplace",
    "etsy": "marketplace", "walmart": "marketplace", "google": "marketplace",
    "facebook": "marketplace", "instagram": "marketplace", "tiktok": "marketplace",
}


def channel_for_source(source) -> str:
    """The :data:`CHANNELS` value of an order's raw ``source`` (see the module table)."""
    if source is None or (isinstance(source, float) and source != source):
        return "unknown"
    text = str(source).strip().lower()
    if not text:
        return "unknown"
    if text in _NAMED:
        return _NAMED[text]
    if text.isdigit():
        return "marketplace"
    return "api"
