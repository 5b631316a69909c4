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

from engine.stats.decision import Decision, Design, Minimums, Outcome, decide, describe
from engine.stats.estimates import (
    ArmStats,
    Comparison,
    compare,
    metric_result,
    ratio_arm,
    ratio_delta_test,
    two_proportion_test,
    welch_df,
    welch_test,
)
from engine.stats.result import ArmEstimate, Direction, MetricKind, MetricResult
from engine.stats.sequential import DEFAULT_TAU, always_valid_p, confidence_half_width
from engine.stats.srm import SRM_THRESHOLD, SrmResult, srm_check

__all__ = [
    "DEFAULT_TAU",
    "SRM_THRESHOLD",
    "ArmEstimate",
    "ArmStats",
    "Comparison",
    "Decision",
    "Design",
    "Direction",
    "MetricKind",
    "MetricResult",
    "Minimums",
    "Outcome",
    "SrmResult",
    "always_valid_p",
    "compare",
    "confidence_half_width",
    "decide",
    "describe",
    "metric_result",
    "ratio_arm",
    "ratio_delta_test",
    "srm_check",
    "two_proportion_test",
    "welch_df",
    "welch_test",
]
