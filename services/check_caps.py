"""Capping heavy-tailed money in `sop check` (metrics with a `cap_quantile` in the registry).

The unit whose amount is capped is each member's order amount in a group over the window: the
money a metric like 客单价 averages (order amount / ordering members). The cap is the pooled
quantile (engine.stats.winsor.cap_sql: the rule of check-data and the simulation) of the
non-zero member amounts of both versions' groups in the window, groups seen under both
versions left out, so A/A stays exchangeable. Each order of a member above the cap is scaled
by cap / that member's amount, so the member's orders sum to the cap and every KPI formula
(per group, per version, CUPED's pre-period) reads capped amounts without a change. The period
before the window (CUPED's pre-period, or production's period in a before/after check) is
capped at the same value, member by member; in a before/after check its members join the pool,
since it is the baseline arm.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import duckdb

from engine.events.store import EventStore
from engine.kpi.compute import EventExtent
from engine.stats.capped import Capped
from engine.stats.result import MetricResult
from engine.stats.table_read import literal
from engine.stats.winsor import cap_sql
from services.check_metrics import test_metric
from sop_models.kpis import METRICS

CAPPED_EVENT = "order"  # the money events: average_order_value and roi sum their amounts
PLANNED_DAYS = 14  # CUPED's pre-period is as long as the window, at most this


@dataclass(frozen=True)
class CappedEvents:
    """An event source (engine.kpi.compute.EventSource) whose order amounts are capped."""

    store: EventStore
    sql: str
    capped: Capped

    @property
    def tz(self) -> str:
        """Zone of the stored `day` column (the store's)."""
        return self.store.tz

    def source_sql(self) -> str:
        """A FROM-clause item reading every event, order amounts capped."""
        return self.sql

    def summary(self) -> EventExtent:
        """The store's extent: capping changes values, never which rows exist."""
        return self.store.summary()


def capped_events(
    store: EventStore,
    metric: str,
    *,
    sop_id: str,
    start: date,
    end: date,
    versions: tuple[str, str],
    crossed: frozenset[str],
    before_after: bool,
) -> CappedEvents | None:
    """The store with `metric`'s money capped, or None when the metric declares no cap or the
    window has no order amounts."""
    quantile = METRICS[metric].cap_quantile if metric in METRICS else None
    if quantile is None:
        return None
    days = (end - start).days
    before = start - timedelta(days=days if before_after else min(days, PLANNED_DAYS))
    period = (
        f"CASE WHEN day >= {_day(start)} AND day < {_day(end)} THEN 0 "
        f"WHEN day >= {_day(before)} AND day < {_day(start)} THEN 1 END"
    )
    groups = ", ".join(literal(g) for g in sorted(crossed))
    keep = f' AND "group" NOT IN ({groups})' if groups else ""
    totals = (
        f'SELECT "group" AS g, member AS m, {period} AS period, sum(value) AS total '
        f"FROM {store.source_sql()} WHERE event = {literal(CAPPED_EVENT)} "
        f"AND (sop = {literal(sop_id)} OR sop IS NULL) AND (sop_version IS NULL OR "
        f"sop_version IN ({literal(versions[0])}, {literal(versions[1])})) "
        f"{keep} AND {period} IS NOT NULL GROUP BY ALL"
    )
    pooled = "period IN (0, 1)" if before_after else "period = 0"
    con = duckdb.connect()
    try:
        (cap,) = con.execute(
            f"SELECT {cap_sql('total', quantile)} FROM ({totals}) WHERE {pooled}"
        ).fetchone()
    finally:
        con.close()
    if cap is None:
        return None
    c = f"{float(cap)!r}::DOUBLE"
    sql = (
        "(SELECT e.* EXCLUDE (period) REPLACE (CASE WHEN abs(t.total) > "
        f"{c} THEN e.value * {c} / abs(t.total) ELSE e.value END AS value) FROM "
        f"(SELECT s.*, {period} AS period FROM {store.source_sql()} s) e "
        f"LEFT JOIN ({totals}) t ON e.event = {literal(CAPPED_EVENT)} "
        'AND t.g = e."group" AND t.m = e.member AND t.period = e.period)'
    )
    return CappedEvents(store, sql, Capped(float(cap), quantile, "member"))


def compare_metric(
    store: EventStore, metric: str, *, cap: bool = True, **args: Any
) -> tuple[MetricResult, tuple[int, int]]:
    """`check_metrics.test_metric` on the store, its money capped first where the metric
    declares a cap (unless `cap` is False); the result says which cap (`MetricResult.capped`)."""
    keys = ("sop_id", "start", "end", "versions", "crossed", "before_after")
    source = capped_events(store, metric, **{k: args[k] for k in keys}) if cap else None
    if source is None:
        return test_metric(store, metric, **args)
    result, arms = test_metric(source, metric, **args)  # type: ignore[arg-type]
    return replace(result, capped=source.capped), arms


def _day(value: date) -> str:
    return f"DATE '{value.isoformat()}'"
