"""Purchasing resources: ``/api/purchase-orders`` (list, one, approve, cancel) and
``/api/suppliers``."""
from __future__ import annotations

from flask_smorest import abort
from sqlalchemy import case, func, select

from connector.web.common import db
from core.purchasing import IllegalTransition, set_status
from core.storage import Location, PurchaseOrder, PurchaseOrderLine, Supplier, SupplierItem

from .auth import api_shop
from .common import MAX_INT, api_blueprint, not_found, paginate_select
from .schemas import POListArgs, PurchaseOrderDetailSchema, PurchaseOrderSchema, SupplierSchema

__all__ = ["orders_blp", "suppliers_blp", "po_header", "po_detail"]

orders_blp = api_blueprint("purchase-orders", "Purchase orders: read, approve, cancel")
suppliers_blp = api_blueprint("suppliers", "Suppliers")

_PO_ID = "<int:po_id>"
_UNAUTHORIZED = "UNAUTHORIZED"


def _totals(po_ids: list[int]) -> dict[int, tuple[int, int, float | None]]:
    """Per order id: (line count, units, value or None when a line has no unit cost)."""
    if not po_ids:
        return {}
    rows = db().execute(
        select(PurchaseOrderLine.purchase_order_id, func.count(PurchaseOrderLine.id),
               func.coalesce(func.sum(PurchaseOrderLine.quantity), 0),
               func.sum(PurchaseOrderLine.quantity * PurchaseOrderLine.unit_cost),
               func.sum(case((PurchaseOrderLine.unit_cost.is_(None), 1), else_=0)))
        .where(PurchaseOrderLine.purchase_order_id.in_(po_ids))
        .group_by(PurchaseOrderLine.purchase_order_id))
    out = {}
    for po_id, n, units, value, unknown in rows:
        out[po_id] = (int(n), int(units), None if unknown else round(float(value or 0.0), 2))
    return out


def po_header(po: PurchaseOrder, supplier: str | None, ship_to: str | None,
              totals: tuple[int, int, float | None] | None) -> dict:
    """A purchase order as :class:`~connector.api.schemas.PurchaseOrderSchema` dumps it."""
    n, units, value = totals or (0, 0, 0.0)
    return {"id": po.id, "number": po.number, "status": po.status,
            "supplier_id": po.supplier_id, "supplier": supplier,
            "location_id": po.location_id, "ship_to": ship_to,
            "plan_run_id": po.plan_run_id, "created_at": po.created_at,
            "approved_at": po.approved_at, "sent_at": po.sent_at,
            "expected_at": po.expected_at, "last_error": po.last_error,
            "line_count": n, "units": units, "value": value}


def _headers_select():
    return (select(PurchaseOrder, Supplier.name, Location.name)
            .join(Supplier, Supplier.id == PurchaseOrder.supplier_id)
            .outerjoin(Location, Location.id == PurchaseOrder.location_id)
            .where(PurchaseOrder.shop_id == api_shop().id))


def _order(po_id: int, lock: bool = False) -> tuple[PurchaseOrder, str | None, str | None]:
    if po_id > MAX_INT:  # no such id can exist (and the database would refuse it)
        not_found(f"shop {api_shop().name!r} has no purchase order with id {po_id}")
    stmt = _headers_select().where(PurchaseOrder.id == po_id)
    if lock:
        stmt = stmt.with_for_update(of=PurchaseOrder)
    row = db().execute(stmt).first()
    if row is None:
        not_found(f"shop {api_shop().name!r} has no purchase order with id {po_id}")
    return row


def po_detail(po: PurchaseOrder, supplier: str | None, ship_to: str | None) -> dict:
    """A purchase order with its lines (by SKU)."""
    lines = db().scalars(select(PurchaseOrderLine).where(
        PurchaseOrderLine.purchase_order_id == po.id).order_by(PurchaseOrderLine.sku)).all()
    doc = po_header(po, supplier, ship_to, _totals([po.id]).get(po.id))
    doc["lines"] = [{"sku": x.sku, "quantity": x.quantity,
                     "received_quantity": x.received_quantity, "unit_cost": x.unit_cost,
                     "line_value": None if x.unit_cost is None
                     else round(x.quantity * x.unit_cost, 2)} for x in lines]
    return doc


