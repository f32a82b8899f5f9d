"""Integration tests of the merchant app's admin pages, login and session-token auth.

One sandbox shop is built once (20 SKUs, 500 customers, 250 days, 2 locations), planned
with :func:`core.plan.run_plan`, given LTV figures (excess stock) by
:func:`core.ltv.apply.apply_ltv`, five days of KPI snapshots, and customer scores,
reminders, job runs, a learned supplier lead time and an approved purchase order made by
hand. Every test works on its own copy of that database file.
"""
from __future__ import annotations

import argparse
import io
import re
import shutil
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import jwt
import pandas as pd
import pytest
from sqlalchemy import func, select

from connector.app import create_app
from connector.config import Settings
from connector.context import build_context
from connector.web.auth import keep_params, safe_next
from connector.web.login import reset_throttle
from connector.web.users import create_user, set_password
from core.campaigns import verify_campaign
from core.kpis import snapshot_kpis
from core.plan import run_plan
from core.portfolio import portfolio_grid
from core.reports import latest_run, order_list
from core.storage import (Campaign, Customer, CustomerScore, JobRun, KpiSnapshot, PlanLine,
                          PlanRun, PurchaseOrder, Reminder, Shop, Supplier, SupplierItem,
                          Variant, make_engine, make_sessionmaker, upgrade)
from sandbox.load import load_sandbox

API_KEY = "restock-web-test-client-id"
SECRET = "web-test-client-secret-0123456789abcdef012345"
DOMAIN = "s-sandbox.myshopify.com"
TODAY = date.today()


# --- the shop -----------------------------------------------------------------------------

def _customer_scores(s, shop, cutoff) -> dict:
    """Two scoring days by hand: 12 customers, three of them changing segment."""
    cids = list(s.scalars(select(Customer.id).where(Customer.shop_id == shop.id)
                          .order_by(Customer.id).limit(13)))
    before = ["champions"] * 4 + ["loyal"] * 4 + ["new"] * 4
    now = ["champions"] * 3 + ["loyal"] * 5 + ["new"] * 2 + ["at_risk"] * 2
    groups = ["active_new_high", "active_established_high_frequent", "lapsed_new_low"]
    for day, segs, ids in ((cutoff - timedelta(days=30), before, cids[:12]),
                           (cutoff, now, cids[1:13])):
        for i, (cid, seg) in enumerate(zip(ids, segs)):
            s.add(CustomerScore(shop_id=shop.id, customer_id=cid, scored_on=day, segment=seg,
                                cpm_group=groups[i % 3], predicted_clv=10.0 * (i + 1),
                                p_alive=0.9, recency_score=3, frequency_score=3,
                                monetary_score=3))
    return {"now": pd.Series(now).value_counts().to_dict(), "day": cutoff}


def _reminders(s, shop) -> None:
    cids = list(s.scalars(select(Customer.id).where(Customer.shop_id == shop.id)
                          .order_by(Customer.id.desc()).limit(7)))
    vids = list(s.scalars(select(Variant.id).where(Variant.shop_id == shop.id)
                          .order_by(Variant.id).limit(2)))
    rows = [("candidate", None, 2, None, None), ("candidate", "substitute", 3, vids[1], None),
            ("suppressed", "out_of_stock", 1, None, None),
            ("suppressed", "no_marketing_consent", 4, None, None),
            ("suppressed", "cooldown", 5, None, None),
            ("sent", None, -3, None, datetime.now(timezone.utc)),
            ("candidate", None, 30, None, None)]
    for cid, (status, reason, days, sub, sent) in zip(cids, rows):
        s.add(Reminder(shop_id=shop.id, customer_id=cid, variant_id=vids[0], status=status,
                       reason=reason, due_date=TODAY + timedelta(days=days), channel="email",
                       substitute_variant_id=sub, sent_at=sent))


