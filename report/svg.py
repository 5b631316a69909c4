"""Inline SVG line charts of daily KPIs: one line per version, alert days marked in red."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, timedelta
from html import escape

from report.model import AlertDay, KpiPoint, KpiSeries
from report.numbers import finite, fmt_value, metric_label, nice_domain, padded_range, tick_label
from sop_models.i18n import tr

#: Version line colours, in order; red is kept for alerts and never used for a version.
PALETTE: tuple[str, ...] = (
    "#1f77b4", "#ff7f0e", "#9467bd", "#17becf", "#8c564b", "#e377c2", "#bcbd22", "#7f7f7f",
)  # fmt: skip
ALERT_COLOUR = "#d62728"
AXIS_COLOUR = "#555555"
GRID_COLOUR = "#e3e3e3"

WIDTH, HEIGHT = 960, 320
LEFT, RIGHT, TOP, BOTTOM = 72, 24, 44, 40
_DAY_STRIDES = (1, 2, 3, 7, 14, 28, 56, 91, 182, 364)

XScale = Callable[[date], float]
YScale = Callable[[float], float]


def esc(text: object) -> str:
    """Escape any text for HTML or SVG content and attributes."""
    return escape(str(text), quote=True)


def version_colours(versions: Iterable[str]) -> dict[str, str]:
    """A distinct colour per version in the given order (the palette repeats past 8 versions)."""
    colours: dict[str, str] = {}
    for v in versions:
        if v not in colours:
            colours[v] = PALETTE[len(colours) % len(PALETTE)]
    return colours


def svg_open(width: int, height: int, label: str, css_class: str = "chart") -> str:
    """The root element of an inline chart that scales down with the page."""
    return (
        f'<svg class="{css_class}" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{esc(label)}">'
    )


def no_data_svg(label: str, css_class: str = "chart") -> str:
    """A small framed chart saying there is nothing to draw (never an empty or broken SVG)."""
    h = 80
    return (
        svg_open(WIDTH, h, f"{label}: no data", f"{css_class} nodata")
        + f'<rect x="1" y="1" width="{WIDTH - 2}" height="{h - 2}" fill="#fafafa" '
        f'stroke="{GRID_COLOUR}"/>'
        f'<text x="{WIDTH / 2}" y="{h / 2 + 5}" text-anchor="middle" font-size="15" '
        f'fill="#888888">{esc(tr("no data"))}</text></svg>'
    )


def line_chart(series: KpiSeries, colours: Mapping[str, str], alerts: Sequence[AlertDay]) -> str:
    """One KPI over days: a line per version, points with tooltips, alert days in red."""
    label = f"{metric_label(series.label_zh, series.metric)} {series.metric}"
    points = [p for p in series.points if _ok(p.value)]
    hits = [a for a in alerts if a.metric == series.metric and _ok(a.value)]
    if not points and not hits:
        return no_data_svg(label, "chart kpi-chart")
    days = [p.day for p in series.points] + [a.day for a in hits]
    first, last = min(days), max(days)
    values = [float(p.value) for p in points if p.value is not None]
    values += [a.value for a in hits] + [a.threshold for a in hits if _ok(a.threshold)]
    lo, hi = padded_range(values, series.unit)
    lo, hi, ticks = nice_domain(lo, hi)
    n_days = (last - first).days + 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / n_days

    def x(day: date) -> float:
        return LEFT + ((day - first).days + 0.5) * slot

    def y(value: float) -> float:
        return TOP + plot_h * (hi - value) / (hi - lo)

    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    parts = [svg_open(WIDTH, HEIGHT, label, "chart kpi-chart")]
    for t in ticks:
        parts.append(_hline(y(t), GRID_COLOUR))
        parts.append(
            f'<text x="{LEFT - 8}" y="{y(t) + 4:.1f}" text-anchor="end" font-size="12" '
            f'fill="{AXIS_COLOUR}">{esc(tick_label(t, step, series.unit))}</text>'
        )
    parts += _x_axis(first, n_days, x, TOP + plot_h)
    parts += _alert_bands(hits, series.unit, x, y, slot, plot_h)
    by_version = _by_version(series.points, colours)
    for version, pts in by_version.items():
        parts += _version_line(version, pts, colours.get(version, PALETTE[-1]), series.unit, x, y)
    parts += _alert_dots(hits, series.unit, x, y)
    parts += _legend([(v, colours.get(v, PALETTE[-1])) for v in by_version], bool(hits))
    parts.append("</svg>")
    return "".join(parts)


def _ok(value: float | None) -> bool:
    return finite(value) is not None


def _v(p: KpiPoint) -> float:
    return float(p.value) if p.value is not None else 0.0


def _hline(y: float, colour: str, extra: str = "") -> str:
    return (
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
        f'stroke="{colour}" stroke-width="1"{extra}/>'
    )


def _x_axis(first: date, n_days: int, x: XScale, base: float) -> list[str]:
    stride = next((s for s in _DAY_STRIDES if n_days / s <= 10), _DAY_STRIDES[-1])
    parts = [
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{base:.1f}" y2="{base:.1f}" '
        f'stroke="{AXIS_COLOUR}" stroke-width="1"/>'
    ]
    previous_year = None
    for k in range(0, n_days, stride):
        day = first + timedelta(days=k)
        text = day.strftime("%m-%d") if day.year == previous_year else day.isoformat()
        previous_year = day.year
        px = x(day)
        parts.append(
            f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{base:.1f}" y2="{base + 5:.1f}" '
            f'stroke="{AXIS_COLOUR}"/><text x="{px:.1f}" y="{base + 20:.1f}" '
            f'text-anchor="middle" font-size="12" fill="{AXIS_COLOUR}">{esc(text)}</text>'
        )
    return parts


def _alert_bands(
    hits: Sequence[AlertDay], unit: str, x: XScale, y: YScale, slot: float, plot_h: float
) -> list[str]:
    """A light red band over each alert day and a dashed line at each rule's threshold."""
    parts: list[str] = []
    for a in hits:
        parts.append(
            f'<rect class="alert-band" x="{x(a.day) - slot / 2:.1f}" y="{TOP}" '
            f'width="{slot:.1f}" height="{plot_h:.1f}" fill="{ALERT_COLOUR}" opacity="0.12"/>'
        )
    said = tr("threshold {value}")
    for threshold in sorted({a.threshold for a in hits if _ok(a.threshold)}):
        ty = y(threshold)
        parts.append(_hline(ty, ALERT_COLOUR, ' stroke-dasharray="6 4"'))
        parts.append(
            f'<text x="{WIDTH - RIGHT - 4}" y="{ty - 5:.1f}" text-anchor="end" font-size="12" '
            f'fill="{ALERT_COLOUR}">{esc(said.format(value=fmt_value(threshold, unit)))}</text>'
        )
    return parts


