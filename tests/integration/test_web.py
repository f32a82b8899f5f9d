"""Integration tests of the web app against a small, hand-made shop.

The shop is built by hand in a temporary SQLite database: two locations, five SKUs with
demand defined by simple formulas (so sums can be worked out independently of the app), a
stockout stretch, refunds, cancelled orders, an order without a location, a campaign, a SKU
with ten days of history, a seasonal SKU, a SKU without a supplier and a SKU whose name holds
a slash and a space. It is loaded with :func:`core.ingest.load_records` and planned with
:func:`core.plan.run_plan`.
"""
from __future__ import annotations

import csv
import io
import re
import shutil
from datetime import date, timedelta
from urllib.parse import quote

import pandas as pd
import pytest
from sqlalchemy import select

from connector.app import create_app
from connector.config import Settings
from connector.context import build_context
from core.ingest import load_records
from core.plan import run_plan
from core.records import ShopRecords
from core.reports import latest_run, order_list
from core.shops import get_or_create_shop
from core.storage import (Location, PlanLine, PurchaseOrder, PurchaseOrderLine, Shop,
                          Supplier, Variant)

START = date(2024, 1, 1)
N_DAYS = 150
CUTOFF = START + timedelta(days=N_DAYS - 1)  # 2024-05-29, the day of the last order
SHOP = "Test Shop"
MUG = "MUG/BLUE L"
STOCKOUT = range(120, 130)  # MUG's days with nothing available (and so no sales)
KETTLE_FROM = 140  # KETTLE-01 is new: it sells from this day on (10 days of history)
SLED_SEASON = (date(2023, 12, 1), date(2024, 2, 29))
CAMPAIGN = (date(2024, 5, 10), date(2024, 5, 16))


def day(d: int) -> date:
    return START + timedelta(days=d)


# --- hand-made demand: units ordered per SKU, location and day index ----------------------

def tea_wh(d: int) -> int:
    return 3 + d % 3


def tea_wh_refunded(d: int) -> int:
    return 1 if d % 10 == 0 else 0


def tea_wh_no_location(d: int) -> bool:
    """Orders with no location count at the default (first warehouse) location."""
    return d % 7 == 3


def tea_cancelled(d: int) -> bool:
    return d % 25 == 5  # an extra cancelled order of 20 units, never counted


def tea_st(d: int) -> int:
    return 1 if d % 2 == 0 else 0


def mug_wh(d: int) -> int:
    if d in STOCKOUT:
        return 0
    return 4 if day(d).weekday() >= 5 else 2


def kettle_wh(d: int) -> int:
    return 1 + d % 2 if d >= KETTLE_FROM else 0


def filter_st(d: int) -> int:
    return 3 if d % 4 == 0 else 0


def ts(d: date, hour: int = 10) -> pd.Timestamp:
    return pd.Timestamp(d.isoformat()).tz_localize("UTC") + pd.Timedelta(hours=hour)