def _job_runs(s, shop) -> None:
    now = datetime.now(timezone.utc)
    s.add_all([
        JobRun(job_id="shopify_sync", shop_id=shop.id, started_at=now - timedelta(hours=1),
               finished_at=now - timedelta(minutes=59), outcome="ok",
               counts={"orders": 12, "products": 3}),
        JobRun(job_id="po_delivery", shop_id=shop.id, started_at=now - timedelta(minutes=30),
               finished_at=now - timedelta(minutes=30), outcome="error",
               error="SMTPConnectError: mail host refused the connection", counts={}),
        JobRun(job_id="inbox_drain", shop_id=None, started_at=now - timedelta(minutes=5),
               finished_at=now - timedelta(minutes=5), outcome="ok", counts={"applied": 4})])


def build_db(path) -> None:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with make_sessionmaker(engine)() as s:
        shop, _ = load_sandbox(s, "s", seed=3, n_skus=20, n_customers=500, n_days=250,
                               n_locations=2)
        shop.domain = DOMAIN
        run = run_plan(s, shop)
        s.commit()
        from core.ltv.apply import apply_ltv

        apply_ltv(s, shop, run)
        for k in range(5):
            snapshot_kpis(s, shop, run.data_cutoff - timedelta(days=4 - k))
        _customer_scores(s, shop, run.data_cutoff)
        _reminders(s, shop)
        _job_runs(s, shop)
        supplier = s.scalar(select(Supplier).where(Supplier.shop_id == shop.id)
                            .order_by(Supplier.name).limit(1))
        item = s.scalar(select(SupplierItem).where(SupplierItem.supplier_id == supplier.id)
                        .limit(1))
        supplier.delivery = {"method": "email", "lead_times": {str(item.variant_id): {
            "configured": {"lead_time_days": 10.0, "lead_time_std_days": 0.0},
            "learned": {"lead_time_days": 12.5, "lead_time_std_days": 1.2, "receipts": 4,
                        "at": "2026-01-31T10:00:00+00:00"}}}}
        draft = s.scalar(select(PurchaseOrder).where(PurchaseOrder.shop_id == shop.id,
                                                     PurchaseOrder.status == "draft")
                         .order_by(PurchaseOrder.id).limit(1))
        draft.status = "approved"
        s.commit()
    engine.dispose()


@pytest.fixture(scope="module")
def base_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("pages") / "base.db"
    build_db(path)
    return path


def _make(base, target, env="test", **config):
    shutil.copyfile(base, target)
    ctx = build_context(Settings(database_url=f"sqlite:///{target}", env=env,
                                 secret_key="web-pages-test-secret-key-0123456789"))
    app = create_app({"TESTING": True, "SHOPIFY_API_KEY": API_KEY,
                      "SHOPIFY_API_SECRET": SECRET, **config}, context=ctx)
    return app, ctx


@pytest.fixture
def web(base_db, tmp_path):
    """(app in the test environment, its context) on a copy of the shop."""
    app, ctx = _make(base_db, tmp_path / "own.db")
    yield app, ctx
    ctx.engine.dispose()


@pytest.fixture
def prod(base_db, tmp_path):
    """(app in the production environment, its context): logins are required."""
    reset_throttle()
    app, ctx = _make(base_db, tmp_path / "prod.db", env="production")
    yield app, ctx
    ctx.engine.dispose()


def _shop(s) -> Shop:
    return s.scalar(select(Shop).where(Shop.name == "s"))


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def id_token(secret=SECRET, domain=DOMAIN, **claims) -> str:
    now = int(time.time())
    body = dict(iss=f"https://{domain}/admin", dest=f"https://{domain}", aud=API_KEY, sub="42",
                exp=now + 60, nbf=now - 5, iat=now - 5, jti=uuid.uuid4().hex, sid="s1")
    body.update(claims)
    return jwt.encode({k: v for k, v in body.items() if v is not None}, secret,
                      algorithm="HS256")


# --- pages --------------------------------------------------------------------------------

