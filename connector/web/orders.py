"""Purchase orders: ``/purchase-orders`` (grouped by PO), approving, sending and cancelling
orders, editing draft quantities, and a CSV. Every POST needs the CSRF token."""
from __future__ import annotations

import pandas as pd
from flask import (Blueprint, Response, abort, current_app, flash, redirect, render_template,
                   request)
from sqlalchemy import select

from core.purchasing import IllegalTransition, PurchasingError, edit_line, set_status
from core.reports import purchase_order_table
from core.storage import PO_STATUSES, PurchaseOrder

from .common import choice_arg, current_run, current_shop, db, run_summary, shop_url
from .lists import csv_filename

__all__ = ["bp", "group_orders"]

bp = Blueprint("orders", __name__)

_STATUS_ORDER = {s: i for i, s in enumerate(PO_STATUSES)}


def group_orders(table: pd.DataFrame, headers: dict[str, PurchaseOrder]) -> list[dict]:
    """One dict per purchase order (drafts first, then by status and number) with its lines
    and totals, from :func:`core.reports.purchase_order_table` rows."""
    orders = []
    for number, grp in table.groupby("po_number", sort=False):
        first = grp.iloc[0]
        lines = grp.astype(object).where(grp.notna(), None).to_dict("records")
        po = headers.get(number)
        orders.append({
            "id": po.id if po is not None else None,
            "number": number, "status": first["status"], "supplier": first["supplier"],
            "ship_to": None if pd.isna(first["ship_to"]) else first["ship_to"],
            "expected_at": None if pd.isna(first["expected_at"]) else first["expected_at"],
            "created_at": po.created_at if po is not None else None,
            "approved_at": po.approved_at if po is not None else None,
            "sent_at": po.sent_at if po is not None else None,
            "last_error": po.last_error if po is not None else None,
            "lines": lines, "units": int(grp["quantity"].sum()),
            "received": int(grp["received_quantity"].sum()),
            "value": float(grp["line_value"].sum()),
        })
    orders.sort(key=lambda o: (_STATUS_ORDER.get(o["status"], 99), o["number"]))
    return orders


@bp.get("/purchase-orders")
def index():
    """Every purchase order of the shop (``?status=draft`` narrows to one status)."""
    shop = current_shop()
    run = current_run(shop)
    status = choice_arg("status", PO_STATUSES)
    table = purchase_order_table(db(), shop, [status] if status else None)
    headers = {po.number: po for po in db().scalars(
        select(PurchaseOrder).where(PurchaseOrder.shop_id == shop.id))}
    orders = group_orders(table, headers)
    drafts = [o for o in orders if o["status"] == "draft"]
    totals = {"orders": len(orders), "drafts": len(drafts),
              "draft_units": sum(o["units"] for o in drafts),
              "draft_value": sum(o["value"] for o in drafts)}
    return render_template("purchase_orders.html", shop=shop, header=run_summary(run),
                           orders=orders, totals=totals, status=status,
                           statuses=PO_STATUSES, active="orders")


def _order(po_id: int) -> PurchaseOrder:
    """The shop's purchase order ``po_id``, locked for update (404 when there is none)."""
    shop = current_shop()
    po = db().scalar(select(PurchaseOrder).where(PurchaseOrder.id == po_id,
                                                 PurchaseOrder.shop_id == shop.id)
                     .with_for_update())
    if po is None:
        abort(404, description=f"Shop {shop.name!r} has no purchase order with id {po_id}.")
    return po


def _move(po_id: int, status: str, verb: str, done: str):
    """Move a purchase order to ``status`` through the state machine, flash the outcome and
    go back to the list."""
    session = db()
    po = _order(po_id)
    try:
        set_status(po, status)
    except IllegalTransition as exc:
        session.rollback()
        flash(f"Could not {verb}: {exc}.", "error")
    else:
        session.commit()
        flash(f"Purchase order {po.number} {done}.", "success")
    return redirect(shop_url("orders.index"), code=303)


@bp.post("/purchase-orders/<int:po_id>/approve")
def approve(po_id: int):
    """Approve a draft purchase order, then go back to the list (errors are flashed)."""
    return _move(po_id, "approved", "approve", "approved")


@bp.post("/purchase-orders/<int:po_id>/cancel")
def cancel(po_id: int):
    """Cancel a purchase order (the supplier is not told), then go back to the list."""
    return _move(po_id, "cancelled", "cancel", "cancelled")


@bp.post("/purchase-orders/<int:po_id>/lines")
def edit_quantity(po_id: int):
    """Set a draft line's quantity from the form fields ``sku`` and ``quantity`` (0 removes
    the line)."""
    session = db()
    po = _order(po_id)
    sku = (request.form.get("sku") or "").strip()
    raw = (request.form.get("quantity") or "").strip()
    try:
        qty = int(raw)
    except ValueError:
        session.rollback()
        flash(f"Could not change {sku} on {po.number}: quantity {raw!r} is not a whole "
              "number.", "error")
        return redirect(shop_url("orders.index"), code=303)
    try:
        line = edit_line(po, sku, qty)
    except PurchasingError as exc:
        session.rollback()
        flash(f"Could not change {sku} on {po.number}: {exc}.", "error")
    else:
        session.commit()
        flash(f"{po.number}: {sku} set to {qty}." if line is not None
              else f"{po.number}: {sku} removed.", "success")
    return redirect(shop_url("orders.index"), code=303)


@bp.post("/purchase-orders/<int:po_id>/send")
def send(po_id: int):
    """Deliver an approved order to its supplier now (see :mod:`connector.delivery`).

    A retry that is not due yet, a refusal, or an interrupted earlier attempt does not stop
    the button: the person pressing it has seen the error shown on the page.
    """
    from connector.delivery import DeliverySettings, send_approved

    session = db()
    po = _order(po_id)
    number, status, shop_id = po.number, po.status, po.shop_id
    session.rollback()  # no transaction stays open while the order goes out
    if status != "approved":
        flash(f"Could not send: purchase order {number} is {status}: only approved orders "
              "are sent.", "error")
        return redirect(shop_url("orders.index"), code=303)
    settings = current_app.config.get("RESTOCK_DELIVERY") or DeliverySettings.from_env()
    report = send_approved(current_app.extensions["restock"].sessions, shop_id, po_ids=[po_id],
                           settings=settings, force=True)
    outcome = report.outcomes[0] if report.outcomes else None
    if outcome is not None and outcome.result in ("sent", "already_sent"):
        flash(f"Purchase order {number} sent by {outcome.channel}.", "success")
    else:
        reason = outcome.error if outcome is not None else "nothing was sent"
        flash(f"Purchase order {number} approved, not sent: {reason}", "error")
    return redirect(shop_url("orders.index"), code=303)


@bp.get("/purchase-orders.csv")
def download():
    """Purchase-order lines as CSV (the columns of :func:`core.reports.purchase_order_table`)."""
    shop = current_shop()
    status = choice_arg("status", PO_STATUSES)
    table = purchase_order_table(db(), shop, [status] if status else None)
    filename = csv_filename("restock", "purchase-orders", shop.name, status or "")
    return Response(table.to_csv(index=False), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
