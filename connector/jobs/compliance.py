"""Shopify's mandatory privacy webhooks and ``app/uninstalled``, run by the inbox drain.

* ``customers/data_request``: everything restock holds on the customer (customer row,
  orders with their lines, reminders, inbox payloads that mention them) is written as JSON
  to ``<export_dir>/<shop domain>/<data request id>.json``; the event's note names the file.
  The merchant hands it to the customer; restock does not send it anywhere.
* ``customers/redact``: the customer's :data:`core.storage.PII_COLUMNS` are cleared and
  ``redacted_at`` set (an external id made of the e-mail, as CSV imports make, is replaced by
  a hash); inbox payloads that mention the customer or the orders to redact are replaced by
  a redacted copy (personal keys nulled, the customer's e-mail, phone and names replaced
  everywhere, ``{}`` if anything still matches); text and JSON columns of the shop's other
  tables that contain the e-mail or phone are scrubbed the same way; export files of the
  customer are deleted. Orders keep their quantities, so demand history survives.
* ``shop/redact``: every row of the shop in every table is deleted (tables with ``shop_id``,
  their children through foreign keys, inbox and install nonces by domain), the shop row
  last, and the shop's export folder is removed. The ``shop/redact`` event itself is kept,
  detached from the shop, as the record that the redaction happened (and to dedupe resends).
* ``app/uninstalled``: tokens are nulled with ``uninstalled_at`` set on the shop's
  credentials, and ``Shop.settings["uninstalled"]`` is set so jobs skip the shop. An
  uninstall older than the latest install is ignored as stale. Reinstalling must clear it.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
from datetime import date, datetime, timezone
from pathlib import Path

from sqlalchemy import JSON, String, Text, and_, cast, delete, func, or_, select, update
from sqlalchemy.orm import Session

from connector.adapters.shopify.webhook_transform import external_id
from core.storage import (PII_COLUMNS, Base, Customer, Order, OrderLine, Reminder, Shop,
                          ShopCredential, Variant, WebhookEvent)

__all__ = ["COMPLIANCE_TOPICS", "handle_compliance", "normalize_domain", "scrub_payload",
           "redacted_copy",
           "export_customer", "redact_customer", "redact_shop", "uninstall_shop"]

COMPLIANCE_TOPICS = ("customers/data_request", "customers/redact", "shop/redact",
                     "app/uninstalled")
#: Payload keys whose values are personal data wherever they appear.
PII_KEYS = frozenset({
    "email", "contact_email", "customer_email", "first_name", "last_name", "phone",
    "address1", "address2", "zip", "city", "company", "latitude", "longitude", "browser_ip",
    "client_details", "note", "note_attributes", "multipass_identifier", "billing_address",
    "shipping_address", "default_address", "addresses", "destination", "landing_site",
    "referring_site", "order_status_url", "token", "cart_token", "checkout_token",
    "device_id"})
REDACTED = "[redacted]"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def normalize_domain(value) -> str | None:
    """``https://Shop.myshopify.com/`` -> ``shop.myshopify.com``; ``None`` for non-text."""
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    text = re.sub(r"^[a-z]+://", "", text).split("/", 1)[0]
    return text or None


def _safe(value: str) -> str:
    return _UNSAFE.sub("_", value).strip("._")[:120] or "unknown"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def handle_compliance(session: Session, event: WebhookEvent, payload, shop: Shop | None,
                      domain: str | None, export_dir: Path) -> tuple[str, str | None]:
    """Run the compliance topic of ``event``; return its final status and a note."""
    payload = payload if isinstance(payload, dict) else {}
    if event.topic == "shop/redact":
        return redact_shop(session, event, shop, domain, export_dir)
    if event.topic == "app/uninstalled":
        return uninstall_shop(session, event, shop)
    if shop is not None:
        event.shop_id = shop.id
    if event.topic == "customers/data_request":
        return export_customer(session, event, payload, shop, domain, export_dir)
    return redact_customer(session, event, payload, shop, domain, export_dir)


