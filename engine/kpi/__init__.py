"""KPIs out: the metric registry, KPI computation in DuckDB, and alert rules."""

from importlib import import_module
from typing import Any

# Public names by the submodule that defines them. A submodule is imported when one of its names
# is first used (PEP 562), so importing this package, or one of its submodules, loads no other.
_EXPORTS = {
    "alerts": ("AlertHit", "AlertRuleLike", "evaluate_alerts"),
    "compute": ("EventExtent", "EventSource", "compute_kpis", "unit_sums"),
    "definitions": ("METRICS", "STAGES", "Metric", "get_metric"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = globals()[name] = getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
