"""The demo's data path: the sandbox shop served by the Shopify fake and synced with the
real Shopify adapter, plus what Shopify does not hold.

Shopify knows the catalog, customers, orders and today's stock; it has no suppliers (a
merchant gives restock a ``suppliers.csv``), no campaigns calendar and no stock history
(restock records a snapshot every day it runs). Those three come from the sandbox straight
into storage, as if the merchant had imported them and restock had been running.
"""
from __future__ import annotations

import time

import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from core.ingest import load_records
from core.records import ShopRecords
from core.shops import get_or_create_shop
from core.storage import session_scope

__all__ = ["load_demo_shop", "DEMO_TOKEN"]

DEMO_TOKEN = "shpat_sandbox_demo"


def load_demo_shop(sessions: sessionmaker[Session], domain: str, echo=print, **knobs) -> dict:
    """Generate the sandbox, sync it through the fake, then add suppliers, campaigns and the
    stock history; return the sync counts."""
    from connector.adapters.shopify.client import AdminClient
    from connector.adapters.shopify.sync import sync_shop
    from sandbox import generate
    from sandbox.shopify_fake import make_fake_app, serve_fake

    t0 = time.perf_counter()
    sb = generate(**knobs)
    app = make_fake_app(sb, token=DEMO_TOKEN, shop_domain=domain)
    url, stop = serve_fake(app)
    echo(f"sandbox generated ({time.perf_counter() - t0:.1f} s); Shopify fake serving it at {url}")
    try:
        t1 = time.perf_counter()
        counts = sync_shop(sessions, domain, AdminClient(domain, DEMO_TOKEN, admin_url=url),
                           full=True)
        echo(f"synced through the Shopify adapter in {time.perf_counter() - t1:.1f} s: "
             + ", ".join(f"{v} {k}" for k, v in counts.items()
                         if isinstance(v, int) and v and k not in ("requests", "pages")))
    finally:
        stop()
    rec = sb.records
    last = pd.Timestamp(rec.inventory["date"].max())
    with session_scope(sessions) as s:
        shop = get_or_create_shop(s, domain)
        shop.domain = domain
        extra = load_records(s, shop.id, ShopRecords(
            suppliers=rec.suppliers, supplier_items=rec.supplier_items,
            campaigns=rec.campaigns,
            inventory=rec.inventory[rec.inventory["date"] < last]))
    echo("added what Shopify does not hold: "
         f"{extra.get('suppliers', 0)} suppliers, {extra.get('supplier_items', 0)} supplier "
         f"items, {extra.get('campaigns', 0)} campaigns, "
         f"{extra.get('inventory_snapshots', 0)} days x items of stock history")
    return counts