# ------------------------------------------------------------------ who is the customer
def _identity(payload: dict) -> tuple[str | None, str | None, str | None]:
    cust = payload.get("customer") if isinstance(payload.get("customer"), dict) else {}
    email = cust.get("email") if isinstance(cust.get("email"), str) else None
    phone = cust.get("phone") if isinstance(cust.get("phone"), str) else None
    return external_id(cust), (email or "").strip() or None, (phone or "").strip() or None


def _customers(session: Session, shop: Shop | None, cid, email) -> list[Customer]:
    if shop is None or not (cid or email):
        return []
    conds = []
    if cid:
        conds.append(Customer.external_id == cid)
    if email:
        conds += [Customer.external_id == f"email:{email}",
                  func.lower(Customer.email) == email.lower()]
    return list(session.scalars(select(Customer).where(Customer.shop_id == shop.id,
                                                       or_(*conds))))


def _needles(customers: list[Customer], email, phone) -> tuple[set[str], re.Pattern | None]:
    """(e-mails and phones, which identify the customer; the pattern that scrubs them plus
    the full name and, as whole words, first and last name).

    Names alone never decide that a record is about the customer (people share names);
    they are only scrubbed from records that are.
    """
    strong = {x.strip() for x in (email, phone) if x}
    names, words = set(), set()
    for c in customers:
        strong |= {x.strip() for x in (c.email, c.phone) if x}
        if c.first_name and c.last_name:
            names.add(f"{c.first_name} {c.last_name}")
        words |= {x.strip() for x in (c.first_name, c.last_name) if x and len(x.strip()) >= 2}
    strong = {s for s in strong if len(s) >= 4}
    return strong, _pattern(strong | names, words)


def _pattern(plain: set[str], words: set[str] = frozenset()) -> re.Pattern | None:
    parts = [re.escape(s) for s in sorted(plain, key=len, reverse=True)]
    parts += [rf"\b{re.escape(w)}\b" for w in sorted(words, key=len, reverse=True)]
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


def scrub_payload(obj, pattern: re.Pattern | None):
    """A copy of ``obj`` with :data:`PII_KEYS` nulled and ``pattern`` matches replaced.

    Returns ``{}`` when a match survives (for example inside a key).
    """
    def walk(x):
        if isinstance(x, dict):
            return {k: (None if k in PII_KEYS else walk(v)) for k, v in x.items()}
        if isinstance(x, list):
            return [walk(v) for v in x]
        if isinstance(x, str) and pattern is not None:
            return pattern.sub(REDACTED, x)
        return x

    out = walk(obj)
    if pattern is not None and pattern.search(json.dumps(out, ensure_ascii=False)):
        return {}
    return out


def redacted_copy(obj, people: list[dict]) -> str:
    """``obj`` as JSON with :data:`PII_KEYS` nulled and the e-mails, phones and names of
    ``people`` (dicts with ``email``, ``phone``, ``first_name``, ``last_name``) replaced."""
    plain, words = set(), set()
    for p in people:
        plain |= {str(p[k]).strip() for k in ("email", "phone") if p.get(k)}
        first, last = (str(p.get(k) or "").strip() for k in ("first_name", "last_name"))
        if first and last:
            plain.add(f"{first} {last}")
        words |= {w for w in (first, last) if len(w) >= 2}
    pattern = _pattern({x for x in plain if len(x) >= 4}, words)
    return json.dumps(scrub_payload(obj, pattern), ensure_ascii=False)


def _concerns(topic: str, obj, cid, order_ids: set[str], strong: set[str]) -> bool:
    """Whether an inbox payload is about the customer (or one of the orders to redact)."""
    if not isinstance(obj, dict):
        return False
    detect = _pattern(strong)
    if detect is not None and detect.search(json.dumps(obj, ensure_ascii=False)):
        return True
    if topic.startswith(("orders/", "refunds/")):
        oid = external_id(obj) if topic.startswith("orders/") else str(obj.get("order_id"))
        if oid in order_ids:
            return True
    if cid is None:
        return False
    if topic.startswith("customers/") and external_id(obj) == cid:
        return True
    if topic in ("customers/redact", "customers/data_request"):
        return external_id(obj.get("customer")) == cid
    return isinstance(obj.get("customer"), dict) and external_id(obj["customer"]) == cid


