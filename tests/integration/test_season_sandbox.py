"""A sandbox seasonal SKU planned before its season: its season buy against the sandbox's
true demand, and the season's fields on the plan lines, the CSV export, the pages and the API.

Sandbox seed 11 (30 SKUs, 500 days to 2027-01-05) has GFT-0013-DLX, a holiday-gift SKU
whose true season is 1 Nov - 31 Dec (``truth.skus``) and which sold its 2025 season without
stockouts. The plan runs as of 2026-10-20, so the 2026 season lies ahead; the truth for it
is the sandbox's expected demand (``truth.expected_demand``) from 21 Oct to the season's end.
"""
from __future__ import annotations

import io
from datetime import date, timedelta

import pandas as pd
import pytest
from sqlalchemy import select

from connector.api.auth import create_api_key
from connector.app import create_app
from connector.config import Settings
from connector.context import build_context
from core.plan import run_plan
from core.storage import (Location, PlanLine, make_engine, make_sessionmaker, session_scope,
                          upgrade)
from sandbox import generate
from sandbox.load import load_sandbox

KNOBS = dict(seed=11, n_skus=30, n_customers=800, n_days=500, n_locations=2,
             end_date="2027-01-05")
SKU = "GFT-0013-DLX"
CUTOFF = date(2026, 10, 20)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    path = tmp_path_factory.mktemp("season") / "restock.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with session_scope(make_sessionmaker(engine)) as s:
        shop, _ = load_sandbox(s, "season", **KNOBS)
        run_plan(s, shop, cutoff=CUTOFF)
        key = create_api_key(s, shop, name="season test")
    engine.dispose()
    ctx = build_context(Settings(database_url=f"sqlite:///{path}", env="test"), migrate=False)
    app = create_app({"TESTING": True}, context=ctx)
    yield app, ctx, key
    ctx.engine.dispose()


def _lines(ctx) -> list[tuple[PlanLine, str, str]]:
    """The SKU's plan lines with their location's external id and name."""
    with session_scope(ctx.sessions) as s:
        rows = s.execute(select(PlanLine, Location.external_id, Location.name)
                         .join(Location, Location.id == PlanLine.location_id)
                         .where(PlanLine.sku == SKU)).all()
        s.expunge_all()
        return [(line, ext, name) for line, ext, name in rows]


def test_season_buy_is_near_the_true_season_demand(world):
    _app, ctx, _key = world
    truth = generate(**KNOBS).truth
    sku = truth.skus.set_index("sku").loc[SKU]
    assert (sku.pattern, sku.season_start, sku.season_end) == ("season_window", "11-01", "12-31")
    exp = truth.expected_demand
    lines = _lines(ctx)
    assert len(lines) == 2
    totals = [0.0, 0.0]
    for line, loc, _name in lines:
        assert line.list == "seasonal"
        # the window is found to the week (and a slow seller's last week without a sale is
        # left out): within 14 days of the true 1 Nov - 31 Dec
        assert abs((line.season_start - date(2026, 11, 1)).days) <= 14
        assert abs((line.season_end - date(2026, 12, 31)).days) <= 14
        true = exp[(exp.sku == SKU) & (exp.location_external_id == loc)
                   & (exp.date > pd.Timestamp(CUTOFF))
                   & (exp.date <= pd.Timestamp(line.season_end))].expected_units.sum()
        assert true > 20
        totals[0] += line.season_demand
        totals[1] += true
        # last season's sales forecast this one: one season's draw of a few dozen units
        # (Poisson-gamma), so within 35% at a location
        assert abs(line.season_demand - true) <= 0.35 * true, (loc, line.season_demand, true)
        # the season's stock level (critical ratio above 1/2) covers the true mean
        assert 0.9 * true <= line.order_up_to <= 1.6 * true, (loc, line.order_up_to, true)
        assert 0.5 < line.critical_ratio < 1
        position = line.on_hand + line.on_order - line.committed
        assert line.season_buy_qty == max(0, round(line.order_up_to - position))
        if "season buy for the season" in line.notes:  # pre-season: ordered now
            assert abs(line.recommended_qty - line.season_buy_qty) <= 1
        else:  # ordering opens later
            assert "between seasons" in line.notes and line.recommended_qty == 0
    # both locations together: within 25%
    assert abs(totals[0] - totals[1]) <= 0.25 * totals[1], totals


def test_export_pages_and_api_show_the_season(world):
    app, ctx, key = world
    lines = _lines(ctx)
    client = app.test_client()
    csv = client.get("/lists/seasonal.csv")
    assert csv.status_code == 200
    frame = pd.read_csv(io.StringIO(csv.get_data(as_text=True)))
    rows = frame[frame["sku"] == SKU]
    assert len(rows) == 2
    for line, _loc, name in lines:
        row = rows[rows["location"] == name].iloc[0]
        assert row["season_buy_qty"] == line.season_buy_qty
        assert row["season_start"] == line.season_start.isoformat()
        assert row["season_end"] == line.season_end.isoformat()
        assert row["season_demand"] == pytest.approx(line.season_demand, abs=0.05)
        assert row["critical_ratio"] == pytest.approx(line.critical_ratio, abs=5e-4)
        assert row["season_leftover"] == pytest.approx(line.season_leftover, abs=0.05)
    staple = pd.read_csv(io.StringIO(client.get("/lists/staple.csv").get_data(as_text=True)))
    assert staple["season_start"].isna().all()  # staple lines have no season
    page = client.get("/lists/seasonal").get_data(as_text=True)
    start = lines[0][0].season_start
    assert f'<span class="season-window">{start.isoformat()} – ' in page
    sku_page = client.get(f"/sku/{SKU}").get_data(as_text=True)
    assert sku_page.count('class="kv season"') == 2
    assert f"{lines[0][0].season_buy_qty} units" in sku_page
    api = client.get(f"/api/skus/{SKU}", headers={"Authorization": f"Bearer {key}"})
    assert api.status_code == 200
    doc = {ln["location"]: ln for ln in api.get_json()["lines"]}
    for line, _loc, name in lines:
        got = doc[name]
        assert got["season_start"] == line.season_start.isoformat()
        assert got["critical_ratio"] == pytest.approx(line.critical_ratio)
    listed = client.get("/api/order-lists/seasonal", headers={"Authorization": f"Bearer {key}"})
    assert any(r["sku"] == SKU and r["season_end"] for r in listed.get_json()["rows"])
    assert date.fromisoformat(doc[lines[0][2]]["season_end"]) - start > timedelta(days=40)