def build_records() -> ShopRecords:
    """The hand-made shop as intake records."""
    locations = pd.DataFrame([
        {"external_id": "wh", "name": "Main warehouse", "kind": "warehouse"},
        {"external_id": "st", "name": "Corner store", "kind": "store"}])
    catalog = [("TEA-GREEN", "Green tea 100 g", 6.0, 2.0, START),
               (MUG, "Blue mug, large", 12.0, 4.0, START),
               ("KETTLE-01", "Copper kettle", 45.0, 18.5, day(KETTLE_FROM)),
               ("FILTER-PK", "Tea filters, pack of 100", 3.5, 1.0, START),
               ("SLED-RED", "Red sled", 30.0, 12.0, date(2023, 5, 1))]
    products = pd.DataFrame([{"external_id": f"p{i}", "title": t, "created_at": ts(c, 0)}
                             for i, (_, t, _, _, c) in enumerate(catalog)])
    variants = pd.DataFrame([{"external_id": f"v{i}", "product_external_id": f"p{i}",
                              "sku": s, "title": t, "price": p, "unit_cost": u,
                              "created_at": ts(c, 0)}
                             for i, (s, t, p, u, c) in enumerate(catalog)])
    suppliers = pd.DataFrame([{"external_id": "leaf", "name": "Leaf & Co"},
                              {"external_id": "kw", "name": "Kettle Works"}])
    supplier_items = pd.DataFrame([
        {"supplier_external_id": "leaf", "sku": "TEA-GREEN", "unit_cost": 2.5,
         "lead_time_days": 10, "case_pack": 6},
        {"supplier_external_id": "leaf", "sku": MUG, "unit_cost": 4.0, "lead_time_days": 21,
         "moq": 12},
        {"supplier_external_id": "kw", "sku": "KETTLE-01", "unit_cost": 18.5,
         "lead_time_days": 14},
        {"supplier_external_id": "leaf", "sku": "SLED-RED", "unit_cost": 12.0,
         "lead_time_days": 30}])
    orders, lines = [], []

    def order(oid, d, loc, items, cancelled=False):
        orders.append({"external_id": oid, "name": f"#{oid}", "created_at": ts(d),
                       "cancelled_at": ts(d, 12) if cancelled else None,
                       "location_external_id": loc})
        for sku, qty, refunded in items:
            lines.append({"external_id": f"{oid}-{sku}", "order_external_id": oid, "sku": sku,
                          "quantity": qty, "refunded_quantity": refunded, "price": 1.0})

    for d in range(N_DAYS):
        wh = [("TEA-GREEN", tea_wh(d), tea_wh_refunded(d))]
        wh += [(s, q, 0) for s, q in ((MUG, mug_wh(d)), ("KETTLE-01", kettle_wh(d))) if q]
        order(f"w{d}", day(d), None if tea_wh_no_location(d) else "wh", wh)
        st = [(s, q, 0) for s, q in (("TEA-GREEN", tea_st(d)), ("FILTER-PK", filter_st(d)))
              if q]
        if st:
            order(f"s{d}", day(d), "st", st)
        if tea_cancelled(d):
            order(f"c{d}", day(d), "wh", [("TEA-GREEN", 20, 0)], cancelled=True)
    # one sale on its launch day: the data then covers more than a year, so the seasonal
    # rule (which needs 364 days of history) can see the sled's season
    order("sled-launch", date(2023, 5, 1), "wh", [("SLED-RED", 1, 0)])
    d = SLED_SEASON[0]
    while d <= SLED_SEASON[1]:
        order(f"sled{d.isoformat()}", d, "wh", [("SLED-RED", 4, 0)])
        d += timedelta(days=1)
    inventory = []
    for d in range(N_DAYS):
        last = d == N_DAYS - 1
        rows = [("TEA-GREEN", "wh", 100 - (d % 30) * 3, 2 if last else 0),
                (MUG, "wh", 0 if d in STOCKOUT else 60, 0),
                ("TEA-GREEN", "st", 20, 0), ("FILTER-PK", "st", 30, 0),
                ("SLED-RED", "wh", 40, 0)]
        if d >= KETTLE_FROM:
            rows.append(("KETTLE-01", "wh", 5, 0))
        for sku, loc, avail, committed in rows:
            inventory.append({"sku": sku, "location_external_id": loc,
                              "date": pd.Timestamp(day(d).isoformat()), "available": avail,
                              "on_hand": avail + committed, "incoming": 0,
                              "committed": committed})
    campaigns = pd.DataFrame([{"external_id": "cmp1", "name": "Spring tea week",
                               "starts_at": ts(CAMPAIGN[0], 0),
                               "ends_at": ts(CAMPAIGN[1], 0) + pd.Timedelta(seconds=86399),
                               "skus": ["TEA-GREEN"], "discount_pct": 15.0}])
    return ShopRecords(locations=locations, products=products, variants=variants,
                       suppliers=suppliers, supplier_items=supplier_items,
                       orders=pd.DataFrame(orders), order_lines=pd.DataFrame(lines),
                       inventory=pd.DataFrame(inventory), campaigns=campaigns)


