"""KPIs out: the metric registry, KPI computation in DuckDB, and alert rules."""

from sop_models.lazy import lazy_exports

# Public names by the submodule that defines them (loaded on first use; see sop_models.lazy).
__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    globals(),
    {
        "alerts": ("AlertHit", "AlertRuleLike", "evaluate_alerts"),
        "compute": ("EventExtent", "EventSource", "compute_kpis", "unit_sums"),
        "definitions": ("METRICS", "STAGES", "Metric", "get_metric"),
    },
)
