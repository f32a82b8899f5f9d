"""Jinja filters that format plan numbers for people: units, money, ratios and dates."""
from __future__ import annotations

import math
from datetime import date, datetime, timezone

from flask import Flask

__all__ = ["qty", "num", "money", "pct", "signed_pct", "when", "register_filters"]

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "AUD": "A$", "CAD": "C$",
            "NZD": "NZ$", "CHF": "CHF ", "SEK": "kr ", "NOK": "kr ", "DKK": "kr "}
DASH = "–"


def _value(v) -> float | None:
    if v is None:
        return None
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def qty(v, digits: int = 1) -> str:
    """Units: thousands separators, at most ``digits`` decimals, no trailing ``.0``."""
    x = _value(v)
    if x is None:
        return DASH
    x = round(x, digits)
    if x == int(x):
        return f"{int(x):,}"
    return f"{x:,.{digits}f}".rstrip("0").rstrip(".")


def num(v, digits: int = 2) -> str:
    """A plain number with exactly ``digits`` decimals."""
    x = _value(v)
    return DASH if x is None else f"{x:,.{digits}f}"


def money(v, currency: str | None = "USD") -> str:
    """An amount with the currency's symbol (or code) and two decimals."""
    x = _value(v)
    if x is None:
        return DASH
    code = (currency or "USD").upper()
    sign = "−" if x < 0 else ""
    symbol = _SYMBOLS.get(code)
    body = f"{abs(x):,.2f}"
    return f"{sign}{symbol}{body}" if symbol else f"{sign}{body} {code}"


def pct(v, digits: int = 1) -> str:
    """A ratio as a percentage: 0.342 -> ``34.2%``."""
    x = _value(v)
    return DASH if x is None else f"{x * 100:,.{digits}f}%"


def signed_pct(v, digits: int = 1) -> str:
    """A ratio as a signed percentage: -0.012 -> ``−1.2%``, 0.05 -> ``+5.0%``."""
    x = _value(v)
    if x is None:
        return DASH
    text = f"{abs(x) * 100:,.{digits}f}%"
    return ("+" if x > 0 else "−" if x < 0 else "±") + text


def when(v) -> str:
    """A timestamp as ``YYYY-MM-DD HH:MM UTC`` (naive values are UTC); a date as ISO."""
    if v is None:
        return DASH
    if isinstance(v, datetime):
        v = v if v.tzinfo else v.replace(tzinfo=timezone.utc)
        return v.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


def register_filters(app: Flask) -> None:
    """Make the filters available to every template."""
    for f in (qty, num, money, pct, signed_pct, when):
        app.jinja_env.filters[f.__name__] = f