@orders_blp.route("/purchase-orders", methods=["GET"])
@orders_blp.arguments(POListArgs, location="query")
@orders_blp.response(200, PurchaseOrderSchema(many=True))
@orders_blp.alt_response(401, response=_UNAUTHORIZED)
@orders_blp.paginate(page_size=50, max_page_size=200)
def list_orders(args, pagination_parameters):
    """The shop's purchase orders, newest first (``status`` narrows to one status)."""
    stmt = _headers_select().order_by(PurchaseOrder.id.desc())
    if args.get("status"):
        stmt = stmt.where(PurchaseOrder.status == args["status"])
    rows = paginate_select(stmt, pagination_parameters)
    totals = _totals([po.id for po, _s, _l in rows])
    return [po_header(po, sup, loc, totals.get(po.id)) for po, sup, loc in rows]


@orders_blp.route(f"/purchase-orders/{_PO_ID}", methods=["GET"])
@orders_blp.response(200, PurchaseOrderDetailSchema)
@orders_blp.alt_response(401, response=_UNAUTHORIZED)
@orders_blp.alt_response(404, response="NOT_FOUND")
def get_order(po_id: int):
    """One purchase order with its lines; 404 when the shop has no such order."""
    return po_detail(*_order(po_id))


def _move(po_id: int, status: str) -> dict:
    session = db()
    po, supplier, ship_to = _order(po_id, lock=True)
    try:
        set_status(po, status)
    except IllegalTransition as exc:
        session.rollback()
        abort(409, message=str(exc))
    session.commit()
    return po_detail(po, supplier, ship_to)


@orders_blp.route(f"/purchase-orders/{_PO_ID}/approve", methods=["POST"])
@orders_blp.response(200, PurchaseOrderDetailSchema)
@orders_blp.alt_response(401, response=_UNAUTHORIZED)
@orders_blp.alt_response(404, response="NOT_FOUND")
@orders_blp.alt_response(409, response="CONFLICT")
def approve_order(po_id: int):
    """Approve a draft; 409 (with the reason) when the order is not a draft."""
    return _move(po_id, "approved")


@orders_blp.route(f"/purchase-orders/{_PO_ID}/cancel", methods=["POST"])
@orders_blp.response(200, PurchaseOrderDetailSchema)
@orders_blp.alt_response(401, response=_UNAUTHORIZED)
@orders_blp.alt_response(404, response="NOT_FOUND")
@orders_blp.alt_response(409, response="CONFLICT")
def cancel_order(po_id: int):
    """Cancel an order (the supplier is not told); 409 when it is received or cancelled."""
    return _move(po_id, "cancelled")


@suppliers_blp.route("/suppliers", methods=["GET"])
@suppliers_blp.response(200, SupplierSchema(many=True))
@suppliers_blp.alt_response(401, response=_UNAUTHORIZED)
@suppliers_blp.paginate(page_size=50, max_page_size=200)
def list_suppliers(pagination_parameters):
    """The shop's suppliers by name, with how orders reach them."""
    items = (select(func.count(SupplierItem.id)).where(SupplierItem.supplier_id == Supplier.id)
             .correlate(Supplier).scalar_subquery())
    stmt = (select(Supplier, items.label("items")).where(Supplier.shop_id == api_shop().id)
            .order_by(Supplier.name, Supplier.id))
    out = []
    for supplier, n in paginate_select(stmt, pagination_parameters):
        delivery = supplier.delivery or {}
        limit = delivery.get("auto_approve_below")
        out.append({"id": supplier.id, "external_id": supplier.external_id,
                    "name": supplier.name, "email": supplier.email,
                    "currency": supplier.currency, "min_order_value": supplier.min_order_value,
                    "delivery_method": str(delivery.get("method") or "email"),
                    "auto_approve_below": None if isinstance(limit, bool) else limit,
                    "items": int(n or 0)})
    return out
