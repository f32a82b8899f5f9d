"""The purchase order as it is sent: a frozen snapshot, its CSV, PDF, JSON and email id.

The snapshot is read from the database when a delivery is claimed, so the network call
that follows holds no database transaction.
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.purchasing import arrival_after
from core.storage import (Location, PurchaseOrder, PurchaseOrderLine, Shop, Supplier,
                          SupplierItem, Variant)

from .pdf import text_pdf

__all__ = ["DocumentLine", "OrderDocument", "build_document", "payload_bytes", "CSV_COLUMNS"]

CSV_COLUMNS = ["po_number", "sku", "supplier_sku", "title", "quantity", "unit_cost",
               "line_value", "currency", "expected_date"]


@dataclass(frozen=True)
class DocumentLine:
    sku: str
    supplier_sku: str | None
    title: str | None
    quantity: int
    unit_cost: float | None

    @property
    def value(self) -> float | None:
        return None if self.unit_cost is None else round(self.quantity * self.unit_cost, 2)


@dataclass(frozen=True)
class OrderDocument:
    """What a supplier receives about one purchase order."""

    po_id: int
    shop_id: int
    shop_name: str
    number: str
    idempotency_key: str
    supplier_id: int
    supplier_name: str
    supplier_external_id: str
    supplier_email: str | None
    ship_to: str | None
    ship_to_external_id: str | None
    currency: str
    expected_date: date | None
    lines: tuple[DocumentLine, ...] = field(default_factory=tuple)

    @property
    def total_value(self) -> float:
        return round(sum(line.value or 0.0 for line in self.lines), 2)

    def message_id(self, domain: str = "restock.invalid") -> str:
        """A Message-ID that is the same on every attempt: ``<po.KEY.NUMBER@domain>``."""
        safe = re.sub(r"[^A-Za-z0-9._-]", "-", self.number)
        return f"<po.{self.idempotency_key}.{safe}@{domain}>"

    def to_json(self) -> dict:
        """The HTTP payload (see :mod:`connector.delivery.http_post`)."""
        return {
            "order_number": self.number, "idempotency_key": self.idempotency_key,
            "shop": self.shop_name, "currency": self.currency,
            "supplier": {"id": self.supplier_external_id, "name": self.supplier_name},
            "ship_to": ({"id": self.ship_to_external_id, "name": self.ship_to}
                        if self.ship_to else None),
            "expected_date": self.expected_date.isoformat() if self.expected_date else None,
            "lines": [dict(asdict(line), line_value=line.value) for line in self.lines],
            "total_value": self.total_value,
        }

    def to_csv(self) -> bytes:
        """One row per line with the columns of :data:`CSV_COLUMNS` (UTF-8)."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(CSV_COLUMNS)
        for line in self.lines:
            w.writerow([self.number, line.sku, line.supplier_sku or "", line.title or "",
                        line.quantity, "" if line.unit_cost is None else f"{line.unit_cost:.2f}",
                        "" if line.value is None else f"{line.value:.2f}", self.currency,
                        self.expected_date.isoformat() if self.expected_date else ""])
        return buf.getvalue().encode("utf-8")

    def text_lines(self) -> list[str]:
        """The order as fixed-width text (the email body and the PDF page)."""
        out = [f"PURCHASE ORDER {self.number}", "",
               f"From:      {self.shop_name}", f"Supplier:  {self.supplier_name}",
               f"Ship to:   {self.ship_to or '-'}",
               f"Expected:  {self.expected_date.isoformat() if self.expected_date else '-'}",
               f"Reference: {self.idempotency_key}", "",
               f"{'SKU':<22} {'Supplier SKU':<18} {'Qty':>7} {'Unit cost':>11} {'Value':>12}",
               "-" * 74]
        for line in self.lines:
            cost = "" if line.unit_cost is None else f"{line.unit_cost:,.2f}"
            value = "" if line.value is None else f"{line.value:,.2f}"
            out.append(f"{line.sku[:22]:<22} {(line.supplier_sku or '')[:18]:<18} "
                       f"{line.quantity:>7} {cost:>11} {value:>12}")
        out += ["-" * 74, f"{'Total ' + self.currency:<49} {self.total_value:>24,.2f}"]
        return out

    def to_pdf(self) -> bytes:
        return text_pdf(self.text_lines(), title=f"Purchase order {self.number}")


def build_document(session: Session, po: PurchaseOrder, sent_on: date,
                   supplier: Supplier | None = None, cache: dict | None = None) -> OrderDocument:
    """Snapshot ``po`` for sending on ``sent_on``; the expected date is
    :func:`core.purchasing.arrival_after` of the lines' lead times (else ``po.expected_at``).

    Args:
        supplier: the order's supplier when the caller loaded it already.
        cache: a dict kept across calls to look the shop and locations up once.
    """
    cache = {} if cache is None else cache
    supplier = supplier or session.get(Supplier, po.supplier_id)
    if ("shop", po.shop_id) not in cache:
        shop = session.get(Shop, po.shop_id)
        cache[("shop", po.shop_id)] = (shop.name, shop.currency)
    shop_name, shop_currency = cache[("shop", po.shop_id)]
    if ("location", po.location_id) not in cache:
        location = session.get(Location, po.location_id) if po.location_id else None
        cache[("location", po.location_id)] = ((location.name, location.external_id)
                                               if location else (None, None))
    ship_to, ship_to_id = cache[("location", po.location_id)]
    rows = session.execute(
        select(PurchaseOrderLine.sku, SupplierItem.supplier_sku, Variant.title,
               PurchaseOrderLine.quantity, PurchaseOrderLine.unit_cost,
               SupplierItem.lead_time_days)
        .join(Variant, Variant.id == PurchaseOrderLine.variant_id)
        .outerjoin(SupplierItem, (SupplierItem.variant_id == PurchaseOrderLine.variant_id)
                   & (SupplierItem.supplier_id == po.supplier_id))
        .where(PurchaseOrderLine.purchase_order_id == po.id)
        .order_by(PurchaseOrderLine.sku)).all()
    return OrderDocument(
        po_id=po.id, shop_id=po.shop_id, shop_name=shop_name, number=po.number,
        idempotency_key=po.idempotency_key, supplier_id=supplier.id,
        supplier_name=supplier.name, supplier_external_id=supplier.external_id,
        supplier_email=supplier.email, ship_to=ship_to, ship_to_external_id=ship_to_id,
        currency=supplier.currency or shop_currency or "USD",
        expected_date=arrival_after(sent_on, [r[5] for r in rows]) or po.expected_at,
        lines=tuple(DocumentLine(*row[:5]) for row in rows))


def payload_bytes(doc: OrderDocument) -> bytes:
    """The JSON body: keys sorted, no spaces, UTF-8 (what the signature covers)."""
    return json.dumps(doc.to_json(), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")

