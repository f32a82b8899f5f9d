"""``restock clv``: fit BG/NBD + Gamma-Gamma to a transaction file and check a holdout.

::

    restock clv --transactions tx.csv --calibration-end YYYY-MM-DD [--out result.json]

``tx.csv`` has the columns ``customer_id, date, amount`` (other columns are ignored); ``date``
is ``YYYY-MM-DD`` (an ISO date and time is cut to its day), ``amount`` a number >= 0.
Transactions up to and including the calibration end fit the models (time in weeks,
purchases of a customer on the same day merged, see :mod:`core.clv.data`); everything after
it is the holdout, whose actual repeat purchases are compared with the BG/NBD expectation
``sum_i E[Y(t) | x_i, t_x_i, T_i]`` over its length ``t`` (calibration end to the last
date in the file). The result JSON::

    {"bgnbd": {"r", "alpha", "a", "b", "log_likelihood", "converged"},
     "gamma_gamma": {"p", "q", "v", "customers", "frequency_monetary_correlation"},
     "holdout": {"expected_repeat_purchases", "actual_repeat_purchases", "weeks", "end"},
     "customers": N, "repeat_customers": N, "calibration_end": "YYYY-MM-DD"}

A missing column, a bad date or amount (file, line and column named), no customer before
the calibration end or no repeat customer print ``restock: error: ...`` and exit 2.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import date, datetime
from pathlib import Path

__all__ = ["register", "run_clv"]

COLUMNS = ("customer_id", "date", "amount")


class ClvCliError(Exception):
    """An error to print as ``restock: error: ...`` with exit status 2."""


def _read_transactions(path: Path):
    import pandas as pd

    from connector.adapters.csv_errors import read_rows

    _, rows = read_rows(path, required=COLUMNS)
    ids, days, amounts = [], [], []
    for row in rows:
        ids.append(row.text("customer_id", required=True, what="a customer id"))
        raw = row.text("date", required=True, what="a date like 2026-03-14")
        try:
            day = (date.fromisoformat(raw) if len(raw) == 10
                   else datetime.fromisoformat(raw).date())
        except ValueError:
            raise row.error("date", f"'{raw}' is not a date; expected YYYY-MM-DD") from None
        days.append(day)
        amounts.append(row.number("amount", required=True, minimum=0.0,
                                  what="an amount >= 0"))
    if not ids:
        raise ClvCliError(f"{path.name}: no transactions after the header")
    return pd.DataFrame({"customer_id": ids, "date": pd.to_datetime(days),
                         "amount": amounts})


def _number(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def run_clv(transactions: str | Path, calibration_end: date) -> dict:
    """Fit the models on ``transactions`` up to ``calibration_end``; return the result dict.

    Raises:
        CsvImportError: a missing column or a bad cell.
        ClvCliError: no customer before the calibration end, or no repeat customer.
    """
    from core.clv.data import holdout_weeks, summarize
    from core.clv.value import fit_models

    path = Path(transactions)
    tx = _read_transactions(path)
    summary = summarize(tx, calibration_end)
    if summary.empty:
        raise ClvCliError(f"{path.name}: no customer bought on or before the calibration end "
                          f"{calibration_end.isoformat()} (first date in the file: "
                          f"{tx['date'].min().date().isoformat()})")
    repeat = summary[summary["x"] > 0]
    if repeat.empty:
        raise ClvCliError(f"{path.name}: none of the {len(summary)} customers made a repeat "
                          f"purchase (on a later day) by {calibration_end.isoformat()}; the "
                          "models need repeat customers: choose a later --calibration-end")
    if not (repeat["monetary"] > 0).any():
        raise ClvCliError(f"{path.name}: every repeat purchase has amount 0; the spend model "
                          "needs amounts")
    fit = fit_models(summary)
    last = tx["date"].max().date()
    weeks = max(holdout_weeks(calibration_end, last), 0.0)
    bg, gg = fit.models.bgnbd, fit.gamma_gamma
    expected = float(bg.expected_purchases(weeks, summary["x"].to_numpy(float),
                                           summary["t_x"].to_numpy(float),
                                           summary["T"].to_numpy(float)).sum())
    return {
        "bgnbd": {**bg.as_dict(), "log_likelihood": fit.bgnbd.log_likelihood,
                  "converged": fit.bgnbd.converged},
        "gamma_gamma": {**gg.model.as_dict(), "customers": gg.n_customers,
                        "frequency_monetary_correlation": _number(gg.correlation)},
        "holdout": {"expected_repeat_purchases": expected,
                    "actual_repeat_purchases": int(summary["holdout"].sum()),
                    "weeks": weeks, "end": max(last, calibration_end).isoformat()},
        "customers": int(len(summary)),
        "repeat_customers": int(len(repeat)),
        "calibration_end": calibration_end.isoformat(),
    }


def cmd_clv(args) -> int:
    """Run ``restock clv``; errors print ``restock: error: ...`` and return 2."""
    from connector.adapters.csv_errors import CsvImportError

    try:
        try:
            end = date.fromisoformat(args.calibration_end)
        except ValueError:
            raise ClvCliError(f"--calibration-end {args.calibration_end!r} is not a date: use "
                              "YYYY-MM-DD") from None
        result = run_clv(args.transactions, end)
        text = json.dumps(result, indent=2)
        if args.out:
            Path(args.out).write_text(text + "\n", encoding="utf-8")
        else:
            print(text)
    except (ClvCliError, CsvImportError, ValueError, OSError) as exc:
        print(f"restock: error: {exc}", file=sys.stderr)
        return 2
    bg, hold = result["bgnbd"], result["holdout"]
    print(f"BG/NBD on {result['customers']} customers ({result['repeat_customers']} repeat): "
          f"r={bg['r']:.4g} alpha={bg['alpha']:.4g} a={bg['a']:.4g} b={bg['b']:.4g} "
          f"LL={bg['log_likelihood']:.1f}; holdout {hold['weeks']:.1f} weeks: expected "
          f"{hold['expected_repeat_purchases']:.1f} repeat purchases, actual "
          f"{hold['actual_repeat_purchases']}" + (f"; wrote {args.out}" if args.out else ""),
          file=sys.stderr if not args.out else sys.stdout)
    return 0


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``clv`` subcommand to an ``add_subparsers()`` object."""
    sp = subparsers.add_parser(
        "clv", help="customer lifetime value models (BG/NBD + Gamma-Gamma) from transactions",
        description=__doc__.split("\n\n")[0])
    sp.add_argument("--transactions", required=True,
                    help="tx.csv with the columns customer_id, date (YYYY-MM-DD), amount")
    sp.add_argument("--calibration-end", required=True,
                    help="last day of the calibration period, YYYY-MM-DD; later "
                         "transactions are the holdout")
    sp.add_argument("--out", help="result JSON (default: print it)")
    sp.set_defaults(func=cmd_clv)
    return sp


def main(argv: list[str] | None = None) -> int:
    """Run ``clv`` on its own: ``python -m connector.cli_clv clv ...``."""
    parser = argparse.ArgumentParser(prog="restock")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
