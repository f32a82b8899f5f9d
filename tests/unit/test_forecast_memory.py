"""Model memory, rolling windows and the selection rule on hand-made series."""
import numpy as np
import pandas as pd
import pytest

import core.forecast_models as fm
from core.forecast import forecast_series
from core.forecast_select import choose
from core.storage import (Shop, make_engine, make_sessionmaker, read_forecast_memory,
                          session_scope, upgrade, write_forecast_memory)

H = 14


def _series(days=240, extra=0, seed=3):
    rng = np.random.default_rng(seed)
    ds = pd.date_range("2025-01-01", periods=days + extra)
    smooth = rng.poisson(6, days + extra).astype(float)
    inter = (rng.random(days + extra) < 0.2) * rng.integers(1, 4, days + extra)
    return pd.concat([pd.DataFrame({"unique_id": "s", "ds": ds, "y": smooth}),
                      pd.DataFrame({"unique_id": "i", "ds": ds, "y": inter.astype(float)})],
                     ignore_index=True)


CLASSES = pd.Series({"s": "smooth", "i": "intermittent"})


@pytest.fixture
def fits(monkeypatch):
    """Records the model names of every statsforecast fit."""
    calls = []
    real = fm._fit

    def spy(models, df, h, freq, engine):
        calls.append(sorted(repr(m) if not getattr(m, "alias", None) else m.alias
                            for m in models))
        return real(models, df, h, freq, engine)

    monkeypatch.setattr(fm, "_fit", spy)
    return calls


def test_windows_sigma_and_residuals():
    res = forecast_series(_series(), CLASSES, h=H)
    for uid in ("s", "i"):
        w = res.window_errors[uid]
        assert w.shape == (3, 28)
        np.testing.assert_allclose(res.residuals[uid], w.ravel())
        assert res.summary.at[uid, "sigma"] == pytest.approx(np.sqrt(np.mean(w ** 2)))
        assert res.summary.at[uid, "fit"] == "selected"


def test_constant_series_has_zero_errors_and_its_level():
    ds = pd.date_range("2025-01-01", periods=200)
    df = pd.DataFrame({"unique_id": "c", "ds": ds, "y": 5.0})
    df.loc[df.index[::50], "y"] = 6.0  # not flat, or MASE has no scale
    res = forecast_series(df, pd.Series({"c": "smooth"}), h=7)
    w = res.window_errors["c"]
    # the newest window (days 172-199) holds no 6: a 28-day average forecasts it exactly
    if res.summary.at["c", "model"] == "WindowAverage":
        assert np.abs(w[-1]).max() == pytest.approx(0.0)
    f = res.forecasts["mean"].to_numpy()
    assert np.all(np.abs(f - 5.0) < 0.2)


def test_unchanged_data_reuses_forecast_without_fitting(fits):
    first = forecast_series(_series(), CLASSES, h=H)
    fits.clear()
    again = forecast_series(_series(), CLASSES, h=H, memory=first.memory)
    assert fits == []
    assert (again.summary["fit"] == "reused").all()
    pd.testing.assert_frame_equal(first.forecasts, again.forecasts)
    assert (again.summary["model"] == first.summary["model"]).all()


def test_new_day_refits_only_the_kept_model(fits):
    first = forecast_series(_series(), CLASSES, h=H)
    fits.clear()
    later = forecast_series(_series(extra=1), CLASSES, h=H, memory=first.memory)
    assert (later.summary["fit"] == "refitted").all()
    assert (later.summary["model"] == first.summary["model"]).all()
    kept = {p for m in first.summary["model"] for p in m.split("+")}
    assert {name for call in fits for name in call} <= kept
    assert not (later.forecasts["mean"].to_numpy() == first.forecasts["mean"].to_numpy()).all()
    # the kept selection day carries over, so the interval counts from the full selection
    assert later.memory["s"]["selected_on"] == first.memory["s"]["selected_on"]


def test_full_reselection_after_the_interval(fits):
    first = forecast_series(_series(), CLASSES, h=H, reselect_days=28)
    fits.clear()
    later = forecast_series(_series(extra=28), CLASSES, h=H, memory=first.memory,
                            reselect_days=28)
    assert (later.summary["fit"] == "selected").all()
    assert {"CrostonSBA", "TSB", "WindowAverage84"} <= {n for c in fits for n in c}
    assert later.memory["s"]["selected_on"] == "2025-09-25"  # 240 + 28 days from 2025-01-01


def test_longer_horizon_than_stored_is_refitted():
    first = forecast_series(_series(), CLASSES, h=H)
    later = forecast_series(_series(), CLASSES, h=H + 7, memory=first.memory)
    assert (later.summary["fit"] == "refitted").all()


def test_bad_memory_and_arguments_are_named():
    with pytest.raises(ValueError, match="memory entry for 's'"):
        forecast_series(_series(), CLASSES, h=H, memory={"s": {"model": "TSB"}})
    with pytest.raises(ValueError, match="n_windows must be"):
        forecast_series(_series(), CLASSES, h=H, n_windows=0)
    with pytest.raises(ValueError, match="lacks the columns"):
        forecast_series(_series().drop(columns="y"), CLASSES, h=H)


def test_choose_shrinks_toward_the_class_best():
    rng = np.random.default_rng(0)
    n = 40
    base = rng.normal(0, 1.0, (n, 3, 28))
    errors = {"WindowAverage": base, "A": base * 0.7, "B": base * 0.95}
    errors["B"][0] = base[0] * 0.2  # series 0: B far better than the class best A
    errors["B"][1] = base[1] * 0.65  # series 1: B better than A by a hair
    scale = np.ones(n)
    chosen, ranked = choose(errors, "WindowAverage", scale, margin=0.25, combination=False)
    assert ranked[0] == "A"
    assert chosen[0] == "B" and chosen[1] == "A"
    assert (chosen[2:] == "A").all()
    with pytest.raises(ValueError, match="fallback model 'X'"):
        choose(errors, "X", scale)
    with pytest.raises(ValueError, match="margin must be"):
        choose(errors, "WindowAverage", scale, margin=1.5)


def test_memory_round_trip_through_the_database(tmp_path):
    eng = make_engine(f"sqlite:///{tmp_path}/m.db")
    upgrade(eng)
    sessions = make_sessionmaker(eng)
    res = forecast_series(_series(), CLASSES, h=H)
    with session_scope(sessions) as s:
        shop = Shop(domain="m.myshopify.com", name="m")
        s.add(shop)
        s.flush()
        assert write_forecast_memory(s, shop.id, res.memory) == 2
        shop_id = shop.id
    with session_scope(sessions) as s:
        back = read_forecast_memory(s, shop_id)
    again = forecast_series(_series(), CLASSES, h=H, memory=back)
    assert (again.summary["fit"] == "reused").all()
    pd.testing.assert_frame_equal(res.forecasts, again.forecasts)
