"""The order lists ``/lists/<staple|seasonal>`` and their CSV downloads; ``/`` opens the
dashboard.

Both take ``?level=sku`` (default: one row per SKU x location) or ``?level=product`` (the
variants of a product summed per location, :func:`core.reports.order_list` with
``level="product"``), and ``?to_order=1`` (only rows with something to order).
"""
from __future__ import annotations

import re

import pandas as pd
from flask import Blueprint, Response, abort, redirect, render_template, request, url_for

from core.reports import order_list

from .common import choice_arg, current_run, current_shop, db, flag_arg, run_summary

__all__ = ["bp", "LISTS", "LEVELS", "list_rows", "csv_filename"]

bp = Blueprint("lists", __name__)

#: The order lists a plan run has, with their page titles.
LISTS = {"staple": "Staple order list", "seasonal": "Seasonal order list"}
#: Row levels of the lists: one row per SKU x location, or per product x location.
LEVELS = ("sku", "product")


def _check_list(name: str) -> None:
    if name not in LISTS:
        abort(404, description=f"There is no order list called {name!r}: the lists are "
                               f"{' and '.join(LISTS)}.")


def list_rows(frame: pd.DataFrame, to_order_only: bool) -> pd.DataFrame:
    """``frame`` (from :func:`core.reports.order_list`) with ``position`` and ``urgent``.

    A row is urgent when its inventory position (on hand + on order - committed) is at or
    below its reorder point, except a seasonal row whose season takes no order now (reorder
    point 0 with a season window: between seasons, or the season cannot sell an order).
    """
    out = frame.copy()
    if to_order_only:
        out = out[out["recommended_qty"] > 0]
    out["position"] = out["on_hand"] + out["on_order"] - out["committed"]
    out["urgent"] = out["position"] <= out["reorder_point"]
    if "season_start" in out:
        out["urgent"] &= ~(out["season_start"].notna() & (out["reorder_point"] <= 0))
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
    level = choice_arg("level", LEVELS) or "sku"
    rows, totals = [], {"skus": 0, "lines": 0, "units": 0, "value": 0.0, "urgent": 0,
                        "lost": 0.0, "products": 0}
    if run is not None:
        frame = list_rows(order_list(db(), run, name, level=level), to_order)
        rows = _records(frame)
        totals = {"skus": int(frame["sku"].nunique() if level == "sku"
                              else frame["skus"].sum()),
                  "products": int(frame["product"].nunique()) if len(frame) else 0,
                  "lines": len(frame),
                  "units": int(frame["recommended_qty"].sum()),
                  "value": float(frame["order_value"].sum()),
                  "urgent": int(frame["urgent"].sum()),
                  "lost": float(frame["lost_units"].fillna(0).sum())}
    return render_template("list.html", shop=shop, header=run_summary(run), list_name=name,
                           list_title=LISTS[name], rows=rows, totals=totals,
                           to_order=to_order, level=level, active=name)


@bp.get("/")
def index():
    """The dashboard (the query string, ``?shop=`` included, is kept); an unknown shop is
    a 404 here already, and no shop named among several asks for one."""
    current_shop()
    return redirect(url_for("dashboard.index", **request.args.to_dict()))


@bp.get("/lists/<name>")
def show(name: str):
    """One order list as a table, urgent lines first."""
    return _render(name)


@bp.get("/lists/<name>.csv")
def download(name: str):
    """The same order list as CSV: exactly the columns of :func:`core.reports.order_list`
    (at the chosen ``level``)."""
    _check_list(name)
    shop = current_shop()
    run = current_run(shop)
    level = choice_arg("level", LEVELS) or "sku"
    if run is None:
        abort(404, description=f"Shop {shop.name!r} has no plan run yet: run `restock plan`.")
    frame = order_list(db(), run, name, level=level)
    if flag_arg("to_order"):
        frame = frame[frame["recommended_qty"] > 0]
    body = frame.to_csv(index=False)
    filename = csv_filename("restock", name, shop.name, str(run.data_cutoff),
                            "by-product" if level == "product" else "")
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
