"""`--metric` / `--guardrail` SPECs of `sop check-data`: columns, ratio, direction.

A SPEC that names a column exactly is that column; `NUM/DEN` is a ratio of sums. A SPEC named
like a KPI of the registry (`churn_rate`) takes that metric's direction; any other SPEC is
higher-is-better unless it (or its numerator column) is in `lower_is_better`, and every name in
`lower_is_better` must name a SPEC or one of its columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sop_models.errors import CheckError
from sop_models.kpis import METRICS, Direction

Role = Literal["primary", "secondary", "guardrail"]
ROLES: tuple[Role, ...] = ("primary", "secondary", "guardrail")


@dataclass(frozen=True)
class MetricSpec:
    """A parsed `--metric` / `--guardrail` SPEC."""

    name: str
    role: Role
    columns: tuple[str, ...]  # (column,) or (numerator, denominator)
    direction: Direction


def parse_spec(text: str, role: Role, columns: Sequence[str], lower: Sequence[str]) -> MetricSpec:
    """`opened` -> one column; `orders/clicks` -> ratio of sums (unless a column has that name)."""
    if text in columns or "/" not in text:
        parts: tuple[str, ...] = (text.strip(),)
    else:
        num, den = text.split("/", 1)
        parts = (num.strip(), den.strip())
    return MetricSpec(text, role, parts, spec_direction(text.strip(), parts[0], lower))


def spec_direction(name: str, first_column: str, lower: Sequence[str]) -> Direction:
    """The registry's direction for a known KPI; for an ad-hoc SPEC "lower" when it or its
    (numerator) column is listed in `lower`. Listing a higher-is-better KPI is a CheckError."""
    listed = name in lower or first_column in lower
    known = METRICS.get(name)
    if known is None:
        return "lower" if listed else "higher"
    if listed and known.direction != "lower":
        raise CheckError(
            f"--lower-is-better {name}: {name} ({known.label}) is a KPI where "
            f"{known.direction} is better; rename the column to compare it the other way"
        )
    return known.direction


def known_lower(names: Sequence[str], specs: Sequence[MetricSpec]) -> None:
    """Every --lower-is-better NAME must name a metric SPEC or one of its columns."""
    known = {s.name.strip() for s in specs} | {c for s in specs for c in s.columns}
    unknown = [n for n in names if n.strip() not in known]
    if unknown:
        raise CheckError(
            f"--lower-is-better {unknown[0]}: no --metric or --guardrail is named so "
            f"(known: {', '.join(sorted(known))})"
        )
