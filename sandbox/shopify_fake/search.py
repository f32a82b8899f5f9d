"""Shopify search syntax, sort keys and cursor pagination for the fake's connections.

Supported ``query:`` syntax: space-separated terms (``AND`` between them is allowed and
ignored), each ``field:value`` or ``field:<op>value`` with ``op`` one of ``> >= < <=``; values
may be quoted with ``'`` or ``"``. Fields that the resource does not know are ignored, as
Shopify does. ``OR``, ``NOT`` and ``-field`` are not supported (an error says so).

Cursors are opaque base64 of ``{"last_id", "last_value"}`` as Shopify's are, so a page cursor
stays valid when objects are added or changed; sorting is by ``(sort value, id)``.
"""
from __future__ import annotations

import base64
import bisect
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

from graphql import GraphQLError

__all__ = ["Term", "parse_search", "parse_time", "to_micros", "Paginator", "connection",
           "encode_cursor", "decode_cursor", "MAX_PAGE"]

MAX_PAGE = 250
_TERM = re.compile(r"""\s*(?:(?P<field>[A-Za-z_][\w.]*):(?P<op>>=|<=|>|<|=)?"""
                   r"""(?:'(?P<sq>[^']*)'|"(?P<dq>[^"]*)"|(?P<bare>\S+))|(?P<word>\S+))""")


@dataclass(frozen=True)
class Term:
    """One ``field:<op>value`` search term."""

    field: str
    op: str  # ":" (equals), ">", ">=", "<", "<="
    value: str


def parse_search(text: str | None) -> list[Term]:
    """Parse a Shopify search string into terms.

    Raises:
        GraphQLError: ``OR``/``NOT`` or a negated term (not supported by the fake).
    """
    terms: list[Term] = []
    for m in _TERM.finditer(text or ""):
        word = m.group("word")
        if word is not None:
            if word.upper() == "AND":
                continue
            raise GraphQLError(f"the Shopify fake does not support {word!r} in query: "
                               "use field:value terms joined by spaces")
        value = next(v for v in (m.group("sq"), m.group("dq"), m.group("bare")) if v is not None)
        terms.append(Term(m.group("field").lower(), m.group("op") or ":", value))
    return terms


def parse_time(text: str) -> datetime:
    """ISO date or date-time; naive values are UTC.

    Raises:
        GraphQLError: not a date.
    """
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise GraphQLError(f"invalid date in query: {text!r}") from None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def to_micros(value: datetime) -> int:
    """Microseconds since the epoch (sort and cursor value of a timestamp)."""
    return int(round(value.timestamp() * 1_000_000))


def encode_cursor(last_id: int, last_value: Any) -> str:
    raw = json.dumps({"last_id": last_id, "last_value": last_value}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Any, int]:
    """``(last_value, last_id)`` of a cursor.

    Raises:
        GraphQLError: the cursor is not one the fake issued.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        return data["last_value"], int(data["last_id"])
    except (ValueError, KeyError, TypeError):
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor!r}") from None


class Paginator:
    """Sorted view of one resource for one sort key, with range search by the sort value.

    Args:
        items: The objects.
        key: Sort value of an object (int, str or bool; timestamps as :func:`to_micros`).
        ident: Id of an object (breaks ties).
    """

    def __init__(self, items: Sequence, key: Callable[[Any], Any],
                 ident: Callable[[Any], int]) -> None:
        pairs = sorted(((key(o), ident(o)), i) for i, o in enumerate(items))
        self.keys = [k for k, _ in pairs]
        self.items = [items[i] for _, i in pairs]

    def span(self, low: tuple | None, high: tuple | None) -> tuple[int, int]:
        """Index range of keys within ``low`` / ``high`` bounds ``(value, inclusive)``."""
        start, stop = 0, len(self.keys)
        if low is not None:
            value, inclusive = low
            start = bisect.bisect_left(self.keys, (value, -1)) if inclusive else \
                bisect.bisect_right(self.keys, (value, float("inf")))
        if high is not None:
            value, inclusive = high
            stop = bisect.bisect_right(self.keys, (value, float("inf"))) if inclusive else \
                bisect.bisect_left(self.keys, (value, -1))
        return start, max(start, stop)


def connection(view: Paginator, span: tuple[int, int], keep: Callable[[Any], bool],
               to_node: Callable[[Any], dict], *, first: int | None = None,
               after: str | None = None, last: int | None = None,
               before: str | None = None, reverse: bool = False,
               unlimited: bool = False) -> dict:
    """A Relay connection (``edges``, ``nodes``, ``pageInfo``) over ``view[span]``.

    Args:
        view: The sorted objects.
        span: Index range already narrowed by the search's bounds on the sort key.
        keep: Predicate for the other search terms.
        to_node: Turns an object into its GraphQL node.
        first, after, last, before, reverse: The connection arguments.
        unlimited: Bulk operations: no page size needed, return everything.

    Raises:
        GraphQLError: neither ``first`` nor ``last`` (outside bulk), or a page over 250.
    """
    if not unlimited:
        if first is None and last is None:
            raise GraphQLError("you must provide one of first or last")
        for size in (first, last):
            if size is not None and not 0 <= size <= MAX_PAGE:
                raise GraphQLError(f"The page size must be between 0 and {MAX_PAGE}")
    start, stop = span
    if after is not None:
        value, ident = decode_cursor(after)
        pos = bisect.bisect_right(view.keys, (value, ident), start, stop) if not reverse \
            else bisect.bisect_left(view.keys, (value, ident), start, stop)
        start, stop = (pos, stop) if not reverse else (start, pos)
    if before is not None:
        value, ident = decode_cursor(before)
        pos = bisect.bisect_left(view.keys, (value, ident), start, stop) if not reverse \
            else bisect.bisect_right(view.keys, (value, ident), start, stop)
        start, stop = (start, pos) if not reverse else (pos, stop)
    order = range(start, stop) if not reverse else range(stop - 1, start - 1, -1)
    chosen: list[int] = []
    more_after = more_before = False
    if last is not None and first is None:
        matches = [i for i in order if keep(view.items[i])]
        chosen = matches[-last:] if last else []
        more_before = len(matches) > len(chosen)
    else:
        for i in order:
            if keep(view.items[i]):
                if first is not None and len(chosen) >= first:
                    more_after = True
                    break
                chosen.append(i)
        if last is not None and len(chosen) > last:
            chosen, more_before = chosen[-last:], True
    nodes = [to_node(view.items[i]) for i in chosen]
    edges = [{"cursor": _lazy_cursor(view.keys[i]), "node": n} for i, n in zip(chosen, nodes)]
    return {
        "edges": edges,
        "nodes": nodes,
        "pageInfo": {
            "hasNextPage": more_after,
            "hasPreviousPage": more_before or (after is not None and bool(edges)),
            "startCursor": encode_cursor(view.keys[chosen[0]][1], view.keys[chosen[0]][0])
            if chosen else None,
            "endCursor": encode_cursor(view.keys[chosen[-1]][1], view.keys[chosen[-1]][0])
            if chosen else None,
        },
    }


def _lazy_cursor(key: tuple) -> Callable:
    """An edge's cursor, encoded only when selected."""
    return lambda info, **_: encode_cursor(key[1], key[0])
