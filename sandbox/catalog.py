"""Catalog of the sandbox shop: families, products, variants (SKUs) and their suppliers.

Every SKU gets a ground-truth demand pattern (see :data:`sandbox.model.PATTERN_MIX`). "new"
SKUs form their own products launched part-way through the history; "season_window" SKUs form
seasonal products (holiday gifts, summer garden). One or two established "smooth" SKUs are
switched part-way: the old variant is archived and a successor variant of the same product
(same demand, ``successor_sku`` set on the old one) takes over from the switch day.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sandbox.model import PATTERN_MIX, PATTERNS

__all__ = ["Family", "FAMILIES", "SEASON_WINDOWS", "Catalog", "allocate_patterns", "build_catalog"]


@dataclass(frozen=True)
class Family:
    """A product family: naming, price range, options and seasonality hints."""

    name: str
    code: str
    vendor: str
    consumable: bool
    price: tuple[float, float]
    options: tuple[tuple[str, str, float], ...]  # (sku code, title, price factor)
    nouns: tuple[str, ...]
    weight: float


FAMILIES: tuple[Family, ...] = (
    Family("Coffee", "COF", "Roastworks", True, (9.0, 18.0),
           (("250G", "250 g", 1.0), ("500G", "500 g", 1.8), ("1KG", "1 kg", 3.2)),
           ("Espresso Blend", "Colombia Huila", "Ethiopia Guji", "Decaf House", "Dark Roast"), 3),
    Family("Tea", "TEA", "Leaf & Co", True, (6.0, 14.0),
           (("50G", "50 g", 1.0), ("100G", "100 g", 1.8), ("250G", "250 g", 4.0)),
           ("Earl Grey", "Sencha", "Chai", "Rooibos", "Peppermint"), 2),
    Family("Skincare", "SKN", "Glowlab", True, (12.0, 38.0),
           (("30ML", "30 ml", 1.0), ("50ML", "50 ml", 1.5), ("100ML", "100 ml", 2.6)),
           ("Face Serum", "Day Cream", "Cleanser", "Sun Fluid", "Night Balm"), 2),
    Family("Supplements", "VIT", "Vitalis", True, (11.0, 30.0),
           (("30CT", "30 count", 1.0), ("60CT", "60 count", 1.8), ("90CT", "90 count", 2.5),
            ("120CT", "120 count", 3.2)),
           ("Vitamin D3", "Magnesium", "Omega 3", "Zinc", "Probiotic"), 2),
    Family("Pet", "PET", "Pawsome", True, (8.0, 25.0),
           (("1KG", "1 kg", 1.0), ("3KG", "3 kg", 2.6), ("7KG", "7 kg", 5.5)),
           ("Dog Kibble", "Cat Food", "Puppy Mix", "Grain Free"), 1),
    Family("Apparel", "APP", "Northwear", False, (18.0, 70.0),
           (("XS", "XS", 1.0), ("S", "S", 1.0), ("M", "M", 1.0), ("L", "L", 1.0),
            ("XL", "XL", 1.0)),
           ("Merino Tee", "Hoodie", "Beanie", "Rain Jacket", "Socks"), 2),
    Family("Garden", "GRD", "Greenhand", False, (7.0, 45.0),
           (("SM", "Small", 1.0), ("MD", "Medium", 1.6), ("LG", "Large", 2.4)),
           ("Planter", "Seed Kit", "Pruner", "Watering Can", "Herb Pot"), 1.5),
    Family("Gifts", "GFT", "Giftory", False, (15.0, 60.0),
           (("STD", "Standard", 1.0), ("DLX", "Deluxe", 1.7), ("PRM", "Premium", 2.5)),
           ("Gift Box", "Advent Set", "Tasting Set", "Candle Set"), 1),
    Family("Home", "HOM", "Casa Nova", False, (10.0, 55.0),
           (("WHT", "White", 1.0), ("BLK", "Black", 1.0), ("GRY", "Grey", 1.0),
            ("BLU", "Blue", 1.0)),
           ("Mug", "Throw", "Vase", "Lamp", "Tray"), 1.5),
)

#: Season windows as ((month, day) start, (month, day) end), inclusive.
SEASON_WINDOWS: tuple[tuple[tuple[int, int], tuple[int, int]], ...] = (
    ((11, 1), (12, 31)),  # holiday season
    ((5, 1), (8, 31)),  # summer
)
_WINDOW_FAMILIES = {0: ("Gifts", "Home"), 1: ("Garden", "Apparel")}
_LINE_PATTERNS = ("smooth", "seasonal", "trending", "new")  # consumables only among these


@dataclass
class Catalog:
    """All SKUs as aligned numpy arrays (index ``k``), plus products and suppliers.

    Day fields are day indices into the history (negative = before the first day);
    ``end_day`` is exclusive (``n_days`` for SKUs never discontinued).
    """

    sku: np.ndarray
    option_title: np.ndarray
    product: np.ndarray
    family: np.ndarray
    pattern: np.ndarray
    consumable: np.ndarray
    cycle_days: np.ndarray
    price: np.ndarray
    unit_cost: np.ndarray
    created_day: np.ndarray
    end_day: np.ndarray
    window: np.ndarray
    successor: np.ndarray
    predecessor: np.ndarray
    supplier: np.ndarray
    moq: np.ndarray
    case_pack: np.ndarray
    product_title: list[str]
    product_family: list[int]
    product_created_day: np.ndarray
    product_supplier: np.ndarray
    sup_lt_mean: np.ndarray
    sup_lt_std: np.ndarray
    sup_lt_stated: np.ndarray
    sup_min_order: np.ndarray
    sup_phase: np.ndarray

    @property
    def n(self) -> int:
        """Number of SKUs."""
        return len(self.sku)


def allocate_patterns(n: int) -> dict[str, int]:
    """Split ``n`` SKUs over the patterns by :data:`PATTERN_MIX`, at least one each.

    Uses largest remainders, then takes SKUs from the biggest pattern for empty ones.

    Raises:
        ValueError: if ``n`` is smaller than the number of patterns.
    """
    if n < len(PATTERNS):
        raise ValueError(f"need at least {len(PATTERNS)} SKUs, got {n}")
    raw = np.array([PATTERN_MIX[p] * n for p in PATTERNS])
    counts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - counts), kind="stable")[: n - counts.sum()]:
        counts[i] += 1
    for i in range(len(PATTERNS)):
        if counts[i] == 0:
            counts[int(np.argmax(counts))] -= 1
            counts[i] = 1
    return dict(zip(PATTERNS, counts.tolist()))


def _group_sizes(rng: np.random.Generator, total: int, lo: int, hi: int) -> list[int]:
    sizes: list[int] = []
    while sum(sizes) < total:
        sizes.append(min(int(rng.integers(lo, hi + 1)), total - sum(sizes)))
    return sizes


def _fam_index(name: str) -> int:
    return next(i for i, f in enumerate(FAMILIES) if f.name == name)


def build_catalog(rng: np.random.Generator, n_skus: int, n_days: int) -> Catalog:
    """Draw the catalog: products, variants, patterns, suppliers and SKU switches.

    Args:
        rng: The shop's random generator.
        n_skus: Total number of variants, successors of switched SKUs included.
        n_days: Length of the history in days.

    Returns:
        The catalog with one array entry per SKU.
    """
    n_switch = 1 if n_skus < 150 else 2
    counts = allocate_patterns(n_skus - n_switch)
    fam_w = np.array([f.weight for f in FAMILIES])
    fam_w = fam_w / fam_w.sum()
    # products: (family, patterns of its variants, launch day, window)
    plans: list[tuple[int, list[str], int, int]] = []
    regular = np.array([p for p in PATTERNS if p not in ("new", "season_window")
                        for _ in range(counts[p])], dtype=object)
    regular = regular[rng.permutation(len(regular))]
    pos = 0
    while pos < len(regular):
        fam = int(rng.choice(len(FAMILIES), p=fam_w))
        k = min(int(rng.integers(1, 5)), len(FAMILIES[fam].options), len(regular) - pos)
        plans.append((fam, list(regular[pos:pos + k]), -int(rng.integers(30, 900)), -1))
        pos += k
    for size in _group_sizes(rng, counts["new"], 1, 3):
        fam = int(rng.choice(len(FAMILIES), p=fam_w))
        launch = int(rng.integers(int(0.2 * n_days), max(int(0.8 * n_days), int(0.2 * n_days) + 1)))
        plans.append((fam, ["new"] * size, launch, -1))  # every family has >= 3 options
    for size in _group_sizes(rng, counts["season_window"], 1, 3):
        win = int(rng.integers(len(SEASON_WINDOWS)))
        fam = _fam_index(str(rng.choice(_WINDOW_FAMILIES[win])))
        plans.append((fam, ["season_window"] * size, -int(rng.integers(30, 900)), win))

    n_sup = max(3, min(20, n_skus // 60))
    n_prod = len(plans)
    prod_sup = rng.integers(0, n_sup, size=n_prod)
    prod_sup[rng.permutation(n_prod)[: min(n_sup, n_prod)]] = np.arange(min(n_sup, n_prod))

    rows: dict[str, list] = {k: [] for k in (
        "sku", "title", "product", "family", "pattern", "price", "created", "window")}
    titles: list[str] = []
    fams: list[int] = []
    pcreated: list[int] = []
    for p, (fam, pats, created, win) in enumerate(plans):
        f = FAMILIES[fam]
        titles.append(f"{f.nouns[int(rng.integers(len(f.nouns)))]} No. {p + 1}")
        fams.append(fam)
        pcreated.append(created)
        base_price = rng.uniform(*f.price)
        opts = sorted(rng.choice(len(f.options), size=len(pats), replace=False).tolist())
        for opt, pat in zip(opts, pats):
            code, otitle, factor = f.options[opt]
            rows["sku"].append(f"{f.code}-{p + 1:04d}-{code}")
            rows["title"].append(otitle)
            rows["product"].append(p)
            rows["family"].append(fam)
            rows["pattern"].append(pat)
            rows["price"].append(round(base_price * factor) - 0.01)
            rows["created"].append(created)
            rows["window"].append(win)

    n_base = len(rows["sku"])
    smooth_idx = np.flatnonzero(np.array(rows["pattern"]) == "smooth")
    preds = rng.choice(smooth_idx, size=n_switch, replace=False)
    switch_days = rng.integers(int(0.35 * n_days), int(0.7 * n_days) + 1, size=n_switch)
    end_day = np.full(n_base + n_switch, n_days, dtype=np.int64)
    successor = np.full(n_base + n_switch, None, dtype=object)
    predecessor = np.full(n_base + n_switch, -1, dtype=np.int64)
    for j, (k, day) in enumerate(zip(preds.tolist(), switch_days.tolist())):
        new = n_base + j
        rows["sku"].append(rows["sku"][k] + "-V2")
        rows["title"].append(rows["title"][k] + " (new formula)")
        for col in ("product", "family", "pattern", "price", "window"):
            rows[col].append(rows[col][k])
        rows["created"].append(int(day))
        end_day[k] = int(day)
        successor[k] = rows["sku"][new]
        predecessor[new] = k

    n = len(rows["sku"])
    family = np.array(rows["family"], dtype=np.int64)
    pattern = np.array(rows["pattern"], dtype=object)
    fam_cons = np.array([FAMILIES[i].consumable for i in family])
    consumable = fam_cons & np.isin(pattern, _LINE_PATTERNS) & (rng.random(n) < 0.85)
    for new in range(n_base, n):  # successors behave like their predecessor
        consumable[new] = consumable[predecessor[new]]
    cycle = np.where(consumable, np.round(rng.uniform(20, 60, size=n)), np.nan)
    for new in range(n_base, n):
        cycle[new] = cycle[predecessor[new]]
    price = np.array(rows["price"], dtype=np.float64)
    margin = rng.uniform(0.30, 0.70, size=n)
    unit_cost = np.round(price * (1.0 - margin), 2)
    product = np.array(rows["product"], dtype=np.int64)
    cheap = price < 15
    case_pack = np.where(
        cheap, rng.choice([1, 6, 12, 24], size=n, p=[0.2, 0.35, 0.3, 0.15]),
        rng.choice([1, 6, 12, 24], size=n, p=[0.6, 0.25, 0.1, 0.05]))
    moq = np.where(case_pack == 1,
                   rng.choice([1, 6, 12, 24, 50], size=n, p=[0.4, 0.2, 0.2, 0.1, 0.1]),
                   case_pack * rng.choice([1, 2, 4], size=n, p=[0.6, 0.3, 0.1]))

    lt_mean = np.round(rng.uniform(3, 30, size=n_sup), 1)
    lt_std = np.round(lt_mean * rng.uniform(0.005, 0.30, size=n_sup), 2)
    return Catalog(
        sku=np.array(rows["sku"], dtype=object),
        option_title=np.array(rows["title"], dtype=object),
        product=product,
        family=family,
        pattern=pattern,
        consumable=consumable,
        cycle_days=cycle,
        price=price,
        unit_cost=unit_cost,
        created_day=np.array(rows["created"], dtype=np.int64),
        end_day=end_day,
        window=np.array(rows["window"], dtype=np.int64),
        successor=successor,
        predecessor=predecessor,
        supplier=prod_sup[product],
        moq=moq.astype(np.int64),
        case_pack=case_pack.astype(np.int64),
        product_title=titles,
        product_family=fams,
        product_created_day=np.array(pcreated, dtype=np.int64),
        product_supplier=prod_sup,
        sup_lt_mean=lt_mean,
        sup_lt_std=lt_std,
        sup_lt_stated=np.maximum(1, np.round(lt_mean * rng.uniform(0.85, 1.05, size=n_sup))),
        sup_min_order=np.round(rng.uniform(0, 600, size=n_sup) / 50) * 50,
        sup_phase=rng.integers(0, 14, size=n_sup),
    )
