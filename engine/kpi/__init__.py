"""KPIs out: the metric registry, KPI computation in DuckDB, and alert rules."""

from engine.kpi.alerts import AlertHit, AlertRuleLike, evaluate_alerts
from engine.kpi.compute import EventExtent, EventSource, compute_kpis, unit_sums
from engine.kpi.definitions import METRICS, STAGES, Metric, get_metric

__all__ = [
    "METRICS",
    "STAGES",
    "AlertHit",
    "AlertRuleLike",
    "EventExtent",
    "EventSource",
    "Metric",
    "compute_kpis",
    "evaluate_alerts",
    "get_metric",
    "unit_sums",
]
