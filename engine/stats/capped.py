"""What a check capped: the pooled cap a heavy-tailed metric was winsorised at, and its note.

The cap itself is computed by the rule in `engine.stats.winsor` (numpy or DuckDB); this module
only carries the result into `MetricResult`, the `--json` output and the check's reasons.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from engine.stats.result import metric_name
from sop_models.i18n import N_, is_chinese, tr

Level = Literal["unit", "cluster", "member"]
"""What was capped: each unit's value (check-data), each cluster's sum (check-data
--cluster) or each member's order amount in the window (sop check)."""

LEVELS: dict[str, str] = {
    "unit": N_("values"),
    "cluster": N_("per-cluster sums"),
    "member": N_("member order amounts"),
}


@dataclass(frozen=True)
class Capped:
    """One metric's cap: the value, the pooled quantile it is, and what it was applied to."""

    cap: float
    quantile: float
    level: Level

    def as_dict(self) -> dict[str, Any]:
        """The `capped` object of a metric in `--json` and the evidence."""
        return {"cap": self.cap, "quantile": self.quantile, "level": self.level}


def cap_note(name: str, capped: Capped) -> str:
    """`客单价 capped at 312 (90th percentile of non-zero values, both arms)`, in the
    current language (the metric as its registry label in Chinese)."""
    percent = f"{capped.quantile * 100:.4g}"
    return tr(
        "{metric} capped at {cap} ({percentile} percentile of non-zero {level}, both arms)"
    ).format(
        metric=metric_name(name),
        cap=f"{capped.cap:.6g}",
        percentile=percent if is_chinese() else _ordinal(percent),
        level=tr(LEVELS[capped.level]),
    )


def _ordinal(number: str) -> str:
    if not number.isdigit():
        return f"{number}th"
    tail = int(number) % 100
    suffix = "th" if 10 <= tail <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(tail % 10, "th")
    return number + suffix
