"""Marshmallow schemas of the API: query arguments (validated, 422 on bad input) and
response bodies (documented in the OpenAPI document).

Numbers that may be missing or not finite are dumped as ``null`` (JSON has no NaN); times
are UTC ISO 8601 with an offset.
"""
from __future__ import annotations

import math
import re

import marshmallow as ma
from marshmallow import fields, validate

from core.purchasing import as_utc
from core.storage import PO_STATUSES

__all__ = [
    "Num", "Int", "UTCDateTime", "PlainText", "SkuListArgs", "OrderListArgs", "POListArgs",
    "KpiArgs", "ReminderArgs", "OrderListRowSchema", "OrderListSchema", "PlanRunSchema",
    "ForecastDaySchema", "ForecastSchema", "SkuPlanLineSchema", "SkuDetailSchema",
    "PurchaseOrderSchema", "PurchaseOrderLineSchema", "PurchaseOrderDetailSchema",
    "SupplierSchema", "SegmentSchema", "SegmentsSchema", "ProductDueSchema", "CustomerSchema",
    "ReminderSchema", "KpiSchema", "CampaignSchema", "LISTS", "LEVELS", "FORMATS",
]

LISTS = ("staple", "seasonal")
LEVELS = ("sku", "product")
FORMATS = ("json", "csv", "xlsx")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _no_control(value: str) -> None:
    if _CONTROL.search(value):
        raise ma.ValidationError("must not contain control characters")


