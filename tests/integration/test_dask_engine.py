"""The same forecasts on a local Dask cluster as in this process."""
import numpy as np
import pandas as pd
import pytest

from core.classify import classify_series
from core.engines import LocalEngine, engine_from_url
from core.forecast import forecast_series

distributed = pytest.importorskip("dask.distributed", reason="skipped: Dask is not installed")


@pytest.fixture(scope="module")
def engine():
    from core.engines import DaskEngine

    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                       dashboard_address=None)
    eng = DaskEngine(distributed.Client(cluster))
    yield eng
    eng.close()
    cluster.close()


def _series():
    rng = np.random.default_rng(4)
    ds = pd.date_range("2025-01-01", periods=200)
    frames = []
    for i in range(12):
        y = rng.poisson(4, 200) if i % 2 else rng.binomial(1, 0.2, 200) * rng.integers(1, 4, 200)
        frames.append(pd.DataFrame({"unique_id": f"s{i:02d}", "ds": ds, "y": y.astype(float)}))
    return pd.concat(frames, ignore_index=True)


def test_dask_forecasts_equal_local(engine):
    series = _series()
    classes = classify_series(series)["demand_class"]
    local = forecast_series(series, classes, h=21, engine=LocalEngine())
    remote = forecast_series(series, classes, h=21, engine=engine)
    a = local.forecasts.sort_values(["unique_id", "step"], ignore_index=True)
    b = remote.forecasts.sort_values(["unique_id", "step"], ignore_index=True)
    assert (a["unique_id"] == b["unique_id"]).all()
    np.testing.assert_allclose(a["mean"], b["mean"], rtol=1e-6, atol=1e-9)
    assert (local.summary["model"] == remote.summary.loc[local.summary.index, "model"]).all()
    for uid, errors in local.window_errors.items():  # rolling windows, weekly CV included
        # the distributed backend hands some forecasts back as float32: 1e-5 absolute
        np.testing.assert_allclose(errors, remote.window_errors[uid], rtol=1e-6, atol=1e-5)
    assert (local.summary["windows"] == 3).all()


def test_engine_urls():
    assert isinstance(engine_from_url(None), LocalEngine)
    assert isinstance(engine_from_url("local"), LocalEngine)
    with pytest.raises(ValueError, match="dask://HOST:PORT"):
        engine_from_url("spark://x")
