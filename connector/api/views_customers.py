"""Customer and marketing resources: ``/api/customers/segments``, ``/api/customers/{id}``,
``/api/reminders``, ``/api/kpis`` and ``/api/campaigns``."""
from __future__ import annotations

from sqlalchemy import desc, func, select
from sqlalchemy.orm import aliased

from connector.web.common import db
from core.storage import (Campaign, Customer, CustomerProductDue, CustomerScore, KpiSnapshot,
                          Order, Reminder, Variant)

from .auth import api_shop
from .common import MAX_INT, api_blueprint, not_found, paginate_select
from .schemas import (CampaignSchema, CustomerSchema, KpiArgs, KpiSchema, ReminderArgs,
                      ReminderSchema, SegmentsSchema)

__all__ = ["customers_blp", "reminders_blp", "kpis_blp", "campaigns_blp", "UNSEGMENTED"]

customers_blp = api_blueprint("customers", "Customer segments, lifetime value, next order")
reminders_blp = api_blueprint("reminders", "Re-order reminders")
kpis_blp = api_blueprint("kpis", "Daily KPI snapshots")
campaigns_blp = api_blueprint("campaigns", "Promotional campaigns")

#: The segment name of scored customers without a segment.
UNSEGMENTED = "unsegmented"
_UNAUTHORIZED = "UNAUTHORIZED"


@customers_blp.route("/customers/segments", methods=["GET"])
@customers_blp.response(200, SegmentsSchema)
@customers_blp.alt_response(401, response=_UNAUTHORIZED)
def segments():
    """Segment sizes (and their average CLV and p_alive) on the latest scoring day."""
    shop = api_shop()
    session = db()
    day = session.scalar(select(func.max(CustomerScore.scored_on))
                         .where(CustomerScore.shop_id == shop.id))
    if day is None:
        return {"scored_on": None, "total": 0, "segments": []}
    rows = session.execute(
        select(CustomerScore.segment, func.count(CustomerScore.id),
               func.avg(CustomerScore.predicted_clv), func.sum(CustomerScore.predicted_clv),
               func.avg(CustomerScore.p_alive))
        .where(CustomerScore.shop_id == shop.id, CustomerScore.scored_on == day)
        .group_by(CustomerScore.segment)).all()
    total = sum(int(n) for _s, n, *_rest in rows)
    out = [{"segment": seg or UNSEGMENTED, "customers": int(n), "share": int(n) / total,
            "avg_clv": avg_clv, "total_clv": total_clv, "avg_p_alive": p_alive}
           for seg, n, avg_clv, total_clv, p_alive in rows]
    out.sort(key=lambda s: (-s["customers"], s["segment"]))
    return {"scored_on": day, "total": total, "segments": out}


@customers_blp.route("/customers/<int:customer_id>", methods=["GET"])
@customers_blp.response(200, CustomerSchema)
@customers_blp.alt_response(401, response=_UNAUTHORIZED)
@customers_blp.alt_response(404, response="NOT_FOUND")
def get_customer(customer_id: int):
    """A customer's latest scores: segment, predicted CLV, p_alive, next order date, and
    the consumables they are expected to buy again. No personal data."""
    shop = api_shop()
    session = db()
    customer = None
    if customer_id <= MAX_INT:
        customer = session.scalar(select(Customer).where(Customer.id == customer_id,
                                                         Customer.shop_id == shop.id))
    if customer is None:
        not_found(f"shop {shop.name!r} has no customer with id {customer_id}")
    score = session.scalar(select(CustomerScore).where(
        CustomerScore.shop_id == shop.id, CustomerScore.customer_id == customer.id)
        .order_by(desc(CustomerScore.scored_on)).limit(1))
    n_orders, last_order = session.execute(
        select(func.count(Order.id), func.max(Order.created_at)).where(
            Order.shop_id == shop.id, Order.customer_id == customer.id,
            Order.cancelled_at.is_(None))).one()
    dues = session.execute(
        select(Variant.sku, CustomerProductDue.next_purchase_date,
               CustomerProductDue.last_purchase_date, CustomerProductDue.cycle_days)
        .join(Variant, Variant.id == CustomerProductDue.variant_id)
        .where(CustomerProductDue.shop_id == shop.id,
               CustomerProductDue.customer_id == customer.id)
        .order_by(CustomerProductDue.next_purchase_date, Variant.sku)).all()
    doc = {"id": customer.id, "external_id": customer.external_id,
           "created_at": customer.created_at, "accepts_marketing": customer.accepts_marketing,
           "redacted": customer.redacted_at is not None, "orders": int(n_orders or 0),
           "last_order_at": last_order,
           "due_products": [{"sku": sku, "next_purchase_date": nxt, "last_purchase_date": last,
                             "cycle_days": cycle} for sku, nxt, last, cycle in dues]}
    fields = ("scored_on", "segment", "cpm_group", "recency_score", "frequency_score",
              "monetary_score", "p_alive", "expected_purchases_90d", "expected_spend",
              "predicted_clv", "next_order_date")
    doc.update({f: getattr(score, f) if score is not None else None for f in fields})
    return doc


