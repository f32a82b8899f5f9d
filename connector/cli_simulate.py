"""``restock simulate``: replay a replenishment policy over known demand and score it.

    restock simulate --demand demand.csv --items items.csv --service-level 0.95 \\
        [--service-level-kind fill|cycle] [--review-days 7] \\
        [--policy restock|velocity|minmax|oracle] [--days-of-stock N] \\
        [--simulate-days 90] [--seed 0] [--out result.json]

Inputs (header row first; line numbers in errors count it as line 1):

- demand.csv: ``sku``, ``date`` (YYYY-MM-DD), ``quantity`` (units demanded, >= 0). One row
  per SKU and day at most; a day without a row is zero demand for that SKU (from the SKU's
  first row on). The last ``--simulate-days`` days of the file are simulated, the days
  before are the history the policy may look at.
- items.csv: ``sku``, ``lead_time_days`` (> 0, required), ``lead_time_std_days``, ``moq``,
  ``case_pack``, ``unit_cost``, ``price``, ``initial_on_hand`` (empty: start with the
  policy's own order-up-to level). Every SKU of demand.csv needs a row.

Output JSON: ``{"settings": {...}, "overall": {...}, "skus": [{"sku": ..., "fill_rate": ...,
"cycle_service_level": ..., "stockout_days": ..., "lost_units": ..., "avg_on_hand_units":
..., "avg_on_hand_value": ..., "turnover": ...}, ...]}`` (see :mod:`core.simulator.measures`;
NaN is written as null). Bad input exits with status 2 and a message naming the file, line
and column.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from datetime import date
from pathlib import Path

import pandas as pd

__all__ = ["register", "cmd_simulate", "SimulateInputError", "read_demand", "read_items",
           "main"]

POLICIES = ("restock", "velocity", "minmax", "oracle")
SKU_FIELDS = ("sku", "demand_units", "served_units", "fill_rate", "cycle_service_level",
              "stockout_days", "lost_units", "avg_on_hand_units", "avg_on_hand_value",
              "turnover")

HELP = """Simulate a replenishment policy day by day over the last --simulate-days days
of demand.csv (lost sales, lead times drawn from each item's normal lead-time distribution)
and write fill rate, cycle service level, stockout days, lost units, average stock and
turnover per SKU and overall. demand.csv: sku,date,quantity - missing days are ZERO demand
(from each SKU's first row on); earlier days are the history. items.csv: sku,lead_time_days,
lead_time_std_days,moq,case_pack,unit_cost,price,initial_on_hand (empty initial_on_hand:
start at the policy's order-up-to level)."""


class SimulateInputError(Exception):
    """Bad input file: the message names the file, line and column."""


def _where(path: Path, line: int, column: str | None = None) -> str:
    return f"{path.name} line {line}" + (f", column {column}" if column else "")


def _open_rows(path: Path, required: tuple[str, ...]):
    try:
        f = open(path, newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise SimulateInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    with f:
        reader = csv.DictReader(f)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in required if c not in header]
        if missing:
            raise SimulateInputError(f"{_where(path, 1)} (header): missing column(s) "
                                     f"{', '.join(missing)}")
        reader.fieldnames = header
        rows = [({k: (v or "").strip() for k, v in row.items() if k}, reader.line_num)
                for row in reader]
    if not rows:
        raise SimulateInputError(f"{_where(path, 2)}: no data rows")
    return rows


def _number(text: str, path: Path, line: int, col: str, *, minimum: float | None = None,
            strict: bool = False, integer: bool = False) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SimulateInputError(f"{_where(path, line, col)}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise SimulateInputError(f"{_where(path, line, col)}: {text!r} is not a finite number")
    if integer and value != int(value):
        raise SimulateInputError(f"{_where(path, line, col)}: {text!r} is not a whole number")
    if minimum is not None and (value <= minimum if strict else value < minimum):
        rel = ">" if strict else ">="
        raise SimulateInputError(f"{_where(path, line, col)}: must be {rel} {minimum:g}, "
                                 f"got {text}")
    return value


def read_demand(path: Path) -> tuple[pd.DataFrame, dict[str, int]]:
    """Validated demand rows (``sku``, ``date``, ``quantity``) and each SKU's first line."""
    path = Path(path)
    seen: dict[tuple[str, date], int] = {}
    first_line: dict[str, int] = {}
    out = []
    for row, line in _open_rows(path, ("sku", "date", "quantity")):
        sku = row.get("sku", "")
        if not sku:
            raise SimulateInputError(f"{_where(path, line, 'sku')}: empty SKU")
        text = row.get("date", "")
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise SimulateInputError(f"{_where(path, line, 'date')}: {text!r} is not a date "
                                     "(use YYYY-MM-DD)") from None
        qty_text = row.get("quantity", "")
        if not qty_text:
            raise SimulateInputError(f"{_where(path, line, 'quantity')}: empty quantity")
        qty = _number(qty_text, path, line, "quantity")
        if qty < 0:
            raise SimulateInputError(f"{_where(path, line, 'quantity')}: negative quantity "
                                     f"{qty_text}")
        if (sku, day) in seen:
            raise SimulateInputError(f"{_where(path, line, 'sku, date')}: duplicate row for SKU "
                                     f"{sku} on {day} (first at line {seen[sku, day]})")
        seen[sku, day] = line
        first_line.setdefault(sku, line)
        out.append((sku, day, qty))
    frame = pd.DataFrame(out, columns=["sku", "date", "quantity"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame, first_line


_OPTIONAL = {  # column: (default when empty, minimum, strictly greater, whole number)
    "lead_time_std_days": (0.0, 0.0, False, False),
    "moq": (1.0, 1.0, False, True),
    "case_pack": (1.0, 1.0, False, True),
    "unit_cost": (0.0, 0.0, False, False),
    "price": (0.0, 0.0, False, False),
    "initial_on_hand": (math.nan, 0.0, False, False),
}


def read_items(path: Path) -> pd.DataFrame:
    """Validated items indexed by ``sku`` (columns of the module docstring)."""
    path = Path(path)
    rows, lines = [], {}
    for row, line in _open_rows(path, ("sku", "lead_time_days")):
        sku = row.get("sku", "")
        if not sku:
            raise SimulateInputError(f"{_where(path, line, 'sku')}: empty SKU")
        if sku in lines:
            raise SimulateInputError(f"{_where(path, line, 'sku')}: duplicate SKU {sku} "
                                     f"(first at line {lines[sku]})")
        lines[sku] = line
        lt = row.get("lead_time_days", "")
        if not lt:
            raise SimulateInputError(f"{_where(path, line, 'lead_time_days')}: missing lead "
                                     f"time for SKU {sku}")
        rec = {"sku": sku, "lead_time_days": _number(lt, path, line, "lead_time_days",
                                                     minimum=0.0, strict=True)}
        for col, (default, low, strict, whole) in _OPTIONAL.items():
            text = row.get(col, "")
            rec[col] = default if not text else _number(text, path, line, col, minimum=low,
                                                        strict=strict, integer=whole)
        rows.append(rec)
    return pd.DataFrame(rows).set_index("sku")


def _policy(args, scenario):
    from core.simulator import MinMaxPolicy, OraclePolicy, RestockPolicy, VelocityPolicy

    if args.policy == "restock":
        return RestockPolicy(service_level=args.service_level, kind=args.service_level_kind)
    if args.policy == "velocity":
        return VelocityPolicy(days_of_stock=args.days_of_stock)
    if args.policy == "minmax":
        return MinMaxPolicy()
    return OraclePolicy(scenario.demand)


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return _clean(value.item())
    return value


def _check_args(args) -> None:
    if not 0.0 < args.service_level < 1.0:
        raise SimulateInputError(f"--service-level must be between 0 and 1, got "
                                 f"{args.service_level}")
    if args.review_days < 1:
        raise SimulateInputError(f"--review-days must be >= 1, got {args.review_days}")
    if args.simulate_days < 1:
        raise SimulateInputError(f"--simulate-days must be >= 1, got {args.simulate_days}")
    if args.days_of_stock < 0:
        raise SimulateInputError(f"--days-of-stock must be >= 0, got {args.days_of_stock}")


def run(args) -> dict:
    """Read, validate, simulate; the JSON-ready result."""
    from core.simulator import scenario_from_frames, simulate

    _check_args(args)
    demand, first_line = read_demand(Path(args.demand))
    items = read_items(Path(args.items))
    missing = sorted(set(first_line) - set(items.index))
    if missing:
        shown = ", ".join(f"{s} ({Path(args.demand).name} line {first_line[s]})"
                          for s in missing[:20])
        more = f" and {len(missing) - 20} more" if len(missing) > 20 else ""
        raise SimulateInputError(f"{Path(args.items).name} column sku: no row for "
                                 f"{len(missing)} SKU(s) of {Path(args.demand).name} "
                                 f"(column sku): {shown}{more}")
    n_days = (demand["date"].max() - demand["date"].min()).days + 1
    if n_days <= args.simulate_days:
        raise SimulateInputError(f"{Path(args.demand).name} column date: the dates span "
                                 f"{n_days} days; --simulate-days {args.simulate_days} "
                                 "leaves no history (use fewer simulated days)")
    scenario = scenario_from_frames(demand, items, args.simulate_days)
    result = simulate(scenario, _policy(args, scenario), review_days=args.review_days,
                      seed=args.seed)
    skus = result.skus.reset_index()
    return {
        "settings": {"policy": args.policy, "service_level": args.service_level,
                     "service_level_kind": args.service_level_kind,
                     "review_days": args.review_days, "days_of_stock": args.days_of_stock,
                     "simulate_days": args.simulate_days, "seed": args.seed,
                     "first_day": str(scenario.days[scenario.t0].date()),
                     "last_day": str(scenario.days[-1].date())},
        "overall": {k: _clean(v) for k, v in result.overall.items()},
        "skus": [{k: _clean(row[k]) for k in SKU_FIELDS} for _, row in skus.iterrows()],
    }


def cmd_simulate(args) -> int:
    """Run the command; bad input prints ``restock: error: ...`` and returns 2."""
    try:
        out = run(args)
    except SimulateInputError as exc:
        print(f"restock: error: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(out, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
        o = out["overall"]
        print(f"{args.policy}: {o['skus']} SKUs over {o['days']} days, fill rate "
              f"{o['fill_rate']:.3f}, cycle service {o['cycle_service_level']:.3f}, "
              f"average stock value {o['avg_on_hand_value']:.2f}; wrote {args.out}")
    else:
        print(text)
    return 0


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``simulate`` subcommand to a ``add_subparsers()`` object."""
    sp = subparsers.add_parser("simulate", help="score a replenishment policy on known demand",
                               description=HELP)
    sp.add_argument("--demand", required=True, help="demand.csv: sku,date,quantity; missing "
                    "days are zero demand")
    sp.add_argument("--items", required=True, help="items.csv: sku,lead_time_days,"
                    "lead_time_std_days,moq,case_pack,unit_cost,price,initial_on_hand")
    sp.add_argument("--service-level", type=float, default=0.95,
                    help="restock's target (default 0.95): a fill rate unless "
                    "--service-level-kind cycle")
    sp.add_argument("--service-level-kind", choices=("fill", "cycle"), default="fill",
                    help="fill: units served / demanded (default); cycle: share of review "
                    "cycles without a stockout")
    sp.add_argument("--review-days", type=int, default=7, help="days between reviews")
    sp.add_argument("--policy", choices=POLICIES, default="restock",
                    help="restock (forecast + (R,S)), velocity (30-day sales x (L + R + N)), "
                    "minmax (90-day sales: min = a x L, max = min + a x R, checked daily), "
                    "oracle (perfect foresight)")
    sp.add_argument("--days-of-stock", type=float, default=0.0,
                    help="velocity: extra days of stock N (default 0)")
    sp.add_argument("--simulate-days", type=int, default=90,
                    help="simulate the last N days of demand.csv (default 90)")
    sp.add_argument("--seed", type=int, default=0, help="seed of the lead-time draws")
    sp.add_argument("--out", help="result JSON (default: print it)")
    sp.set_defaults(func=cmd_simulate)
    return sp


def main(argv: list[str] | None = None) -> int:
    """Run ``simulate`` on its own: ``python -m connector.cli_simulate simulate ...``."""
    parser = argparse.ArgumentParser(prog="restock")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
