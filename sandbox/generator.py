"""Deterministic sandbox shop with known ground truth.

:func:`generate` simulates a Shopify shop (catalog, suppliers, customers, orders, stock) from
one ``numpy.random.default_rng(seed)``; the same arguments always give identical frames. The
pipeline, with the module doing each step:

1. :mod:`sandbox.catalog` - families -> products -> 1-4 variants; a ground-truth demand pattern
   per SKU (smooth, seasonal, trending, intermittent, lumpy, new, season_window); consumables
   with a consumption cycle; suppliers with a lead-time distribution; one or two SKU switches.
2. :mod:`sandbox.demand` - campaigns, then the exact expected demand
   ``E[sku, location, day]`` = base x location share x weekly cycle x pattern x campaign uplift,
   and the wanted order lines drawn from it (negative binomial line counts for regular SKUs,
   Bernoulli x size for intermittent / lumpy ones).
3. :mod:`sandbox.stock` - a naive periodic order-up-to replenishment, one day at a time over
   numpy vectors of SKU x location: sales = min(wanted, stock), the rest are lost sales.
4. :mod:`sandbox.baskets` - sold lines grouped into orders of 1-4 lines per location and day,
   with channel (web / marketplace at the warehouse, POS at stores) and time of day.
5. :mod:`sandbox.customers` - BG/NBD customers (rate ~ Gamma, dropout ~ Beta), calibrated so
   that their trips take a target share of each channel's orders.
6. :mod:`sandbox.matching` - customers claim orders: consumable re-buys (a first purchase
   becomes a habit with probability 0.4; the next re-buy is due when the quantity bought
   runs out: 2 units last twice as long) and BG/NBD trips; the rest are guest orders.
7. :mod:`sandbox.order_frames`, :mod:`sandbox.catalog_frames`, :mod:`sandbox.truth` - intake
   records (:class:`core.records.ShopRecords`), receipts and the ground truth.

Because customers only *label* orders that SKU demand produced, the SKU-level truth is exact
(the wanted units are draws from ``E``), and the customer truth is exact about each customer's
process (rate, dropout, when they dropped out, next trip after the end). The observed order
history of a customer is their trips (occasionally delayed by up to a week when no order was
free, rarely lost) plus their consumable re-buys (delayed up to 14 days when the SKU did not
sell in their channel; after that the customer gives the SKU up, about 10-15 % of re-buys).

Timestamps are UTC and the shop's calendar day is the UTC day.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.records import ShopRecords
from sandbox.baskets import build_orders
from sandbox.catalog import build_catalog
from sandbox.catalog_frames import (
    campaigns_frame, inventory_frame, locations_frame, product_frames, receipts_frame,
    supplier_frames,
)
from sandbox.customers import build_population, customer_ids, customers_frame
from sandbox.demand import build_campaigns, build_demand, draw_lines
from sandbox.matching import assign_customers
from sandbox.model import Calendar, SandboxShop, SandboxTruth
from sandbox.order_frames import order_frames
from sandbox.stock import simulate_stock
from sandbox.truth import campaign_truth, customer_truth, demand_truth, sku_truth

__all__ = ["generate"]


def generate(seed: int = 7, n_skus: int = 300, n_customers: int = 4000, n_days: int = 730,
             n_locations: int = 2, end_date: str = "2026-11-15") -> SandboxShop:
    """Generate a sandbox shop with known ground truth.

    Args:
        seed: Seed of ``numpy.random.default_rng``; equal arguments give identical output.
        n_skus: Number of variants (SKUs), successors of switched SKUs included; >= 10.
        n_customers: Number of registered customers; >= 1.
        n_days: Length of the history in days; >= 60.
        n_locations: Location "1" is the warehouse (online store and marketplace), "2".."n"
            are retail stores (POS); >= 1.
        end_date: Last day of the history (inclusive), ``YYYY-MM-DD``.

    Returns:
        The shop: intake records (with exactly the canonical columns; they pass
        ``ShopRecords.validate()``), ground truth and replenishment receipts.

    Raises:
        ValueError: if an argument is out of range.
    """
    if n_skus < 10:
        raise ValueError(f"n_skus must be >= 10, got {n_skus}")
    if n_customers < 1:
        raise ValueError(f"n_customers must be >= 1, got {n_customers}")
    if n_days < 60:
        raise ValueError(f"n_days must be >= 60, got {n_days}")
    if n_locations < 1:
        raise ValueError(f"n_locations must be >= 1, got {n_locations}")
    rng = np.random.default_rng(seed)
    cal = Calendar.ending(end_date, n_days)

    cat = build_catalog(rng, n_skus, n_days)
    campaigns = build_campaigns(rng, cat, cal)
    dem = build_demand(rng, cat, cal, n_locations, campaigns)
    lines, wanted = draw_lines(rng, cat, dem)
    stock = simulate_stock(rng, cat, wanted, dem.expected, n_locations)
    orders = build_orders(rng, lines, stock.sold, n_locations, n_days)
    del lines
    # build the cell-level frames now and free the (SKU x location x day) arrays early
    expected, wanted_df, lost_df = demand_truth(cat, cal, n_locations, dem, wanted, stock.sold)
    inventory = inventory_frame(stock, cat, cal, n_locations)
    receipts = receipts_frame(stock, cat, cal, n_locations)
    del stock, wanted
    dem.expected = np.zeros(0)  # no longer needed; sku_truth only reads the parameters

    group_orders = np.bincount(orders.group, minlength=n_locations + 1).astype(np.float64)
    pop = build_population(rng, n_customers, n_days, group_orders)
    match = assign_customers(rng, orders, pop, cat, n_days)
    c_ids = customer_ids(pop.n)
    orders_df, lines_df = order_frames(rng, orders, match.owner, cat, campaigns, cal, c_ids)

    products, variants = product_frames(cat, cal)
    suppliers, items = supplier_frames(cat)
    records = ShopRecords(
        locations=locations_frame(n_locations),
        products=products,
        variants=variants,
        suppliers=suppliers,
        supplier_items=items,
        customers=customers_frame(pop, cal, c_ids,
                                  orders_df.groupby("customer_external_id").created_at.min()),
        orders=orders_df,
        order_lines=lines_df,
        inventory=inventory,
        campaigns=campaigns_frame(campaigns, cat, cal),
    )
    customers_t, products_t = customer_truth(pop, match, cat, cal, c_ids, n_locations)
    truth = SandboxTruth(
        expected_demand=expected,
        wanted=wanted_df,
        lost_sales=lost_df,
        skus=sku_truth(cat, cal, dem),
        campaigns=campaign_truth(campaigns, cal),
        customers=customers_t,
        customer_products=products_t,
    )
    return SandboxShop(
        records=records,
        truth=truth,
        receipts=receipts,
        start=pd.Timestamp(cal.days[0]),
        end=pd.Timestamp(cal.days[-1]),
        seed=seed,
    )
