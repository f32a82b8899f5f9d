"""Checked reading of CSV files: errors that point at a file, a line and a column.

Every problem found in an imported CSV file is raised as :class:`CsvImportError`, whose text
tells the merchant where to look and what to fix, e.g.::

    orders_export.csv, line 14, column 'Lineitem quantity': 'abc' is not a number

Line numbers are physical 1-based lines of the file (the header is line 1). A quoted value may
span several lines (a multi-line order note); such a record starts on one line and ends on a
later one, so the line reported for a cell is the line on which that cell starts.

:func:`read_rows` decodes a file (UTF-8, with or without a byte-order mark), checks the header,
and yields :class:`Row` objects whose parsing methods raise :class:`CsvImportError`.
"""
from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import pandas as pd

__all__ = ["CsvImportError", "Row", "read_rows"]

_BREAK = re.compile(r"\r\n|\r|\n")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_STAMP = re.compile(
    r"(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)\s*(Z|[+-]\d{2}:?\d{2})",
    re.IGNORECASE,
)
_YES = {"yes", "true", "y", "1"}
_NO = {"no", "false", "n", "0"}


class CsvImportError(ValueError):
    """A problem in an imported CSV file.

    Attributes:
        file: The file's name (without its directory).
        line: 1-based physical line in the file (the header is line 1); None when the problem
            concerns the whole file (e.g. it does not exist).
        column: The column's name as written in the header, or None.
        message: What is wrong and, where possible, how to fix it.
    """

    def __init__(self, file: str, line: int | None, column: str | None, message: str):
        super().__init__(file, line, column, message)
        self.file = file
        self.line = line
        self.column = column
        self.message = message

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", line {self.line}"
        if self.column is not None:
            where += f", column '{self.column}'"
        return f"{where}: {self.message}"


class Row:
    """One record of a CSV file with its line numbers and checked parsing of its cells.

    Attributes:
        file: The file's name.
        line: The physical line on which the record starts.
        cells: Raw cell text by column name (every header column; short rows are padded
            with empty strings).
    """

    def __init__(self, file: str, line: int, cells: dict[str, str], lines: dict[str, int]):
        self.file = file
        self.line = line
        self.cells = cells
        self._lines = lines

    def line_of(self, column: str) -> int:
        """Return the physical line on which ``column``'s cell starts."""
        return self._lines.get(column, self.line)

    def error(self, column: str | None, message: str) -> CsvImportError:
        """Return (not raise) an error located at this row's ``column``."""
        line = self.line if column is None else self.line_of(column)
        return CsvImportError(self.file, line, column, message)

    def text(self, column: str, *, required: bool = False, what: str = "a value") -> str | None:
        """Return the stripped cell text, or None when blank or the column is absent.

        Raises:
            CsvImportError: if ``required`` and the cell is blank.
        """
        value = self.cells.get(column, "").strip()
        if value:
            return value
        if required:
            raise self.error(column, f"is blank; expected {what}")
        return None

    def number(self, column: str, *, required: bool = False, minimum: float | None = None,
               above: float | None = None, what: str = "a number") -> float | None:
        """Parse a decimal number such as ``12.50`` (no currency signs or thousands commas).

        Args:
            column: Column name.
            required: Whether a blank cell is an error (otherwise it gives None).
            minimum: Smallest allowed value, inclusive.
            above: Exclusive lower bound.
            what: Description used in messages.

        Raises:
            CsvImportError: if the text is not a number or is out of range.
        """
        raw = self.text(column, required=required, what=what)
        if raw is None:
            return None
        if not _NUMBER.fullmatch(raw):
            raise self.error(column, f"'{raw}' is not a number; expected {what} like 12.50")
        value = float(raw)
        if not math.isfinite(value):
            raise self.error(column, f"'{raw}' is too large; expected {what}")
        self._check_range(column, raw, value, minimum, above, what)
        return value

    def whole(self, column: str, *, required: bool = False, minimum: int | None = None,
              above: int | None = None, what: str = "a whole number") -> int | None:
        """Parse a whole number (``3``; ``3.0`` is accepted, ``2.5`` is not).

        Raises:
            CsvImportError: if the text is not a whole number or is out of range.
        """
        raw = self.text(column, required=required, what=what)
        if raw is None:
            return None
        if not _NUMBER.fullmatch(raw):
            raise self.error(column, f"'{raw}' is not a number; expected {what}")
        value = float(raw)
        if not math.isfinite(value) or not value.is_integer():
            raise self.error(column, f"'{raw}' is not a whole number; expected {what}")
        self._check_range(column, raw, value, minimum, above, what)
        return int(value)

    def _check_range(self, column: str, raw: str, value: float, minimum: float | None,
                     above: float | None, what: str) -> None:
        if (minimum is None or value >= minimum) and (above is None or value > above):
            return
        problem = "is zero" if value == 0 else "is negative" if value < 0 else "is too small"
        raise self.error(column, f"'{raw}' {problem}; expected {what}")

    def timestamp(self, column: str, *, required: bool = False) -> pd.Timestamp | None:
        """Parse ``2026-03-14 10:22:05 -0400`` or ISO 8601 (``2026-03-14T14:22:05Z``) to UTC.

        A time without a UTC offset is rejected: guessing the shop's zone could move an
        order to another day.

        Raises:
            CsvImportError: if the text is not such a date and time.
        """
        raw = self.text(column, required=required, what="a date and time")
        if raw is None:
            return None
        hint = "expected a date and time like '2026-03-14 10:22:05 -0400'"
        match = _STAMP.fullmatch(raw)
        if not match:
            raise self.error(column, f"'{raw}' is not a date and time with a UTC offset; {hint}")
        day, clock, zone = match.groups()
        zone = "+00:00" if zone.upper() == "Z" else zone
        if ":" not in zone:
            zone = zone[:3] + ":" + zone[3:]
        try:
            parsed = datetime.fromisoformat(f"{day}T{clock}{zone}")
        except ValueError:
            raise self.error(column, f"'{raw}' is not a valid date; {hint}") from None
        return pd.Timestamp(parsed).tz_convert("UTC")

    def yes_no(self, column: str) -> bool | None:
        """Parse ``yes``/``no`` (also ``true``/``false``); blank gives None.

        Raises:
            CsvImportError: for any other text.
        """
        raw = self.text(column)
        if raw is None:
            return None
        if raw.lower() in _YES:
            return True
        if raw.lower() in _NO:
            return False
        raise self.error(column, f"'{raw}' is not yes or no")


