"""Forest plot of an experiment: each metric's relative lift with its 95% CI around zero."""

from __future__ import annotations

from collections.abc import Callable

from report.model import ExperimentView, MetricView
from report.numbers import finite, fmt_pct, metric_label, nice_domain, tick_label
from report.svg import ALERT_COLOUR, AXIS_COLOUR, GRID_COLOUR, esc, no_data_svg, svg_open
from sop_models.i18n import N_, tr

#: The primary metric takes the decision's colour; other roles have their own.
DECISION_COLOURS: dict[str, str] = {
    "PROMOTE": "#2ca02c",
    "REJECT": ALERT_COLOUR,
    "CONTINUE": "#e6a100",
}
ROLE_COLOURS: dict[str, str] = {"guardrail": "#34495e", "secondary": "#95a5a6"}
ROLE_LABELS: dict[str, str] = {
    "primary": N_("primary"),
    "guardrail": N_("guardrail"),
    "secondary": N_("secondary"),
}

WIDTH = 960
ROW = 44
TOP, BOTTOM = 16, 72
PLOT_LEFT, PLOT_RIGHT = 280, WIDTH - 230


def metric_colour(metric: MetricView, decision: str) -> str:
    """Colour of a metric's bar: the decision's colour for the primary, the role's otherwise."""
    if metric.role == "primary":
        return DECISION_COLOURS.get(decision, "#7f7f7f")
    return ROLE_COLOURS.get(metric.role, "#7f7f7f")


def forest_chart(experiment: ExperimentView) -> str:
    """Relative lift (candidate vs baseline) per metric, a CI bar around a zero line."""
    label = tr("Experiment: relative lift with 95% CI")
    metrics = experiment.metrics
    numbers = [
        v
        for m in metrics
        for v in (finite(m.rel_lift), finite(m.ci_low), finite(m.ci_high))
        if v is not None
    ]
    if not metrics or not numbers:
        return no_data_svg(label, "chart forest")
    vmin, vmax = min([*numbers, 0.0]), max([*numbers, 0.0])
    pad = (vmax - vmin) * 0.08 or 0.05
    lo, hi, ticks = nice_domain(vmin - pad, vmax + pad)
    height = TOP + ROW * len(metrics) + BOTTOM
    base = TOP + ROW * len(metrics)

    def x(value: float) -> float:
        return PLOT_LEFT + (PLOT_RIGHT - PLOT_LEFT) * (value - lo) / (hi - lo)

    step = ticks[1] - ticks[0] if len(ticks) > 1 else 0.01
    parts = [svg_open(WIDTH, height, label, "chart forest")]
    for t in ticks:
        text = ("+" if t > 0 else "") + tick_label(t, step, "%")
        parts.append(
            f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{TOP}" y2="{base}" '
            f'stroke="{GRID_COLOUR}"/><text x="{x(t):.1f}" y="{base + 18}" '
            f'text-anchor="middle" font-size="12" fill="{AXIS_COLOUR}">{esc(text)}</text>'
        )
    parts.append(
        f'<line class="zero" x1="{x(0):.1f}" x2="{x(0):.1f}" y1="{TOP - 6}" y2="{base}" '
        f'stroke="#222222" stroke-width="1.5"/>'
        f'<text x="{(PLOT_LEFT + PLOT_RIGHT) / 2}" y="{base + 40}" text-anchor="middle" '
        f'font-size="12" fill="{AXIS_COLOUR}">{esc(tr("Relative lift (95% CI)"))}</text>'
    )
    for i, m in enumerate(metrics):
        parts += _row(m, TOP + ROW * (i + 0.5), metric_colour(m, experiment.decision), x)
    parts += _legend(experiment.decision, {m.role for m in metrics}, height - 14)
    parts.append("</svg>")
    return "".join(parts)


def forest_text(experiment: ExperimentView) -> list[str]:
    """The chart as sentences, one per metric: its text alternative for screen readers."""
    return [
        tr("{label} {name} ({role}): {lift}, 95% CI [{low}, {high}]").format(
            label=metric_label(m.label_zh, m.name),
            name=m.name,
            role=tr(ROLE_LABELS[m.role]) if m.role in ROLE_LABELS else m.role,
            lift=fmt_pct(m.rel_lift),
            low=fmt_pct(m.ci_low),
            high=fmt_pct(m.ci_high),
        )
        for m in experiment.metrics
    ]


def _row(m: MetricView, cy: float, colour: str, x: Callable[[float], float]) -> list[str]:
    role = tr(ROLE_LABELS[m.role]) if m.role in ROLE_LABELS else m.role
    label = metric_label(m.label_zh, m.name)
    rel, low, high = finite(m.rel_lift), finite(m.ci_low), finite(m.ci_high)
    ci = f"[{fmt_pct(low)}, {fmt_pct(high)}]"
    parts = [
        f'<text x="12" y="{cy - 2:.1f}" font-size="14" font-weight="600" fill="#222222">'
        f"{esc(label)}</text>"
        f'<text x="12" y="{cy + 14:.1f}" font-size="11" fill="#777777">'
        f"{esc(m.name)} · {esc(role)}</text>",
        f'<text x="{PLOT_RIGHT + 14}" y="{cy + 5:.1f}" font-size="13" fill="#222222">'
        f"{esc(fmt_pct(rel))} {esc(ci)}</text>",
    ]
    tip = tr("{label} {name}: {lift} 95% CI {ci}").format(
        label=label, name=m.name, lift=fmt_pct(rel), ci=ci
    )
    if low is not None and high is not None:
        x1, x2 = x(low), x(high)
        parts.append(
            f'<line class="ci" x1="{x1:.1f}" x2="{x2:.1f}" y1="{cy:.1f}" y2="{cy:.1f}" '
            f'stroke="{colour}" stroke-width="8" stroke-linecap="round" opacity="0.45">'
            f"<title>{esc(tip)}</title></line>"
        )
        for bx in (x1, x2):
            parts.append(
                f'<line x1="{bx:.1f}" x2="{bx:.1f}" y1="{cy - 9:.1f}" y2="{cy + 9:.1f}" '
                f'stroke="{colour}" stroke-width="2"/>'
            )
    if rel is not None:
        parts.append(
            f'<circle cx="{x(rel):.1f}" cy="{cy:.1f}" r="7" fill="{colour}" stroke="#ffffff" '
            f'stroke-width="1.5"><title>{esc(tip)}</title></circle>'
        )
    else:
        parts.append(
            f'<text x="{PLOT_LEFT + 8}" y="{cy + 5:.1f}" font-size="12" fill="#888888">'
            f"{esc(tr('not computable'))}</text>"
        )
    return parts


def _legend(decision: str, roles: set[str], y: float) -> list[str]:
    items = [("primary", DECISION_COLOURS.get(decision, "#7f7f7f"))]
    items += [(r, c) for r, c in ROLE_COLOURS.items() if r in roles]
    parts: list[str] = []
    px = float(PLOT_LEFT)
    for role, colour in items:
        text = tr(ROLE_LABELS[role])
        parts.append(
            f'<circle cx="{px + 6:.1f}" cy="{y - 4:.1f}" r="6" fill="{colour}"/>'
            f'<text x="{px + 18:.1f}" y="{y:.1f}" font-size="12" fill="#222222">{esc(text)}</text>'
        )
        px += 40 + 8 * len(text)
    return parts
