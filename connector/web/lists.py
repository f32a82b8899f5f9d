"""The order lists: ``/`` (staple), ``/lists/<staple|seasonal>`` and their CSV downloads."""
from __future__ import annotations

import re

import pandas as pd
from flask import Blueprint, Response, abort, render_template

from core.reports import order_list

from .common import current_run, current_shop, db, flag_arg, run_summary

__all__ = ["bp", "LISTS", "list_rows", "csv_filename"]

bp = Blueprint("lists", __name__)

#: The order lists a plan run has, with their page titles.
LISTS = {"staple": "Staple order list", "seasonal": "Seasonal order list"}


def _check_list(name: str) -> None:
    if name not in LISTS:
        abort(404, description=f"There is no order list called {name!r}: the lists are "
                               f"{' and '.join(LISTS)}.")


def list_rows(frame: pd.DataFrame, to_order_only: bool) -> pd.DataFrame:
    """``frame`` (from :func:`core.reports.order_list`) with ``position`` and ``urgent``.

    A row is urgent when its inventory position (on hand + on order - committed) is at or
    below its reorder point.
    """
    out = frame.copy()
    if to_order_only:
        out = out[out["recommended_qty"] > 0]
    out["position"] = out["on_hand"] + out["on_order"] - out["committed"]
    out["urgent"] = out["position"] <= out["reorder_point"]
    return out.reset_index(drop=True)


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts with missing values as None (templates show them as a dash)."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def csv_filename(*parts: str) -> str:
    """A safe ASCII download name from ``parts`` (``restock-staple-my-shop.csv``)."""
    stem = "-".join(re.sub(r"[^A-Za-z0-9._]+", "-", p).strip("-._") for p in parts if p)
    return (stem or "restock") + ".csv"


def _render(name: str):
    _check_list(name)
    shop = current_shop()
    run = current_run(shop)
    to_order = flag_arg("to_order")
    rows, totals = [], {"skus": 0, "lines": 0, "units": 0, "value": 0.0, "urgent": 0}
    if run is not None:
        frame = list_rows(order_list(db(), run, name), to_order)
        rows = _records(frame)
        totals = {"skus": int(frame["sku"].nunique()), "lines": len(frame),
                  "units": int(frame["recommended_qty"].sum()),
                  "value": float(frame["order_value"].sum()),
                  "urgent": int(frame["urgent"].sum())}
    return render_template("list.html", shop=shop, header=run_summary(run), list_name=name,
                           list_title=LISTS[name], rows=rows, totals=totals,
                           to_order=to_order, active=name)


@bp.get("/")
def index():
    """The staple order list of the chosen (or only) shop."""
    return _render("staple")


@bp.get("/lists/<name>")
def show(name: str):
    """One order list as a table, urgent lines first."""
    return _render(name)


@bp.get("/lists/<name>.csv")
def download(name: str):
    """The same order list as CSV: exactly the columns of :func:`core.reports.order_list`."""
    _check_list(name)
    shop = current_shop()
    run = current_run(shop)
    if run is None:
        abort(404, description=f"Shop {shop.name!r} has no plan run yet: run `restock plan`.")
    frame = order_list(db(), run, name)
    if flag_arg("to_order"):
        frame = frame[frame["recommended_qty"] > 0]
    body = frame.to_csv(index=False)
    filename = csv_filename("restock", name, shop.name, str(run.data_cutoff))
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
