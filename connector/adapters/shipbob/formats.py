"""Format checks for the ShipBob description's ``format`` keywords.

JSON Schema 2020-12 treats ``format`` as an annotation unless a checker is given. The
description uses ``date-time``, ``int32``, ``int64``, ``double``, ``uri``, ``uuid``, ``email``,
``byte``, ``tel`` and ``postal-code``; the first five that can be checked without guessing are:

* ``date-time``: RFC 3339 ``YYYY-MM-DDThh:mm:ss[.frac](Z|+hh:mm)``, the offset required.
* ``int32`` / ``int64``: within range; a string (query and path parameters are declared as
  ``type: string, format: int32``) must be decimal digits within range.
* ``uri``: has a scheme. ``uuid``: parses as a UUID.
"""
from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

from jsonschema import FormatChecker

__all__ = ["format_checker"]

_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def format_checker() -> FormatChecker:
    """A fresh checker for the formats listed in the module docstring."""
    checker = FormatChecker(formats=())

    @checker.checks("date-time")
    def _date_time(value: object) -> bool:
        return not isinstance(value, str) or bool(_DATE_TIME.match(value))

    def _int_format(name: str):
        low, high = _INT_RANGES[name]

        def check(value: object) -> bool:
            if isinstance(value, bool):
                return True
            if isinstance(value, str):
                if not re.fullmatch(r"[+-]?\d+", value.strip()):
                    return False
                value = int(value)
            return not isinstance(value, int) or low <= value <= high
        return check

    for name in _INT_RANGES:
        checker.checks(name)(_int_format(name))

    @checker.checks("uri")
    def _uri(value: object) -> bool:
        return not isinstance(value, str) or bool(urlsplit(value).scheme)

    @checker.checks("uuid", raises=ValueError)
    def _uuid(value: object) -> bool:
        return not isinstance(value, str) or bool(uuid.UUID(value))

    return checker
