"""A check run's evidence as a template renders it: the Markdown its pause carries as blocks
(headings, tables, lists and paragraphs; the template escapes every cell), and its structured
evidence as the report's forest chart (SVG) with the same content as text. Evidence stored
on a version (`stored`) becomes the same blocks: the inbox and the version page look alike."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from markupsafe import Markup
from pydantic import ValidationError

from sop_models.evidence import Evidence


@dataclass
class Block:
    """One block: `kind` is heading, table, list, text or json (pre-formatted)."""

    kind: str
    lines: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


def _plain(text: str) -> str:
    return text.replace("**", "").strip()


def blocks(markdown: str) -> list[Block]:
    """The Markdown of a check's summary as blocks (tables split into header + rows)."""
    found: list[Block] = []
    for raw in markdown.splitlines():
        line = raw.strip()
        kind = (
            "heading"
            if line.startswith("#")
            else "table"
            if line.startswith("|")
            else "list"
            if line.startswith("- ")
            else "text"
        )
        if not line:
            continue
        last = found[-1] if found else None
        if kind == "table":
            cells = [_plain(c) for c in line.strip("|").split("|")]
            if all(set(c) <= set("-: ") for c in cells):
                continue  # the header separator
            if last is None or last.kind != "table":
                found.append(last := Block("table"))
            last.rows.append(cells)
        elif kind == "list":
            if last is None or last.kind != "list":
                found.append(last := Block("list"))
            last.lines.append(_plain(line[2:]))
        else:
            found.append(Block(kind, [_plain(line.lstrip("#"))]))
    return found


@dataclass(frozen=True)
class EvidenceChart:
    """The forest chart of a paused check (inline SVG) and its text alternative, per metric."""

    svg: Markup
    text: list[str]


def chart(evidence: dict[str, Any] | None) -> EvidenceChart | None:
    """The chart of a paused run's structured evidence; None when the pause carries none."""
    from report.forest import forest_chart, forest_text
    from services.report_data import experiment_view

    if evidence is None:
        return None
    try:
        view = experiment_view(Evidence.model_validate(evidence))
    except ValidationError:
        return None  # a pause from another tool or an older sopflow: the text evidence stays
    # forest_chart escapes every text it draws.
    return EvidenceChart(Markup(forest_chart(view)), forest_text(view))


def _num(value: float | None, fmt: str) -> str:
    return "—" if value is None else format(value, fmt)


def _lift(value: float | None, scale: str) -> str:
    if value is None:
        return "—"
    return f"{value * 100:+.1f}%" if scale == "relative" else f"{value:+.4g}"


def stored(record: dict[str, Any]) -> list[Block]:
    """Evidence stored on a version as blocks: a check's window, metric table, reasons and
    SRM; anything else (attached by hand) as its JSON, Chinese intact."""
    from services.check_summary import ROLES
    from sop_models.i18n import tr
    from sop_models.kpis import metric_title

    try:
        ev = Evidence.model_validate(record)
    except ValidationError:
        return [Block("json", [json.dumps(record, ensure_ascii=False, indent=2)])]
    check = ev.check
    found = [
        Block("heading", [f"v{ev.candidate} vs v{ev.production} — {ev.decision}"]),
        Block(
            "text",
            [
                tr(
                    "Window {start} .. {end} ({days} days), groups {a} + {b}, design {design}."
                ).format(
                    start=ev.window[0],
                    end=ev.window[1] - timedelta(days=1),  # the window's end is exclusive
                    days=ev.days,
                    a=ev.groups_per_arm[0],
                    b=ev.groups_per_arm[1],
                    design=check.design,
                )
            ],
        ),
    ]
    header = tr("| metric | role | production | candidate | lift | 95% CI | p |")
    rows = [[_plain(c) for c in header.strip("|").split("|")]]
    for m in check.metrics:
        ci = m.ci_rel if m.scale == "relative" else m.ci_abs
        lift = m.rel_lift if m.scale == "relative" else m.abs_lift
        rows.append(
            [
                metric_title(m.name),
                tr(ROLES.get(m.role, m.role)),
                _num(m.baseline.value, ".4f"),
                _num(m.candidate.value, ".4f"),
                _lift(lift, m.scale),
                f"[{_lift(ci[0], m.scale)}, {_lift(ci[1], m.scale)}]",
                _num(m.p_value, ".4f"),
            ]
        )
    found.append(Block("table", rows=rows))
    if check.reasons:
        found.append(Block("list", list(check.reasons)))
    if check.srm is not None:
        ok = tr("ok") if check.srm.ok else tr("MISMATCH")
        srm = tr("SRM: p = {p} ({ok})").format(p=f"{check.srm.p_value:.4f}", ok=ok)
        found.append(Block("text", [srm]))
    return found
