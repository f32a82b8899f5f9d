"""Forecast adjustments against the sandbox's ground truth: campaign uplift, lost sales,
SKU switches and known future campaigns."""
import numpy as np
import pandas as pd
import pytest

from core.ingest import load_records
from core.plan_inputs import read_inputs
from core.plan_series import forecast_plan
from core.records import ShopRecords
from core.storage import make_engine, make_sessionmaker, session_scope, upgrade
from sandbox import generate
from sandbox.load import load_sandbox

KNOBS = dict(seed=21, n_skus=80, n_customers=3000, n_days=500, n_locations=1)


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    eng = make_engine(f"sqlite:///{tmp_path_factory.mktemp('ft')}/ft.db")
    upgrade(eng)
    sessions = make_sessionmaker(eng)
    sb = generate(**KNOBS)
    with session_scope(sessions) as s:
        shop, _ = load_sandbox(s, "ft", **KNOBS)
        inp = read_inputs(s, shop, sb.end.date())
    return sessions, shop, sb, inp


def test_campaign_uplift_recovered(shop):
    _, _, sb, inp = shop
    sp = forecast_plan(inp, 60, 28)
    est = sp.uplifts.groupby("campaign")[["actual", "baseline"]].sum()
    est = est["actual"] / est["baseline"]
    truth = sb.truth.campaigns.set_index("external_id")["uplift"]
    names = dict(zip(sb.records.campaigns["name"], sb.records.campaigns["external_id"]))
    assert len(est) == len(truth) >= 2
    for name, value in est.items():
        true = truth[names[name]]
        assert value == pytest.approx(true, rel=0.25), name
    pooled = float(np.mean([est[n] / truth[names[n]] for n in est.index]))
    assert pooled == pytest.approx(1.0, abs=0.15)


def test_lost_sales_estimate_matches_truth(shop):
    _, _, sb, inp = shop
    sp = forecast_plan(inp, 60, 28)
    lost = sb.truth.lost_sales
    lost = lost[lost["date"] > sb.end - pd.Timedelta(days=90)]
    true_by_sku = lost.groupby("sku")["lost_units"].sum()
    est_by_sku = sp.lost.groupby(sp.lost.index.to_series().str.rpartition("@")[0]).sum()
    assert true_by_sku.sum() > 100  # the sandbox does run out of stock
    assert est_by_sku.sum() == pytest.approx(true_by_sku.sum(), rel=0.2)
    both = pd.concat([true_by_sku, est_by_sku], axis=1).fillna(0.0)
    assert both.corr().iloc[0, 1] > 0.7


def test_successor_inherits_history(shop):
    _, _, sb, inp = shop
    sp = forecast_plan(inp, 60, 28)
    switches = sb.truth.skus[sb.truth.skus["successor_sku"].notna()]
    assert len(switches)
    for row in switches.itertuples():
        succ = row.successor_sku
        uid = next(u for u in sp.history if u.startswith(succ + "@"))
        own_days = (sb.end - pd.Timestamp(row.discontinued_date)).days
        # the successor's series reaches back into the predecessor's sales
        assert len(sp.history[uid]) > own_days + 60
        assert not any(u.startswith(row.sku + "@") for u in sp.history)


def test_known_future_campaign_raises_forecast(shop):
    sessions, sh, sb, _ = shop
    sku = sb.truth.skus[sb.truth.skus["pattern"] == "smooth"]["sku"].iloc[0]
    start = sb.end + pd.Timedelta(days=10)
    with session_scope(sessions) as s:
        load_records(s, sh.id, ShopRecords(campaigns=pd.DataFrame({
            "external_id": ["future"], "name": ["Future sale"],
            "starts_at": [start.tz_localize("UTC")],
            "ends_at": [(start + pd.Timedelta(days=6)).tz_localize("UTC")], "skus": [[sku]],
            "discount_pct": [20.0]})))
        inp = read_inputs(s, sh, sb.end.date())
    sp = forecast_plan(inp, 60, 28)
    uid = next(u for u in sp.daily if u.startswith(sku + "@"))
    f = sp.daily[uid]
    inside, outside = f[9:16].sum(), f[23:30].sum()  # same weekdays, one campaign week apart
    past = sp.uplifts[sp.uplifts["sku"] == sku]
    expected = (past["actual"].sum() / past["baseline"].sum()) if len(past) else \
        sp.uplifts["actual"].sum() / sp.uplifts["baseline"].sum()
    assert inside / outside == pytest.approx(expected, rel=0.1)
    assert expected > 1.3
