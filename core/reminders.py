"""Re-buy reminders for consumables: who is due, who must not be contacted, what is in stock.

:func:`plan_reminders` (shop, day ``as_of``):

1. Re-buy dates per customer x consumable variant (:func:`core.next_order.product_dues`)
   are written to ``CustomerProductDue`` (one row per shop, customer and variant, updated).
2. Every pair due in ``[as_of, as_of + window_days]`` is a reminder for its due date. Rules,
   first match decides (status, reason):

   ===========================================  ============  =====================
   condition                                    status        reason
   ===========================================  ============  =====================
   ``accepts_marketing`` is false               suppressed    no_marketing_consent
   customer redacted (``redacted_at`` set)      suppressed    redacted
   no e-mail and no phone                       suppressed    no_contact
   a reminder was *sent* to the customer less   suppressed    cooldown
   than ``cooldown_days`` days before ``as_of``
   variant out of stock by the due date, an     candidate     substitute
   in-stock substitute exists
   variant out of stock by the due date         suppressed    out_of_stock
   otherwise                                    candidate     (none)
   ===========================================  ============  =====================

   Marketing consent is checked first and again on every run, so an unsubscribed customer
   never holds a candidate. Channel: ``email`` when there is an address, else ``sms``.
3. Stock: a variant is in stock for due day ``D`` when at one of its locations in the
   latest plan run on hand > 0 and the projected stockout date is empty or after ``D``
   (out when ``stockout_date <= D`` or ``on_hand <= 0`` everywhere). Without a plan line
   the latest inventory snapshot decides (on hand > 0 somewhere); with no stock data at
   all the variant counts as in stock (nothing to suppress on). Inactive variants are out.
   Substitutes must be active and known to be in stock; searched in order: the variant's
   ``successor_sku``, other variants of the same product, variants of the same product
   family; within a tier the closest price, then the most on hand, then the lowest id.
4. Idempotent: a reminder is unique per (shop, customer, variant, due date); a re-run
   updates unsent rows in place (a consent withdrawn since turns a candidate into
   suppressed) and never touches sent ones. Unsent reminders due on or after ``as_of``
   whose pair now has another due date (the customer bought again) become ``superseded``.

:func:`reminder_effect` compares, per group (sent vs. planned but not sent), the share of
reminders followed within ``window_days`` by an order of the reminded variant or its
substitute, and by any order. Not a controlled experiment: suppressed customers differ
(no consent, out of stock), so read the difference as an indication only.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import next_order
from .reports import latest_run
from .storage import (Customer, CustomerProductDue, InventorySnapshot, Order, OrderLine,
                      PlanLine, Product, Reminder, Shop, Variant, utcnow)

__all__ = ["STATUSES", "REASONS", "PLAN_COLUMNS", "StockView", "plan_reminders",
           "reminder_effect", "decide"]

STATUSES = ("candidate", "suppressed", "sent", "superseded")
REASONS = ("no_marketing_consent", "redacted", "no_contact", "cooldown", "out_of_stock",
           "substitute")
PLAN_COLUMNS = ["customer_id", "variant_id", "sku", "due_date", "status", "reason", "channel",
                "substitute_variant_id", "p_alive", "new"]


class StockView:
    """Stock by variant: plan lines of the latest run, else the latest snapshots."""

    def __init__(self, session: Session, shop: Shop):
        self.lines: dict[int, list[tuple[float, date | None]]] = {}
        self.snap: dict[int, float] = {}
        run = latest_run(session, shop)
        if run is not None:
            for vid, on_hand, out in session.execute(
                    select(PlanLine.variant_id, PlanLine.on_hand, PlanLine.stockout_date)
                    .where(PlanLine.plan_run_id == run.id)):
                self.lines.setdefault(vid, []).append((float(on_hand or 0.0), out))
        snap = InventorySnapshot
        last = (select(snap.variant_id, snap.location_id, func.max(snap.day).label("day"))
                .where(snap.shop_id == shop.id).group_by(snap.variant_id, snap.location_id)
                .subquery())
        for vid, qty in session.execute(
                select(snap.variant_id, func.coalesce(snap.on_hand, snap.available))
                .join(last, (last.c.variant_id == snap.variant_id)
                      & (last.c.location_id == snap.location_id) & (last.c.day == snap.day))
                .where(snap.shop_id == shop.id)):
            if qty is not None:
                self.snap[vid] = self.snap.get(vid, 0.0) + max(float(qty), 0.0)

    def in_stock(self, variant_id: int, due: date) -> bool | None:
        """True / False, or None when nothing is known about the variant's stock."""
        lines = self.lines.get(variant_id)
        if lines:
            return any(oh > 0 and (out is None or out > due) for oh, out in lines)
        if variant_id in self.snap:
            return self.snap[variant_id] > 0
        return None

    def on_hand(self, variant_id: int) -> float:
        lines = self.lines.get(variant_id)
        return sum(oh for oh, _ in lines) if lines else self.snap.get(variant_id, 0.0)


