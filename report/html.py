"""Assemble the report page: one self-contained HTML file (inline CSS and SVG, no scripts)."""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path

from report.forest import ROLE_LABELS, forest_chart
from report.model import AlertDay, ExperimentView, MetricView, ReportData, VersionRow
from report.numbers import finite, fmt_abs_lift, fmt_p, fmt_pct, fmt_value
from report.svg import esc, line_chart, version_colours
from report.theme import CSS
from report.times import local_time
from sop_models.errors import ReportWriteError

DECISIONS: dict[str, tuple[str, str]] = {
    "PROMOTE": ("推广", "promote"),
    "REJECT": ("否决", "reject"),
    "CONTINUE": ("继续实验", "continue"),
}
DESIGNS: dict[str, str] = {"randomized": "随机分组", "before_after": "前后对比"}
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
        _versions(data.versions, colours, data.zone),
    ]
    title = f"{data.title} · SOP 报告"
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(sections)
        + f"\n<footer>sopflow · 生成于 generated {esc(local_time(data.generated_at, data.zone))} · "
        "离线单文件报告 self-contained offline report</footer>\n</main>\n</body>\n</html>\n"
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


def _zh_en(zh: str, en: str) -> str:
    return f"{esc(zh)} <small>{esc(en)}</small>"


def _series_versions(data: ReportData) -> list[str]:
    points = sorted((p.day, p.version) for s in data.series for p in s.points)
    return [v for _, v in points]


def _badge(experiment: ExperimentView | None) -> str:
    if experiment is None:
        return f'<div class="badge badge-none">{_zh_en("无实验", "no experiment")}</div>'
    zh, css = DECISIONS.get(experiment.decision, (experiment.decision, "none"))
    return f'<div class="badge badge-{css}">{_zh_en(zh, experiment.decision)}</div>'


def _header(data: ReportData) -> str:
    changelog = data.experiment.changelog if data.experiment else None
    line = (
        f'<p class="changelog">{_zh_en("变更说明", "changelog")}：<strong>{esc(changelog)}'
        "</strong></p>"
        if changelog
        else ""
    )
    return (
        '<section class="card"><div class="top"><div>'
        f'<p class="kicker">{_zh_en("SOP 运营报告", "SOP report")}</p>'
        f"<h1>{esc(data.title)}</h1>"
        f'<p class="meta">SOP ID <code>{esc(data.sop_id)}</code> · '
        f"{_zh_en('生成于', 'generated')} {esc(local_time(data.generated_at, data.zone))}</p>"
        f"</div>{_badge(data.experiment)}</div>{line}</section>"
    )


def _no_experiment() -> str:
    return (
        f'<section class="card"><h2>{_zh_en("实验结果", "experiment")}</h2>'
        f'<p class="empty">{_zh_en("暂无实验", "no experiment has run for this SOP")}</p></section>'
    )


def _experiment(ex: ExperimentView, units: dict[str, str]) -> str:
    design = DESIGNS.get(ex.design, "")
    days = finite(ex.days)
    day_text = "n/a" if days is None else (f"{days:.0f}" if days == int(days) else f"{days:.1f}")
    base_n, cand_n = ex.groups_per_arm
    facts = [
        f"{_zh_en('实验设计', 'design')}：{esc(design)} <small>{esc(ex.design)}</small>",
        f"{_zh_en('观察天数', 'days')}：{esc(day_text)}",
        f"{_zh_en('每组群数', 'groups per arm')}：{_zh_en('基线', 'baseline')} {base_n} / "
        f"{_zh_en('候选', 'candidate')} {cand_n}",
        _srm(ex.srm_p),
    ]
    reasons = "".join(f"<li>{esc(r)}</li>" for r in ex.reasons)
    reasons_html = (
        f'<h3>{_zh_en("判定理由", "reasons")}</h3><ul class="reasons">{reasons}</ul>'
        if reasons
        else ""
    )
    return (
        f'<section class="card" id="experiment"><h2>{_zh_en("实验结果", "experiment")}</h2>'
        f'<ul class="facts">{"".join(f"<li>{f}</li>" for f in facts)}</ul>{reasons_html}'
        f"{_metrics_table(ex.metrics, units)}"
        f"<figure><figcaption>{_zh_en('相对提升与 95% 置信区间', 'relative lift, 95% CI')}"
        f"</figcaption>{forest_chart(ex)}</figure></section>"
    )