def test_index_redirects_to_the_dashboard(web):
    client = web[0].test_client()
    r = client.get("/?shop=s")
    assert r.status_code == 302 and r.headers["Location"] == "/dashboard?shop=s"
    assert client.get("/?shop=nowhere").status_code == 404


def test_dashboard_tiles_counts_and_accuracy(web):
    app, ctx = web
    html = app.test_client().get("/dashboard").get_data(as_text=True)
    with ctx.sessions() as s:
        shop = _shop(s)
        run = latest_run(s, shop)
        day = s.scalar(select(func.max(KpiSnapshot.day)).where(KpiSnapshot.dims_key == ""))
        kpi = dict(s.execute(select(KpiSnapshot.name, KpiSnapshot.value).where(
            KpiSnapshot.day == day, KpiSnapshot.dims_key == "")).all())
        to_order = s.scalar(select(func.count(func.distinct(PlanLine.sku))).where(
            PlanLine.plan_run_id == run.id, PlanLine.recommended_qty > 0))
        drafts = s.scalar(select(func.count(PurchaseOrder.id)).where(
            PurchaseOrder.status == "draft"))
    for name in ("stockout_rate", "fill_rate", "inventory_turnover", "days_of_cover",
                 "lost_units", "repurchase_rate"):
        assert f'data-kpi="{name}"' in html
    assert f"{kpi['stockout_rate'] * 100:.1f}%" in html
    assert f"{kpi['fill_rate'] * 100:.1f}%" in html
    assert f"{kpi['inventory_turnover']:.1f}×" in html
    assert html.count('class="spark"') == 6 and html.count('data-points="5"') >= 5
    assert f'data-count="to_order">{to_order}<' in html
    assert f'data-count="draft_pos">{drafts}<' in html
    assert 'data-count="reminders_due">2<' in html  # two candidates due within 7 days
    assert f"#{run.id}" in html and "Forecast accuracy over plan runs" in html
    assert "shopify_sync" in html and "SMTPConnectError" in html


def test_dashboard_without_kpis_says_how_to_get_them(web):
    app, ctx = web
    with ctx.sessions() as s:
        s.query(KpiSnapshot).delete()
        s.commit()
    html = app.test_client().get("/dashboard").get_data(as_text=True)
    assert "No KPIs yet — run the KPI snapshot" in html and "kpi_snapshot" in html


def test_order_list_shows_the_plan_columns(web):
    app, ctx = web
    html = app.test_client().get("/lists/staple").get_data(as_text=True)
    with ctx.sessions() as s:
        run = latest_run(s, _shop(s))
        lines = order_list(s, run, "staple")
    row = lines.dropna(subset=["abc", "xyz"]).iloc[0]
    assert f'class="klass klass-{row.abc}">{row.abc}{row.xyz}<' in html
    assert row["lifecycle"] in html
    dated = lines.dropna(subset=["stockout_date"])
    assert dated["stockout_date"].iloc[0].isoformat() in html
    assert "Lost units" in html and "Cover" in html and "By product" in html


def _totals(html: str) -> dict:
    """The summary cards' totals: the raw value when there is one, else the shown text."""
    return {key: raw or text for key, raw, text in
            re.findall(r'data-total="(\w+)"(?: data-raw="([^"]*)")?>([^<]*)<', html)}


