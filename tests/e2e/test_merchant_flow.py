"""A merchant's day in a real browser (headless Chromium): the landing page with the plan's
data cut-off, a SKU's chart from the order list, and a draft purchase order approved and
sent to its supplier's HTTP endpoint.

Screenshots of every step go to ``tests/e2e/artifacts/``.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

pytest.importorskip("playwright.sync_api",
                    reason="the playwright package is missing: pip install -e '.[test]'")

from playwright.sync_api import expect  # noqa: E402

from connector.delivery import SIGNATURE_HEADER, verify  # noqa: E402

pytestmark = pytest.mark.e2e

#: Paths the app may land on at ``/``: the dashboard (once it exists) or the staple list.
LANDING_PATHS = {"/", "/dashboard", "/lists/staple"}


def _header(headers: dict, name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


def test_merchant_flow(page, app_url, demo_shop, supplier_endpoint, shoot):
    cutoff = demo_shop.data_cutoff.isoformat()

    # 1. The landing page shows the shop and the plan's data cut-off.
    response = page.goto(app_url + "/")
    assert response is not None and response.ok, f"GET / answered {response and response.status}"
    assert urlsplit(page.url).path in LANDING_PATHS, f"unexpected landing page {page.url}"
    expect(page.get_by_text(demo_shop.name, exact=True).first).to_be_visible()
    expect(page.get_by_text(cutoff, exact=True).first).to_be_visible()
    shoot(page, "landing")

    # 2. The staple order list, then one SKU's page from it, with its chart.
    page.get_by_role("link", name="Staple list", exact=True).first.click()
    expect(page.get_by_role("heading", name="Staple order list")).to_be_visible()
    sku_links = page.locator("main tbody tr.to-order a[href*='/sku/']")
    if sku_links.count() == 0:  # nothing to order: any SKU of the list will do
        sku_links = page.locator("main tbody a[href*='/sku/']")
    assert sku_links.count() > 0, "the staple list shows no SKU"
    shoot(page, "staple-list")
    sku = sku_links.first.inner_text().strip()
    sku_links.first.click()
    expect(page).to_have_url(re.compile(r"/sku/"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(sku)
    chart = page.get_by_role("img", name=re.compile(rf"^{re.escape(sku)} at .*forecast"))
    expect(chart.first).to_be_visible()
    box = chart.first.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 200, box
    assert chart.first.locator("rect").count() > 10, "the chart draws no bars"
    shoot(page, "sku")

    # 3. Purchase orders: approve the first draft with its Approve button.
    page.get_by_role("link", name="Purchase orders", exact=True).first.click()
    expect(page.get_by_role("heading", name="Purchase orders", level=1)).to_be_visible()
    drafts = page.locator("section.po").filter(
        has=page.get_by_role("button", name="Approve", exact=True))
    assert drafts.count() > 0, "the plan made no draft purchase order"
    number = drafts.first.locator("h2").inner_text().strip()
    order = page.locator(f'section[id="po-{number}"]')
    expect(order.locator("span.status")).to_have_text("draft")
    shoot(page, "purchase-orders")

    order.get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_role("status").filter(
        has_text=f"Purchase order {number} approved.")).to_be_visible()
    expect(order.locator("span.status")).to_have_text("approved")
    expect(order.get_by_role("button", name="Approve", exact=True)).to_have_count(0)
    assert supplier_endpoint.deliveries == [], "approving must not send the order"
    shoot(page, "approved")

    # 4. Send it: the supplier's endpoint gets it once and the order shows as sent.
    order.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("status").filter(
        has_text=f"Purchase order {number} sent by http.")).to_be_visible()
    expect(order.locator("span.status")).to_have_text("sent")
    expect(order.get_by_role("button", name="Send", exact=True)).to_have_count(0)
    expect(order).to_contain_text("Sent")
    shoot(page, "sent")

    assert len(supplier_endpoint.deliveries) == 1, supplier_endpoint.deliveries
    delivery = supplier_endpoint.deliveries[0]
    assert delivery.path == "/po"
    assert _header(delivery.headers, "X-Restock-Order") == number
    signature = _header(delivery.headers, SIGNATURE_HEADER)
    assert verify(supplier_endpoint.secret, delivery.body, signature), "bad signature"
    payload = delivery.json()
    assert payload["order_number"] == number
    assert payload["shop"] == demo_shop.name and payload["lines"]

    from sqlalchemy import select

    from core.storage import PurchaseOrder

    with demo_shop.ctx.sessions() as s:
        status = s.scalar(select(PurchaseOrder.status).where(
            PurchaseOrder.shop_id == demo_shop.shop_id, PurchaseOrder.number == number))
    assert status == "sent"
