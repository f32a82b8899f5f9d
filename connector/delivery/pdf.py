"""A minimal PDF writer: monospaced text lines on A4 pages (no dependency).

The file is PDF 1.4 with one Type1 font (Courier, one of the 14 standard fonts every reader
has), one content stream per page and a cross-reference table of byte offsets. Text is
encoded as Latin-1 (other characters become ``?``); lines longer than the page are cut.
"""
from __future__ import annotations

__all__ = ["text_pdf"]

_W, _H = 595, 842  # A4 in points
_MARGIN = 40
_SIZE = 9
_LEADING = 11
_MAX_CHARS = int((_W - 2 * _MARGIN) / (0.6 * _SIZE))  # Courier glyphs are 0.6 em wide


def _escape(text: str) -> bytes:
    raw = text[:_MAX_CHARS].encode("latin-1", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _page_stream(lines: list[str]) -> bytes:
    out = [b"BT", b"/F1 %d Tf" % _SIZE, b"%d TL" % _LEADING,
           b"%d %d Td" % (_MARGIN, _H - _MARGIN - _SIZE)]
    for line in lines:
        out.append(b"(" + _escape(line) + b") Tj T*")
    out.append(b"ET")
    return b"\n".join(out)


def text_pdf(lines: list[str], title: str | None = None) -> bytes:
    """A PDF showing ``lines`` top to bottom, as many pages as needed.

    Lines per page: ``floor((842 - 2 * 40 - 9) / 11) = 68``.
    """
    per_page = (_H - 2 * _MARGIN - _SIZE) // _LEADING
    pages = [lines[i:i + per_page] for i in range(0, len(lines), per_page)] or [[]]
    n_pages = len(pages)
    # objects: 1 catalog, 2 pages, 3 font, 4 info, then (page, content) per page
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % (5 + 2 * i) for i in range(n_pages))
        + b"] /Count %d >>" % n_pages,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>",
        b"<< /Producer (restock) /Title (" + _escape(title or "") + b") >>",
    ]
    for i, page in enumerate(pages):
        stream = _page_stream(page)
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] "
                       b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>"
                       % (_W, _H, 6 + 2 * i))
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream
                       + b"\nendstream")
    body = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, obj in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % n + obj + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    body += (b"trailer\n<< /Size %d /Root 1 0 R /Info 4 0 R >>\nstartxref\n%d\n%%%%EOF\n"
             % (len(objects) + 1, xref))
    return bytes(body)