def _catalog(session: Session, shop: Shop) -> pd.DataFrame:
    res = session.execute(select(Variant.id, Variant.sku, Variant.product_id, Variant.price,
                                 Variant.status, Variant.successor_sku, Product.family)
                          .outerjoin(Product, Product.id == Variant.product_id)
                          .where(Variant.shop_id == shop.id))
    return pd.DataFrame(res.fetchall(), columns=list(res.keys())).set_index("id")


def _substitute(vid: int, due: date, cat: pd.DataFrame, stock: StockView) -> int | None:
    me = cat.loc[vid]
    ok = cat[(cat.index != vid) & (cat["status"] == "active")]
    none = ok.iloc[:0]
    tiers = [ok[ok[col] == me[key]] if pd.notna(me[key]) and me[key] != "" else none
             for col, key in (("sku", "successor_sku"), ("product_id", "product_id"),
                              ("family", "family"))]
    price = float(me["price"]) if pd.notna(me["price"]) else 0.0
    for tier in tiers:
        good = [(abs((float(p) if pd.notna(p) else 0.0) - price), -stock.on_hand(int(v)), int(v))
                for v, p in tier["price"].items() if stock.in_stock(int(v), due) is True]
        if good:
            return min(good)[2]
    return None


def decide(customer: dict, last_sent: date | None, as_of: date, cooldown_days: int,
           in_stock: bool, substitute: int | None) -> tuple[str, str | None]:
    """(status, reason) of one reminder by the rule table of the module docstring.

    ``customer`` has ``accepts_marketing``, ``redacted_at``, ``email`` and ``phone``;
    ``last_sent`` is the day of the customer's latest sent reminder; ``in_stock`` whether
    the variant is available by its due date.
    """
    if not customer.get("accepts_marketing"):
        return "suppressed", "no_marketing_consent"
    if customer.get("redacted_at") is not None:
        return "suppressed", "redacted"
    if not customer.get("email") and not customer.get("phone"):
        return "suppressed", "no_contact"
    if last_sent is not None and (as_of - last_sent).days < cooldown_days:
        return "suppressed", "cooldown"
    if not in_stock:
        return ("candidate", "substitute") if substitute is not None \
            else ("suppressed", "out_of_stock")
    return "candidate", None


def _day(value) -> date | None:
    if value is None or pd.isna(value):
        return None
    return value.date() if isinstance(value, (datetime, pd.Timestamp)) else value


def _write_dues(session: Session, shop: Shop, dues: pd.DataFrame) -> None:
    from .ingest import upsert_rows

    now = utcnow()
    rows = [{"shop_id": shop.id, "customer_id": int(r.customer_id),
             "variant_id": int(r.variant_id), "last_purchase_date": _day(r.last_purchase_date),
             "last_quantity": float(r.last_quantity), "cycle_days": float(r.cycle_days),
             "next_purchase_date": _day(r.next_purchase_date),
             "p_alive": None if pd.isna(r.p_alive) else float(r.p_alive), "updated_at": now}
            for r in dues.itertuples(index=False)]
    upsert_rows(session, CustomerProductDue, rows, ["shop_id", "customer_id", "variant_id"])


