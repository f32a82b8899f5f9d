"""The plan against the sandbox's ground truth: replay the last 90 days with the true demand."""
import pandas as pd
import pytest

from core.classify import classify_series
from core.demand import daily_demand
from core.plan_inputs import read_inputs
from core.simulate import replay_plan
from core.storage import Location, Variant, session_scope
from sandbox.load import load_sandbox

TARGET = 0.95
REPLAY_DAYS = 90


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    from core.storage import make_engine, make_sessionmaker, upgrade

    eng = make_engine(f"sqlite:///{tmp_path_factory.mktemp('q')}/q.db")
    upgrade(eng)
    sessions = make_sessionmaker(eng)
    with session_scope(sessions) as s:
        shop, _ = load_sandbox(s, "q", seed=11, n_skus=60, n_customers=5000, n_days=540,
                               n_locations=1)
    from sandbox import generate

    sb = generate(seed=11, n_skus=60, n_customers=5000, n_days=540, n_locations=1)
    truth, end = sb.truth, pd.Timestamp(sb.end)
    cutoff = end - pd.Timedelta(days=REPLAY_DAYS)
    with session_scope(sessions) as s:
        inp = read_inputs(s, shop, cutoff.date())
        loc_id = {l.external_id: l.id for l in s.query(Location).filter_by(shop_id=shop.id)}
        status = dict(s.query(Variant.sku, Variant.status).filter_by(shop_id=shop.id).all())
    history = daily_demand(inp.lines, cutoff, inp.stock)
    classes = classify_series(history)
    staples = classes[(~classes["seasonal"]) & (classes["history_days"] >= 120)].index
    staples = [u for u in staples if status.get(u.rpartition("@")[0]) == "active"]
    wanted = truth.wanted[truth.wanted["date"] > cutoff]
    wanted = wanted.assign(unique_id=wanted["sku"] + "@" + wanted["location_external_id"]
                           .map(loc_id).astype(str))
    days = pd.date_range(cutoff + pd.Timedelta(days=1), end)
    grid = pd.MultiIndex.from_product([staples, days], names=["unique_id", "ds"])
    demand = (wanted.groupby(["unique_id", "date"])["wanted_units"].sum()
              .rename_axis(["unique_id", "ds"]).reindex(grid, fill_value=0)
              .rename("demand").reset_index())
    sup = inp.supply
    vid = dict(zip(inp.variants["sku"], inp.variants["id"]))
    items = pd.DataFrame([{**sup.loc[vid[u.rpartition("@")[0]]][
        ["lead_time_days", "lead_time_std_days", "moq", "case_pack"]].to_dict(),
        "service_level": TARGET, "unique_id": u} for u in staples]).set_index("unique_id")
    hist = history[history["unique_id"].isin(staples)]
    result = replay_plan(hist, demand, items, review_days=7, seed=1)
    return result.join(classes[["demand_class"]])


def test_staple_fill_rate_holds_target(replay):
    assert len(replay) >= 30
    fill = replay["served_units"].sum() / replay["demand_units"].sum()
    print(f"staples: {len(replay)} series, fill rate {fill:.3f}, "
          f"by class:\n{replay.groupby('demand_class')[['served_units', 'demand_units']].sum()}")
    assert fill >= TARGET - 0.03


def test_replay_is_not_trivially_overstocked(replay):
    # a plan that hoards would pass the fill test; days of cover on average must stay sane
    daily = replay["demand_units"] / REPLAY_DAYS
    cover = (replay["avg_on_hand_units"].sum() / daily.sum())
    print(f"average stock covers {cover:.1f} days of demand")
    assert cover < 30, f"average stock covers {cover:.1f} days of demand"
