"""``restock po``: list, approve, send, receive and cancel purchase orders.

::

    restock po list    [--shop NAME] [--status STATUS]
    restock po approve [--shop NAME] (--all | PO ...)
    restock po send    [--shop NAME] (--all | PO ...) [--force]
    restock po receive [--shop NAME] PO --sku SKU --qty N [--sku SKU --qty N ...]
                       [--ref ID] [--source NAME] [--received-at WHEN] [--tolerance F]
    restock po receive [--shop NAME] --file receipts.csv
    restock po cancel  [--shop NAME] PO ...

``PO`` is an order number (``PO-00012-001``) or its database id. Illegal transitions,
unknown orders and refused receipts print ``restock: error: ...`` and exit 2; ``send``
exits 1 when some order could not be delivered (the reason is printed and kept on the
order). ``receipts.csv`` has the columns ``po_number, sku, quantity, received_at``
(``received_at`` ISO date or time, UTC when no zone; optional); each row is one receipt,
identified by its content, so importing the same file again records nothing twice. A
file is all or nothing: one bad row and no row is written.
"""
from __future__ import annotations

import csv
import hashlib
import sys
from datetime import datetime
from pathlib import Path

__all__ = ["register"]


class PoCliError(Exception):
    """An error to print as ``restock: error: ...`` with exit status 2."""


def _guarded(fn):
    def run(args) -> int:
        from connector.delivery import DeliveryConfigError
        from core.purchasing import PurchasingError
        from core.shops import UnknownShopError

        try:
            return fn(args)
        except (PoCliError, PurchasingError, UnknownShopError, DeliveryConfigError,
                FileNotFoundError) as exc:
            print(f"restock: error: {exc}", file=sys.stderr)
            return 2
    run.__doc__ = fn.__doc__
    return run


def _context():
    from .config import Settings
    from .context import build_context

    return build_context(Settings.from_env())


def _find(session, shop, token: str):
    from sqlalchemy import select

    from core.storage import PurchaseOrder

    po = session.scalar(select(PurchaseOrder).where(PurchaseOrder.shop_id == shop.id,
                                                    PurchaseOrder.number == token))
    if po is None and token.isdigit():
        po = session.scalar(select(PurchaseOrder).where(PurchaseOrder.shop_id == shop.id,
                                                        PurchaseOrder.id == int(token)))
    if po is None:
        raise PoCliError(f"shop {shop.name!r} has no purchase order {token!r} (see restock po "
                         "list)")
    return po


def _targets(session, shop, args, status: str):
    from sqlalchemy import select

    from core.storage import PurchaseOrder

    if args.all and args.po:
        raise PoCliError("give either --all or purchase order numbers, not both")
    if not args.all and not args.po:
        raise PoCliError("name the purchase orders (number or id), or use --all")
    if args.all:
        return list(session.scalars(select(PurchaseOrder).where(
            PurchaseOrder.shop_id == shop.id, PurchaseOrder.status == status)
            .order_by(PurchaseOrder.number)))
    return [_find(session, shop, token) for token in args.po]


def cmd_list(args) -> int:
    """Print the shop's purchase orders with their delivery state."""
    from sqlalchemy import select

    from core.purchasing import order_lines, order_value
    from core.shops import resolve_shop
    from core.storage import PODelivery, PurchaseOrder, Supplier, session_scope

    with session_scope(_context().sessions) as s:
        shop = resolve_shop(s, args.shop)
        stmt = select(PurchaseOrder).where(PurchaseOrder.shop_id == shop.id)
        if args.status:
            stmt = stmt.where(PurchaseOrder.status == args.status)
        orders = s.scalars(stmt.order_by(PurchaseOrder.number)).all()
        print(f"{'number':<16} {'status':<18} {'supplier':<20} {'lines':>5} {'units':>7} "
              f"{'received':>8} {'value':>11} {'expected':<10}  delivery")
        for po in orders:
            lines = order_lines(po)
            value = order_value(po)
            supplier = s.get(Supplier, po.supplier_id)
            d = s.scalars(select(PODelivery).where(PODelivery.purchase_order_id == po.id)
                          .order_by(PODelivery.id.desc())).first()
            delivery = ""
            if d is not None:
                delivery = f"{d.channel} {d.status} ({d.attempts} attempt" \
                           f"{'' if d.attempts == 1 else 's'})"
            if po.status == "approved" and po.last_error:
                delivery += f" not sent: {po.last_error}"
            print(f"{po.number:<16} {po.status:<18} {supplier.name[:20]:<20} {len(lines):>5} "
                  f"{sum(x.quantity for x in lines):>7} "
                  f"{sum(x.received_quantity for x in lines):>8} "
                  f"{'' if value is None else f'{value:,.2f}':>11} "
                  f"{po.expected_at.isoformat() if po.expected_at else '':<10}  {delivery}")
        print(f"{len(orders)} purchase order{'' if len(orders) == 1 else 's'}")
    return 0


