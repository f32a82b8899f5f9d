"""Where statsforecast runs: in this process, or on a Dask cluster.

The same forecast code runs on both. A :class:`DaskEngine` hands statsforecast a Dask
DataFrame partitioned by series; statsforecast's distributed backend (fugue) fits every
partition on the cluster's workers and the result comes back as pandas with the same
columns as a local run. The address comes from the caller (the composition root reads
``RESTOCK_FORECAST_ENGINE=dask://HOST:PORT``); ``local`` needs no cluster at all.
"""
from __future__ import annotations

import pandas as pd

__all__ = ["LocalEngine", "DaskEngine", "engine_from_url"]


class LocalEngine:
    """Fit in this process (statsforecast's own ``n_jobs`` processes)."""

    name = "local"

    def forecast(self, sf, df: pd.DataFrame, h: int) -> pd.DataFrame:
        return sf.forecast(df=df, h=h)

    def cross_validation(self, sf, df: pd.DataFrame, h: int, n_windows: int, step_size: int,
                         refit: bool = True) -> pd.DataFrame:
        return sf.cross_validation(df=df, h=h, n_windows=n_windows, step_size=step_size,
                                   refit=refit)


class DaskEngine:
    """Fit on a Dask cluster. ``client`` is a ``dask.distributed.Client`` (or an address)."""

    name = "dask"

    def __init__(self, client, partitions_per_worker: int = 2):
        from dask.distributed import Client

        self.client = client if isinstance(client, Client) else Client(client)
        self.partitions_per_worker = partitions_per_worker

    def _partitioned(self, df: pd.DataFrame):
        import dask.dataframe as dd

        workers = max(1, len(self.client.scheduler_info().get("workers", {})))
        ids = df["unique_id"].drop_duplicates()
        parts = max(1, min(len(ids), workers * self.partitions_per_worker))
        return dd.from_pandas(df.set_index("unique_id"), npartitions=parts,
                              sort=True).reset_index()

    @staticmethod
    def _collect(out, df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
        out = out.compute() if hasattr(out, "compute") else out
        out = pd.DataFrame(out)
        ints = pd.api.types.is_integer_dtype(df["unique_id"])
        out["unique_id"] = out["unique_id"].astype("int64" if ints else str)
        for col in ("ds", "cutoff"):
            if col in out.columns and not pd.api.types.is_integer_dtype(df["ds"]):
                out[col] = pd.to_datetime(out[col]).astype("datetime64[ns]")
            elif col in out.columns:
                out[col] = out[col].astype(df["ds"].dtype)
        for col in out.columns:
            if col not in ("unique_id", "ds", "cutoff"):
                out[col] = out[col].astype(float)
        return out.sort_values(keys, ignore_index=True)

    def forecast(self, sf, df: pd.DataFrame, h: int) -> pd.DataFrame:
        out = sf.forecast(df=self._partitioned(df), h=h)
        return self._collect(out, df, ["unique_id", "ds"])

    def cross_validation(self, sf, df: pd.DataFrame, h: int, n_windows: int, step_size: int,
                         refit: bool = True) -> pd.DataFrame:
        out = sf.cross_validation(df=self._partitioned(df), h=h, n_windows=n_windows,
                                  step_size=step_size, refit=refit)
        return self._collect(out, df, ["unique_id", "cutoff", "ds"])

    def close(self) -> None:
        self.client.close()


def engine_from_url(url: str | None):
    """``None``/``local`` -> :class:`LocalEngine`; ``dask://HOST:PORT`` -> :class:`DaskEngine`."""
    if not url or url == "local":
        return LocalEngine()
    if url.startswith("dask://"):
        return DaskEngine("tcp://" + url[len("dask://"):])
    raise ValueError(f"unknown forecast engine {url!r}: use 'local' or 'dask://HOST:PORT'")
