"""Sample ratio mismatch: did assignment split units in the configured share?

A split far from the configured share (chi-square goodness of fit, p < 0.001) means assignment or
logging is broken, so no metric comparison from that experiment can be trusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scipy import stats

SRM_THRESHOLD = 0.001


@dataclass(frozen=True)
class SrmResult:
    """Chi-square goodness-of-fit check of the baseline/candidate unit counts."""

    n_baseline: int
    n_candidate: int
    expected_share: float
    p_value: float

    @property
    def ok(self) -> bool:
        """False when the split is implausible under the configured share (p < 0.001)."""
        return self.p_value >= SRM_THRESHOLD

    @property
    def observed_share(self) -> float:
        """Share of units in the candidate arm (0 when there are no units)."""
        total = self.n_baseline + self.n_candidate
        return self.n_candidate / total if total else 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "p_value": self.p_value,
            "ok": self.ok,
            "baseline_n": self.n_baseline,
            "candidate_n": self.n_candidate,
            "expected_share": self.expected_share,
            "observed_share": self.observed_share,
        }


def srm_check(n_baseline: int, n_candidate: int, expected_share: float = 0.5) -> SrmResult:
    """Chi-square test of the split against `expected_share` (the candidate's configured share)."""
    if not 0.0 < expected_share < 1.0:
        raise ValueError(f"expected_share must be between 0 and 1, got {expected_share}")
    total = n_baseline + n_candidate
    if total == 0:
        return SrmResult(n_baseline, n_candidate, expected_share, 1.0)
    expected = [total * (1 - expected_share), total * expected_share]
    p = float(stats.chisquare([n_baseline, n_candidate], expected).pvalue)
    return SrmResult(n_baseline, n_candidate, expected_share, p)
