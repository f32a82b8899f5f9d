"""Intake frames of the catalog side: locations, products, variants, suppliers, supplier
items, campaigns, daily inventory snapshots and replenishment receipts."""
from __future__ import annotations

import numpy as np
import pandas as pd

from sandbox.catalog import FAMILIES, Catalog
from sandbox.demand import Campaigns
from sandbox.model import Calendar
from sandbox.stock import StockResult

__all__ = [
    "locations_frame", "product_frames", "supplier_frames", "campaigns_frame",
    "inventory_frame", "receipts_frame", "location_ids", "supplier_ids", "live_cells",
]

_SUP_WORDS = ("Alpine", "Harbor", "Meadow", "Summit", "Coastal", "Prairie", "Cedar", "Granite",
              "Willow", "Aurora")
_SUP_KINDS = ("Trading", "Wholesale", "Supply Co", "Imports", "Distribution")


def location_ids(n_locations: int) -> np.ndarray:
    """External ids ``"1".."n"`` of the locations."""
    return np.array([str(i + 1) for i in range(n_locations)], dtype=object)


def supplier_ids(n_suppliers: int) -> np.ndarray:
    """External ids ``"SUP-01"..`` of the suppliers."""
    return np.array([f"SUP-{i + 1:02d}" for i in range(n_suppliers)], dtype=object)


def locations_frame(n_locations: int) -> pd.DataFrame:
    """Location 1 is the warehouse (online store and marketplace), the others retail stores."""
    names = ["Central Warehouse"] + [f"Store {i}" for i in range(1, n_locations)]
    kinds = ["warehouse"] + ["store"] * (n_locations - 1)
    return pd.DataFrame({"external_id": location_ids(n_locations), "name": names, "kind": kinds})


def product_frames(cat: Catalog, cal: Calendar) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The products and variants frames.

    Products and variants of established items were created 30-900 days before the first
    day; new items and successor variants at midnight UTC of their launch day.
    """
    n_p = len(cat.product_title)
    p_ids = np.array([str(8_000_000_001 + i) for i in range(n_p)], dtype=object)
    fam = [FAMILIES[f] for f in cat.product_family]
    created_p = cal.utc(cat.product_created_day, 9 * 3600.0 * (cat.product_created_day < 0))
    handles = [f"{f.name.lower()}-{t.lower().replace(' ', '-').replace('.', '')}"
               for f, t in zip(fam, cat.product_title)]
    products = pd.DataFrame({
        "external_id": p_ids,
        "handle": handles,
        "title": [f"{t} ({f.name})" for f, t in zip(fam, cat.product_title)],
        "family": [f.name for f in fam],
        "vendor": [f.vendor for f in fam],
        "status": "active",
        "created_at": created_p,
    })
    n = cat.n
    created_v = cal.utc(cat.created_day, 9 * 3600.0 * (cat.created_day < 0))
    archived = cat.end_day < cal.n
    variants = pd.DataFrame({
        "external_id": np.array([str(4_000_000_001 + i) for i in range(n)], dtype=object),
        "product_external_id": p_ids[cat.product],
        "sku": cat.sku,
        "barcode": np.array([_ean13(200_000_000_000 + i) for i in range(n)], dtype=object),
        "title": cat.option_title,
        "price": cat.price,
        "unit_cost": cat.unit_cost,
        "status": np.where(archived, "archived", "active").astype(object),
        "created_at": created_v,
        "successor_sku": cat.successor,
        "inventory_item_id": np.array([str(5_000_000_001 + i) for i in range(n)], dtype=object),
        "tracked": np.ones(n, dtype=bool),  # the sandbox counts every item's stock
    })
    return products, variants


def _ean13(num12: int) -> str:
    digits = [int(c) for c in f"{num12:012d}"]
    check = (10 - sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
    return f"{num12:012d}{check}"


def supplier_frames(cat: Catalog) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The suppliers and supplier_items frames.

    ``lead_time_days`` is the supplier's *stated* lead time (85-105 % of the true mean, as a
    merchant would have it on file); the true distribution is in the truth, and
    ``lead_time_std_days`` is left empty (to be learnt from receipts).
    """
    n_s = len(cat.sup_lt_mean)
    ids = supplier_ids(n_s)
    suppliers = pd.DataFrame({
        "external_id": ids,
        "name": [f"{_SUP_WORDS[i % len(_SUP_WORDS)]} {_SUP_KINDS[i % len(_SUP_KINDS)]}"
                 + (f" {i // len(_SUP_WORDS) + 1}" if i >= len(_SUP_WORDS) else "")
                 for i in range(n_s)],
        "email": [f"orders@supplier{i + 1}.example.test" for i in range(n_s)],
        "min_order_value": cat.sup_min_order,
        "currency": "USD",
    })
    items = pd.DataFrame({
        "supplier_external_id": ids[cat.supplier],
        "sku": cat.sku,
        "supplier_sku": np.array([f"{ids[s]}-{i + 1:05d}" for i, s in enumerate(cat.supplier)],
                                 dtype=object),
        "unit_cost": cat.unit_cost,
        "lead_time_days": cat.sup_lt_stated[cat.supplier].astype(np.int64),
        "lead_time_std_days": np.full(cat.n, np.nan),
        "moq": cat.moq,
        "case_pack": cat.case_pack,
    })
    return suppliers, items


