"""A side-by-side line diff of two saved texts, for the diff page (Chinese kept as is)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One row of the side-by-side view: left and right line (None: no line) and its kind."""

    kind: str  # equal | replace | delete | insert | skip (unchanged lines left out)
    left_no: int | None
    left: str | None
    right_no: int | None
    right: str | None


def side_by_side(before: str, after: str, context: int = 3) -> list[Row]:
    """Rows pairing the lines of `before` and `after`, changed runs side by side, with
    `context` unchanged lines around each change (a `skip` row stands for the rest); no rows
    when the texts are equal."""
    a, b = before.splitlines(), after.splitlines()
    rows: list[Row] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        first = group[0]
        if rows or first[1] > 0:
            rows.append(Row("skip", None, None, None, None))
        rows.extend(_rows(a, b, group))
    if rows and rows[-1].left_no is not None and rows[-1].left_no < len(a):
        rows.append(Row("skip", None, None, None, None))
    return rows


def _rows(a: list[str], b: list[str], opcodes: list[tuple[str, int, int, int, int]]) -> list[Row]:
    rows: list[Row] = []
    for tag, i1, i2, j1, j2 in opcodes:
        for k in range(max(i2 - i1, j2 - j1)):
            i, j = i1 + k, j1 + k
            left = a[i] if i < i2 else None
            right = b[j] if j < j2 else None
            rows.append(
                Row(
                    tag,
                    i + 1 if left is not None else None,
                    left,
                    j + 1 if right is not None else None,
                    right,
                )
            )
    return rows
