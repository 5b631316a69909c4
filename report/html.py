"""Assemble the report page: one self-contained HTML file (inline CSS and SVG, no scripts)."""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path

from report.forest import ROLE_LABELS, forest_chart
from report.model import AlertDay, ExperimentView, MetricView, ReportData, VersionRow
from report.numbers import finite, fmt_abs_lift, fmt_p, fmt_pct, fmt_value, metric_label
from report.svg import esc, line_chart, version_colours
from report.theme import CSS
from report.times import local_time
from sop_models.errors import ReportWriteError
from sop_models.i18n import N_, is_chinese, tr

DECISIONS: dict[str, tuple[str, str]] = {
    "PROMOTE": (N_("promote"), "promote"),
    "REJECT": (N_("reject"), "reject"),
    "CONTINUE": (N_("continue the experiment"), "continue"),
}
DESIGNS: dict[str, str] = {"randomized": N_("randomized"), "before_after": N_("before/after")}
SRM_THRESHOLD = 0.001


def render_report(data: ReportData) -> str:
    """The whole report page for one SOP as an HTML string (every user text escaped)."""
    order = sorted(data.versions, key=lambda v: v.at)
    colours = version_colours([v.version for v in order] + _series_versions(data))
    units = {s.metric: s.unit for s in data.series}
    labels = {s.metric: s.label_zh for s in data.series}
    sections = [
        _header(data),
        _experiment(data.experiment, units) if data.experiment else _no_experiment(),
        _trends(data, colours),
        _alerts(data.alerts, units, labels),
        _versions(data.versions, colours, data.zone, data.versions_total),
    ]
    title = tr("{title} · SOP report").format(title=data.title)
    lang = "zh-CN" if is_chinese() else "en"
    footer = tr("sopflow · generated {time} · self-contained offline report").format(
        time=local_time(data.generated_at, data.zone)
    )
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(sections)
        + f"\n<footer>{esc(footer)}</footer>\n</main>\n</body>\n</html>\n"
    )


