"""Order lists as downloads: CSV (as the web page's download) and Excel (openpyxl).

Both carry exactly the rows and columns of the JSON ``rows``: the columns of
:func:`core.reports.order_list` in its order, one row per JSON row.
"""
from __future__ import annotations

import io
import math
import re
from datetime import date, datetime

import pandas as pd
from flask import Response

__all__ = ["CSV_MIMETYPE", "XLSX_MIMETYPE", "download_name", "csv_response", "xlsx_response",
           "xlsx_bytes"]

CSV_MIMETYPE = "text/csv"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_ILLEGAL_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def download_name(*parts: str, ext: str) -> str:
    """A safe ASCII file name from ``parts``, e.g. ``restock-staple-my-shop-2024-05-29.csv``."""
    stem = "-".join(re.sub(r"[^A-Za-z0-9._]+", "-", p).strip("-._") for p in parts if p)
    return f"{stem or 'restock'}.{ext}"


def _attachment(body: bytes | str, mimetype: str, filename: str) -> Response:
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def csv_response(frame: pd.DataFrame, filename: str) -> Response:
    """``frame`` as a CSV attachment (header row, no index)."""
    return _attachment(frame.to_csv(index=False), CSV_MIMETYPE, filename)


def _cell(value):
    """A frame value as an Excel cell: None for missing or non-finite, dates as dates."""
    if hasattr(value, "item") and not isinstance(value, (pd.Timestamp, date)):
        value = value.item()  # numpy scalar -> Python
    if value is None or value is pd.NaT or (isinstance(value, float) and not
                                             math.isfinite(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime().replace(tzinfo=None)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, str):
        return _ILLEGAL_XLSX.sub("", value)
    return value


def xlsx_bytes(frame: pd.DataFrame, sheet: str) -> bytes:
    """``frame`` as an .xlsx workbook: one sheet, a bold header row, dates as dates."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = re.sub(r"[\[\]:*?/\\]", "-", sheet)[:31] or "Sheet1"
    ws.append([str(c) for c in frame.columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in frame.itertuples(index=False, name=None):
        ws.append([_cell(v) for v in row])
    for col, name in enumerate(frame.columns, start=1):
        if name in ("stockout_date",):
            for (cell,) in ws.iter_rows(min_row=2, min_col=col, max_col=col):
                cell.number_format = "yyyy-mm-dd"
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def xlsx_response(frame: pd.DataFrame, sheet: str, filename: str) -> Response:
    """``frame`` as an Excel attachment."""
    return _attachment(xlsx_bytes(frame, sheet), XLSX_MIMETYPE, filename)
