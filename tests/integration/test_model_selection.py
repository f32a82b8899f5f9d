"""Model selection on sandbox series: it picks intermittent models for the sandbox's
intermittent SKUs, copes with short series, and is judged on 28 days it never saw against
each single candidate model, both on the realised demand and on the sandbox's true
expected demand."""
import numpy as np
import pandas as pd
import pytest

from core.classify import classify_series
from core.demand import daily_demand
from core.forecast import forecast_series
from core.forecast_models import CANDIDATES, DAILY, WEEKLY, run_daily, run_weekly
from core.metrics import naive_scale
from sandbox import generate

H = 28
# WeeklySES on an intermittent series is temporal aggregation: ADIDA at an aggregation level
# of 7 days (Nikolopoulos et al. 2011), spread back over the days by the weekday profile.
INTERMITTENT_METHODS = {"CrostonSBA", "CrostonOptimized", "TSB", "ADIDA", "IMAPA", "WeeklySES"}


@pytest.fixture(scope="module")
def shop():
    sb = generate(seed=13, n_skus=120, n_customers=2000, n_days=600, n_locations=1)
    lines = sb.records.order_lines.merge(
        sb.records.orders[["external_id", "created_at", "cancelled_at"]],
        left_on="order_external_id", right_on="external_id")
    lines = lines[lines["cancelled_at"].isna()]
    lines = pd.DataFrame({"sku": lines["sku"], "location_id": 1,
                          "day": lines["created_at"].dt.tz_localize(None).dt.normalize(),
                          "qty": lines["quantity"] - lines["refunded_quantity"]})
    s = daily_demand(lines, sb.end)
    return s[s.groupby("unique_id")["y"].transform("size") >= 200], sb


@pytest.fixture(scope="module")
def evaluation(shop):
    """Selection and every single model fitted without the last 28 days."""
    s, sb = shop
    s = s.sort_values(["unique_id", "ds"])
    rank = s.groupby("unique_id").cumcount(ascending=False)
    past, future = s[rank >= H], s[rank < H]
    classes = classify_series(past)["demand_class"]
    res = forecast_series(past, classes, h=H)
    ids = np.array(sorted(past["unique_id"].unique()), dtype=object)
    sel = res.forecasts.set_index(["unique_id", "step"])["mean"].unstack().loc[ids].to_numpy()
    singles = {**run_daily(past, ids, list(DAILY), H), **run_weekly(past, ids, list(WEEKLY), H)}
    ex = sb.truth.expected_demand
    ex = ex.assign(unique_id=ex["sku"] + "@1", ds=pd.to_datetime(ex["date"])).set_index(
        ["unique_id", "ds"])["expected_units"]
    fut = future.set_index(["unique_id", "ds"])
    target = {"actual": fut["y"], "truth": ex.reindex(fut.index).fillna(0.0)}
    train = {u: g.to_numpy() for u, g in past.groupby("unique_id")["y"]}
    scale = np.array([naive_scale(train[u]) for u in ids])

    def score(mat, kind, level=False):
        y = target[kind].unstack().loc[ids].to_numpy()
        if level:  # WAPE of the 28-day totals: what the stock of a lead time depends on
            ok = np.isfinite(mat).all(axis=1)
            return float(np.abs(y[ok].sum(axis=1) - mat[ok].sum(axis=1)).sum()
                         / y[ok].sum())
        v = np.mean(np.abs(y - mat), axis=1) / scale
        return float(np.nanmean(np.where(np.isfinite(v), v, np.nan)))

    return res, classes, sel, singles, score


def test_intermittent_skus_get_intermittent_models(shop, evaluation):
    _, sb = shop
    res, classes, *_ = evaluation
    pattern = sb.truth.skus.set_index("sku")["pattern"]
    uids = res.summary.index[res.summary["status"] == "ok"]
    truly = [u for u in uids if pattern.get(u.rpartition("@")[0]) in ("intermittent", "lumpy")]
    assert len(truly) >= 20
    chosen = res.summary.loc[truly, "model"]
    parts = chosen.str.split("+")
    assert all(set(p) <= set(CANDIDATES["intermittent"]) for p in parts)
    uses_method = parts.map(lambda p: bool(set(p) & INTERMITTENT_METHODS))
    assert uses_method.mean() > 0.8, chosen.value_counts()


@pytest.mark.parametrize("kind", ["actual", "truth"])
def test_selection_against_each_single_model_on_unseen_days(evaluation, kind):
    """Judged on 28 days neither selection nor fitting saw, by daily MASE and by the WAPE of
    the 28-day totals (the level, which stock depends on).

    Measured here (seed 13, 118 series, 113 of them in the intermittent group where weekly
    AutoETS is not a candidate): on the realised demand selection 0.902 vs the best single
    model 0.904 (WeeklySES); on the true expected demand 0.211 vs 0.196 (AutoETS) and 0.206
    (WeeklySES), level WAPE 0.181 vs 0.145 (AutoETS), 0.170 (WeeklySES), 0.186 (ADIDA).
    Before selection ranked on window totals (daily MASE ranking, 56-day weekday profile)
    it was 0.239 on the truth. On 9 sandbox settings (3 seeds x 3 evaluation origins, 300
    SKUs, truth) selection 0.131 vs WeeklySES 0.128, AutoETS 0.132, ADIDA 0.189; level
    WAPE 0.140 vs 0.136, 0.142, 0.223.

    Asserted against the truth: better than every single model but the top two, within 10%
    of the best by MASE and within 25% by level (AutoETS, fitted on every series here,
    is 12x the cost of weekly SES and is a candidate of the smooth group only). Against the
    realised demand, where the top models lie within 1% of each other: within 1% of the
    best and better than all but the top three."""
    _, _, sel, singles, score = evaluation
    selected = score(sel, kind)
    values = {name: score(mat, kind) for name, mat in singles.items()}
    ranked = sorted(values, key=values.get)
    print(f"{kind} holdout MASE: selection {selected:.4f}, singles "
          f"{ {k: round(values[k], 4) for k in ranked} }")
    level = score(sel, kind, True)
    lv = {name: score(mat, kind, True) for name, mat in singles.items()}
    lranked = sorted(lv, key=lv.get)
    print(f"{kind} level WAPE: selection {level:.4f}, singles "
          f"{ {k: round(lv[k], 4) for k in lranked} }")
    if kind == "truth":
        assert selected <= values[ranked[0]] * 1.10, (ranked[0], values[ranked[0]], selected)
        assert level <= lv[lranked[0]] * 1.25, (lranked[0], lv[lranked[0]], level)
        for name in ranked[2:]:
            assert selected < values[name], (name, values[name], selected)
        for name in lranked[2:]:
            assert level < lv[name], (name, lv[name], level)
    else:
        assert selected <= values[ranked[0]] * 1.01, (ranked[0], values[ranked[0]], selected)
        for name in ranked[3:]:
            assert selected < values[name], (name, values[name], selected)


def test_short_smooth_series_do_not_crash():
    ds = pd.date_range("2026-01-01", periods=70)
    df = pd.DataFrame({"unique_id": "a", "ds": ds,
                       "y": np.random.default_rng(1).poisson(5, 70).astype(float)})
    res = forecast_series(df, pd.Series({"a": "smooth"}), 30)
    assert res.summary.loc["a", "status"] == "ok"
    assert res.summary.loc["a", "windows"] == 1
    assert res.window_errors["a"].shape == (1, 28)
    assert set(res.summary.loc["a", "model"].split("+")) <= {"SeasonalNaive", "WindowAverage"}