def cmd_approve(args) -> int:
    """Approve drafts (all of them or nothing)."""
    from core.purchasing import set_status
    from core.shops import resolve_shop
    from core.storage import session_scope

    with session_scope(_context().sessions) as s:
        shop = resolve_shop(s, args.shop)
        orders = _targets(s, shop, args, "draft")
        for po in orders:
            set_status(po, "approved")
        for po in orders:
            print(f"{po.number} approved")
        if not orders:
            print("no draft purchase orders to approve")
    return 0


def cmd_cancel(args) -> int:
    """Cancel orders (the supplier is not told: do that yourself for sent orders)."""
    from core.purchasing import set_status
    from core.shops import resolve_shop
    from core.storage import session_scope

    with session_scope(_context().sessions) as s:
        shop = resolve_shop(s, args.shop)
        orders = [_find(s, shop, token) for token in args.po]
        for po in orders:
            set_status(po, "cancelled")
        for po in orders:
            print(f"{po.number} cancelled")
    return 0


def cmd_send(args) -> int:
    """Deliver approved orders to their suppliers."""
    from connector.delivery import DeliverySettings, send_approved
    from core.purchasing import IllegalTransition
    from core.shops import resolve_shop
    from core.storage import session_scope

    ctx = _context()
    with session_scope(ctx.sessions) as s:
        shop = resolve_shop(s, args.shop)
        if args.all and args.po:
            raise PoCliError("give either --all or purchase order numbers, not both")
        if not args.all and not args.po:
            raise PoCliError("name the purchase orders (number or id), or use --all")
        ids = None
        if not args.all:
            orders = [_find(s, shop, token) for token in args.po]
            for po in orders:
                if po.status != "approved":
                    hint = " (approve it first)" if po.status == "draft" else ""
                    raise IllegalTransition(f"purchase order {po.number} is {po.status}: only "
                                            f"approved orders can be sent{hint}")
            ids = [po.id for po in orders]
        shop_id = shop.id
    report = send_approved(ctx.sessions, shop_id, po_ids=ids,
                           settings=DeliverySettings.from_env(), force=args.force)
    for o in report.outcomes:
        if o.result in ("sent", "already_sent"):
            print(f"{o.number} sent by {o.channel}")
        elif o.result == "skipped":
            print(f"{o.number} skipped: {o.error}")
        else:
            print(f"{o.number} approved, not sent ({o.channel}, attempt {o.attempts}): "
                  f"{o.error}")
    if not report.outcomes:
        print("no approved purchase orders to send")
    return 1 if report.failed else 0


def _when(text: str | None, where: str):
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise PoCliError(f"{where}: received_at {text!r} is not an ISO date or time "
                         "(YYYY-MM-DD or YYYY-MM-DDTHH:MM)") from None


def _qty(text: str, where: str) -> int:
    try:
        return int(str(text).strip())
    except ValueError:
        raise PoCliError(f"{where}: quantity {text!r} is not a whole number") from None


