"""The ``restock`` command. ``DATABASE_URL`` picks the database for every subcommand."""
from __future__ import annotations

import argparse
import logging
import sys
import time
from datetime import date
from pathlib import Path

__all__ = ["main", "build_parser"]

log = logging.getLogger("restock")


class CliError(Exception):
    """An error to print as ``restock: error: ...`` with exit status 2."""


def _context(args, env: str | None = None):
    from .config import Settings
    from .context import build_context

    return build_context(Settings.from_env(env=env))


def cmd_db_upgrade(args) -> int:
    from core.storage import current_revision

    ctx = _context(args)
    print(f"database at revision {current_revision(ctx.engine)}")
    return 0


def _parse_day(text: str | None, flag: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CliError(f"{flag} {text!r} is not a date: use YYYY-MM-DD") from None


def _write_plan(session, shop, run, out: Path) -> None:
    from core.reports import order_list, purchase_order_table

    out.mkdir(parents=True, exist_ok=True)
    order_list(session, run).to_csv(out / "order_list.csv", index=False)
    purchase_order_table(session, shop, ["draft"]).to_csv(out / "purchase_orders.csv",
                                                           index=False)


def cmd_plan(args) -> int:
    from core.plan import PlanSettings, run_plan
    from core.shops import resolve_shop
    from core.storage import session_scope

    ctx = _context(args)
    with session_scope(ctx.sessions) as s:
        shop = resolve_shop(s, args.shop)
        settings = PlanSettings.from_shop(shop, service_level=args.service_level,
                                          review_days=args.review_days,
                                          safety_stock_method=args.safety_stock,
                                          service_level_kind=args.service_level_kind)
        t0 = time.perf_counter()
        engine = _engine(ctx)
        run = run_plan(s, shop, settings, cutoff=_parse_day(args.cutoff, "--cutoff"),
                       engine=engine)
        took = time.perf_counter() - t0
        if args.out:
            _write_plan(s, shop, run, Path(args.out))
        print(f"plan run {run.id} for shop {shop.name}: {run.n_series} SKU x location lines, "
              f"data up to {run.data_cutoff}, holdout MASE {_fmt(run.mase)} WAPE {_fmt(run.wape)} "
              f"bias {_fmt(run.bias)}, {took:.1f} s")
        if args.out:
            print(f"wrote {Path(args.out) / 'order_list.csv'} and "
                  f"{Path(args.out) / 'purchase_orders.csv'}")
    return 0


def _engine(ctx):
    from core.engines import engine_from_url

    try:
        return engine_from_url(ctx.settings.forecast_engine)
    except ImportError:
        raise CliError("RESTOCK_FORECAST_ENGINE asks for Dask, which is not installed: "
                       "pip install 'restock[dask]'") from None
    except ValueError as exc:
        raise CliError(f"RESTOCK_FORECAST_ENGINE: {exc}") from None


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def cmd_import_shopify_csv(args) -> int:
    from connector.adapters.shopify_csv import ImportReport, read_exports
    from core.ingest import load_records
    from core.shops import get_or_create_shop
    from core.storage import session_scope

    records = read_exports(args.orders, args.inventory, args.suppliers, report=ImportReport())
    ctx = _context(args)
    with session_scope(ctx.sessions) as s:
        shop = get_or_create_shop(s, args.shop)
        counts = load_records(s, shop.id, records)
    print(f"imported into shop {args.shop}: " + ", ".join(f"{v} {k}" for k, v in counts.items()
                                                         if v))
    return 0


def cmd_demo(args) -> int:
    from connector.jobs.cycle import run_cycle
    from core.storage import session_scope
    from sandbox.load import load_sandbox

    knobs = dict(seed=args.seed, n_skus=args.skus, n_customers=args.customers,
                 n_days=args.days, n_locations=args.locations)
    ctx = _context(args, env="demo")
    t0 = time.perf_counter()
    if args.direct:
        with session_scope(ctx.sessions) as s:
            shop, counts = load_sandbox(s, args.shop, **knobs)
            name = shop.name
        print(f"sandbox shop {name!r} loaded directly in {time.perf_counter() - t0:.1f} s")
    else:
        from connector.demo import load_demo_shop

        name = args.shop
        load_demo_shop(ctx.sessions, name, **knobs)
    t1 = time.perf_counter()
    print("nightly cycle (customers, plan, LTV decisions, KPIs, reminders):")
    run_cycle(ctx.sessions, name, kpi_days=args.kpi_days, engine=_engine(ctx), echo=print)
    print(f"cycle done in {time.perf_counter() - t1:.1f} s")
    if args.no_serve:
        return 0
    return _serve(ctx, args.host, args.port)


def cmd_cycle(args) -> int:
    from connector.jobs.cycle import run_cycle

    ctx = _context(args)
    run_cycle(ctx.sessions, args.shop, kpi_days=args.kpi_days, engine=_engine(ctx), echo=print)
    return 0


def _serve(ctx, host: str, port: int) -> int:
    from .app import create_app
    from .server import serve_app  # waitress; one process per core on PostgreSQL

    app = create_app(context=ctx)
    print(f"restock is serving on http://{host}:{port}/  (Ctrl+C stops it)", flush=True)
    return serve_app(app, ctx.engine, host, port)


def cmd_serve(args) -> int:
    return _serve(_context(args), args.host, args.port)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="restock", description="Inventory planning for Shopify "
                                "merchants. DATABASE_URL picks the database (default: "
                                "SQLite at ./var/restock.db).")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress")
    sub = p.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db_cmd", required=True)
    db.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)

    imp = sub.add_parser("import", help="import data").add_subparsers(dest="imp", required=True)
    sc = imp.add_parser("shopify-csv", help="Shopify admin exports (orders, inventory) and "
                        "suppliers.csv")
    sc.add_argument("--orders", required=True, help="orders_export.csv from Shopify admin")
    sc.add_argument("--inventory", help="inventory_export.csv from Shopify admin")
    sc.add_argument("--suppliers", help="suppliers.csv (sku, supplier, lead_time_days, ...)")
    sc.add_argument("--shop", default="default", help="shop name to import into")
    sc.set_defaults(func=cmd_import_shopify_csv)

    pl = sub.add_parser("plan", help="forecast and compute the order lists")
    pl.add_argument("--shop", help="shop name (may be left out when there is only one)")
    pl.add_argument("--out", help="folder for order_list.csv and purchase_orders.csv")
    pl.add_argument("--cutoff", help="last day of data to use, YYYY-MM-DD (default: last order)")
    pl.add_argument("--service-level", type=float, help="cycle service level, e.g. 0.95")
    pl.add_argument("--review-days", type=float, help="days between order reviews (default 7)")
    pl.add_argument("--service-level-kind", choices=["cycle", "fill"],
                    help="the service level is a cycle service level (default) or a fill rate")
    pl.add_argument("--safety-stock", choices=["normal", "empirical"],
                    help="safety stock from the normal approximation (default) or from the "
                         "empirical lead-time demand distribution of forecast errors")
    pl.set_defaults(func=cmd_plan)

    for name, helptext in (("demo", "build the sandbox shop, load it, plan and serve"),
                           ("serve", "serve the web app")):
        sp = sub.add_parser(name, help=helptext)
        sp.add_argument("--host", default="127.0.0.1")
        sp.add_argument("--port", type=int, default=8000)
        if name == "demo":
            sp.add_argument("--no-serve", action="store_true", help="stop after planning")
            sp.add_argument("--shop", default="sandbox.myshopify.com",
                            help="the sandbox shop's domain")
            sp.add_argument("--direct", action="store_true",
                            help="load the sandbox straight into storage instead of syncing "
                                 "it through the Shopify fake")
            sp.add_argument("--seed", type=int, default=7)
            sp.add_argument("--skus", type=int, default=150)
            sp.add_argument("--customers", type=int, default=3000)
            sp.add_argument("--days", type=int, default=730)
            sp.add_argument("--locations", type=int, default=2)
            sp.add_argument("--kpi-days", type=int, default=30,
                            help="trailing days of KPI snapshots to compute")
            sp.set_defaults(func=cmd_demo)
        else:
            sp.set_defaults(func=cmd_serve)
    cy = sub.add_parser("cycle", help="the nightly cycle now: customers, plan, LTV decisions, "
                        "KPIs, reminders")
    cy.add_argument("--shop", help="shop name (may be left out when there is only one)")
    cy.add_argument("--kpi-days", type=int, default=1, help="days of KPI snapshots (default 1)")
    cy.set_defaults(func=cmd_cycle)

    shopify = None
    for module in _extensions():
        if module.__name__.endswith("cli_pushback"):
            module.register(sub, shopify)  # adds `shopify push` beside `shopify sync`
        elif module.__name__.endswith("cli_shopify"):
            shopify = module.register(sub)
        else:
            module.register(sub)
    return p


def _extensions():
    """Subcommand modules, each with ``register(subparsers)``."""
    from . import (cli_api, cli_clv, cli_customers, cli_erp, cli_ops, cli_po, cli_pushback,
                   cli_scheduler, cli_shopify, cli_simulate, cli_user, cli_wms)

    return [cli_api, cli_clv, cli_customers, cli_erp, cli_ops, cli_po, cli_scheduler,
            cli_shopify, cli_pushback, cli_simulate, cli_user, cli_wms]


def main(argv: list[str] | None = None) -> int:
    from connector.adapters.csv_errors import CsvImportError
    from connector.config import ConfigError
    from core.records import RecordsError
    from core.shops import UnknownShopError

    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="restock: %(levelname)s: %(message)s")
    try:
        return args.func(args)
    except (CliError, ConfigError, CsvImportError, RecordsError, UnknownShopError,
            FileNotFoundError) as exc:
        print(f"restock: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