@pytest.mark.parametrize("name", ["staple", "seasonal"])
def test_product_level_sums_match_the_sku_level(web, name):
    app, ctx = web
    client = app.test_client()
    sku_html = client.get(f"/lists/{name}").get_data(as_text=True)
    prod_html = client.get(f"/lists/{name}?level=product").get_data(as_text=True)
    sku_t, prod_t = _totals(sku_html), _totals(prod_html)
    assert sku_t["units"] == prod_t["units"] and sku_t["value"] == prod_t["value"]
    assert sku_t["lost"] == prod_t["lost"]
    by_sku = pd.read_csv(io.StringIO(client.get(f"/lists/{name}.csv").get_data(as_text=True)))
    r = client.get(f"/lists/{name}.csv?level=product")
    assert r.status_code == 200 and "by-product" in r.headers["Content-Disposition"]
    by_product = pd.read_csv(io.StringIO(r.get_data(as_text=True)))
    assert "skus" in by_product.columns and "sku" not in by_product.columns
    for col in ("on_hand", "on_order", "recommended_qty", "order_value", "safety_stock"):
        want = by_sku.groupby(["product", "location"])[col].sum()
        got = by_product.set_index(["product", "location"])[col]
        pd.testing.assert_series_equal(got.sort_index(), want.sort_index(), check_names=False,
                                       check_dtype=False, atol=1e-6)
    assert by_product["skus"].sum() == len(by_sku)
    for product in by_product["product"].head(3):
        assert str(product).replace("&", "&amp;") in prod_html


def test_portfolio_grid(web):
    app, ctx = web
    html = app.test_client().get("/portfolio?metric=lines").get_data(as_text=True)
    with ctx.sessions() as s:
        grid = portfolio_grid(order_list(s, latest_run(s, _shop(s))))
    cells = grid.groupby(["abc", "xyz"])["lines"].sum()
    for (abc, xyz), n in cells.items():
        cell = re.search(rf'data-cell="{abc}{xyz}"[^>]*>\s*<span class="heat-value">([^<]+)<',
                         html)
        assert cell and int(cell.group(1)) == n
    assert html.count("<tr><td><span class=\"klass") == len(grid)
    mature = app.test_client().get("/portfolio?lifecycle=mature").get_data(as_text=True)
    assert 'stage-growing">growing' not in mature.split("Every cell by lifecycle")[1]


def test_excess_page(web):
    app, ctx = web
    with ctx.sessions() as s:
        run = latest_run(s, _shop(s))
        lines = s.scalars(select(PlanLine).where(PlanLine.plan_run_id == run.id,
                                                 PlanLine.excess_units > 0)).all()
    assert lines, "the sandbox shop has excess stock"
    client = app.test_client()
    html = client.get("/excess").get_data(as_text=True)
    assert html.count('class="card excess-card') == len(lines)
    for line in lines:
        assert f'data-sku="{line.sku}" data-action="{line.excess_action or "none"}"' in html
        if line.excess_reason:
            assert line.excess_reason.split(".")[0] in html
    hold = client.get("/excess?action=hold").get_data(as_text=True)
    assert hold.count('class="card excess-card') == sum(l.excess_action == "hold" for l in lines)


def test_customers_page(web):
    app, _ = web
    html = app.test_client().get("/customers").get_data(as_text=True)
    segs = dict(re.findall(r'data-segment="(\w+)"><td>.*?</td><td class="num">(\d+)</td>', html))
    assert segs["champions"] == "3" and segs["loyal"] == "5" and segs["at_risk"] == "2"
    assert segs["new"] == "2" and segs["lost"] == "0"
    assert "Segment movement" in html and 'class="heat-cell diag"' in html
    assert 'data-group="active_new_high"' in html and 'data-group="lapsed_new_low"' in html
    assert "Customers per segment" in html and '<svg' in html


def test_reminders_page(web):
    app, ctx = web
    client = app.test_client()
    html = client.get("/reminders").get_data(as_text=True)
    assert 'data-status="candidate">3<' in html and 'data-status="suppressed">3<' in html
    assert 'data-status="sent">1<' in html
    for label in ("out of stock", "no consent", "recently sent", "substitute offered"):
        assert label in html
    with ctx.sessions() as s:
        sub = s.scalar(select(Variant.sku).join(Reminder,
                                                Reminder.substitute_variant_id == Variant.id))
    assert f">{sub}</a>" in html
    only = client.get("/reminders?status=suppressed&reason=out_of_stock").get_data(as_text=True)
    assert only.count("<tr data-status=") == 1