def build_shop_db(path) -> str:
    """Create, load and plan the hand-made shop in a SQLite file; return its URL."""
    url = f"sqlite:///{path}"
    ctx = build_context(Settings(database_url=url, env="test"))
    with ctx.sessions() as s:
        shop = get_or_create_shop(s, SHOP, currency="EUR")
        load_records(s, shop.id, build_records())
        s.flush()
        leaf = s.scalar(select(Supplier).where(Supplier.external_id == "leaf"))
        wh = s.scalar(select(Location).where(Location.external_id == "wh"))
        mug_id = s.scalar(select(Variant.id).where(Variant.sku == MUG))
        po = PurchaseOrder(shop_id=shop.id, number="PO-MANUAL-1", supplier_id=leaf.id,
                           location_id=wh.id, status="sent", idempotency_key="manual-1",
                           expected_at=CUTOFF + timedelta(days=5))
        s.add(po)
        s.flush()
        s.add(PurchaseOrderLine(purchase_order_id=po.id, variant_id=mug_id, sku=MUG,
                                quantity=24, unit_cost=4.0))
        s.commit()
        run_plan(s, shop)
        s.commit()
    ctx.engine.dispose()
    return url


# --- fixtures -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def base_db(tmp_path_factory):
    """The planned shop in a SQLite file that no app opens (copied for each use)."""
    path = tmp_path_factory.mktemp("web") / "base.db"
    build_shop_db(path)
    return path


def _app_on_copy(base, target):
    shutil.copyfile(base, target)
    ctx = build_context(Settings(database_url=f"sqlite:///{target}", env="test"))
    return create_app({"TESTING": True}, context=ctx), ctx


@pytest.fixture(scope="module")
def web(base_db, tmp_path_factory):
    """A read-only app (tests using it must not write) and its context."""
    app, ctx = _app_on_copy(base_db, tmp_path_factory.mktemp("ro") / "read.db")
    yield app, ctx
    ctx.engine.dispose()


@pytest.fixture
def client(web):
    return web[0].test_client()


@pytest.fixture
def ctx(web):
    return web[1]


@pytest.fixture
def fresh(base_db, tmp_path):
    """An app on its own copy of the database, for tests that write."""
    app, context = _app_on_copy(base_db, tmp_path / "own.db")
    yield app, context
    context.engine.dispose()


def _lines(ctx) -> list[PlanLine]:
    with ctx.sessions() as s:
        shop = s.scalar(select(Shop).where(Shop.name == SHOP))
        run = latest_run(s, shop)
        return list(s.scalars(select(PlanLine).where(PlanLine.plan_run_id == run.id)))


def _location_ids(ctx) -> dict[str, int]:
    with ctx.sessions() as s:
        return dict(s.execute(select(Location.external_id, Location.id)).all())


def _list_rows(html: str) -> list[tuple[str, str]]:
    """(row classes, sku) of every row of an order-list table."""
    return re.findall(r'<tr class="([^"]*)">\s*<td class="sku"><a href="[^"]*">([^<]*)</a>',
                      html)


def _section(html: str, location_id: int) -> str:
    """The part of a SKU page about one location."""
    start = html.index(f'id="loc-{location_id}"')
    end = html.find('<section class="card location"', start)
    return html[start:end if end > 0 else len(html)]


def _bar_values(section: str) -> dict[str, float]:
    return {d: float(v) for d, v in
            re.findall(r'class="bar" data-day="([0-9-]+)" data-value="([^"]+)"', section)}


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


# --- pages ----------------------------------------------------------------------------------

def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.get_json() == {"status": "ok"}


def test_index_is_the_staple_list_with_the_run_header(client, ctx):
    r = client.get("/lists/staple")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    skus = {sku for _, sku in _list_rows(html)}
    assert skus == {"TEA-GREEN", MUG, "KETTLE-01", "FILTER-PK"}  # SLED-RED is seasonal
    assert CUTOFF.isoformat() in html
    for label in ("Staple list", "Seasonal list", "Purchase orders", "Holdout MASE", "WAPE",
                  "Bias"):
        assert label in html
    with ctx.sessions() as s:
        run = latest_run(s, s.scalar(select(Shop).where(Shop.name == SHOP)))
        assert f"{run.mase:,.2f}" in html and f"{run.wape * 100:.1f}%" in html
    assert ">5 <" in html  # five SKUs planned (TEA-GREEN at two locations)


def test_seasonal_list_holds_the_seasonal_sku(client):
    html = client.get("/lists/seasonal").get_data(as_text=True)
    assert [sku for _, sku in _list_rows(html)] == ["SLED-RED"]


