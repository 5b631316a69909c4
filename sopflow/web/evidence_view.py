"""A check run's evidence as a template renders it: the Markdown its pause carries as blocks
(headings, tables, lists and paragraphs; the template escapes every cell), and its structured
evidence as the report's forest chart (SVG) with the same content as text."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup
from pydantic import ValidationError

from sop_models.evidence import Evidence


@dataclass
class Block:
    """One block: `kind` is heading, table, list or text."""

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