def test_suppliers_page(web):
    app, ctx = web
    html = app.test_client().get("/suppliers").get_data(as_text=True)
    with ctx.sessions() as s:
        names = list(s.scalars(select(Supplier.name)))
    assert all(name in html for name in names)
    assert "12.5 d" in html and "4 receipts" in html  # learned lead time
    assert "10 d" in html  # its configured value
    assert re.search(r"<dt>Open orders</dt><dd>1 ", html)


def test_campaign_pages(web):
    app, ctx = web
    client = app.test_client()
    with ctx.sessions() as s:
        shop = _shop(s)
        camp = s.scalar(select(Campaign).order_by(Campaign.id).limit(1))
        expected = verify_campaign(s, shop, camp.id)
    listing = client.get("/campaigns").get_data(as_text=True)
    assert camp.name in listing and f"/campaigns/{camp.id}" in listing
    html = client.get(f"/campaigns/{camp.id}").get_data(as_text=True)
    total = expected["total"]
    assert f"{total['uplift']:.2f}×" in html
    assert f"{total['uplift_low']:.2f}× to {total['uplift_high']:.2f}×" in html
    assert 'class="hbars"' in html and 'class="whisker"' in html and 'class="reference"' in html
    for row in expected["skus"]:
        assert f'data-sku="{row["sku"]}"' in html
    assert client.get("/campaigns/99999").status_code == 404


def test_channels_page(web):
    app, ctx = web
    html = app.test_client().get("/channels").get_data(as_text=True)
    with ctx.sessions() as s:
        day = s.scalar(select(func.max(KpiSnapshot.day)))
        units = dict(s.execute(select(KpiSnapshot.dims_key, KpiSnapshot.value).where(
            KpiSnapshot.day == day, KpiSnapshot.name == "channel_units")).all())
    assert units
    for key, value in units.items():
        row = re.search(rf'<tr data-channel="{re.escape(key)}">.*?<td class="num">([^<]+)</td>',
                        html, re.S)
        assert row and row.group(1) == f"{value:,.0f}"
    assert 'class="hbar-second"' in html


def test_jobs_page(web):
    app, _ = web
    client = app.test_client()
    html = client.get("/jobs").get_data(as_text=True)
    for job in ("shopify_sync", "po_delivery", "inbox_drain"):
        assert f'data-job="{job}"' in html
    assert "SMTPConnectError" in html and "all shops" in html and "orders <strong>12" in html
    errors = client.get("/jobs?outcome=error").get_data(as_text=True)
    assert errors.count('class="job-row') == 1


@pytest.mark.parametrize("url, word", [
    ("/lists/staple?level=variant", "level"), ("/lists/staple.csv?level=x", "level"),
    ("/portfolio?metric=profit", "metric"), ("/portfolio?lifecycle=old", "lifecycle"),
    ("/excess?action=burn", "action"), ("/reminders?status=lost", "status"),
    ("/reminders?page=0", "page"), ("/jobs?outcome=maybe", "outcome"),
    ("/jobs?limit=many", "limit"), ("/campaigns/1?post_days=x", "post_days")])
def test_bad_query_values_are_400(web, url, word):
    r = web[0].test_client().get(url)
    assert r.status_code == 400 and word in r.get_data(as_text=True)


# --- run plan now ---------------------------------------------------------------------------

