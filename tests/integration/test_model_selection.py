"""Model selection on sandbox series: it picks intermittent models for intermittent demand,
copes with short series, and beats every single model on days it never saw."""
import numpy as np
import pandas as pd
import pytest
from statsforecast import StatsForecast
from statsforecast.models import ADIDA, TSB, CrostonSBA, SeasonalNaive, WindowAverage

from core.classify import classify_series
from core.demand import daily_demand
from core.forecast import forecast_series
from core.metrics import mase
from sandbox import generate

H = 28


@pytest.fixture(scope="module")
def series():
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


def test_intermittent_series_get_intermittent_models(series):
    s, sb = series
    classes = classify_series(s)
    res = forecast_series(s, classes["demand_class"], h=H)
    inter = classes.index[classes["demand_class"].isin(["intermittent", "lumpy"])]
    chosen = res.summary.loc[inter, "model"]
    assert len(inter) >= 20
    assert set(chosen) <= {"CrostonSBA", "TSB", "ADIDA", "WindowAverage"}
    assert chosen.isin(["CrostonSBA", "TSB", "ADIDA"]).mean() > 0.5


def test_selection_is_no_worse_than_any_single_model_on_unseen_days(series):
    """Judged on 28 days neither selection nor fitting saw. On this sandbox's mostly
    stationary series the best single model (a plain average) is hard to beat: selection
    must stay within 2% of every single model's MASE."""
    s, _ = series
    rank = s.groupby("unique_id").cumcount(ascending=False)
    past, future = s[rank >= H], s[rank < H]
    classes = classify_series(past)["demand_class"]
    ours = forecast_series(past, classes, h=H).forecasts.sort_values(["unique_id", "step"])
    actual = {u: g["y"].to_numpy() for u, g in future.groupby("unique_id")}
    train = {u: g["y"].to_numpy() for u, g in past.groupby("unique_id")}

    def score(frame, col):
        vals = [mase(actual[u], g[col].to_numpy(), train[u]) for u, g in frame.groupby("unique_id")]
        vals = np.array(vals, dtype=float)
        return float(np.nanmean(vals[np.isfinite(vals)]))

    selected = score(ours, "mean")
    singles = {}
    for model in (SeasonalNaive(7), WindowAverage(28), CrostonSBA(), TSB(0.1, 0.1), ADIDA()):
        fc = StatsForecast(models=[model], freq="D").forecast(df=past[["unique_id", "ds", "y"]],
                                                             h=H)
        name = [c for c in fc.columns if c not in ("unique_id", "ds")][0]
        singles[name] = score(fc.sort_values(["unique_id", "ds"]), name)
    print(f"holdout MASE: selection {selected:.3f}, singles {singles}")
    for name, value in singles.items():
        assert selected <= value * 1.02, (name, value, selected)


def test_short_smooth_series_do_not_crash():
    ds = pd.date_range("2026-01-01", periods=70)
    df = pd.DataFrame({"unique_id": "a", "ds": ds,
                       "y": np.random.default_rng(1).poisson(5, 70).astype(float)})
    res = forecast_series(df, pd.Series({"a": "smooth"}), 30)
    assert res.summary.loc["a", "status"] == "ok"
    assert res.summary.loc["a", "model"] in ("SeasonalNaive", "WindowAverage")
