"""Request plumbing shared by the blueprints: the per-request session, shop and plan-run
lookup, query-parameter validation and links that keep the chosen shop."""
from __future__ import annotations

import math
from dataclasses import dataclass

from flask import abort, current_app, g, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.reports import latest_run
from core.shops import UnknownShopError, resolve_shop
from core.storage import PlanLine, PlanRun, Shop

__all__ = ["db", "close_session", "ShopChoiceNeeded", "current_shop", "current_run",
           "shop_url", "flag_arg", "int_arg", "choice_arg", "RunSummary", "run_summary", "finite"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def db() -> Session:
    """The request's database session, opened on first use."""
    if "restock_session" not in g:
        g.restock_session = current_app.extensions["restock"].sessions()
    return g.restock_session


def close_session(_exc: BaseException | None = None) -> None:
    """Roll back whatever was not committed and close the request's session."""
    session = g.pop("restock_session", None)
    if session is not None:
        try:
            session.rollback()
        finally:
            session.close()


class ShopChoiceNeeded(Exception):
    """No shop was named and there is not exactly one: the app shows the list of shops."""

    def __init__(self, shops: list[str], message: str):
        super().__init__(message)
        self.shops = shops
        self.message = message


def current_shop() -> Shop:
    """The shop named by ``?shop=NAME`` (or a form field ``shop``), else the only shop.

    Raises:
        ShopChoiceNeeded: no name given and zero or several shops exist.
        werkzeug.exceptions.NotFound: the named shop does not exist.
    """
    if "restock_shop" in g:
        return g.restock_shop
    name = request.args.get("shop") or request.form.get("shop") or None
    try:
        shop = resolve_shop(db(), name)
    except UnknownShopError as exc:
        if name is None:
            names = list(db().scalars(select(Shop.name).order_by(Shop.name)))
            raise ShopChoiceNeeded(names, "Pick a shop." if names else
                                   "There is no shop in the database yet: load one first "
                                   "(restock demo, or restock import shopify-csv).") from None
        abort(404, description=str(exc))
    g.restock_shop = shop
    g.restock_shop_param = name
    return shop


def current_run(shop: Shop) -> PlanRun | None:
    """The shop's latest finished plan run (cached for the request)."""
    if "restock_run" not in g:
        g.restock_run = latest_run(db(), shop)
    return g.restock_run


def shop_url(endpoint: str, **values) -> str:
    """``url_for`` that keeps ``?shop=NAME`` when the request named its shop, and the
    embedded app's parameters (``id_token``, ``host``) when the request came with them
    (see :mod:`connector.web.auth`)."""
    name = g.get("restock_shop_param")
    if name and "shop" not in values:
        values["shop"] = name
    for key, value in (g.get("restock_link_params") or {}).items():
        values.setdefault(key, value)
    return url_for(endpoint, **values)


def flag_arg(name: str, default: bool = False) -> bool:
    """A yes/no query parameter (1/0, true/false, yes/no, on/off); anything else is a 400."""
    raw = request.args.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    abort(400, description=f"query parameter {name}={raw!r} must be 1 or 0 (yes or no)")


def int_arg(name: str, default: int, lo: int, hi: int) -> int:
    """A whole-number query parameter between ``lo`` and ``hi``; anything else is a 400."""
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        abort(400, description=f"query parameter {name}={raw!r} is not a whole number")
    if not lo <= value <= hi:
        abort(400, description=f"query parameter {name}={value} must be between {lo} and {hi}")
    return value


def choice_arg(name: str, choices) -> str | None:
    """A query parameter that must be one of ``choices`` when given; else a 400."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if raw not in choices:
        abort(400, description=f"query parameter {name}={raw!r} must be one of "
                               f"{', '.join(choices)}")
    return raw


@dataclass
class RunSummary:
    """What the page header says about the plan run."""

    run: PlanRun | None
    n_skus: int = 0
    n_lines: int = 0

    @property
    def seconds(self) -> float | None:
        if self.run is None or self.run.finished_at is None or self.run.started_at is None:
            return None
        return max((self.run.finished_at - self.run.started_at).total_seconds(), 0.0)


def run_summary(run: PlanRun | None) -> RunSummary:
    """Counts of SKUs and SKU x location lines of ``run`` for the header."""
    if run is None:
        return RunSummary(run=None)
    n_skus, n_lines = db().execute(
        select(func.count(func.distinct(PlanLine.sku)), func.count(PlanLine.id))
        .where(PlanLine.plan_run_id == run.id)).one()
    return RunSummary(run=run, n_skus=int(n_skus), n_lines=int(n_lines))


def finite(value) -> float | None:
    """``value`` as a float, or None when missing or not finite."""
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None