@reminders_blp.route("/reminders", methods=["GET"])
@reminders_blp.arguments(ReminderArgs, location="query")
@reminders_blp.response(200, ReminderSchema(many=True))
@reminders_blp.alt_response(401, response=_UNAUTHORIZED)
@reminders_blp.paginate(page_size=50, max_page_size=500)
def list_reminders(args, pagination_parameters):
    """Re-order reminders by due date (filters: ``status``, ``due_from``, ``due_to``)."""
    shop = api_shop()
    substitute = aliased(Variant)
    stmt = (select(Reminder, Customer.external_id, Variant.sku, substitute.sku)
            .join(Customer, Customer.id == Reminder.customer_id)
            .join(Variant, Variant.id == Reminder.variant_id)
            .outerjoin(substitute, substitute.id == Reminder.substitute_variant_id)
            .where(Reminder.shop_id == shop.id)
            .order_by(Reminder.due_date, Reminder.id))
    if args.get("status"):
        stmt = stmt.where(Reminder.status == args["status"])
    if args.get("start"):
        stmt = stmt.where(Reminder.due_date >= args["start"])
    if args.get("end"):
        stmt = stmt.where(Reminder.due_date <= args["end"])
    return [{"id": r.id, "customer_id": r.customer_id, "customer_external_id": ext,
             "sku": sku, "substitute_sku": sub, "due_date": r.due_date, "status": r.status,
             "reason": r.reason, "channel": r.channel, "created_at": r.created_at,
             "sent_at": r.sent_at}
            for r, ext, sku, sub in paginate_select(stmt, pagination_parameters)]


@kpis_blp.route("/kpis", methods=["GET"])
@kpis_blp.arguments(KpiArgs, location="query")
@kpis_blp.response(200, KpiSchema(many=True))
@kpis_blp.alt_response(401, response=_UNAUTHORIZED)
@kpis_blp.paginate(page_size=100, max_page_size=1000)
def list_kpis(args, pagination_parameters):
    """KPI values by name, day and slice (filters: ``name``, ``dims_key``, ``from``,
    ``to``)."""
    stmt = (select(KpiSnapshot).where(KpiSnapshot.shop_id == api_shop().id)
            .order_by(KpiSnapshot.name, KpiSnapshot.day, KpiSnapshot.dims_key))
    if args.get("name"):
        stmt = stmt.where(KpiSnapshot.name == args["name"])
    if "dims_key" in args:
        stmt = stmt.where(KpiSnapshot.dims_key == args["dims_key"])
    if args.get("start"):
        stmt = stmt.where(KpiSnapshot.day >= args["start"])
    if args.get("end"):
        stmt = stmt.where(KpiSnapshot.day <= args["end"])
    return [k for (k,) in paginate_select(stmt, pagination_parameters)]


@campaigns_blp.route("/campaigns", methods=["GET"])
@campaigns_blp.response(200, CampaignSchema(many=True))
@campaigns_blp.alt_response(401, response=_UNAUTHORIZED)
@campaigns_blp.paginate(page_size=50, max_page_size=200)
def list_campaigns(pagination_parameters):
    """The shop's campaigns, latest start first."""
    stmt = (select(Campaign).where(Campaign.shop_id == api_shop().id)
            .order_by(desc(Campaign.starts_at), Campaign.id))
    return [c for (c,) in paginate_select(stmt, pagination_parameters)]