def test_status_highlights_and_urgent_rows(client, ctx):
    html = client.get("/lists/staple").get_data(as_text=True)
    assert 'status-insufficient_history">insufficient history' in html  # KETTLE-01
    assert 'status-no_supplier">no supplier' in html  # FILTER-PK
    wh = _location_ids(ctx)["wh"]
    expected = sorted(pl.sku for pl in _lines(ctx) if pl.list == "staple" and
                      round(pl.on_hand, 1) + round(pl.on_order, 1) - round(pl.committed, 1)
                      <= round(pl.reorder_point, 1))
    urgent = sorted(sku for cls, sku in _list_rows(html) if "urgent" in cls.split())
    assert urgent == expected
    # by hand: TEA-GREEN at the warehouse has 13 available + 2 committed on the last day,
    # so its position is 13: far below ten days of demand of about four a day
    tea = next(pl for pl in _lines(ctx) if pl.sku == "TEA-GREEN" and pl.location_id == wh)
    assert (tea.on_hand, tea.committed, tea.on_order) == (15, 2, 0)
    assert "TEA-GREEN" in urgent
    mug = next(pl for pl in _lines(ctx) if pl.sku == MUG)
    assert mug.on_order == 24  # the sent purchase order made by hand


def test_only_skus_to_order_filter_and_totals(client, ctx):
    html = client.get("/lists/staple?to_order=1").get_data(as_text=True)
    to_order = [pl for pl in _lines(ctx) if pl.list == "staple" and pl.recommended_qty > 0]
    assert sorted(sku for _, sku in _list_rows(html)) == sorted(pl.sku for pl in to_order)
    assert "FILTER-PK" not in html  # no supplier, nothing to order
    value = sum(pl.recommended_qty * pl.unit_cost for pl in to_order)
    assert f"€{value:,.2f}" in html
    units = sum(pl.recommended_qty for pl in to_order)
    assert f'<td class="num strong">{units:,}</td>' in html


def test_bad_query_parameters_are_400_and_unknown_names_404(client):
    r = client.get("/lists/staple?to_order=perhaps")
    assert r.status_code == 400 and "to_order" in r.get_data(as_text=True)
    r = client.get("/lists/weekly")
    assert r.status_code == 404
    assert "no order list called &#39;weekly&#39;" in r.get_data(as_text=True)
    assert client.get("/lists/weekly.csv").status_code == 404
    r = client.get("/sku/TEA-GREEN?days=many")
    assert r.status_code == 400 and "not a whole number" in r.get_data(as_text=True)
    assert client.get("/sku/TEA-GREEN?days=5").status_code == 400
    assert client.get("/purchase-orders?status=lost").status_code == 400
    r = client.get("/?shop=Nowhere")
    assert r.status_code == 404 and "unknown shop" in r.get_data(as_text=True)


def test_list_csv_equals_order_list(client, ctx):
    r = client.get("/lists/staple.csv")
    assert r.status_code == 200
    assert r.mimetype == "text/csv"
    assert r.headers["Content-Disposition"].startswith("attachment;")
    with ctx.sessions() as s:
        run = latest_run(s, s.scalar(select(Shop).where(Shop.name == SHOP)))
        expected = order_list(s, run, "staple")
    assert r.get_data(as_text=True) == expected.to_csv(index=False)
    got = pd.read_csv(io.StringIO(r.get_data(as_text=True)), keep_default_na=False)
    assert list(got.columns) == list(expected.columns)
    assert sorted(got["sku"]) == sorted(["TEA-GREEN", "TEA-GREEN", MUG, "KETTLE-01",
                                         "FILTER-PK"])
    only = client.get("/lists/staple.csv?to_order=yes").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(only)))
    assert rows and all(int(row["recommended_qty"]) > 0 for row in rows)


