"""Statistics and the decision rule for checking a candidate SOP version against production.

    result.py      MetricResult, ArmEstimate, Direction, MetricKind
    estimates.py   two_proportion_test, welch_test, ratio_delta_test; vectorised compare()
    sequential.py  the mixture test tuned and calibrated for the planned daily looks
    multiplicity.py  holm_adjust (guardrails, secondaries)
    cuped.py       CUPED adjustment of group ratio metrics with the pre-period
    power.py       planning: groups x days needed, from history
    srm.py         srm_check: sample ratio mismatch
    decision.py    decide -> Decision (PROMOTE / REJECT / CONTINUE with reasons), Minimums
    unit_table.py  check_unit_table: a unit-level CSV/Parquet file -> Decision (DuckDB)
    table_read.py  loading that file and typing its columns
    unit_scan.py   the few DuckDB scans check_unit_table makes (variants, profile, duplicates)
    cluster_df.py  degrees of freedom for clusters of unequal size (random-effects working model)
    winsor.py      winsorize: one pooled cap for both arms of a heavy-tailed per-unit metric

All functions are pure: they are given data and return values; nothing reads the clock.
"""

from sop_models.lazy import lazy_exports

# Public names by the submodule that defines them (loaded on first use; see sop_models.lazy).
__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    globals(),
    {
        "decision": (
            "Decision",
            "Design",
            "Guardrail",
            "Minimums",
            "Outcome",
            "Practical",
            "decide",
            "describe",
        ),
        "estimates": (
            "ArmStats",
            "Comparison",
            "cluster_arms",
            "compare",
            "ratio_arm",
            "ratio_delta_test",
            "two_proportion_test",
            "welch_df",
            "welch_test",
        ),
        "cluster_df": ("working_model_df",),
        "multiplicity": ("holm_adjust",),
        "result": ("ArmEstimate", "Direction", "MetricKind", "MetricResult", "metric_result"),
        "sequential": ("K_TAU", "PLANNED_LOOKS", "sequential_half_width", "sequential_p"),
        "srm": ("SRM_THRESHOLD", "SrmResult", "srm_check"),
    },
)