def campaigns_frame(campaigns: Campaigns, cat: Catalog, cal: Calendar) -> pd.DataFrame:
    """Campaigns: ``skus`` is a list of SKU strings, ``discount_pct`` a percentage (10-30)."""
    return pd.DataFrame({
        "external_id": np.array([f"CMP-{c + 1:02d}" for c in range(campaigns.n)], dtype=object),
        "name": campaigns.name,
        "starts_at": cal.utc(campaigns.start_day),
        "ends_at": cal.utc(campaigns.end_day, 86_399.0),
        "skus": [cat.sku[s].tolist() for s in campaigns.skus],
        "discount_pct": campaigns.pct.astype(np.float64),
    })


def live_cells(cat: Catalog, n_locations: int, n_days: int) -> np.ndarray:
    """Flat ``kl * D + d`` indices of the days each SKU x location exists."""
    t = np.arange(n_days)
    live = (t[None, :] >= cat.created_day[:, None]) & (t[None, :] < cat.end_day[:, None])
    return np.flatnonzero(np.repeat(live, n_locations, axis=0))


def inventory_frame(stock: StockResult, cat: Catalog, cal: Calendar,
                    n_locations: int) -> pd.DataFrame:
    """End-of-day snapshots per SKU x location for every day the variant exists."""
    cells = live_cells(cat, n_locations, cal.n)
    kl, d = np.divmod(cells, cal.n)
    avail = stock.available.ravel()[cells].astype(np.int64)
    committed = stock.committed.ravel()[cells].astype(np.int64)
    return pd.DataFrame({
        "sku": cat.sku[kl // n_locations],
        "location_external_id": location_ids(n_locations)[kl % n_locations],
        "date": cal.naive(d),
        "available": avail,
        "on_hand": avail + committed,
        "incoming": stock.incoming.ravel()[cells].astype(np.int64),
        "committed": committed,
        "reserved": np.zeros(len(cells), dtype=np.int64),  # the sandbox holds nothing back
    })


def receipts_frame(stock: StockResult, cat: Catalog, cal: Calendar,
                   n_locations: int) -> pd.DataFrame:
    """Replenishment receipts received within the history, by received date."""
    got = stock.po_received < cal.n
    kl = stock.po_kl[got]
    k = kl // n_locations
    frame = pd.DataFrame({
        "supplier_external_id": supplier_ids(len(cat.sup_lt_mean))[cat.supplier[k]],
        "sku": cat.sku[k],
        "location_external_id": location_ids(n_locations)[kl % n_locations],
        "ordered_date": cal.naive(stock.po_ordered[got]),
        "received_date": cal.naive(stock.po_received[got]),
        "quantity": stock.po_qty[got].astype(np.int64),
    })
    keys = ["received_date", "supplier_external_id", "sku", "location_external_id"]
    return frame.sort_values(keys,
                             kind="stable").reset_index(drop=True)