def test_sku_page_chart_shows_hand_made_history(client, ctx):
    r = client.get("/sku/TEA-GREEN")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    locs = _location_ids(ctx)
    window = range(N_DAYS - 120, N_DAYS)  # the last 120 days up to the cut-off
    wh = _section(html, locs["wh"])
    assert "<svg" in wh and 'class="band"' in wh and 'data-series="Forecast"' in wh
    bars = _bar_values(wh)
    expected = {day(d).isoformat(): float(tea_wh(d) - tea_wh_refunded(d)) for d in window}
    assert bars == expected  # orders without a location count here; cancelled ones never
    assert f'data-total="{sum(expected.values()):g}"' in wh
    st = _bar_values(_section(html, locs["st"]))
    assert sum(st.values()) == sum(tea_st(d) for d in window) == 60
    line = next(pl for pl in _lines(ctx) if pl.sku == "TEA-GREEN" and pl.location_id == locs["wh"])
    assert f'data-series="Reorder point" data-value="{line.reorder_point:g}"' in wh
    assert f'data-series="Order-up-to" data-value="{line.order_up_to:g}"' in wh
    # the campaign touching TEA-GREEN is shaded over its seven days
    assert (f'data-label="Campaign" data-from="{CAMPAIGN[0]}" data-to="{CAMPAIGN[1]}" '
            f'data-days="7"') in wh
    assert 'data-series="Projected on hand"' in wh
    assert "Spring tea week" in wh
    for text in ("MASE", "WAPE", "Bias", "History days"):
        assert text in wh


def test_sku_with_slash_and_space_shows_stockouts(client, ctx):
    html = client.get("/lists/staple").get_data(as_text=True)
    assert f'href="/sku/{quote(MUG)}"' in html and quote(MUG) == "MUG/BLUE%20L"
    r = client.get(f"/sku/{quote(MUG)}")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    sec = _section(page, _location_ids(ctx)["wh"])
    first, last = day(STOCKOUT[0]), day(STOCKOUT[-1])
    assert (f'data-label="Stockout day" data-from="{first}" data-to="{last}" '
            f'data-days="{len(STOCKOUT)}"') in sec
    bars = _bar_values(sec)
    assert sum(bars.values()) == sum(mug_wh(d) for d in range(N_DAYS - 120, N_DAYS))
    assert all(bars.get(day(d).isoformat(), 0) == 0 for d in STOCKOUT)
    assert 'data-series="Campaign"' not in sec and 'data-label="Campaign"' not in sec


def test_sku_with_short_history(client):
    html = client.get("/sku/KETTLE-01").get_data(as_text=True)
    assert "insufficient history" in html
    assert '<td class="num">10</td>' in html  # ten history days in the accuracy table
    bars = _bar_values(html)
    assert sum(bars.values()) == sum(kettle_wh(d) for d in range(N_DAYS))


def test_unknown_sku_is_404(client):
    r = client.get("/sku/NO-SUCH-SKU")
    assert r.status_code == 404
    assert "has no SKU &#39;NO-SUCH-SKU&#39;" in r.get_data(as_text=True)


def test_projected_stock_definition():
    from connector.web.sku_data import forecast_band, projected_stock

    line = PlanLine(on_hand=15.0, committed=2.0, on_order=5.0, recommended_qty=60,
                    lead_time_days=9.5)
    proj = projected_stock(line, [4.0] * 56)
    assert proj[0] == 13  # on hand - committed at the cut-off
    assert proj[9] == 13 - 36  # nothing has arrived before day ceil(9.5) = 10
    assert proj[10] == 13 - 40 + 60 + 5
    assert len(proj) == 57
    lo, hi = forecast_band([1.0, 4.0], 2.0)
    assert lo == [0.0, pytest.approx(4.0 - 1.2816 * 2.0)]
    assert hi == [pytest.approx(1.0 + 2.5632), pytest.approx(4.0 + 2.5632)]


