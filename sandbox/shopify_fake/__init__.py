"""A Shopify Admin GraphQL API (2026-07) fake over a sandbox shop, answering through the real
schema: validation (deprecated fields refused), cost and a leaky bucket, cursor pagination,
``updated_at`` search, bulk operations with JSONL results, a few mutations, fault injection.

Typical use::

    from sandbox import generate
    from sandbox.shopify_fake import make_fake_app, serve_fake

    app = make_fake_app(generate(seed=3, n_skus=25), token="shpat_test")
    url, stop = serve_fake(app)
    client = AdminClient("sandbox.myshopify.com", "shpat_test", admin_url=url)
    ...
    stop()

Webhooks: every store change is sent, signed with ``webhook_secret``, to the subscriptions
made with ``webhookSubscriptionCreate`` (or ``fake.dispatcher.subscribe``); with
``replay_from=DAY`` the fake starts at the end of that sandbox day and ``fake.advance(days=1)``
(or ``POST /_fake/clock``) replays the later days as orders, cancellations, refunds and
stock changes - and their webhooks.

Modules: :mod:`.model` (objects), :mod:`.store` (built from the sandbox records),
:mod:`.hooks` (test hooks: ``add_order``, ``cancel_order``, ``add_refund``,
``set_inventory``, ``set_marketing``, ``add_customer``, ``update_inventory_item``,
``update_product``), :mod:`.payloads` (webhook bodies), :mod:`.deliveries` (signing,
sending, retries), :mod:`.replay` (the later sandbox days), :mod:`.nodes` (GraphQL
objects), :mod:`.search` (search syntax, cursors), :mod:`.resources` (top-level connections, query root),
:mod:`.mutations`, :mod:`.bulk` and :mod:`.walk` (bulk operations), :mod:`.engine` (one
request: validation, cost, bucket, execution), :mod:`.timing` (bucket, manual clock),
:mod:`.faults`, :mod:`.app` (Flask), :mod:`.server` (background server). Run it alone with
``python -m sandbox.shopify_fake``.
"""
from .app import INVALID_TOKEN_BODY, ShopifyFake, get_fake, make_fake_app
from .deliveries import WebhookDispatcher
from .faults import FaultConfig
from .server import serve_fake
from .timing import LeakyBucket, ManualClock

__all__ = ["make_fake_app", "serve_fake", "get_fake", "ShopifyFake", "FaultConfig",
           "LeakyBucket", "ManualClock", "INVALID_TOKEN_BODY", "WebhookDispatcher"]
