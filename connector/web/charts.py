"""Small server-side SVG charts over calendar days (no JavaScript, no external assets).

A :class:`TimeChart` has a title, a legend and one or more stacked :class:`Panel` s that
share a day axis. Each day is one slot of equal width; values sit at the slot's centre.
Panels hold bars, lines, bands (a filled range) and horizontal reference lines; the chart
can shade sets of days across every panel and mark a day with a vertical line.

Every element carries a ``class`` and ``data-`` attributes (day, value) so that pages can be
styled and tested; bars have a ``<title>`` tooltip. Text is escaped.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

from markupsafe import Markup, escape

__all__ = ["Style", "Panel", "TimeChart", "nice_ticks", "date_ticks", "format_value"]

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
LEFT, RIGHT, TOP_PAD, GAP, AXIS_H = 64, 132, 10, 34, 40


@dataclass(frozen=True)
class Style:
    """How a series is drawn: SVG fill and stroke, line width, dash pattern and opacity."""

    fill: str = "none"
    stroke: str = "none"
    width: float = 1.5
    dash: str | None = None
    opacity: float = 1.0

    def attrs(self) -> str:
        out = f'fill="{self.fill}" stroke="{self.stroke}" stroke-width="{self.width:g}"'
        if self.dash:
            out += f' stroke-dasharray="{self.dash}"'
        if self.opacity < 1:
            out += f' opacity="{self.opacity:g}"'
        return out


def nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 times a power of ten) covering lo..hi."""
    if not math.isfinite(lo) or not math.isfinite(hi):
        lo, hi = 0.0, 1.0
    if hi - lo < 1e-9:
        hi = lo + 1.0
    raw = (hi - lo) / max(target, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw - 1e-12)
    first = math.floor(lo / step + 1e-9) * step
    ticks = [first]
    while ticks[-1] < hi - 1e-9:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def format_value(v: float, step: float = 1.0) -> str:
    """A tick label: whole numbers with thousands separators, else up to two decimals."""
    if step >= 1 or float(v).is_integer():
        return f"{v:,.0f}".replace("-", "−")
    return f"{v:,.2f}".rstrip("0").rstrip(".").replace("-", "−")


def date_ticks(start: date, end: date) -> list[date]:
    """Tick days for a span: month starts, month starts and 15ths, Mondays or every day."""
    n = (end - start).days + 1
    days = [start + timedelta(days=i) for i in range(n)]
    if n > 240:
        return [d for d in days if d.day == 1]
    if n > 60:
        return [d for d in days if d.day in (1, 15)]
    if n > 14:
        return [d for d in days if d.weekday() == 0]
    return days


@dataclass
class _Item:
    kind: str
    label: str | None
    style: Style
    data: dict = field(default_factory=dict)


class Panel:
    """One plot area of a :class:`TimeChart` with its own value axis."""

    def __init__(self, title: str, height: int, unit: str):
        self.title, self.height, self.unit = title, height, unit
        self.items: list[_Item] = []

    def bars(self, values: dict[date, float], label: str, style: Style,
             unit: str = "units") -> "Panel":
        """One bar per day; ``unit`` names the value in tooltips."""
        self.items.append(_Item("bars", label, style, {"values": values, "unit": unit}))
        return self

    def line(self, days: list[date], values: list[float | None], label: str,
             style: Style) -> "Panel":
        """A polyline through the days' values; None leaves a gap."""
        self.items.append(_Item("line", label, style, {"days": days, "values": values}))
        return self

    def band(self, days: list[date], lo: list[float], hi: list[float], label: str,
             style: Style) -> "Panel":
        """A filled range between ``lo`` and ``hi``."""
        self.items.append(_Item("band", label, style, {"days": days, "lo": lo, "hi": hi}))
        return self

    def hline(self, value: float, label: str, style: Style, start: date | None = None,
              end: date | None = None) -> "Panel":
        """A horizontal reference line from ``start`` to ``end`` (default: full width),
        labelled with its value in the right margin."""
        self.items.append(_Item("hline", label, style,
                                {"value": value, "start": start, "end": end}))
        return self

    def extent(self) -> tuple[float, float]:
        vals = [0.0]
        for it in self.items:
            d = it.data
            if it.kind == "bars":
                vals += list(d["values"].values())
            elif it.kind == "line":
                vals += [v for v in d["values"] if v is not None]
            elif it.kind == "band":
                vals += list(d["lo"]) + list(d["hi"])
            else:
                vals.append(d["value"])
        vals = [float(v) for v in vals if v is not None and math.isfinite(float(v))]
        return min(vals), max(vals)