def test_purchase_orders_page_and_csv(client, ctx):
    r = client.get("/purchase-orders")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    with ctx.sessions() as s:
        pos = list(s.scalars(select(PurchaseOrder)))
    drafts = [po for po in pos if po.status == "draft"]
    assert drafts and all(po.number in html for po in pos)
    assert html.count(">Approve</button>") == len(drafts)  # not for the sent order
    assert "PO-MANUAL-1" in html and "Leaf &amp; Co" in html
    csv_r = client.get("/purchase-orders.csv")
    assert csv_r.headers["Content-Disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(csv_r.get_data(as_text=True))))
    assert {row["po_number"] for row in rows} == {po.number for po in pos}
    manual = next(row for row in rows if row["po_number"] == "PO-MANUAL-1")
    assert (manual["sku"], manual["quantity"], float(manual["line_value"])) == (MUG, "24", 96.0)
    only = client.get("/purchase-orders?status=sent").get_data(as_text=True)
    assert "PO-MANUAL-1" in only and all(po.number not in only for po in drafts)


def test_approve_draft_with_csrf_token_then_twice(fresh):
    app, context = fresh
    c = app.test_client()
    with context.sessions() as s:
        po = s.scalar(select(PurchaseOrder).where(PurchaseOrder.status == "draft")
                      .order_by(PurchaseOrder.number))
    token = _csrf(c.get("/purchase-orders").get_data(as_text=True))
    r = c.post(f"/purchase-orders/{po.id}/approve", data={"csrf_token": token})
    assert r.status_code == 303
    page = c.get(r.headers["Location"]).get_data(as_text=True)
    assert f"Purchase order {po.number} approved." in page
    with context.sessions() as s:
        assert s.get(PurchaseOrder, po.id).status == "approved"
    r = c.post(f"/purchase-orders/{po.id}/approve", data={"csrf_token": token},
               follow_redirects=True)
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert f"Could not approve: purchase order {po.number} is approved" in page
    assert 'class="flash flash-error"' in page
    with context.sessions() as s:
        assert s.get(PurchaseOrder, po.id).status == "approved"


def test_post_without_or_with_a_wrong_token_is_400(fresh):
    app, context = fresh
    c = app.test_client()
    with context.sessions() as s:
        po = s.scalar(select(PurchaseOrder).where(PurchaseOrder.status == "draft"))
    assert c.post(f"/purchase-orders/{po.id}/approve").status_code == 400
    c.get("/purchase-orders")  # the session now has a token, but the form sends another
    assert c.post(f"/purchase-orders/{po.id}/approve",
                  data={"csrf_token": "forged"}).status_code == 400
    other = app.test_client()  # a token from another browser session does not work either
    token = _csrf(other.get("/purchase-orders").get_data(as_text=True))
    assert c.post(f"/purchase-orders/{po.id}/approve",
                  data={"csrf_token": token}).status_code == 400
    with context.sessions() as s:
        assert s.get(PurchaseOrder, po.id).status == "draft"
    assert c.post("/purchase-orders/999999/approve",
                  data={"csrf_token": _csrf(c.get("/purchase-orders").get_data(as_text=True))}
                  ).status_code == 404


def test_seasonal_filter_can_leave_nothing_to_order(client):
    html = client.get("/lists/seasonal?to_order=1").get_data(as_text=True)
    assert _list_rows(html) == [] and "Nothing to order on this list right now." in html


def test_create_app_builds_its_context_from_the_environment(base_db, tmp_path, monkeypatch):
    target = tmp_path / "env.db"
    shutil.copyfile(base_db, target)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{target}")
    monkeypatch.setenv("RESTOCK_ENV", "demo")
    monkeypatch.delenv("RESTOCK_SECRET_KEY", raising=False)
    app = create_app()
    context = app.extensions["restock"]
    try:
        assert context.settings.database_url == f"sqlite:///{target}"
        assert app.config["SECRET_KEY"]  # a random per-process key in demo
        assert app.test_client().get("/dashboard").status_code == 200
    finally:
        context.engine.dispose()
    prod = build_context(Settings(database_url=f"sqlite:///{target}", env="production"))
    try:
        with pytest.raises(RuntimeError, match="RESTOCK_SECRET_KEY"):
            create_app(context=prod)
        keyed = build_context(Settings(database_url=f"sqlite:///{target}",
                                       env="production", secret_key="s3cret"))
        assert create_app(context=keyed).config["SECRET_KEY"] == "s3cret"
        keyed.engine.dispose()
    finally:
        prod.engine.dispose()


def test_several_shops_need_a_choice(fresh):
    app, context = fresh
    with context.sessions() as s:
        get_or_create_shop(s, "Second Shop")
        s.commit()
    c = app.test_client()
    r = c.get("/")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "Pick a shop" in html and "Second Shop" in html and SHOP in html
    assert 'href="/?shop=Test+Shop"' in html
    staple = c.get("/lists/staple?shop=Test+Shop").get_data(as_text=True)
    assert "TEA-GREEN" in staple
    assert f'href="/sku/TEA-GREEN?shop=Test+Shop"' in staple  # links keep the shop
    empty = c.get("/lists/staple?shop=Second+Shop")
    assert empty.status_code == 200 and "No plan run for this shop yet" in empty.get_data(
        as_text=True)
    assert c.get("/sku/TEA-GREEN?shop=Second+Shop").status_code == 404