def _srm(p: float | None) -> str:
    label = _zh_en("样本比例检验", "SRM")
    p = finite(p)
    if p is None:
        return f"{label}：{_zh_en('未检验', 'not checked')}"
    shown = "p " + fmt_p(p) if fmt_p(p).startswith("<") else f"p = {fmt_p(p)}"
    if p < SRM_THRESHOLD:
        verdict = _zh_en("分组比例异常，结果不可信", "sample ratio mismatch")
        return f'{label}：{esc(shown)} <span class="srm-bad">{verdict}</span>'
    return f'{label}：{esc(shown)} <span class="srm-ok">{_zh_en("正常", "ok")}</span>'


def _metrics_table(metrics: list[MetricView], units: dict[str, str]) -> str:
    if not metrics:
        return f'<p class="empty">{_zh_en("没有指标结果", "no metric results")}</p>'
    head = "".join(
        f'<th class="{"num" if i > 1 else ""}">{_zh_en(zh, en)}</th>'
        for i, (zh, en) in enumerate(
            [
                ("指标", "metric"),
                ("角色", "role"),
                ("基线", "baseline"),
                ("候选", "candidate"),
                ("绝对提升", "abs. lift"),
                ("相对提升", "rel. lift"),
                ("95% 置信区间", "CI"),
                ("p 值", "p-value"),
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
        role = ROLE_LABELS.get(m.role, m.role)
        rows.append(
            f"<tr><td>{esc(m.label_zh)} <small>{esc(m.name)}</small></td><td>{esc(role)}</td>"
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
        body = f'<p class="empty">{_zh_en("暂无 KPI 数据", "no KPI data")}</p>'
    else:
        body = "".join(
            f'<figure class="kpi" data-metric="{esc(s.metric)}"><figcaption>'
            f"<strong>{esc(s.label_zh)}</strong> <small>{esc(s.metric.replace('_', ' '))}"
            f"</small></figcaption>{line_chart(s, colours, data.alerts)}</figure>"
            for s in data.series
        )
    title = _zh_en("KPI 趋势（按版本）", "KPI trends by version")
    return f'<section class="card" id="trends"><h2>{title}</h2>{body}</section>'


def _alerts(alerts: list[AlertDay], units: dict[str, str], labels: dict[str, str]) -> str:
    title = f"<h2>{_zh_en('预警日', 'alert days')}</h2>"
    if not alerts:
        empty = _zh_en("无预警", "no alerts")
        return f'<section class="card" id="alerts">{title}<p class="empty">{empty}</p></section>'
    head = "".join(
        f"<th>{_zh_en(zh, en)}</th>"
        for zh, en in [
            ("日期", "date"),
            ("群", "group"),
            ("指标", "metric"),
            ("数值 / 阈值", "value vs threshold"),
            ("建议", "advice"),
        ]
    )
    rows = []
    for a in alerts:
        unit = units.get(a.metric, "")
        group = esc(a.group) if a.group else _zh_en("全部群", "all groups")
        rule = f"{fmt_value(a.value, unit)} {a.op} {fmt_value(a.threshold, unit)}"
        rows.append(
            f"<tr><td>{esc(a.day.isoformat())}</td><td>{group}</td>"
            f"<td>{esc(labels.get(a.metric, ''))} <small>{esc(a.metric)}</small></td>"
            f'<td class="bad">{esc(rule)}</td><td>{esc(a.advice)}</td></tr>'
        )
    return (
        f'<section class="card" id="alerts">{title}<table class="alerts"><tr>{head}</tr>'
        f"{''.join(rows)}</table></section>"
    )


def _versions(versions: list[VersionRow], colours: dict[str, str], zone: tzinfo) -> str:
    title = f"<h2>{_zh_en('版本历史', 'version history')}</h2>"
    if not versions:
        empty = _zh_en("尚无保存的版本", "no saved versions")
        return f'<section class="card" id="versions">{title}<p class="empty">{empty}</p></section>'
    head = "".join(
        f"<th>{_zh_en(zh, en)}</th>"
        for zh, en in [
            ("版本", "version"),
            ("标签", "tag"),
            ("作者", "author"),
            ("时间", "saved at"),
            ("说明", "message"),
            ("别名", "aliases"),
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
        return f'<span class="empty">{_zh_en("无差异", "no diff")}</span>'
    added = sum(1 for ln in lines if ln.startswith("+") and not ln.startswith("+++"))
    removed = sum(1 for ln in lines if ln.startswith("-") and not ln.startswith("---"))
    body = "".join(f'<span class="{_diff_class(ln)}">{esc(ln) or " "}</span>' for ln in lines)
    summary = f"{_zh_en('查看差异', 'diff')} +{added} / −{removed}"
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