class TimeChart:
    """Stacked panels over the days ``start``..``end`` (inclusive)."""

    def __init__(self, title: str, start: date, end: date, width: int = 1100,
                 chart_id: str = "chart"):
        self.title, self.start, self.end, self.width = title, start, end, width
        self.chart_id = chart_id
        self.panels: list[Panel] = []
        self.shades: list[_Item] = []
        self.markers: list[tuple[date, str]] = []
        self.n_days = (end - start).days + 1
        self.plot_w = width - LEFT - RIGHT

    def panel(self, title: str, height: int = 220, unit: str = "units") -> Panel:
        """Add a panel below the existing ones and return it."""
        p = Panel(title, height, unit)
        self.panels.append(p)
        return p

    def shade_days(self, days, label: str, style: Style) -> "TimeChart":
        """Shade the given days (runs of consecutive days become one band) in every panel."""
        self.shades.append(_Item("shade", label, style, {"days": sorted(set(days))}))
        return self

    def marker(self, day: date, label: str) -> "TimeChart":
        """A dotted vertical line at the end of ``day``, labelled at the top."""
        self.markers.append((day, label))
        return self

    # geometry -------------------------------------------------------------------------
    def _x0(self, d: date) -> float:
        """Left edge of a day's slot."""
        return LEFT + (d - self.start).days * self.plot_w / self.n_days

    def _xc(self, d: date) -> float:
        return self._x0(d) + self.plot_w / self.n_days / 2

    def _in(self, d: date) -> bool:
        return self.start <= d <= self.end

    # rendering ------------------------------------------------------------------------
    def _legend(self, y: float) -> tuple[list[str], float]:
        out, x, seen = [], float(LEFT), set()
        items = self.shades + [it for p in self.panels for it in p.items]
        for it in items:
            if not it.label or it.label in seen:
                continue
            seen.add(it.label)
            w = 28 + 6.6 * len(it.label) + 18
            if x + w > self.width - 10:
                x, y = float(LEFT), y + 20
            if it.kind in ("line", "hline"):
                sw = f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{x + 20:.1f}" y2="{y:.1f}" ' \
                     f'{it.style.attrs()}/>'
            else:
                st = Style(fill=it.style.fill if it.style.fill != "none" else it.style.stroke,
                           stroke=it.style.stroke, width=1, opacity=it.style.opacity)
                sw = f'<rect x="{x:.1f}" y="{y - 6:.1f}" width="20" height="12" rx="2" ' \
                     f'{st.attrs()}/>'
            out.append(f'<g class="legend-item">{sw}<text x="{x + 26:.1f}" y="{y + 4:.1f}">'
                       f'{escape(it.label)}</text></g>')
            x += w
        return out, y

    def _panel_svg(self, p: Panel, top: float, last: bool) -> list[str]:
        h = p.height
        lo, hi = p.extent()
        ticks = nice_ticks(lo, hi * 1.05 if hi > 0 else hi)
        vmin, vmax = ticks[0], ticks[-1]
        step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0

        def y(v: float) -> float:
            return top + h - (float(v) - vmin) / (vmax - vmin) * h

        right = LEFT + self.plot_w
        out = [f'<g class="panel" data-title="{escape(p.title)}">',
               f'<text class="panel-title" x="{LEFT}" y="{top - 8:.1f}" font-weight="600">'
               f'{escape(p.title)}</text>',
               f'<rect x="{LEFT}" y="{top:.1f}" width="{self.plot_w}" height="{h}" '
               f'fill="#ffffff" stroke="#d5dae1"/>']
        for sh in self.shades:
            out += self._shade_svg(sh, top, h)
        for t in ticks:
            out.append(f'<line class="grid" x1="{LEFT}" x2="{right}" y1="{y(t):.1f}" '
                       f'y2="{y(t):.1f}" stroke="{"#9aa3ae" if t == 0 else "#eceff3"}"/>')
            out.append(f'<text class="tick" x="{LEFT - 8}" y="{y(t) + 4:.1f}" '
                       f'text-anchor="end">{format_value(t, step)}</text>')
        for d in date_ticks(self.start, self.end):
            out.append(f'<line class="grid" x1="{self._x0(d):.1f}" x2="{self._x0(d):.1f}" '
                       f'y1="{top:.1f}" y2="{top + h:.1f}" stroke="#f1f3f6"/>')
        for it in p.items:
            out += getattr(self, f"_{it.kind}_svg")(it, y)
        labels = [(y(it.data["value"]), it) for it in p.items if it.kind == "hline"]
        out += self._hline_labels(labels, top, h)
        for d, label in self.markers:
            if self._in(d):
                x = self._x0(d) + self.plot_w / self.n_days
                out.append(f'<line class="marker" x1="{x:.1f}" x2="{x:.1f}" y1="{top:.1f}" '
                           f'y2="{top + h:.1f}" stroke="#4b5563" stroke-dasharray="2 3"/>')
                if p is self.panels[0]:
                    out.append(f'<text class="marker-label" x="{x + 4:.1f}" y="{top + 13:.1f}"'
                               f' fill="#4b5563">{escape(label)}</text>')
        if last:
            for d in date_ticks(self.start, self.end):
                x = self._x0(d)
                out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top + h:.1f}" '
                           f'y2="{top + h + 5:.1f}" stroke="#9aa3ae"/>')
                out.append(f'<text class="tick" x="{x:.1f}" y="{top + h + 18:.1f}" '
                           f'text-anchor="middle">{d.day} {d:%b}</text>')
                if d.month == 1 or d == date_ticks(self.start, self.end)[0]:
                    out.append(f'<text class="tick" x="{x:.1f}" y="{top + h + 32:.1f}" '
                               f'text-anchor="middle" fill="#6b7280">{d.year}</text>')
        out.append("</g>")
        return out

    def _shade_svg(self, it: _Item, top: float, h: float) -> list[str]:
        days = [d for d in it.data["days"] if self._in(d)]
        runs: list[list[date]] = []
        for d in days:
            if runs and (d - runs[-1][-1]).days == 1:
                runs[-1].append(d)
            else:
                runs.append([d])
        out = []
        for run in runs:
            x0, x1 = self._x0(run[0]), self._x0(run[-1]) + self.plot_w / self.n_days
            out.append(f'<rect class="shade" data-label="{escape(it.label or "")}" '
                       f'data-from="{run[0]}" data-to="{run[-1]}" data-days="{len(run)}" '
                       f'x="{x0:.1f}" y="{top:.1f}" width="{x1 - x0:.1f}" height="{h}" '
                       f'{it.style.attrs()}><title>{escape(it.label or "")}: {run[0]} to '
                       f'{run[-1]}</title></rect>')
        return out

    def _bars_svg(self, it: _Item, y) -> list[str]:
        slot = self.plot_w / self.n_days
        w = max(slot * 0.78, 0.8)
        out = [f'<g class="bars" data-series="{escape(it.label or "")}">']
        for d, v in sorted(it.data["values"].items()):
            if not self._in(d) or v is None:
                continue
            y0, y1 = y(0), y(v)
            top, height = min(y0, y1), abs(y0 - y1)
            out.append(f'<rect class="bar" data-day="{d}" data-value="{v:g}" '
                       f'x="{self._xc(d) - w / 2:.2f}" y="{top:.2f}" width="{w:.2f}" '
                       f'height="{height:.2f}" {it.style.attrs()}><title>{d:%a} {d.day} '
                       f'{d:%b %Y}: {v:g} {escape(it.data["unit"])}</title></rect>')
        out.append("</g>")
        return out

    def _line_svg(self, it: _Item, y) -> list[str]:
        path, pen = [], "M"
        for d, v in zip(it.data["days"], it.data["values"]):
            if v is None or not self._in(d):
                pen = "M"
                continue
            path.append(f"{pen}{self._xc(d):.1f},{y(v):.1f}")
            pen = "L"
        if not path:
            return []
        return [f'<path class="line" data-series="{escape(it.label or "")}" '
                f'd="{" ".join(path)}" {it.style.attrs()} stroke-linejoin="round"/>']

    def _band_svg(self, it: _Item, y) -> list[str]:
        pts = [(d, lo, hi) for d, lo, hi in zip(it.data["days"], it.data["lo"], it.data["hi"])
               if self._in(d)]
        if not pts:
            return []
        upper = [f"{self._xc(d):.1f},{y(hi):.1f}" for d, _, hi in pts]
        lower = [f"{self._xc(d):.1f},{y(lo):.1f}" for d, lo, _ in reversed(pts)]
        return [f'<polygon class="band" data-series="{escape(it.label or "")}" '
                f'points="{" ".join(upper + lower)}" {it.style.attrs()}/>']

    def _hline_svg(self, it: _Item, y) -> list[str]:
        d = it.data
        x0 = self._x0(max(d["start"] or self.start, self.start))
        x1 = self._x0(min(d["end"] or self.end, self.end)) + self.plot_w / self.n_days
        return [f'<line class="hline" data-series="{escape(it.label or "")}" '
                f'data-value="{d["value"]:g}" x1="{x0:.1f}" x2="{x1:.1f}" '
                f'y1="{y(d["value"]):.1f}" y2="{y(d["value"]):.1f}" {it.style.attrs()}/>']

    def _hline_labels(self, labels, top: float, h: float) -> list[str]:
        """Value labels in the right margin, nudged apart so they do not overlap."""
        out, last_y = [], -1e9
        for yy, it in sorted(labels, key=lambda t: t[0]):
            ty = max(yy + 4, last_y + 14)
            last_y = ty
            value = f'{it.data["value"]:,.1f}'.replace("-", "−").removesuffix(".0")
            out.append(f'<text class="hline-label" x="{LEFT + self.plot_w + 8}" y="{ty:.1f}" '
                       f'fill="{it.style.stroke}">{escape(it.label or "")} {value}</text>')
        return out

    def render(self) -> Markup:
        """The chart as an inline ``<svg>`` element (safe to insert into a template)."""
        legend, legend_bottom = self._legend(48.0)
        top = legend_bottom + 16 + GAP
        body = []
        for i, p in enumerate(self.panels):
            body += self._panel_svg(p, top, i == len(self.panels) - 1)
            top += p.height + GAP
        height = top - GAP + AXIS_H
        tid = escape(self.chart_id)
        head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{tid}" '
                f'viewBox="0 0 {self.width} {height:.0f}" width="100%" role="img" '
                f'aria-labelledby="{tid}-title" font-family="{FONT}" font-size="12" '
                f'fill="#1f2933"><title id="{tid}-title">{escape(self.title)}</title>'
                f'<rect width="100%" height="100%" fill="#ffffff"/>'
                f'<text class="chart-title" x="{LEFT}" y="24" font-size="15" '
                f'font-weight="600">{escape(self.title)}</text>')
        return Markup(head + "".join(legend) + "".join(body) + "</svg>")
