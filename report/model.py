"""Plain-data input of `sop report`: everything the page shows, already gathered and computed.

Rates are fractions (0.236 means 23.6%) and carry unit "%"; counts and amounts carry unit "".
Every string here may be user input (SOP texts, commit messages) and is escaped on output.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo


@dataclass(frozen=True)
class VersionRow:
    """One saved SOP version: tag, who saved it and when, its aliases, diff to the previous one."""

    version: str
    tag: str
    author: str
    at: datetime
    message: str
    aliases: list[str]
    diff_lines: list[str]


@dataclass(frozen=True)
class KpiPoint:
    """One day's value of a metric under one version; None where the day has no value (a gap)."""

    day: date
    version: str
    value: float | None


@dataclass(frozen=True)
class KpiSeries:
    """A metric's daily values, one line per version on the chart."""

    metric: str
    label_zh: str
    unit: str
    points: list[KpiPoint]


@dataclass(frozen=True)
class MetricView:
    """One metric of the experiment: both arms, lifts (candidate minus baseline) and the 95% CI.

    `ci_low`/`ci_high` bound the relative lift (fractions, like `rel_lift`). `role` is "primary",
    "guardrail" or "secondary". `unit` may be left "" when a KPI series of the same metric
    exists; the page then takes the series' unit. `direction` ("higher" or "lower") says which
    way is good, so a falling leave rate shows green.
    """

    name: str
    label_zh: str
    role: str
    baseline_value: float | None
    candidate_value: float | None
    abs_lift: float | None
    rel_lift: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    unit: str = ""
    direction: str = "higher"


@dataclass(frozen=True)
class ExperimentView:
    """The experiment's outcome: decision, why, design, size and per-metric results."""

    decision: str
    reasons: list[str]
    design: str
    days: float
    groups_per_arm: tuple[int, int]
    srm_p: float | None
    metrics: list[MetricView]
    changelog: str | None


@dataclass(frozen=True)
class AlertDay:
    """One alert rule firing on one day (for one group, or for all groups when `group` is None)."""

    day: date
    group: str | None
    metric: str
    value: float
    threshold: float
    op: str
    advice: str


@dataclass(frozen=True)
class ReportData:
    """Everything one SOP's report shows; its times are printed in `zone` (the workspace's)."""

    sop_id: str
    title: str
    generated_at: datetime
    versions: list[VersionRow]
    series: list[KpiSeries]
    experiment: ExperimentView | None
    alerts: list[AlertDay]
    zone: tzinfo = UTC
    versions_total: int | None = None  # when `versions` holds only the newest of them
