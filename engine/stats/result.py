"""What a comparison of one metric reports: both arm estimates, lifts, CI, p-values."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from sop_models.kpis import Direction

MetricKind = Literal["proportion", "mean", "ratio"]
"""How a test estimates the metric (a domain count metric is tested as a ratio)."""


@dataclass(frozen=True)
class ArmEstimate:
    """One arm of one metric: units counted (randomization units) and the estimate."""

    n: int
    value: float


@dataclass(frozen=True)
class MetricResult:
    """Baseline vs candidate on one metric; lifts are candidate minus baseline, raw (not signed
    by direction); `p_worse` is the one-sided p-value for "candidate is worse" given `direction`."""

    name: str
    kind: MetricKind
    direction: Direction
    baseline: ArmEstimate
    candidate: ArmEstimate
    abs_lift: float
    rel_lift: float
    ci_rel: tuple[float, float]
    p_value: float
    p_worse: float
    alpha: float
    sequential: bool
    method: str

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
    def guardrail_fails(self) -> bool:
        """As a guardrail: significantly worse in a one-sided test at alpha."""
        return math.isfinite(self.p_worse) and self.p_worse < self.alpha

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
            "ci_rel": [_finite(self.ci_rel[0]), _finite(self.ci_rel[1])],
            "p_value": _finite(self.p_value),
            "p_worse": _finite(self.p_worse),
            "method": self.method,
        }


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None