def _wait_done(client, url: str, query=None, timeout: float = 120.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        html = client.get(url, query_string=query).get_data(as_text=True)
        if 'data-outcome="running"' not in html:
            return html
        assert 'http-equiv="refresh" content="2;' in html
        assert time.monotonic() < deadline, "the plan run did not finish"
        time.sleep(0.3)


def test_run_plan_button_starts_a_run_and_progress_reaches_done(web):
    app, ctx = web
    client = app.test_client()
    with ctx.sessions() as s:
        before = s.scalar(select(func.count(PlanRun.id)))
    assert client.post("/plan/run").status_code == 400  # no CSRF token
    token = _csrf(client.get("/dashboard").get_data(as_text=True))
    r = client.post("/plan/run", data={"csrf_token": token})
    assert r.status_code == 303
    progress = r.headers["Location"]
    assert re.fullmatch(r"/plan/progress/\d+", progress)
    html = _wait_done(client, progress)
    assert 'data-outcome="ok"' in html and 'class="plan-status">done<' in html
    with ctx.sessions() as s:
        runs = s.scalars(select(PlanRun).order_by(PlanRun.id)).all()
        job = s.get(JobRun, int(progress.rsplit("/", 1)[1]))
    assert len(runs) == before + 1 and runs[-1].status == "done"
    assert job.job_id == "plan_now" and job.counts["plan_run_id"] == runs[-1].id
    assert f"Plan run #{runs[-1].id}" in html
    dash = client.get("/dashboard").get_data(as_text=True)
    assert 'class="runchart"' in dash  # two runs now: the accuracy chart


def test_running_plan_page_refreshes_and_a_second_press_joins_it(web):
    app, ctx = web
    client = app.test_client()
    with ctx.sessions() as s:
        row = JobRun(job_id="plan_now", shop_id=_shop(s).id, outcome="running", counts={},
                     started_at=datetime.now(timezone.utc))
        s.add(row)
        s.commit()
        job_id = row.id
        before = s.scalar(select(func.count(JobRun.id)))
    html = client.get(f"/plan/progress/{job_id}").get_data(as_text=True)
    assert f'<meta http-equiv="refresh" content="2;url=/plan/progress/{job_id}">' in html
    assert 'class="plan-status">running<' in html
    token = _csrf(client.get("/dashboard").get_data(as_text=True))
    r = client.post("/plan/run", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["Location"] == f"/plan/progress/{job_id}"
    with ctx.sessions() as s:
        assert s.scalar(select(func.count(JobRun.id))) == before


# --- logins -------------------------------------------------------------------------------

def _next(location: str) -> str:
    """The ``next`` of a redirect to the login page."""
    parts = urlsplit(location)
    assert parts.path == "/login"
    return parse_qs(parts.query)["next"][0]


def test_login_is_required_in_production(prod):
    app, ctx = prod
    c = app.test_client()
    r = c.get("/dashboard")
    assert r.status_code == 302 and _next(r.headers["Location"]) == "/dashboard"
    r = c.get("/lists/staple?level=product")
    assert _next(r.headers["Location"]) == "/lists/staple?level=product"
    page = c.get("/login").get_data(as_text=True)
    assert "No user exists yet" in page and "restock user create --email" in page
    assert c.get("/healthz").status_code == 200
    api = c.get("/api/skus")
    assert api.status_code == 401 and api.is_json  # the API keeps its own auth
    assert c.post("/webhooks/shopify", data="{}").status_code != 302


def test_login_logout_and_wrong_passwords(prod):
    app, ctx = prod
    with ctx.sessions() as s:
        create_user(s, "Owner@Example.com", "correct horse battery")
        s.commit()
    c = app.test_client()
    page = c.get("/login?next=/excess").get_data(as_text=True)
    assert "No user exists yet" not in page
    token = _csrf(page)
    bad = c.post("/login", data={"csrf_token": token, "email": "", "password": ""})
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert "Enter your e-mail address." in text and "Enter your password." in text
    assert c.post("/login", data={"csrf_token": token, "email": "not-an-address",
                                  "password": "x"}).status_code == 400
    wrong = c.post("/login", data={"csrf_token": token, "email": "owner@example.com",
                                   "password": "wrong horse"})
    assert wrong.status_code == 401 and "Wrong e-mail or password" in wrong.get_data(as_text=True)
    nobody = c.post("/login", data={"csrf_token": token, "email": "x@example.com",
                                    "password": "correct horse battery"})
    assert nobody.status_code == 401
    assert c.post("/login", data={"email": "owner@example.com",
                                  "password": "correct horse battery"}).status_code == 400
    assert c.get("/dashboard").status_code == 302  # still anonymous
    ok = c.post("/login", data={"csrf_token": token, "email": "OWNER@example.com",
                                "password": "correct horse battery", "next": "/excess"})
    assert ok.status_code == 303 and ok.headers["Location"] == "/excess"
    html = c.get("/dashboard").get_data(as_text=True)
    assert "owner@example.com" in html and "Log out" in html
    with ctx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Shop)) == 1
    out = c.post("/logout", data={"csrf_token": _csrf(html)})
    assert out.status_code == 303 and out.headers["Location"] == "/login"
    assert c.get("/dashboard").status_code == 302


