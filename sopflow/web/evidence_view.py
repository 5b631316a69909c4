"""A check run's evidence (the Markdown its pause carries) as blocks a template renders:
headings, tables, lists and paragraphs. Text only; the template escapes every cell."""

from __future__ import annotations

from dataclasses import dataclass, field


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