def _finite(value) -> float | None:
    """``value`` as a finite float, or None when missing, unparsable or not finite."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


class Num(fields.Float):
    """A float that dumps None for missing, unparsable or non-finite values."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("allow_none", True)
        super().__init__(**kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return _finite(value)


class Int(fields.Integer):
    """An integer that dumps None for missing or non-finite values."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("allow_none", True)
        super().__init__(**kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        number = _finite(value)
        return None if number is None else int(number)


class UTCDateTime(fields.DateTime):
    """A timestamp dumped as UTC ISO 8601 (naive database values are UTC)."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("allow_none", True)
        super().__init__(**kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else super()._serialize(as_utc(value), attr, obj, **kwargs)


def PlainText(max_length: int, **kwargs) -> fields.String:  # noqa: N802 (field factory)
    """A query string of at most ``max_length`` characters without control characters."""
    return fields.String(validate=[validate.Length(min=1, max=max_length), _no_control],
                         **kwargs)


def _str(**kwargs) -> fields.String:
    return fields.String(allow_none=True, **kwargs)


def _date(**kwargs) -> fields.Date:
    return fields.Date(allow_none=True, **kwargs)


# --- query arguments ----------------------------------------------------------------------

class _Args(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE


class SkuListArgs(_Args):
    """Filters of ``GET /api/skus``."""

    list = fields.String(validate=validate.OneOf(LISTS),
                         metadata={"description": "only this order list"})
    to_order = fields.Boolean(load_default=False,
                              metadata={"description": "only lines with a recommended order"})
    level = fields.String(load_default="sku", validate=validate.OneOf(LEVELS),
                          metadata={"description": "sku: one row per SKU x location; product: "
                                                   "variants summed per product x location"})


class OrderListArgs(_Args):
    """Options of ``GET /api/order-lists/{list}``."""

    to_order = fields.Boolean(load_default=False)
    level = fields.String(load_default="sku", validate=validate.OneOf(LEVELS))
    format = fields.String(load_default="json", validate=validate.OneOf(FORMATS),
                           metadata={"description": "json (default), csv or xlsx"})


class POListArgs(_Args):
    """Filters of ``GET /api/purchase-orders``."""

    status = fields.String(validate=validate.OneOf(PO_STATUSES))


class _DateRange(_Args):
    """``start``..``end`` (inclusive) must not be reversed."""

    @ma.validates_schema
    def _ordered(self, data, **kwargs):
        lo, hi = data.get("start"), data.get("end")
        if lo is not None and hi is not None and lo > hi:
            raise ma.ValidationError("must not be before 'from'", field_name=self._end_key)

    _end_key = "to"


class KpiArgs(_DateRange):
    """Filters of ``GET /api/kpis``."""

    name = PlainText(64, metadata={"description": "KPI name, e.g. revenue"})
    dims_key = fields.String(validate=[validate.Length(max=255), _no_control],
                             metadata={"description": "slice, e.g. channel=pos; empty string "
                                                      "= whole shop; left out = every slice"})
    start = fields.Date(data_key="from", metadata={"description": "first day (inclusive)"})
    end = fields.Date(data_key="to", metadata={"description": "last day (inclusive)"})


class ReminderArgs(_DateRange):
    """Filters of ``GET /api/reminders``."""

    status = PlainText(32)
    start = fields.Date(data_key="due_from")
    end = fields.Date(data_key="due_to")
    _end_key = "due_to"


# --- responses -----------------------------------------------------------------------------

class OrderListRowSchema(ma.Schema):
    """One order-list row: a SKU x location (level sku) or a product x location (level
    product, with ``skus`` = number of its SKUs and no per-SKU fields)."""

    sku, title, product = _str(), _str(), _str()
    list, location, status = _str(), _str(), _str()
    demand_class, model, supplier = _str(), _str(), _str()
    skus = Int()
    on_hand, on_order, committed = Num(), Num(), Num()
    forecast_daily, safety_stock = Num(), Num()
    reorder_point, order_up_to = Num(), Num()
    recommended_qty = Int()
    lead_time_days, service_level, unit_cost, order_value = Num(), Num(), Num(), Num()
    abc, xyz, lifecycle = _str(), _str(), _str()
    lost_units, days_of_cover = Num(), Num()
    stockout_date = _date()
    notes = _str()
    season_start, season_end = _date(), _date()
    season_demand, season_buy_qty, critical_ratio = Num(), Int(), Num()
    season_leftover = Num()


class PlanRunSchema(ma.Schema):
    """A plan run and its holdout accuracy."""

    id = fields.Integer()
    status = fields.String()
    started_at, finished_at = UTCDateTime(), UTCDateTime()
    data_cutoff = _date()
    n_series = Int()
    mase, wape, bias = Num(), Num(), Num()
    error = _str()
    settings = fields.Dict(allow_none=True)


class OrderListSchema(ma.Schema):
    """An order list of the latest plan run."""

    list = fields.String()
    level = fields.String()
    to_order = fields.Boolean()
    run = fields.Nested(PlanRunSchema, allow_none=True)
    count = fields.Integer()
    rows = fields.List(fields.Nested(OrderListRowSchema))


class ForecastDaySchema(ma.Schema):
    day = fields.Date()
    mean, lo80, hi80 = Num(), Num(), Num()


class ForecastSchema(ma.Schema):
    """Daily forecast with its 80% interval (mean -+ 1.2816 sigma, floored at 0)."""

    start = _date()
    days = fields.List(fields.Nested(ForecastDaySchema))


class SkuPlanLineSchema(ma.Schema):
    """One location's plan for a SKU."""

    location, list, status, demand_class, model = _str(), _str(), _str(), _str(), _str()
    history_days = Int()
    forecast_daily, sigma_daily, service_level = Num(), Num(), Num()
    lead_time_days, review_days = Num(), Num()
    safety_stock, reorder_point, order_up_to = Num(), Num(), Num()
    on_hand, on_order, committed = Num(), Num(), Num()
    recommended_qty = Int()
    supplier = _str()
    unit_cost, mase, wape, bias = Num(), Num(), Num(), Num()
    abc, xyz, lifecycle = _str(), _str(), _str()
    lost_units, days_of_cover = Num(), Num()
    stockout_date = _date()
    season_start, season_end = _date(), _date()
    season_demand, season_buy_qty, critical_ratio = Num(), Int(), Num()
    season_leftover = Num()
    excess_units = Num()
    excess_action, excess_reason, notes = _str(), _str(), _str()
    forecast = fields.Nested(ForecastSchema)


class SkuDetailSchema(ma.Schema):
    """A SKU with its plan lines (one per location) of the latest run."""

    sku, title, product, variant_status = fields.String(), _str(), _str(), _str()
    price, unit_cost = Num(), Num()
    run = fields.Nested(PlanRunSchema, allow_none=True)
    lines = fields.List(fields.Nested(SkuPlanLineSchema))


class PurchaseOrderSchema(ma.Schema):
    """A purchase order's header and totals (``value`` is null when a line has no cost)."""

    id = fields.Integer()
    number, status = fields.String(), fields.String()
    supplier_id = fields.Integer()
    supplier = _str()
    location_id = Int()
    ship_to = _str()
    plan_run_id = Int()
    created_at, approved_at, sent_at = UTCDateTime(), UTCDateTime(), UTCDateTime()
    expected_at = _date()
    last_error = _str()
    line_count, units = fields.Integer(), fields.Integer()
    value = Num()


class PurchaseOrderLineSchema(ma.Schema):
    sku = fields.String()
    quantity, received_quantity = fields.Integer(), fields.Integer()
    unit_cost, line_value = Num(), Num()


class PurchaseOrderDetailSchema(PurchaseOrderSchema):
    lines = fields.List(fields.Nested(PurchaseOrderLineSchema))


class SupplierSchema(ma.Schema):
    """A supplier (how orders reach it, never its delivery credentials)."""

    id = fields.Integer()
    external_id, name = fields.String(), fields.String()
    email, currency = _str(), _str()
    min_order_value = Num()
    delivery_method = fields.String()
    auto_approve_below = Num()
    items = fields.Integer(metadata={"description": "catalog items it supplies"})


class SegmentSchema(ma.Schema):
    segment = fields.String()
    customers = fields.Integer()
    share = Num()
    avg_clv, total_clv, avg_p_alive = Num(), Num(), Num()


class SegmentsSchema(ma.Schema):
    """Segment sizes on the latest scoring day (null when customers were never scored)."""

    scored_on = _date()
    total = fields.Integer()
    segments = fields.List(fields.Nested(SegmentSchema))


class ProductDueSchema(ma.Schema):
    sku = fields.String()
    next_purchase_date, last_purchase_date = _date(), _date()
    cycle_days = Num()


class CustomerSchema(ma.Schema):
    """A customer's latest scores (no personal data)."""

    id = fields.Integer()
    external_id = fields.String()
    created_at = UTCDateTime()
    accepts_marketing = fields.Boolean()
    redacted = fields.Boolean()
    orders = fields.Integer()
    last_order_at = UTCDateTime()
    scored_on = _date()
    segment, cpm_group = _str(), _str()
    recency_score, frequency_score, monetary_score = Int(), Int(), Int()
    p_alive, expected_purchases_90d, expected_spend, predicted_clv = Num(), Num(), Num(), Num()
    next_order_date = _date()
    due_products = fields.List(fields.Nested(ProductDueSchema))


class ReminderSchema(ma.Schema):
    id = fields.Integer()
    customer_id = fields.Integer()
    customer_external_id = _str()
    sku = _str()
    substitute_sku = _str()
    due_date = _date()
    status, reason, channel = _str(), _str(), _str()
    created_at, sent_at = UTCDateTime(), UTCDateTime()


class KpiSchema(ma.Schema):
    day = fields.Date()
    name = fields.String()
    dims_key = fields.String()
    dims = fields.Dict(allow_none=True)
    value = Num()


class CampaignSchema(ma.Schema):
    id = fields.Integer()
    external_id, name = fields.String(), fields.String()
    starts_at, ends_at = UTCDateTime(), UTCDateTime()
    skus = fields.List(fields.String())
    discount_pct = Num()