def _inbox_about(session: Session, shop, domain, cid, order_ids, strong):
    needles = set(strong) | ({cid} if cid else set()) | order_ids
    if not needles or not (domain or shop):
        return []
    where = [WebhookEvent.shop_domain == domain] if domain else []
    if shop is not None:
        where.append(WebhookEvent.shop_id == shop.id)
    candidates = session.scalars(select(WebhookEvent).where(
        or_(*where), or_(*[WebhookEvent.payload.icontains(n, autoescape=True) for n in needles])))
    found = []
    for ev in candidates:
        try:
            obj = json.loads(ev.payload)
        except ValueError:
            continue
        if _concerns(ev.topic, obj, cid, order_ids, strong):
            found.append((ev, obj))
    return found


# ------------------------------------------------------------------ data request
def _plain(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return None
    return value


def _row(obj) -> dict:
    return {c.key: _plain(getattr(obj, c.key)) for c in obj.__mapper__.column_attrs}


def export_customer(session, event, payload, shop, domain, export_dir: Path):
    """Write the customer's data export; note its path."""
    cid, email, phone = _identity(payload)
    customers = _customers(session, shop, cid, email)
    requested = {x for x in map(external_id, [{"id": o} for o in
                                              payload.get("orders_requested") or []]) if x}
    ids = [c.id for c in customers]
    orders = []
    if shop is not None and (ids or requested):
        orders = list(session.scalars(select(Order).where(Order.shop_id == shop.id, or_(
            Order.customer_id.in_(ids), Order.external_id.in_(requested))).order_by(Order.id)))
    lines = {}
    for line in session.scalars(select(OrderLine).where(
            OrderLine.order_id.in_([o.id for o in orders]))):
        lines.setdefault(line.order_id, []).append(_row(line))
    reminders = [dict(_row(r), sku=sku) for r, sku in session.execute(
        select(Reminder, Variant.sku).join(Variant, Variant.id == Reminder.variant_id)
        .where(Reminder.customer_id.in_(ids)))] if ids else []
    strong, _ = _needles(customers, email, phone)
    events = _inbox_about(session, shop, domain, cid, set(), strong)
    request_id = external_id(payload.get("data_request")) or event.event_id
    data = {"shop_domain": domain, "data_request_id": request_id,
            "customer_external_id": cid, "generated_at": _now().isoformat(),
            "customers": [_row(c) for c in customers],
            "orders": [dict(_row(o), lines=lines.get(o.id, [])) for o in orders],
            "reminders": reminders,
            "webhook_events": [{"topic": ev.topic, "received_at": _plain(ev.received_at),
                                "payload": obj} for ev, obj in events if ev.id != event.id]}
    folder = export_dir / _safe(domain or "unknown-shop")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{_safe(str(request_id))}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    tmp.replace(path)
    return "done", f"export: {path}"


# ------------------------------------------------------------------ customer redaction
def _scrub_tables(session: Session, shop: Shop, strong: set[str], pattern) -> int:
    """Scrub text/JSON columns of the shop's other tables whose values hold a strong needle."""
    changed = 0
    skip = {"customers", "webhook_events", "shops"}
    for table in Base.metadata.sorted_tables:
        if table.name in skip or "shop_id" not in table.c or "id" not in table.c:
            continue
        cols = [c for c in table.c if isinstance(c.type, (String, Text, JSON))]
        conds = [(cast(c, Text) if isinstance(c.type, JSON) else c).icontains(n, autoescape=True)
                 for c in cols for n in strong]
        if not conds:
            continue
        for row in session.execute(select(table).where(table.c.shop_id == shop.id, or_(*conds))):
            values = {}
            for c in cols:
                old = row._mapping[c.name]
                new = scrub_payload(old, pattern) if isinstance(old, (dict, list)) else (
                    pattern.sub(REDACTED, old) if isinstance(old, str) else old)
                if new != old:
                    values[c.name] = new
            if values:
                session.execute(update(table).where(table.c.id == row.id).values(**values))
                changed += 1
    return changed


def redact_customer(session, event, payload, shop, domain, export_dir: Path):
    """Erase the customer's personal data everywhere restock keeps it."""
    cid, email, phone = _identity(payload)
    order_ids = {x for x in map(external_id, [{"id": o} for o in
                                              payload.get("orders_to_redact") or []]) if x}
    if not (cid or email or order_ids):
        return "skipped", "payload names no customer"
    customers = _customers(session, shop, cid, email)
    strong, pattern = _needles(customers, email, phone)
    for c in customers:
        for col in PII_COLUMNS["customers"]:
            setattr(c, col, None)
        c.redacted_at = _now()
        if c.external_id.startswith("email:"):
            digest = hashlib.sha256(f"{c.shop_id}:{c.external_id}".encode()).hexdigest()
            c.external_id = f"redacted:{digest[:32]}"
    session.flush()
    events = _inbox_about(session, shop, domain, cid, order_ids, strong)
    for ev, obj in events:
        ev.payload = json.dumps(scrub_payload(obj, pattern), ensure_ascii=False)
    rows = _scrub_tables(session, shop, strong, pattern) if shop is not None and strong else 0
    files = 0
    folder = export_dir / _safe(domain or "unknown-shop")
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            mine = json.loads(text).get("customer_external_id") == cid and cid is not None
        except (ValueError, AttributeError):
            mine = False
        if mine or (pattern is not None and pattern.search(text)):
            path.unlink(missing_ok=True)
            files += 1
    return "done", (f"redacted {len(customers)} customer(s), {len(events)} inbox payload(s), "
                    f"{rows} other row(s), {files} export file(s)")


# ------------------------------------------------------------------ shop redaction
def redact_shop(session, event, shop, domain, export_dir: Path):
    """Delete every row of the shop; keep only this event, detached, as the record."""
    event.shop_id = None
    session.flush()
    deleted = 0
    if shop is not None:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name == "shops":
                continue
            if "shop_id" in table.c:
                cond = table.c.shop_id == shop.id
                if table.name == "webhook_events":
                    cond = and_(cond, table.c.id != event.id)
                deleted += session.execute(delete(table).where(cond)).rowcount
                continue
            for fk in table.foreign_keys:  # children without shop_id, through their parent
                parent = fk.column.table
                if parent.name == "shops":
                    deleted += session.execute(delete(table).where(fk.parent == shop.id)).rowcount
                elif "shop_id" in parent.c:
                    deleted += session.execute(delete(table).where(fk.parent.in_(
                        select(fk.column).where(parent.c.shop_id == shop.id)))).rowcount
    if domain:
        for table in Base.metadata.sorted_tables:
            if "shop_domain" in table.c:
                cond = table.c.shop_domain == domain
                if table.name == "webhook_events":
                    cond = and_(cond, table.c.id != event.id)
                deleted += session.execute(delete(table).where(cond)).rowcount
    if shop is not None:
        deleted += session.execute(delete(Shop.__table__).where(
            Shop.__table__.c.id == shop.id)).rowcount
    folder = export_dir / _safe(domain) if domain else None
    if folder is not None and folder.is_dir():
        shutil.rmtree(folder, ignore_errors=True)
    return "done", f"deleted {deleted} row(s) of {domain or 'an unknown shop'}"


# ------------------------------------------------------------------ uninstall
def uninstall_shop(session, event, shop):
    """Drop the shop's tokens and mark it uninstalled."""
    if shop is None:
        return "skipped", "no shop for this domain"
    event.shop_id = shop.id
    when = _aware(event.triggered_at) if event.triggered_at else _now()
    creds = list(session.scalars(select(ShopCredential).where(
        ShopCredential.shop_id == shop.id)))
    if event.triggered_at and any(c.installed_at and _aware(c.installed_at) > when
                                  and c.uninstalled_at is None for c in creds):
        return "skipped", "stale: the shop was installed again after this uninstall"
    for c in creds:
        c.access_token_enc = c.refresh_token_enc = None
        c.access_token_expires_at = c.refresh_token_expires_at = None
        c.uninstalled_at = when
    settings = dict(shop.settings or {})
    settings.update(uninstalled=True, uninstalled_at=when.isoformat())
    shop.settings = settings
    return "done", f"dropped {len(creds)} credential(s)"
