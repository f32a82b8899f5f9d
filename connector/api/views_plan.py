"""Plan resources: ``/api/skus``, ``/api/skus/{sku}``, ``/api/plans`` and
``/api/order-lists/{list}`` (JSON, CSV or Excel)."""
from __future__ import annotations

import pandas as pd
from sqlalchemy import desc, select

from connector.web.common import db
from connector.web.sku_data import forecast_band, forecast_days
from core.reports import ORDER_LIST_COLUMNS, PRODUCT_COLUMNS, latest_run, order_list
from core.storage import Location, PlanLine, PlanRun, Product, Supplier, Variant

from .auth import api_shop
from .common import (api_blueprint, not_found, paginate_list, paginate_select, records,
                     valid_text)
from .exports import XLSX_MIMETYPE, csv_response, download_name, xlsx_response
from .schemas import (OrderListArgs, OrderListSchema, PlanRunSchema, SkuDetailSchema,
                      OrderListRowSchema, SkuListArgs)

__all__ = ["skus_blp", "plans_blp", "lists_blp", "list_frame", "order_list_columns"]

skus_blp = api_blueprint("skus", "Plan lines of the latest plan run, per SKU")
plans_blp = api_blueprint("plans", "Plan runs and their forecast accuracy")
lists_blp = api_blueprint("order-lists", "The staple and seasonal order lists, with exports")

_UNAUTHORIZED = "UNAUTHORIZED"


def list_frame(which: str | None, level: str, to_order: bool):
    """The latest run and its order list (``core.reports.order_list``), optionally only the
    lines with a recommended order; ``(None, empty frame)`` before the first plan run."""
    run = latest_run(db(), api_shop())
    if run is None:
        return None, order_list_columns(level)
    frame = order_list(db(), run, which, level=level)
    if to_order:
        frame = frame[frame["recommended_qty"] > 0]
    return run, frame.reset_index(drop=True)


@skus_blp.route("/skus", methods=["GET"])
@skus_blp.arguments(SkuListArgs, location="query")
@skus_blp.response(200, OrderListRowSchema(many=True))
@skus_blp.alt_response(401, response=_UNAUTHORIZED)
@skus_blp.paginate(page_size=50, max_page_size=500)
def list_skus(args, pagination_parameters):
    """Plan lines of the latest plan run, urgent first.

    One row per SKU x location (``level=sku``) or per product x location
    (``level=product``, quantities summed over its variants). Empty before the first plan
    run. Pagination metadata is in the ``X-Pagination`` header.
    """
    _run, frame = list_frame(args.get("list"), args["level"], args["to_order"])
    return paginate_list(records(frame), pagination_parameters)


def _line_doc(line: PlanLine, location: str | None, supplier: str | None) -> dict:
    days, mean = forecast_days(line)
    lo, hi = forecast_band(mean, line.sigma_daily)
    doc = {c.key: getattr(line, c.key) for c in PlanLine.__table__.columns}
    doc.update(location=location, supplier=supplier, forecast={
        "start": days[0] if days else None,
        "days": [{"day": d, "mean": m, "lo80": a, "hi80": b}
                 for d, m, a, b in zip(days, mean, lo, hi)]})
    return doc


@skus_blp.route("/skus/<path:sku>", methods=["GET"])
@skus_blp.response(200, SkuDetailSchema)
@skus_blp.alt_response(401, response=_UNAUTHORIZED)
@skus_blp.alt_response(404, response="NOT_FOUND")
def get_sku(sku: str):
    """One SKU: its plan line per location in the latest run, with the daily forecast and
    its 80% interval. 404 when the SKU is not in the shop's catalog."""
    shop = api_shop()
    session = db()
    row = None
    if valid_text(sku):
        row = session.execute(select(Variant, Product.title).outerjoin(
            Product, Product.id == Variant.product_id).where(
            Variant.shop_id == shop.id, Variant.sku == sku)).first()
    if row is None:
        not_found(f"shop {shop.name!r} has no SKU {sku!r}")
    variant, product_title = row
    run = latest_run(session, shop)
    lines = []
    if run is not None:
        lines = [_line_doc(line, loc, sup) for line, loc, sup in session.execute(
            select(PlanLine, Location.name, Supplier.name)
            .join(Location, Location.id == PlanLine.location_id)
            .outerjoin(Supplier, Supplier.id == PlanLine.supplier_id)
            .where(PlanLine.plan_run_id == run.id, PlanLine.variant_id == variant.id)
            .order_by(Location.name))]
    title = " - ".join(t for t in (product_title, variant.title) if t) or None
    return {"sku": variant.sku, "title": title, "product": product_title,
            "variant_status": variant.status, "price": variant.price,
            "unit_cost": variant.unit_cost, "run": run, "lines": lines}


@plans_blp.route("/plans", methods=["GET"])
@plans_blp.response(200, PlanRunSchema(many=True))
@plans_blp.alt_response(401, response=_UNAUTHORIZED)
@plans_blp.paginate(page_size=20, max_page_size=100)
def list_plans(pagination_parameters):
    """The shop's plan runs, newest first, with holdout MASE, WAPE and bias."""
    stmt = (select(PlanRun).where(PlanRun.shop_id == api_shop().id)
            .order_by(desc(PlanRun.id)))
    return [run for (run,) in paginate_select(stmt, pagination_parameters)]


_EXPORT_DOC = {"responses": {"200": {"description": "OK", "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/OrderList"}},
    "text/csv": {"schema": {"type": "string"}},
    XLSX_MIMETYPE: {"schema": {"type": "string", "format": "binary"}},
}}}}


@lists_blp.route("/order-lists/<any(staple, seasonal):list_name>", methods=["GET"])
@lists_blp.arguments(OrderListArgs, location="query")
@lists_blp.response(200, OrderListSchema)
@lists_blp.alt_response(401, response=_UNAUTHORIZED)
@lists_blp.doc(**_EXPORT_DOC)
def get_order_list(args, list_name: str):
    """An order list of the latest plan run, urgent lines first.

    ``format=csv`` or ``format=xlsx`` downloads the same rows and columns as the JSON
    ``rows`` (an empty list, with its header, before the first plan run).
    """
    run, frame = list_frame(list_name, args["level"], args["to_order"])
    fmt = args["format"]
    if fmt != "json":
        parts = ("restock", list_name, api_shop().name,
                 str(run.data_cutoff) if run is not None else "no-plan")
        if fmt == "csv":
            return csv_response(frame, download_name(*parts, ext="csv"))
        return xlsx_response(frame, list_name, download_name(*parts, ext="xlsx"))
    rows = records(frame)
    return {"list": list_name, "level": args["level"], "to_order": args["to_order"],
            "run": run, "count": len(rows), "rows": rows}


def order_list_columns(level: str) -> pd.DataFrame:
    """An empty frame with the order list's columns (before the first plan run)."""
    return pd.DataFrame(columns=ORDER_LIST_COLUMNS if level == "sku" else PRODUCT_COLUMNS)
