"""Streamed reading of a bulk operation's JSONL result, in batches of parent objects.

A bulk query's result is one JSON object per line; the nodes of a nested connection are
lines of their own carrying ``__parentId``. The sync asks for grouped output
(``bulkOperationRunQuery(groupObjects: true)``), for which Shopify writes every child
directly below its parent (Admin API 2026-01 and later group only when asked:
``groupObjects`` defaults to false, and an ungrouped file gives no order at all). That
order is what lets a file of any size be read with memory bounded by one batch:

* :func:`download` streams the file from its signed URL into a temporary file (no copy of
  it is ever held in memory);
* :func:`parse_lines` reads a binary file object line by line (``orjson``), numbering the
  lines so that an error names the line to look at;
* :func:`grouped_batches` puts each child into its parent's connection field as
  ``{"nodes": [...]}`` (the shape of a paged query, so one transform reads both) and yields
  the parents ``size`` at a time. A batch is handed out when the first parent of the next
  one arrives: by then every child of the batch has been read.

A child that does not belong to the parent line before it (a child before any parent, or
one whose parent came earlier in the file) means the file is not grouped; it is an error
naming its line, never silently loaded without its parent.
"""
from __future__ import annotations

import gc
import logging
import tempfile
from contextlib import contextmanager
from typing import BinaryIO, Callable, Iterable, Iterator

import orjson
import requests

from .streams import gid_type

__all__ = ["BulkFileError", "download", "parse_lines", "grouped_batches", "read_batches",
           "batch_gc"]

log = logging.getLogger(__name__)
_CHUNK = 1 << 20


class BulkFileError(ValueError):
    """A bulk result file that cannot be had or read: download failed, bad JSON, or
    children out of place."""


def download(session: requests.Session, url: str, *, timeout: float, max_retries: int,
             backoff: tuple[float, float], sleep: Callable[[float], None]) -> BinaryIO:
    """Stream the result file (a signed URL: no token is sent) into a temporary file.

    5xx, 429, timeouts and broken transfers are retried from the start, waiting
    ``min(cap, base * 2**attempt)`` (``backoff = (base, cap)``) between tries.

    Returns:
        The file, rewound and open for reading; it is deleted when closed.

    Raises:
        BulkFileError: Another HTTP status, or still failing after ``max_retries`` retries.
    """
    attempt = 0
    while True:
        out = tempfile.TemporaryFile(prefix="restock-bulk-")
        try:
            with session.get(url, timeout=timeout, stream=True) as resp:
                if resp.status_code == 200:
                    for chunk in resp.iter_content(_CHUNK):
                        out.write(chunk)
                    out.seek(0)
                    return out
                problem = f"HTTP {resp.status_code}"
                if resp.status_code < 500 and resp.status_code != 429:
                    raise BulkFileError(f"bulk result download failed: {problem}")
        except (requests.Timeout, requests.ConnectionError,
                requests.exceptions.ChunkedEncodingError) as exc:
            problem = f"{type(exc).__name__}: {exc}"
        except BaseException:
            out.close()
            raise
        out.close()
        if attempt >= max_retries:
            raise BulkFileError(f"bulk result download failed: {problem}")
        log.warning("bulk result download: %s; retry %d", problem, attempt + 1)
        sleep(min(backoff[1], backoff[0] * 2 ** attempt))
        attempt += 1


def parse_lines(lines: Iterable[bytes]) -> Iterator[tuple[int, dict]]:
    """``(line number, object)`` for every non-blank line of a JSONL stream.

    Args:
        lines: Raw lines, e.g. a file opened in binary mode (``open(path, "rb")``).

    Raises:
        BulkFileError: A line is not JSON, or is JSON but not an object; the message gives
            the line number (counted from 1, blank lines included).
    """
    loads, decode_error = orjson.loads, orjson.JSONDecodeError
    for number, raw in enumerate(lines, start=1):
        try:
            obj = loads(raw)
        except decode_error as exc:
            if not raw.strip():
                continue
            raise BulkFileError(f"bulk result line {number} is not JSON ({exc}): "
                                f"{_excerpt(raw)}") from None
        if type(obj) is not dict:
            raise BulkFileError(f"bulk result line {number} is not a JSON object: "
                                f"{_excerpt(raw)}")
        yield number, obj


def grouped_batches(lines: Iterable[tuple[int, dict]], children: dict[str, str],
                    size: int) -> Iterator[list[dict]]:
    """Parents with their children nested, ``size`` parents at a time, in file order.

    Args:
        lines: ``(line number, object)`` pairs, as :func:`parse_lines` gives.
        children: GID type of a child line -> the parent's connection field it goes into
            (:attr:`.streams.Stream.children`). Every parent gets every field, empty when
            it has no children.
        size: Parents per batch (at least 1).

    Raises:
        BulkFileError: A child line before any parent, a child whose parent is not the
            parent line above it, or a child of a type not in ``children``.
    """
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"batch size must be a whole number >= 1, not {size!r}")
    fields = tuple(children.values())
    field_of: dict[str, str | None] = {}  # "gid://shopify/LineItem" -> "lineItems"
    batch: list[dict] = []
    parent: dict | None = None
    parent_id = None
    for number, obj in lines:
        ref = obj.pop("__parentId", None)
        if ref is None:
            if len(batch) == size:
                yield batch
                batch = []
            for name in fields:
                if name not in obj:
                    obj[name] = {"nodes": []}
            parent, parent_id = obj, obj.get("id")
            batch.append(obj)
            continue
        if ref != parent_id:
            raise BulkFileError(_misplaced(number, obj, ref, parent_id))
        gid = obj.get("id")
        prefix = gid.rpartition("/")[0] if type(gid) is str else ""
        field_name = field_of.get(prefix, False)
        if field_name is False:  # first child of this kind: look its type up once
            field_name = field_of[prefix] = children.get(gid_type(f"{prefix}/0"))
        if field_name is None:
            raise BulkFileError(f"bulk result line {number}: unexpected child object "
                                f"{obj.get('id')!r} of {ref}; expected one of "
                                f"{sorted(children) or 'no children'}")
        parent[field_name]["nodes"].append(obj)
    if batch:
        yield batch


def read_batches(file: BinaryIO, children: dict[str, str], size: int) -> Iterator[list[dict]]:
    """:func:`grouped_batches` over :func:`parse_lines` of a binary file object."""
    return grouped_batches(parse_lines(file), children, size)


@contextmanager
def batch_gc():
    """Run the cyclic garbage collector once per batch instead of on allocation counts.

    Building a batch allocates some 10^5 small dicts and lists that stay alive until the
    batch is loaded; with automatic collection on, each young-generation pass promotes them
    and the full passes that follow rescan the whole heap again and again (about half of the
    read time of a 1M-line file). Batches free themselves by reference counting; the
    ``collect`` the body gets (call it between batches) picks up the few cycles pandas and
    SQLAlchemy leave behind, so memory stays bounded. Automatic collection is restored on
    exit.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield lambda: gc.collect(1)
    finally:
        gc.collect(1)
        if enabled:
            gc.enable()


def _misplaced(number: int, obj: dict, ref, parent_id) -> str:
    where = "before any parent object" if parent_id is None else \
        f"after {parent_id}, not directly below its parent"
    return (f"bulk result line {number}: {obj.get('id')!r} belongs to {ref!r} but comes "
            f"{where}; the file is not grouped (run the bulk query with groupObjects: true, "
            "which writes every child directly below its parent)")


def _excerpt(raw: bytes, limit: int = 80) -> str:
    text = raw.decode("utf-8", "replace").strip()
    return repr(text if len(text) <= limit else text[:limit] + "...")