def plan_reminders(session: Session, shop: Shop, as_of: date, window_days: int = 7,
                   cooldown_days: int = 14, clv_df: pd.DataFrame | None = None,
                   consumables=None) -> pd.DataFrame:
    """Write re-buy dates and the reminders due in the window (see the module docstring).

    Args:
        session: Open session; the caller commits.
        shop: The shop.
        as_of: The planning day (orders up to it are used).
        window_days: Reminders for re-buys due within this many days from ``as_of``.
        cooldown_days: No reminder to a customer sent one less than this many days ago.
        clv_df: Optional CLV frame for ``p_alive``; None uses :mod:`core.clv` if installed.
        consumables: Variant ids to treat as consumables; None detects them.

    Returns:
        :data:`PLAN_COLUMNS`, one row per reminder in the window (``new`` False when it
        existed already); sent reminders are listed with status ``sent``.
    """
    lines = next_order.read_order_lines(session, shop, as_of)
    if clv_df is None:
        from .segments import clv_frame

        clv_df = clv_frame(next_order.orders_from_lines(lines), as_of)
    dues = next_order.product_dues(lines, as_of, clv_df, consumables)
    _write_dues(session, shop, dues)
    due_day = dues["next_purchase_date"].dt.date if len(dues) else pd.Series(dtype=object)
    _supersede(session, shop, as_of, dues, due_day)
    end = as_of + timedelta(days=window_days)
    win = dues[(due_day >= as_of) & (due_day <= end)] if len(dues) else dues
    if win.empty:
        return pd.DataFrame(columns=PLAN_COLUMNS)
    cids = sorted({int(c) for c in win["customer_id"]})
    customers = {c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(cids)))}
    last_sent: dict[int, date] = {}
    for cid, sent in session.execute(select(Reminder.customer_id, Reminder.sent_at).where(
            Reminder.shop_id == shop.id, Reminder.customer_id.in_(cids),
            Reminder.sent_at.is_not(None))):
        day = _day(sent)
        if day <= as_of and (cid not in last_sent or day > last_sent[cid]):
            last_sent[cid] = day
    existing = {(r.customer_id, r.variant_id, r.due_date): r for r in session.scalars(
        select(Reminder).where(Reminder.shop_id == shop.id, Reminder.customer_id.in_(cids),
                               Reminder.due_date >= as_of, Reminder.due_date <= end))}
    cat, stock = _catalog(session, shop), StockView(session, shop)
    out = []
    for r in win.itertuples(index=False):
        cid, vid, due = int(r.customer_id), int(r.variant_id), _day(r.next_purchase_date)
        c = customers[cid]
        row = existing.get((cid, vid, due))
        if row is not None and (row.sent_at is not None or row.status == "sent"):
            out.append([cid, vid, r.sku, due, "sent", row.reason, row.channel,
                        row.substitute_variant_id, r.p_alive, False])
            continue
        active = vid in cat.index and cat.loc[vid, "status"] == "active"
        have = stock.in_stock(vid, due) if active else False
        in_stock = have is not False
        sub = None if in_stock or vid not in cat.index else _substitute(vid, due, cat, stock)
        status, reason = decide({"accepts_marketing": c.accepts_marketing,
                                 "redacted_at": c.redacted_at, "email": c.email,
                                 "phone": c.phone}, last_sent.get(cid), as_of, cooldown_days,
                                in_stock, sub)
        channel = "email" if c.email else ("sms" if c.phone else None)
        sub = sub if reason == "substitute" else None
        if row is None:
            session.add(Reminder(shop_id=shop.id, customer_id=cid, variant_id=vid, due_date=due,
                                 status=status, reason=reason, channel=channel,
                                 substitute_variant_id=sub))
        else:
            row.status, row.reason, row.channel = status, reason, channel
            row.substitute_variant_id = sub
        out.append([cid, vid, r.sku, due, status, reason, channel, sub, r.p_alive, row is None])
    session.flush()
    return pd.DataFrame(out, columns=PLAN_COLUMNS)