def _decode(path: Path, name: str) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CsvImportError(name, None, None, f"file not found: {path}") from None
    except OSError as exc:
        raise CsvImportError(name, None, None, f"cannot read {path}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CsvImportError(
            name, line, None,
            f"byte 0x{data[exc.start]:02x} is not UTF-8 text; export the file from Shopify "
            "again, or save it from your spreadsheet as 'CSV UTF-8'") from None
    return text.lstrip("\ufeff")


def _records(text: str, name: str) -> Iterable[tuple[int, list[str]]]:
    """Yield (first physical line, cells) for every record, using ``reader.line_num``."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    end = 0
    while True:
        start = end + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                raise CsvImportError(
                    name, start, None,
                    "a quoted value starting on this line is never closed (missing '\"')"
                ) from None
            raise CsvImportError(name, reader.line_num, None, f"not valid CSV: {exc}") from None
        end = reader.line_num
        yield start, cells


def read_rows(path: str | Path, *, required: Iterable[str], used: Iterable[str] = (),
              fold_case: bool = False) -> tuple[list[str], list[Row]]:
    """Read a CSV file into checked rows.

    Header names are stripped of whitespace (and a byte-order mark); columns not listed in
    ``required`` or ``used`` are kept in :attr:`Row.cells` but otherwise ignored. Blank
    records (no text in any cell) are skipped.

    Args:
        path: The file.
        required: Columns that must be in the header.
        used: Optional columns the caller reads; they must not appear twice.
        fold_case: Match header names case-insensitively (names are lower-cased).

    Returns:
        The header names and the rows in file order.

    Raises:
        CsvImportError: unreadable or non-UTF-8 file, broken quoting, missing or repeated
            columns, a row with more cells than the header, or the header repeated.
    """
    path = Path(path)
    name = path.name
    records = iter(_records(_decode(path, name), name))
    first = next(records, None)
    required = list(required)
    if first is None or not any(c.strip() for c in first[1]):
        problem = "the file is empty" if first is None else "line 1 is blank"
        raise CsvImportError(name, 1, None, f"{problem}; expected a header row with "
                             + ", ".join(f"'{c}'" for c in required))
    header = [c.strip().lstrip("\ufeff").strip() for c in first[1]]
    if fold_case:
        header = [c.lower() for c in header]
    missing = [c for c in required if c not in header]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        message = f"missing required column{plural} " + ", ".join(f"'{c}'" for c in missing)
        if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
            message += ("; the header looks separated by semicolons or tabs: save the file "
                        "as comma-separated CSV")
        raise CsvImportError(name, 1, None, message)
    for col in [*required, *used]:
        if header.count(col) > 1:
            raise CsvImportError(name, 1, col, "the column appears more than once")
    rows: list[Row] = []
    for start, cells in records:
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
            raise CsvImportError(
                name, start, None,
                f"the row has {len(cells)} cells but the header has {len(header)} columns; "
                "is a value with a comma missing its quotes?")
        if [c.strip() for c in cells[: len(header)]] == header:
            raise CsvImportError(name, start, None,
                                 "the header row appears again; were two files pasted together?")
        values: dict[str, str] = {}
        lines: dict[str, int] = {}
        line = start
        for index, col in enumerate(header):
            cell = cells[index] if index < len(cells) else ""
            values.setdefault(col, cell)
            lines.setdefault(col, line)
            line += len(_BREAK.findall(cell))
        rows.append(Row(name, start, values, lines))
    return header, rows