def write_report(data: ReportData, path: str | Path) -> Path:
    """Render the report and write it as UTF-8 to `path` (parent folders are created)."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render_report(data), encoding="utf-8")
    except OSError as err:
        raise ReportWriteError(f"{target}: cannot write report: {err.strerror or err}") from err
    return target


def _w(msgid: str) -> str:
    """A marked msgid (N_) in the current language, escaped for HTML."""
    return esc(tr(msgid))


def _series_versions(data: ReportData) -> list[str]:
    points = sorted((p.day, p.version) for s in data.series for p in s.points)
    return [v for _, v in points]


def _badge(experiment: ExperimentView | None) -> str:
    if experiment is None:
        return f'<div class="badge badge-none">{_w(N_("no experiment"))}</div>'
    word, css = DECISIONS.get(experiment.decision, (experiment.decision, "none"))
    label = f"{_w(word)} <small>{esc(experiment.decision)}</small>"
    return f'<div class="badge badge-{css}">{label}</div>'


def _header(data: ReportData) -> str:
    changelog = data.experiment.changelog if data.experiment else None
    said = tr("Changelog: {line}")
    line = (
        '<p class="changelog">'
        + esc(said).format(line=f"<strong>{esc(changelog)}</strong>")
        + "</p>"
        if changelog
        else ""
    )
    kicker, generated = _w(N_("SOP operations report")), _w(N_("generated"))
    return (
        '<section class="card"><div class="top"><div>'
        f'<p class="kicker">{kicker}</p>'
        f"<h1>{esc(data.title)}</h1>"
        f'<p class="meta">SOP ID <code>{esc(data.sop_id)}</code> · '
        f"{generated} {esc(local_time(data.generated_at, data.zone))}</p>"
        f"</div>{_badge(data.experiment)}</div>{line}</section>"
    )


def _no_experiment() -> str:
    title, empty = _w(N_("Experiment")), _w(N_("No experiment has run for this SOP."))
    return f'<section class="card"><h2>{title}</h2><p class="empty">{empty}</p></section>'


def _experiment(ex: ExperimentView, units: dict[str, str]) -> str:
    design = _w(DESIGNS[ex.design]) if ex.design in DESIGNS else esc(ex.design)
    days = finite(ex.days)
    day_text = "n/a" if days is None else (f"{days:.0f}" if days == int(days) else f"{days:.1f}")
    base_n, cand_n = ex.groups_per_arm
    arms = tr("baseline {baseline} / candidate {candidate}").format(
        baseline=base_n, candidate=cand_n
    )
    facts = [
        esc(tr("Design: {design}")).format(design=design),
        esc(tr("Days observed: {days}").format(days=day_text)),
        esc(tr("Groups per arm: {arms}").format(arms=arms)),
        _srm(ex.srm_p),
    ]
    reasons = "".join(f"<li>{esc(r)}</li>" for r in ex.reasons)
    reasons_title = _w(N_("Reasons"))
    reasons_html = f'<h3>{reasons_title}</h3><ul class="reasons">{reasons}</ul>' if reasons else ""
    title, caption = _w(N_("Experiment")), _w(N_("Relative lift with 95% CI"))
    return (
        f'<section class="card" id="experiment"><h2>{title}</h2>'
        f'<ul class="facts">{"".join(f"<li>{f}</li>" for f in facts)}</ul>{reasons_html}'
        f"{_metrics_table(ex.metrics, units)}"
        f"<figure><figcaption>{caption}</figcaption>{forest_chart(ex)}</figure></section>"
    )


def _srm(p: float | None) -> str:
    said = esc(tr("Sample ratio check (SRM): {result}"))
    p = finite(p)
    if p is None:
        return said.format(result=_w(N_("not checked")))
    shown = "p " + fmt_p(p) if fmt_p(p).startswith("<") else f"p = {fmt_p(p)}"
    if p < SRM_THRESHOLD:
        verdict = _w(N_("sample ratio mismatch: groups were not split as planned, do not trust"))
        return said.format(result=f'{esc(shown)} <span class="srm-bad">{verdict}</span>')
    return said.format(result=f'{esc(shown)} <span class="srm-ok">{_w(N_("ok"))}</span>')


def _metrics_table(metrics: list[MetricView], units: dict[str, str]) -> str:
    if not metrics:
        return f'<p class="empty">{_w(N_("No metric results."))}</p>'
    head = "".join(
        f'<th class="{"num" if i > 1 else ""}">{_w(word)}</th>'
        for i, word in enumerate(
            [
                N_("Metric"),
                N_("Role"),
                N_("Baseline"),
                N_("Candidate"),
                N_("Abs. lift"),
                N_("Rel. lift"),
                N_("95% CI"),
                N_("p-value"),
            ]
        )
    )
    rows = []
    for m in metrics:
        unit = m.unit or units.get(m.name, "")
        rel = finite(m.rel_lift)
        trend = ""
        if rel:
            good = (rel > 0) == (m.direction != "lower")
            trend = ' class="good"' if good else ' class="bad"'
        role = tr(ROLE_LABELS[m.role]) if m.role in ROLE_LABELS else m.role
        label = metric_label(m.label_zh, m.name)
        rows.append(
            f"<tr><td>{esc(label)} <small>{esc(m.name)}</small></td><td>{esc(role)}</td>"
            f'<td class="num">{esc(fmt_value(m.baseline_value, unit))}</td>'
            f'<td class="num">{esc(fmt_value(m.candidate_value, unit))}</td>'
            f'<td class="num">{esc(fmt_abs_lift(m.abs_lift, unit))}</td>'
            f'<td class="num"><span{trend}>{esc(fmt_pct(rel))}</span></td>'
            f'<td class="num">[{esc(fmt_pct(m.ci_low))}, {esc(fmt_pct(m.ci_high))}]</td>'
            f'<td class="num">{esc(fmt_p(m.p_value))}</td></tr>'
        )
    return f'<table class="metrics"><tr>{head}</tr>{"".join(rows)}</table>'


def _trends(data: ReportData, colours: dict[str, str]) -> str:
    if not data.series:
        body = f'<p class="empty">{_w(N_("No KPI data yet."))}</p>'
    else:
        body = "".join(
            f'<figure class="kpi" data-metric="{esc(s.metric)}"><figcaption>'
            f"<strong>{esc(metric_label(s.label_zh, s.metric))}</strong> <small>{esc(s.metric)}"
            f"</small></figcaption>{line_chart(s, colours, data.alerts)}</figure>"
            for s in data.series
        )
    title = _w(N_("KPI trends by version"))
    return f'<section class="card" id="trends"><h2>{title}</h2>{body}</section>'


def _alerts(alerts: list[AlertDay], units: dict[str, str], labels: dict[str, str]) -> str:
    title = f"<h2>{_w(N_('Alert days'))}</h2>"
    if not alerts:
        empty = _w(N_("No alerts."))
        return f'<section class="card" id="alerts">{title}<p class="empty">{empty}</p></section>'
    head = "".join(
        f"<th>{_w(word)}</th>"
        for word in [
            N_("Date"),
            N_("Group"),
            N_("Metric"),
            N_("Value vs threshold"),
            N_("Advice"),
        ]
    )
    rows = []
    for a in alerts:
        unit = units.get(a.metric, "")
        group = esc(a.group) if a.group else _w(N_("all groups"))
        rule = f"{fmt_value(a.value, unit)} {a.op} {fmt_value(a.threshold, unit)}"
        rows.append(
            f"<tr><td>{esc(a.day.isoformat())}</td><td>{group}</td>"
            f"<td>{esc(metric_label(labels.get(a.metric, ''), a.metric))} "
            f"<small>{esc(a.metric)}</small></td>"
            f'<td class="bad">{esc(rule)}</td><td>{esc(a.advice)}</td></tr>'
        )
    return (
        f'<section class="card" id="alerts">{title}<table class="alerts"><tr>{head}</tr>'
        f"{''.join(rows)}</table></section>"
    )


def _versions(
    versions: list[VersionRow], colours: dict[str, str], zone: tzinfo, total: int | None
) -> str:
    count = f" ({len(versions):,} / {total:,})" if total and total > len(versions) else ""
    title = f"<h2>{_w(N_('Version history'))}{count}</h2>"
    if not versions:
        empty = _w(N_("No saved versions."))
        return f'<section class="card" id="versions">{title}<p class="empty">{empty}</p></section>'
    head = "".join(
        f"<th>{_w(word)}</th>"
        for word in [
            N_("Version"),
            N_("Tag"),
            N_("Author"),
            N_("Saved at"),
            N_("Message"),
            N_("Aliases"),
        ]
    )
    rows = []
    for v in versions:
        swatch = (
            f'<span class="swatch" style="background:{colours[v.version]}"></span>'
            if v.version in colours
            else ""
        )
        aliases = "".join(f'<span class="alias">{esc(a)}</span>' for a in v.aliases)
        rows.append(
            f"<tr><td>{swatch}<strong>{esc(v.version)}</strong></td><td><code>{esc(v.tag)}"
            f"</code></td><td>{esc(v.author)}</td><td>{esc(local_time(v.at, zone))}</td>"
            f"<td>{esc(v.message)}</td><td>{aliases}</td></tr>"
            f'<tr class="diff-row"><td colspan="6">{_diff(v.diff_lines)}</td></tr>'
        )
    return (
        f'<section class="card" id="versions">{title}<table class="versions"><tr>{head}</tr>'
        f"{''.join(rows)}</table></section>"
    )


def _diff(lines: list[str]) -> str:
    if not lines:
        return f'<span class="empty">{_w(N_("no differences"))}</span>'
    added = sum(1 for ln in lines if ln.startswith("+") and not ln.startswith("+++"))
    removed = sum(1 for ln in lines if ln.startswith("-") and not ln.startswith("---"))
    body = "".join(f'<span class="{_diff_class(ln)}">{esc(ln) or " "}</span>' for ln in lines)
    summary = f"{_w(N_('Show the diff'))} +{added} / −{removed}"
    return f'<details><summary>{summary}</summary><pre class="diff">{body}</pre></details>'


def _diff_class(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "d-file"
    if line.startswith("+"):
        return "d-add"
    if line.startswith("-"):
        return "d-del"
    if line.startswith("@@"):
        return "d-hunk"
    return "d-ctx"