def test_password_change_ends_sessions_and_failures_are_throttled(prod):
    app, ctx = prod
    with ctx.sessions() as s:
        create_user(s, "owner@example.com", "correct horse battery")
        s.commit()
    c = app.test_client()
    token = _csrf(c.get("/login").get_data(as_text=True))
    c.post("/login", data={"csrf_token": token, "email": "owner@example.com",
                           "password": "correct horse battery"})
    assert c.get("/dashboard").status_code == 200
    with ctx.sessions() as s:
        set_password(s, "owner@example.com", "a new long password")
        s.commit()
    assert c.get("/dashboard").status_code == 302
    other = app.test_client()
    token = _csrf(other.get("/login").get_data(as_text=True))
    codes = [other.post("/login", data={"csrf_token": token, "email": "owner@example.com",
                                        "password": f"guess {i}"}).status_code
             for i in range(11)]
    assert codes[:10] == [401] * 10 and codes[10] == 429


def test_demo_and_test_environments_need_no_login(web):
    assert web[0].test_client().get("/dashboard").status_code == 200


def test_safe_next_and_embedded_redirects():
    assert safe_next("/excess?x=1", "/d") == "/excess?x=1"
    for bad in ("//evil.example", "https://evil.example/", "/\\evil", "excess", None):
        assert safe_next(bad, "/d") == "/d"
    params = {"id_token": "a.b.c", "host": "h"}
    assert keep_params("/dashboard?shop=s", params) == "/dashboard?shop=s&id_token=a.b.c&host=h"
    assert keep_params("/x?id_token=old", params) == "/x?id_token=old&host=h"
    assert keep_params("https://elsewhere.example/", params) == "https://elsewhere.example/"


def test_cli_user_create(prod, monkeypatch, capsys):
    from connector import cli_user

    app, ctx = prod
    parser = argparse.ArgumentParser(prog="restock")
    cli_user.register(parser.add_subparsers(dest="command", required=True))
    monkeypatch.setenv("DATABASE_URL", ctx.settings.database_url)
    monkeypatch.setenv("ADMIN_PW", "a very long password")
    args = parser.parse_args(["user", "create", "--email", "Boss@Example.com",
                              "--password-env", "ADMIN_PW"])
    assert args.func(args) == 0
    assert "boss@example.com created" in capsys.readouterr().out
    again = parser.parse_args(["user", "create", "--email", "boss@example.com",
                               "--password-env", "ADMIN_PW"])
    assert again.func(again) == 2 and "exists already" in capsys.readouterr().err
    monkeypatch.setenv("SHORT_PW", "short")
    short = parser.parse_args(["user", "create", "--email", "b@example.com",
                               "--password-env", "SHORT_PW"])
    assert short.func(short) == 2 and "at least" in capsys.readouterr().err
    missing = parser.parse_args(["user", "create", "--email", "b@example.com",
                                 "--password-env", "NO_SUCH_VAR"])
    assert missing.func(missing) == 2
    c = app.test_client()
    token = _csrf(c.get("/login").get_data(as_text=True))
    r = c.post("/login", data={"csrf_token": token, "email": "boss@example.com",
                               "password": "a very long password"})
    assert r.status_code == 303


