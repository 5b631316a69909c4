"""What a comparison of one metric reports: both arm estimates, lifts, CI, p-values."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from sop_models.i18n import is_chinese
from sop_models.kpis import METRIC_LABELS, Direction

if TYPE_CHECKING:
    from engine.stats.capped import Capped
    from engine.stats.estimates import ArmStats, Comparison

MetricKind = Literal["proportion", "mean", "ratio"]
"""How a test estimates the metric (a domain count metric is tested as a ratio)."""


def metric_name(name: str) -> str:
    """A metric as the check's reasons name it: the registry's Chinese label in Chinese, else
    the name given (the id a user passes to --metric)."""
    return METRIC_LABELS.get(name, name) if is_chinese() else name


@dataclass(frozen=True)
class ArmEstimate:
    """One arm of one metric: units counted (randomization units) and the estimate."""

    n: int
    value: float


Scale = Literal["relative", "absolute"]
"""What the test and its CI are on: the relative lift (baseline > 0) or the absolute difference."""


@dataclass(frozen=True)
class MetricResult:
    """Baseline vs candidate on one metric; lifts are candidate minus baseline, raw (not signed
    by direction); `ci` is on `scale` and comes from the same test as `p_value`; `p_worse` is
    the one-sided p-value for "candidate is worse" given `direction`."""

    name: str
    kind: MetricKind
    direction: Direction
    baseline: ArmEstimate
    candidate: ArmEstimate
    abs_lift: float
    rel_lift: float
    scale: Scale
    ci: tuple[float, float]
    p_value: float
    p_worse: float
    alpha: float
    sequential: bool
    method: str
    capped: Capped | None = None  # winsorised at a pooled cap before the test

    @property
    def ci_rel(self) -> tuple[float, float]:
        """The CI of the relative lift (NaN when the test is on the absolute scale)."""
        return self.ci if self.scale == "relative" else (math.nan, math.nan)

    @property
    def ci_abs(self) -> tuple[float, float]:
        """The CI of the absolute difference where the test is on that scale, else NaN."""
        return self.ci if self.scale == "absolute" else (math.nan, math.nan)

    @property
    def harm_bound(self) -> float:
        """The CI's bound on the harmful side, as a relative change of the baseline (> 0 means
        worse by that much); NaN when no relative statement can be made."""
        low, high = self.ci
        bound = high if self.direction == "lower" else -low
        if self.scale == "relative":
            return bound
        base = abs(self.baseline.value)
        return bound / base if base > 0 and math.isfinite(base) else math.nan

    @property
    def testable(self) -> bool:
        """False when the data cannot support a test (too few units, zero baseline, ...)."""
        return math.isfinite(self.p_value) and math.isfinite(self.abs_lift)

    @property
    def improves(self) -> bool:
        """The point estimate moves the metric in its good direction."""
        return self.abs_lift > 0 if self.direction == "higher" else self.abs_lift < 0

    @property
    def better(self) -> bool:
        """Significantly better (two-sided test at alpha, effect in the good direction)."""
        return self.testable and self.p_value < self.alpha and self.improves

    @property
    def worse(self) -> bool:
        """Significantly worse (two-sided test at alpha, effect in the bad direction)."""
        return (
            self.testable and self.p_value < self.alpha and self.abs_lift != 0 and not self.improves
        )

    @property
    def p_better(self) -> float:
        """One-sided p-value for "candidate is better"."""
        return 1 - self.p_worse if math.isfinite(self.p_worse) else math.nan

    def as_dict(self, role: str) -> dict[str, Any]:
        """JSON-ready form; undefined numbers (e.g. a lift over a zero baseline) become None."""
        return {
            "name": self.name,
            "role": role,
            "kind": self.kind,
            "direction": self.direction,
            "baseline": {"n": self.baseline.n, "value": _finite(self.baseline.value)},
            "candidate": {"n": self.candidate.n, "value": _finite(self.candidate.value)},
            "abs_lift": _finite(self.abs_lift),
            "rel_lift": _finite(self.rel_lift),
            "scale": self.scale,
            "ci_rel": [_finite(self.ci_rel[0]), _finite(self.ci_rel[1])],
            "ci_abs": [_finite(self.ci_abs[0]), _finite(self.ci_abs[1])],
            "p_value": _finite(self.p_value),
            "p_worse": _finite(self.p_worse),
            "method": self.method,
            "capped": self.capped.as_dict() if self.capped else None,
        }


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def metric_result(
    name: str,
    kind: MetricKind,
    direction: Direction,
    b: ArmStats,
    c: ArmStats,
    comp: Comparison,
    *,
    alpha: float,
    sequential: bool,
    method: str,
    index: int | tuple[int, ...] = (),
) -> MetricResult:
    """One `MetricResult` out of (possibly vectorised) arm stats and comparison, at `index`."""

    def at(x: Any) -> float:
        return float(np.asarray(x)[index])

    p_worse = comp.p_lower if direction == "higher" else comp.p_higher
    if sequential:
        method += ", sequential (mixture tuned to the planned looks)"
    relative = bool(np.asarray(comp.relative)[index])
    return MetricResult(
        name=name,
        kind=kind,
        direction=direction,
        baseline=ArmEstimate(int(at(b.n)), at(b.value)),
        candidate=ArmEstimate(int(at(c.n)), at(c.value)),
        abs_lift=at(comp.abs_lift),
        rel_lift=at(comp.rel_lift),
        scale="relative" if relative else "absolute",
        ci=(at(comp.ci_low), at(comp.ci_high)),
        p_value=at(comp.p_value),
        p_worse=at(p_worse),
        alpha=alpha,
        sequential=sequential,
        method=method,
    )
