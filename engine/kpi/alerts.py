"""Alert rules over daily KPI rows: e.g. open_rate < 0.20 -> "change push time and title"."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from engine.kpi.definitions import get_metric
from sop_models.errors import CheckError

OPS: dict[str, Callable[[Any, Any], Any]] = {
    "<": pc.less,
    "<=": pc.less_equal,
    ">": pc.greater,
    ">=": pc.greater_equal,
}


class AlertRuleLike(Protocol):
    """An alert rule as the SOP document states it (sop_models' rule objects fit)."""

    @property
    def metric(self) -> str:
        """Metric name from the KPI registry."""
        ...

    @property
    def op(self) -> str:
        """One of <, <=, >, >=."""
        ...

    @property
    def threshold(self) -> float:
        """The value compared against."""
        ...

    @property
    def advice(self) -> str:
        """What the operator should do when the rule fires."""
        ...


@dataclass(frozen=True)
class AlertHit:
    """One rule firing on one day (for one group, or for all groups when `group` is None)."""

    day: date
    group: str | None
    metric: str
    value: float
    threshold: float
    op: str
    advice: str

    def __str__(self) -> str:
        where = f" {self.group}" if self.group else ""
        rule = f"{self.metric} {self.value:.4g} {self.op} {self.threshold:g}"
        return f"{self.day}{where}: {rule} -> {self.advice}"


def evaluate_alerts(
    kpi_by_day_rows: pa.Table | Iterable[Mapping[str, Any]], rules: Sequence[AlertRuleLike]
) -> list[AlertHit]:
    """Every (day[, group]) KPI row on which a rule's `value <op> threshold` holds.

    Rows come from `compute_kpis(..., by=("day",))` or `by=("group", "day")` (a table or
    mappings with metric, day, value and optionally group). Rows without a value never fire.
    Hits are sorted by day, group, metric.
    """
    table = kpi_by_day_rows if isinstance(kpi_by_day_rows, pa.Table) else _table(kpi_by_day_rows)
    if "day" not in table.column_names:
        raise CheckError("alert rules need KPI rows by day (compute_kpis(by=('day',)))")
    hits: list[AlertHit] = []
    for rule in rules:
        get_metric(rule.metric)
        if rule.op not in OPS:
            raise CheckError(f"alert rule on {rule.metric}: unknown operator {rule.op!r}")
        if table.num_rows == 0:
            continue
        mask = pc.and_(
            pc.equal(table["metric"], rule.metric),
            OPS[rule.op](table["value"], pa.scalar(float(rule.threshold))),
        )
        fired = table.filter(pc.fill_null(mask, False))
        groups = fired["group"].to_pylist() if "group" in fired.column_names else None
        for i, (day, value) in enumerate(
            zip(fired["day"].to_pylist(), fired["value"].to_pylist(), strict=True)
        ):
            hits.append(
                AlertHit(
                    day,
                    groups[i] if groups else None,
                    rule.metric,
                    value,
                    float(rule.threshold),
                    rule.op,
                    rule.advice,
                )
            )
    return sorted(hits, key=lambda h: (h.day, h.group or "", h.metric))


def _table(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    rows = list(rows)
    if not rows:
        schema = [("metric", pa.string()), ("day", pa.date32()), ("value", pa.float64())]
        return pa.schema(schema).empty_table()
    return pa.Table.from_pylist([dict(r) for r in rows])