# --- Shopify session tokens ---------------------------------------------------------------

def test_session_token_authenticates_the_embedded_app(prod):
    app, ctx = prod
    c = app.test_client()
    token = id_token()
    r = c.get("/dashboard", query_string={"id_token": token, "host": "YWRtaW4"})
    assert r.status_code == 200
    assert r.headers["Content-Security-Policy"] == \
        f"frame-ancestors https://{DOMAIN} https://admin.shopify.com"
    html = r.get_data(as_text=True)
    assert f"id_token={token}" in html and "host=YWRtaW4" in html  # links keep the token
    assert f"Shopify admin · {DOMAIN}" in html
    fetch = c.get("/excess", headers={"Authorization": f"Bearer {id_token()}"})
    assert fetch.status_code == 200 and "frame-ancestors" in fetch.headers[
        "Content-Security-Policy"]
    assert c.get("/excess").status_code == 302  # no cookie session came of it


@pytest.mark.parametrize("claims", [
    pytest.param(dict(exp=int(time.time()) - 120, iat=int(time.time()) - 200,
                      nbf=int(time.time()) - 200), id="expired"),
    pytest.param(dict(secret="another-apps-secret-0123456789abcdef0123"), id="foreign-secret"),
    pytest.param(dict(aud="another-app"), id="other-app"),
    pytest.param(dict(domain="stranger.myshopify.com"), id="unknown-shop"),
])
def test_bad_session_tokens_are_refused(prod, claims):
    app, _ = prod
    c = app.test_client()
    token = id_token(**claims)
    r = c.get("/dashboard", query_string={"id_token": token})
    assert r.status_code == 401 and "Open restock again from the Shopify admin" in \
        r.get_data(as_text=True)
    fetch = c.get("/dashboard", headers={"Authorization": f"Bearer {token}"})
    assert fetch.status_code == 401 and fetch.is_json
    assert fetch.headers["X-Shopify-Retry-Invalid-Session-Request"] == "1"


def test_session_token_fixes_the_shop(prod):
    app, ctx = prod
    with ctx.sessions() as s:
        s.add(Shop(name="other", settings={}))
        s.commit()
    c = app.test_client()
    token = id_token()
    assert c.get("/dashboard", query_string={"id_token": token}).status_code == 200
    assert c.get("/dashboard", query_string={"id_token": token, "shop": "s"}).status_code == 200
    r = c.get("/dashboard", query_string={"id_token": token, "shop": "other"})
    assert r.status_code == 401 and "not the shop of the session token" in r.get_data(
        as_text=True)


def test_embedded_run_plan_needs_no_csrf_and_keeps_the_token(prod):
    app, ctx = prod
    c = app.test_client()
    token = id_token()
    r = c.post(f"/plan/run?id_token={token}&host=YWRtaW4")
    assert r.status_code == 303
    location = r.headers["Location"]
    assert location.startswith("/plan/progress/") and f"id_token={token}" in location
    html = _wait_done(c, location.split("?")[0], {"id_token": token})
    assert 'data-outcome="ok"' in html
    anonymous = c.post("/plan/run")
    assert anonymous.status_code == 303 and anonymous.headers["Location"].startswith("/login")


def test_sku_page_surfaces_stock_protection(web):
    from sqlalchemy import select as _select

    from core.storage import PlanLine, session_scope as _scope

    app, ctx = web
    with _scope(ctx.sessions) as s:
        line = s.scalars(_select(PlanLine).order_by(PlanLine.id.desc())).first()
        line.protected_units, line.on_hand, line.committed = 6.0, 10.0, 0.0
        sku = line.sku
    html = app.test_client().get(f"/sku/{sku}").get_data(as_text=True)
    assert "6 units held for high-LTV and repeat customers" in html
    assert "4 left for everyone else" in html