def _supersede(session: Session, shop: Shop, as_of: date, dues: pd.DataFrame,
               due_day: pd.Series) -> None:
    current = {(int(c), int(v)): d for c, v, d in
               zip(dues["customer_id"], dues["variant_id"], due_day)} if len(dues) else {}
    for row in session.scalars(select(Reminder).where(
            Reminder.shop_id == shop.id, Reminder.due_date >= as_of, Reminder.sent_at.is_(None),
            Reminder.status.in_(["candidate", "suppressed"]))):
        now_due = current.get((row.customer_id, row.variant_id))
        if now_due is not None and now_due != row.due_date:
            row.status, row.reason = "superseded", f"due date moved to {now_due.isoformat()}"


def _utc(value) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def reminder_effect(session: Session, shop: Shop, window_days: int = 14) -> pd.DataFrame:
    """Orders after reminders, per group ``sent`` / ``not_sent``.

    A sent reminder is measured from ``sent_at``, an unsent one (candidate or suppressed)
    from the day it was planned (``created_at``); an order counts when it is not cancelled
    and placed within ``window_days`` days after that. Columns: ``reminders``,
    ``product_orders`` (orders containing the reminded variant or its substitute),
    ``any_orders``, ``product_rate``, ``any_rate``.
    """
    res = session.execute(select(Reminder.customer_id, Reminder.variant_id,
                                 Reminder.substitute_variant_id, Reminder.sent_at,
                                 Reminder.created_at, Reminder.status)
                          .where(Reminder.shop_id == shop.id,
                                 Reminder.status.in_(["candidate", "suppressed", "sent"])))
    rem = pd.DataFrame(res.fetchall(), columns=list(res.keys()))
    cols = ["reminders", "product_orders", "any_orders", "product_rate", "any_rate"]
    out = pd.DataFrame(0.0, index=pd.Index(["sent", "not_sent"], name="group"), columns=cols)
    if rem.empty:
        return out.astype({c: int for c in cols[:3]}).assign(product_rate=float("nan"),
                                                             any_rate=float("nan"))
    res = session.execute(select(Order.customer_id, Order.id, Order.created_at,
                                 OrderLine.variant_id)
                          .outerjoin(OrderLine, OrderLine.order_id == Order.id)
                          .where(Order.shop_id == shop.id, Order.cancelled_at.is_(None),
                                 Order.customer_id.in_([int(c) for c in
                                                        rem["customer_id"].unique()])))
    orders = pd.DataFrame(res.fetchall(), columns=["customer_id", "order_id", "created_at",
                                                   "variant_id"])
    orders["created_at"] = [_utc(v) for v in orders["created_at"]]
    by_customer = dict(tuple(orders.groupby("customer_id")))
    window = pd.Timedelta(days=window_days)
    for r in rem.itertuples(index=False):
        sent = r.sent_at is not None and not pd.isna(r.sent_at)
        group = "sent" if sent or r.status == "sent" else "not_sent"
        start = _utc(r.sent_at if sent else r.created_at)
        o = by_customer.get(r.customer_id)
        hit = o[(o["created_at"] > start) & (o["created_at"] <= start + window)] \
            if o is not None else orders.iloc[:0]
        wanted = [int(v) for v in (r.variant_id, r.substitute_variant_id) if pd.notna(v)]
        out.loc[group, "reminders"] += 1
        out.loc[group, "any_orders"] += bool(len(hit))
        out.loc[group, "product_orders"] += bool(hit["variant_id"].isin(wanted).any())
    n = out["reminders"].where(out["reminders"] > 0)
    out["product_rate"] = (out["product_orders"] / n).round(4)
    out["any_rate"] = (out["any_orders"] / n).round(4)
    for c in ["reminders", "product_orders", "any_orders"]:
        out[c] = out[c].astype(int)
    return out
