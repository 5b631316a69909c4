"""Statistics and the decision rule for checking a candidate SOP version against production.

    result.py      MetricResult, ArmEstimate, Direction, MetricKind
    estimates.py   two_proportion_test, welch_test, ratio_delta_test; vectorised compare()
    sequential.py  always-valid p-values and confidence sequences (mSPRT) for daily looks
    srm.py         srm_check: sample ratio mismatch
    decision.py    decide -> Decision (PROMOTE / REJECT / CONTINUE with reasons), Minimums
    unit_table.py  check_unit_table: a unit-level CSV/Parquet file -> Decision (DuckDB)
    table_read.py  loading that file and typing its columns

All functions are pure: they are given data and return values; nothing reads the clock.
"""

from importlib import import_module
from typing import Any

# Public names by the submodule that defines them. A submodule is imported when one of its names
# is first used (PEP 562), so importing this package, or one of its submodules, loads no other.
_EXPORTS = {
    "decision": ("Decision", "Design", "Minimums", "Outcome", "decide", "describe"),
    "estimates": (
        "ArmStats",
        "Comparison",
        "compare",
        "metric_result",
        "ratio_arm",
        "ratio_delta_test",
        "two_proportion_test",
        "welch_df",
        "welch_test",
    ),
    "result": ("ArmEstimate", "Direction", "MetricKind", "MetricResult"),
    "sequential": ("DEFAULT_TAU", "always_valid_p", "confidence_half_width"),
    "srm": ("SRM_THRESHOLD", "SrmResult", "srm_check"),
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
