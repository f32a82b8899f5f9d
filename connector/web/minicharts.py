"""Small server-rendered SVG charts for the admin pages (no JavaScript, no external assets).

* :func:`sparkline`: a trend line for a KPI tile.
* :func:`hbar_chart`: horizontal bars with an optional second, stacked part (for example
  units sold and units lost), optional interval whiskers and an optional reference line
  (for example uplift 1.0 = "no effect").
* :func:`run_chart`: one or more series over ordered categories (plan runs), with a zero
  line when the values cross it.
* :func:`heat_style`: an inline background colour for heat-map table cells.

Every chart is an inline ``<svg>`` (a :class:`markupsafe.Markup`) with a ``<title>`` and
``data-`` attributes on its marks, so pages can be tested; all text is escaped.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from markupsafe import Markup, escape

from .charts import FONT, format_value, nice_ticks

__all__ = ["sparkline", "HBar", "hbar_chart", "run_chart", "heat_style", "PALETTE"]

#: Series colours (colour-blind friendly, in order of use).
PALETTE = ("#2f5fa7", "#d9692b", "#1f8a7a", "#8d5fc7", "#c2364b", "#6b7280")


def _finite(v) -> float | None:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _svg(width: float, height: float, title: str, cls: str, body: list[str],
         extra: str = "") -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{cls}" viewBox="0 0 {width:.0f} '
        f'{height:.0f}" width="100%" role="img" font-family="{FONT}" font-size="12" '
        f'fill="#1f2933"{extra}><title>{escape(title)}</title>' + "".join(body) + "</svg>")


def sparkline(values, title: str, width: int = 168, height: int = 40,
              color: str = PALETTE[0]) -> Markup:
    """A trend line through ``values`` (None leaves a gap); the last point is marked.

    Args:
        values: the series, oldest first.
        title: accessible title (tooltip).
        width, height: the viewBox size.
        color: stroke colour.

    Returns:
        The ``<svg class="spark">``; an empty frame when there are fewer than 2 values.
    """
    pts = [_finite(v) for v in values]
    known = [v for v in pts if v is not None]
    n = len(pts)
    body = []
    if len(known) >= 2:
        lo, hi = min(known), max(known)
        span = hi - lo or abs(hi) or 1.0
        pad = 3.0

        def xy(i: int, v: float) -> tuple[float, float]:
            x = pad + i * (width - 2 * pad) / max(n - 1, 1)
            y = height - pad - (v - lo) / span * (height - 2 * pad)
            return x, y

        path, pen = [], "M"
        for i, v in enumerate(pts):
            if v is None:
                pen = "M"
                continue
            x, y = xy(i, v)
            path.append(f"{pen}{x:.1f},{y:.1f}")
            pen = "L"
        last_i = max(i for i, v in enumerate(pts) if v is not None)
        lx, ly = xy(last_i, pts[last_i])
        body.append(f'<path class="spark-line" d="{" ".join(path)}" fill="none" '
                    f'stroke="{color}" stroke-width="1.8" stroke-linejoin="round" '
                    f'stroke-linecap="round"/>')
        body.append(f'<circle class="spark-last" cx="{lx:.1f}" cy="{ly:.1f}" r="2.6" '
                    f'fill="{color}"/>')
    else:
        body.append(f'<line x1="0" x2="{width}" y1="{height / 2:.1f}" y2="{height / 2:.1f}" '
                    'stroke="#e3e7ec" stroke-dasharray="3 3"/>')
    extra = f' data-points="{len(known)}" preserveAspectRatio="none"'
    return _svg(width, height, title, "spark", body, extra)


@dataclass
class HBar:
    """One bar of :func:`hbar_chart`.

    Attributes:
        label: the category shown left of the bar.
        value: the bar's (first) value.
        second: a second value stacked after the first (or None).
        low, high: an interval drawn as a whisker (or None).
        note: text shown right of the bar (defaults to the formatted value).
    """

    label: str
    value: float | None
    second: float | None = None
    low: float | None = None
    high: float | None = None
    note: str | None = None


def hbar_chart(bars: list[HBar], title: str, names: tuple[str, str | None] = ("Value", None),
               reference: float | None = None, ref_label: str = "", width: int = 760,
               label_w: int = 170, bar_h: int = 22, fmt=None,
               limit: float | None = None, note_w: int = 110) -> Markup:
    """Horizontal bars (see :class:`HBar`), the axis starting at 0 (or below, for negatives).

    Args:
        bars: the rows, top to bottom.
        title: chart title (also the accessible title).
        names: legend names of the first and the stacked second value.
        reference: draw a dashed vertical line at this value (e.g. 1.0).
        ref_label: its label (under the axis).
        fmt: value formatter for the notes (default :func:`charts.format_value`).
        limit: the axis ends here at most; whiskers reaching beyond it end in an arrow.
        note_w: room right of the plot for the notes.
    """
    fmt = fmt or (lambda v: format_value(v, 0.01 if abs(v) < 10 else 1))
    vals = [0.0]
    for b in bars:
        for v in (b.value, b.low, b.high, reference):
            if _finite(v) is not None:
                vals.append(float(v))
        if _finite(b.value) is not None and _finite(b.second) is not None:
            vals.append(float(b.value) + float(b.second))
    if limit is not None:
        vals = [min(v, limit) for v in vals]
    ticks = nice_ticks(min(vals), max(vals) * 1.04 if max(vals) > 0 else max(vals))
    vmin, vmax = ticks[0], ticks[-1]
    top = 40 if names[1] else 28
    plot_w = width - label_w - note_w
    row_h = bar_h + 10
    height = top + row_h * max(len(bars), 1) + (40 if reference is not None else 26)

    def x(v: float) -> float:
        return label_w + (min(float(v), vmax) - vmin) / (vmax - vmin) * plot_w

    out = ['<rect width="100%" height="100%" fill="#ffffff"/>',
           f'<text x="0" y="15" font-size="13" font-weight="600">{escape(title)}</text>']
    if names[1]:
        for i, (name, colour) in enumerate(zip(names, PALETTE[:1] + ("#e9a0a9",))):
            lx = label_w + i * 150
            out.append(f'<rect x="{lx}" y="24" width="14" height="10" rx="2" fill="{colour}"/>'
                       f'<text x="{lx + 20}" y="33">{escape(name or "")}</text>')
    bottom = top + row_h * max(len(bars), 1)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    for t in ticks:
        out.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top - 4}" y2="{bottom}" '
                   f'stroke="{"#9aa3ae" if t == 0 else "#eceff3"}"/>'
                   f'<text class="tick" x="{x(t):.1f}" y="{bottom + 16}" text-anchor="middle" '
                   f'fill="#6b7280">{format_value(t, step)}</text>')
    for i, b in enumerate(bars):
        y = top + i * row_h + 4
        out.append(f'<text x="{label_w - 8}" y="{y + bar_h / 2 + 4:.1f}" text-anchor="end">'
                   f'{escape(b.label)}</text>')
        v = _finite(b.value)
        if v is None:
            out.append(f'<text x="{label_w + 4}" y="{y + bar_h / 2 + 4:.1f}" fill="#6b7280">'
                       'n/a</text>')
            continue
        x0, x1 = sorted((x(0), x(v)))
        out.append(f'<rect class="hbar" data-label="{escape(b.label)}" data-value="{v:g}" '
                   f'x="{x0:.1f}" y="{y}" width="{max(x1 - x0, 0.8):.1f}" height="{bar_h}" '
                   f'rx="3" fill="{PALETTE[0]}"><title>{escape(b.label)}: {fmt(v)}</title>'
                   '</rect>')
        s = _finite(b.second)
        end = v
        if s is not None and s > 0:
            out.append(f'<rect class="hbar-second" data-label="{escape(b.label)}" '
                       f'data-value="{s:g}" x="{x(v):.1f}" y="{y}" '
                       f'width="{max(x(v + s) - x(v), 0.8):.1f}" height="{bar_h}" rx="3" '
                       f'fill="#e9a0a9"><title>{escape(b.label)}: {escape(names[1] or "")} '
                       f'{fmt(s)}</title></rect>')
            end = v + s
        lo, hi = _finite(b.low), _finite(b.high)
        if lo is not None and hi is not None:
            cy = y + bar_h / 2
            cap = (f'<line x1="{x(hi):.1f}" x2="{x(hi):.1f}" y1="{cy - 6:.1f}" '
                   f'y2="{cy + 6:.1f}"/>' if hi <= vmax else
                   f'<path d="M{x(hi) - 7:.1f},{cy - 5:.1f} L{x(hi):.1f},{cy:.1f} '
                   f'L{x(hi) - 7:.1f},{cy + 5:.1f}" fill="none"/>')
            out.append(f'<g class="whisker" data-low="{lo:g}" data-high="{hi:g}" '
                       f'stroke="#1f2933" stroke-width="1.4"><line x1="{x(lo):.1f}" '
                       f'x2="{x(hi):.1f}" y1="{cy:.1f}" y2="{cy:.1f}"/><line x1="{x(lo):.1f}" '
                       f'x2="{x(lo):.1f}" y1="{cy - 6:.1f}" y2="{cy + 6:.1f}"/>{cap}</g>')
            end = max(end, min(hi, vmax))
        note = b.note if b.note is not None else fmt(v)
        out.append(f'<text x="{x(end) + 6:.1f}" '
                   f'y="{y + bar_h / 2 + 4:.1f}" fill="#374151">{escape(note)}</text>')
    if _finite(reference) is not None:
        rx = x(reference)
        out.append(f'<line class="reference" x1="{rx:.1f}" x2="{rx:.1f}" y1="{top - 6}" '
                   f'y2="{bottom + 4}" stroke="#c2364b" stroke-dasharray="5 4" '
                   f'stroke-width="1.4"/><text x="{rx:.1f}" y="{bottom + 32}" '
                   f'text-anchor="middle" fill="#c2364b" font-size="11">'
                   f'{escape(ref_label)}</text>')
    return _svg(width, height, title, "hbars", out)


def run_chart(labels: list[str], series: dict[str, list], title: str, width: int = 760,
              height: int = 220, fmt=None) -> Markup:
    """Lines over ordered categories (e.g. plan runs by data cut-off), one per series.

    Args:
        labels: the x categories, left to right.
        series: name -> values (None leaves a gap), each as long as ``labels``.
        title: chart title.
        fmt: tick formatter (default: plain numbers).
    """
    left, right, top, bottom = 52, 16, 44, 34
    vals = [float(v) for vs in series.values() for v in vs if _finite(v) is not None]
    ticks = nice_ticks(min(vals + [0.0]), max(vals + [0.0]) * 1.05 if vals else 1.0)
    vmin, vmax = ticks[0], ticks[-1]
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(labels), 1)

    def x(i: int) -> float:
        return left + (i + 0.5) * plot_w / n

    def y(v: float) -> float:
        return top + plot_h - (float(v) - vmin) / (vmax - vmin) * plot_h

    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    fmt = fmt or (lambda v: format_value(v, step))
    out = ['<rect width="100%" height="100%" fill="#ffffff"/>',
           f'<text x="0" y="15" font-size="13" font-weight="600">{escape(title)}</text>']
    lx = left
    for k, name in enumerate(series):
        colour = PALETTE[k % len(PALETTE)]
        out.append(f'<line x1="{lx}" x2="{lx + 18}" y1="29" y2="29" stroke="{colour}" '
                   f'stroke-width="2.2"/><text x="{lx + 24}" y="33">{escape(name)}</text>')
        lx += 40 + 7 * len(name)
    for t in ticks:
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y(t):.1f}" y2="{y(t):.1f}" '
                   f'stroke="{"#9aa3ae" if t == 0 else "#eceff3"}"/><text class="tick" '
                   f'x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end" fill="#6b7280">'
                   f'{escape(fmt(t))}</text>')
    every = max(1, math.ceil(n / 10))
    for i, lab in enumerate(labels):
        if i % every == 0 or i == n - 1:
            out.append(f'<text class="tick" x="{x(i):.1f}" y="{height - 12}" '
                       f'text-anchor="middle" fill="#6b7280">{escape(lab)}</text>')
    for k, (name, vs) in enumerate(series.items()):
        colour = PALETTE[k % len(PALETTE)]
        path, pen, dots = [], "M", []
        for i, v in enumerate(vs):
            v = _finite(v)
            if v is None:
                pen = "M"
                continue
            path.append(f"{pen}{x(i):.1f},{y(v):.1f}")
            pen = "L"
            dots.append(f'<circle class="point" data-series="{escape(name)}" data-index="{i}" '
                        f'data-value="{v:g}" cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" '
                        f'fill="{colour}"><title>{escape(name)} {escape(labels[i])}: '
                        f'{v:.3f}</title></circle>')
        if path:
            out.append(f'<path class="line" data-series="{escape(name)}" d="{" ".join(path)}" '
                       f'fill="none" stroke="{colour}" stroke-width="2" '
                       'stroke-linejoin="round"/>')
        out += dots
    return _svg(width, height, title, "runchart", out)


def heat_style(value, vmax, rgb: tuple[int, int, int] = (47, 95, 167)) -> str:
    """``background-color`` for a heat-map cell: transparent at 0, strongest at ``vmax``."""
    v, m = _finite(value), _finite(vmax)
    if v is None or m is None or m <= 0 or v <= 0:
        return ""
    alpha = 0.07 + 0.48 * min(v / m, 1.0)
    return f"background-color: rgba({rgb[0]}, {rgb[1]}, {rgb[2]}, {alpha:.2f})"