def _receive_file(s, shop, path: Path, args) -> int:
    from core.receiving import ReceivingError, receive

    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = {"po_number", "sku", "quantity"} - set(reader.fieldnames or [])
        if missing:
            raise PoCliError(f"{path.name}: missing column(s) {', '.join(sorted(missing))} "
                             "(needs po_number, sku, quantity, received_at)")
        seen: dict[str, int] = {}
        n = 0
        for lineno, row in enumerate(reader, start=2):
            where = f"{path.name}, line {lineno}"
            number, sku = (row["po_number"] or "").strip(), (row["sku"] or "").strip()
            qty, at = _qty(row["quantity"], where), _when(row.get("received_at"), where)
            content = "|".join([number, sku, str(qty), (row.get("received_at") or "").strip()])
            seen[content] = seen.get(content, 0) + 1  # identical rows are separate receipts
            ref = hashlib.sha1(f"{content}|{seen[content]}".encode()).hexdigest()[:20]
            try:
                po = _find(s, shop, number)
                receive(s, po, {sku: qty}, source=args.source or "csv", external_id=ref,
                        received_at=at, tolerance=args.tolerance)
            except (PoCliError, ReceivingError) as exc:
                raise PoCliError(f"{where}: {exc}; nothing was recorded") from None
            n += 1
    print(f"recorded {n} receipt row{'' if n == 1 else 's'} from {path.name}")
    return 0


def cmd_receive(args) -> int:
    """Record goods received against a sent order."""
    from core.receiving import receive
    from core.shops import resolve_shop
    from core.storage import session_scope

    with session_scope(_context().sessions) as s:
        shop = resolve_shop(s, args.shop)
        if args.file:
            if args.po or args.sku:
                raise PoCliError("--file takes the orders from the file: give no PO or --sku")
            return _receive_file(s, shop, Path(args.file), args)
        if len(args.po) != 1:
            raise PoCliError("name exactly one purchase order to receive against "
                             "(or use --file)")
        skus, qtys = args.sku or [], args.qty or []
        if not skus or len(skus) != len(qtys):
            raise PoCliError("give --sku SKU --qty N pairs (as many --qty as --sku)")
        quantities: dict[str, int] = {}
        for sku, q in zip(skus, qtys):
            quantities[sku] = quantities.get(sku, 0) + _qty(q, f"--sku {sku}")
        po = _find(s, shop, args.po[0])
        rows = receive(s, po, quantities, source=args.source or "manual",
                       external_id=args.ref, received_at=_when(args.received_at,
                                                               "--received-at"),
                       tolerance=args.tolerance)
        print(f"{po.number}: received " + ", ".join(f"{r.quantity} x {sku}" for r, sku in
                                                   zip(rows, sorted(quantities)))
              + f"; now {po.status}")
    return 0


def register(subparsers) -> None:
    """Add ``po`` and its subcommands to the ``restock`` parser's subparsers."""
    from core.storage import PO_STATUSES

    po = subparsers.add_parser("po", help="purchase orders: list, approve, send, receive")
    sub = po.add_subparsers(dest="po_cmd", required=True)

    def command(name, fn, helptext, targets=True):
        p = sub.add_parser(name, help=helptext, description=fn.__doc__)
        p.add_argument("--shop", help="shop name (may be left out when there is only one)")
        if targets:
            p.add_argument("po", nargs="*", metavar="PO", help="order number or id")
        p.set_defaults(func=_guarded(fn))
        return p

    ls = command("list", cmd_list, "list purchase orders", targets=False)
    ls.add_argument("--status", choices=PO_STATUSES)
    command("approve", cmd_approve, "approve drafts").add_argument(
        "--all", action="store_true", help="every draft of the shop")
    send = command("send", cmd_send, "send approved orders to their suppliers")
    send.add_argument("--all", action="store_true", help="every approved order that is due")
    send.add_argument("--force", action="store_true", help="also re-send orders whose last "
                      "attempt was interrupted (the supplier may get them twice)")
    command("cancel", cmd_cancel, "cancel orders")
    rc = command("receive", cmd_receive, "record received goods")
    rc.add_argument("--sku", action="append", help="SKU received (repeat with --qty)")
    rc.add_argument("--qty", action="append", help="units of the --sku before it")
    rc.add_argument("--file", help="receipts.csv: po_number, sku, quantity, received_at")
    rc.add_argument("--ref", help="the receipt's id (recording it twice is a no-op)")
    rc.add_argument("--source", help="where the receipt comes from (default manual / csv)")
    rc.add_argument("--received-at", help="when the goods arrived (ISO; default now)")
    rc.add_argument("--tolerance", type=float,
                    help="over-receipt allowed as a fraction, e.g. 0.05 (default: the shop's "
                         "over_receipt_tolerance setting, else 0)")