def _alert_dots(hits: Sequence[AlertDay], unit: str, x: XScale, y: YScale) -> list[str]:
    """A red ring at each alert's value, over the version lines (their point stays visible)."""
    parts: list[str] = []
    for a in hits:
        where = f" {a.group}" if a.group else ""
        tip = tr("alert {day}{where}: {value} {op} {threshold} → {advice}").format(
            day=a.day.isoformat(),
            where=where,
            value=fmt_value(a.value, unit),
            op=a.op,
            threshold=fmt_value(a.threshold, unit),
            advice=a.advice,
        )
        parts.append(
            f'<circle class="alert-dot" cx="{x(a.day):.1f}" cy="{y(a.value):.1f}" r="7.5" '
            f'fill="none" stroke="{ALERT_COLOUR}" stroke-width="3">'
            f"<title>{esc(tip)}</title></circle>"
        )
    return parts


def _by_version(
    points: Sequence[KpiPoint], colours: Mapping[str, str]
) -> dict[str, list[KpiPoint]]:
    """Points grouped per version: versions in colour order first, then in order of appearance."""
    grouped: dict[str, list[KpiPoint]] = {}
    order = {v: i for i, v in enumerate(colours)}
    for p in sorted(points, key=lambda p: order.get(p.version, len(order))):
        grouped.setdefault(p.version, []).append(p)
    return {v: sorted(pts, key=lambda p: p.day) for v, pts in grouped.items()}


def _version_line(
    version: str, pts: list[KpiPoint], colour: str, unit: str, x: XScale, y: YScale
) -> list[str]:
    """A version's polyline, broken where a value is missing, and a dot with a tooltip per day."""
    segments: list[list[KpiPoint]] = [[]]
    for p in pts:
        if _ok(p.value):
            segments[-1].append(p)
        elif segments[-1]:
            segments.append([])
    parts: list[str] = []
    named = tr("version {version}").format(version=version)
    for seg in segments:
        if len(seg) > 1:
            coords = " ".join(f"{x(p.day):.1f},{y(_v(p)):.1f}" for p in seg)
            parts.append(
                f'<polyline class="series" fill="none" stroke="{colour}" stroke-width="2.5" '
                f'stroke-linejoin="round" stroke-linecap="round" points="{coords}"/>'
            )
    for seg in segments:
        for p in seg:
            tip = f"{named} · {p.day.isoformat()} · {fmt_value(p.value, unit)}"
            parts.append(
                f'<circle cx="{x(p.day):.1f}" cy="{y(_v(p)):.1f}" r="3.5" fill="{colour}">'
                f"<title>{esc(tip)}</title></circle>"
            )
    return parts


def _legend(items: list[tuple[str, str]], with_alert: bool) -> list[str]:
    parts: list[str] = []
    px = LEFT
    for version, colour in items:
        text = tr("version {version}").format(version=version)
        parts.append(
            f'<line x1="{px}" x2="{px + 22}" y1="18" y2="18" stroke="{colour}" '
            f'stroke-width="4" stroke-linecap="round"/>'
            f'<text x="{px + 28}" y="22" font-size="13" fill="#222222">{esc(text)}</text>'
        )
        px += 44 + 8 * len(text)
    if with_alert:
        parts.append(
            f'<circle cx="{px + 6}" cy="18" r="6" fill="none" stroke="{ALERT_COLOUR}" '
            'stroke-width="3"/>'
            f'<text x="{px + 18}" y="22" font-size="13" fill="#222222">'
            f"{esc(tr('alert day'))}</text>"
        )
    return parts
