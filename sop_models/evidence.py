"""The evidence a check leaves on a candidate version: what was measured and what it decided.

The check writes one `Evidence` per look as a JSON line in the version's git note; the report
and `sop show` read it back. Field names are the JSON keys the check has always written, so
notes written before this model existed (plain dicts of the same shape) still validate.
Evidence attached by hand (`sop evidence FILE`) can be any JSON object; `read_evidence()`
returns None for lines that are not a check's.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from sop_models.kpis import Direction

Verdict = Literal["PROMOTE", "REJECT", "CONTINUE"]
Design = Literal["randomized", "before_after"]
Role = Literal["primary", "guardrail", "secondary"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class ArmValue(_Frozen):
    """One arm of one metric: units counted and the estimate (None where undefined)."""

    n: int
    value: float | None


class CapEvidence(_Frozen):
    """The pooled cap a heavy-tailed metric was winsorised at before its test."""

    cap: float
    quantile: float
    level: str  # unit, cluster or member


class MetricEvidence(_Frozen):
    """One metric's comparison: both arms, lifts, the relative CI and the p-values."""

    name: str
    role: Role
    kind: str = ""
    direction: Direction = "higher"
    baseline: ArmValue
    candidate: ArmValue
    abs_lift: float | None
    rel_lift: float | None
    ci_rel: tuple[float | None, float | None]
    p_value: float | None
    p_worse: float | None = None
    method: str = ""
    scale: Literal["relative", "absolute"] = "relative"
    ci_abs: tuple[float | None, float | None] = (None, None)
    state: Literal["passes", "fails", "inconclusive"] | None = None  # guardrails
    p_holm: float | None = None  # guardrails: Holm-adjusted p
    capped: CapEvidence | None = None  # winsorised at this cap (engine/stats/winsor.py)


class SrmEvidence(_Frozen):
    """The sample ratio check of a randomized design."""

    p_value: float
    ok: bool
    baseline_n: int
    candidate_n: int
    expected_share: float
    observed_share: float


class CheckEvidence(_Frozen):
    """The statistics engine's decision and everything it was decided from."""

    decision: Verdict
    reasons: tuple[str, ...]
    design: Design = "randomized"
    srm: SrmEvidence | None = None
    metrics: tuple[MetricEvidence, ...]
    flags: tuple[str, ...] = ()


class Evidence(_Frozen):
    """One check of a candidate against production over a window (end exclusive)."""

    summary: str
    decision: Verdict
    window: tuple[date, date]
    groups_per_arm: tuple[int, int]
    check: CheckEvidence
    production: str
    candidate: str

    @property
    def days(self) -> int:
        """Length of the window in days."""
        return (self.window[1] - self.window[0]).days

    def as_json(self) -> dict[str, Any]:
        """The JSON object stored in the note (same keys as the check has always written)."""
        return self.model_dump(mode="json")


def read_evidence(line: str) -> Evidence | None:
    """A check's evidence from one note line, or None for anything else (hand-attached JSON)."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(record, dict) or "check" not in record:
        return None
    try:
        return Evidence.model_validate(record)
    except ValidationError:
        return None
