"""The decision rule: PROMOTE, REJECT or CONTINUE a candidate SOP version, always with reasons.

- REJECT when the sample ratio is off (assignment or logging broken), a guardrail is
  significantly worse (one-sided), or the primary metric is significantly worse.
- PROMOTE when the primary metric is significantly better, no guardrail fails, the sample ratio is
  fine and the minimum sample size and duration are met.
- CONTINUE otherwise: not enough evidence yet.

A before/after comparison (the previous version's period against the new one) is decided by the
same rule but labelled as weaker evidence: time, season and everything else that changed between
the periods is mixed into the lift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from engine.stats.estimates import MetricResult
from engine.stats.srm import SrmResult

Outcome = Literal["PROMOTE", "REJECT", "CONTINUE"]
Design = Literal["randomized", "before_after"]

BEFORE_AFTER_NOTE = (
    "before/after comparison (previous version's period vs the new one): weaker evidence than a "
    "randomized experiment, because seasonality, holidays and other changes are not controlled"
)


@dataclass(frozen=True)
class Minimums:
    """Evidence required before any PROMOTE: units per arm on the primary metric, and days run."""

    units_per_arm: int = 0
    days: float = 0.0


@dataclass(frozen=True)
class Decision:
    """The outcome, the human-readable reasons, and everything it was decided from."""

    decision: Outcome
    reasons: tuple[str, ...]
    primary: MetricResult
    guardrails: tuple[MetricResult, ...]
    secondaries: tuple[MetricResult, ...]
    srm: SrmResult | None
    design: Design

    def metrics(self) -> list[tuple[str, MetricResult]]:
        """(role, result) pairs: primary, then secondaries, then guardrails."""
        return [
            ("primary", self.primary),
            *(("secondary", m) for m in self.secondaries),
            *(("guardrail", m) for m in self.guardrails),
        ]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (the `sop check-data --json` object without the data counts)."""
        return {
            "decision": self.decision,
            "reasons": list(self.reasons),
            "design": self.design,
            "srm": self.srm.as_dict() if self.srm else None,
            "metrics": [m.as_dict(role) for role, m in self.metrics()],
        }


def decide(
    primary: MetricResult,
    guardrails: tuple[MetricResult, ...] | list[MetricResult] = (),
    secondaries: tuple[MetricResult, ...] | list[MetricResult] = (),
    srm: SrmResult | None = None,
    minimums: Minimums = Minimums(),
    *,
    days_observed: float | None = None,
    design: Design = "randomized",
) -> Decision:
    """Decide from already computed metric results; `srm` is required for randomized designs."""
    if srm is None and design == "randomized":
        raise ValueError("a randomized design needs a sample ratio check (srm)")
    guards, seconds = tuple(guardrails), tuple(secondaries)
    notes = [BEFORE_AFTER_NOTE] if design == "before_after" else []
    notes += [f"note: secondary {describe(m)} is significantly worse" for m in seconds if m.worse]

    rejects: list[str] = []
    if srm is not None and not srm.ok:
        rejects.append(
            f"sample ratio mismatch: {srm.n_baseline} baseline vs {srm.n_candidate} candidate "
            f"units, expected candidate share {srm.expected_share:.0%} (chi-square p="
            f"{srm.p_value:.2g} < 0.001); assignment or logging is broken, results untrustworthy"
        )
    for g in guards:
        if g.guardrail_fails:
            rejects.append(
                f"guardrail {describe(g)} is significantly worse (one-sided p={g.p_worse:.3g})"
            )
    if primary.worse:
        rejects.append(f"primary {describe(primary)} is significantly worse")
    if rejects:
        return _decision("REJECT", [*notes, *rejects], primary, guards, seconds, srm, design)

    blocks = _minimum_blocks(primary, minimums, days_observed)
    blocks += [
        f"guardrail {g.name} cannot be tested yet ({_untestable(g)}), so PROMOTE waits"
        for g in guards
        if not g.testable
    ]
    if primary.better and not blocks:
        checks = [f"primary {describe(primary)} is significantly better"]
        if guards:
            names = ", ".join(g.name for g in guards)
            checks.append(f"no guardrail is significantly worse ({names})")
        if srm is not None:
            checks.append(f"sample ratio ok (p={srm.p_value:.2g})")
        if minimums.units_per_arm or minimums.days:
            checks.append(_minimums_met(minimums))
        return _decision("PROMOTE", [*notes, *checks], primary, guards, seconds, srm, design)

    if not primary.testable:
        why = [f"primary {primary.name} cannot be tested yet: {_untestable(primary)}"]
    elif primary.better:
        why = [f"primary {describe(primary)} is significantly better, but PROMOTE is blocked"]
    else:
        why = [f"primary {describe(primary)} is not significant yet"]
    return _decision("CONTINUE", [*notes, *why, *blocks], primary, guards, seconds, srm, design)


def describe(m: MetricResult) -> str:
    """`open_rate: candidate 23.6% vs baseline 20.0% (+18.0%, 95% CI +8.1% to +29.0%, p=0.001)`."""
    level = f"{1 - m.alpha:.0%} {'always-valid ' if m.sequential else ''}CI"
    low, high = m.ci_rel
    return (
        f"{m.name}: candidate {_value(m, m.candidate.value)} vs baseline "
        f"{_value(m, m.baseline.value)} ({_pct(m.rel_lift)}, {level} {_pct(low)} to "
        f"{_pct(high)}, p={m.p_value:.3g}{', lower is better' if m.direction == 'lower' else ''})"
    )


def _minimum_blocks(m: MetricResult, minimums: Minimums, days: float | None) -> list[str]:
    blocks = []
    fewest = min(m.baseline.n, m.candidate.n)
    if fewest < minimums.units_per_arm:
        blocks.append(
            f"minimum sample size not met: {fewest} units in the smaller arm, "
            f"{minimums.units_per_arm} needed per arm before PROMOTE"
        )
    if minimums.days > 0 and days is None:
        blocks.append(f"duration unknown; {minimums.days:g} days needed before PROMOTE")
    elif days is not None and days < minimums.days:
        blocks.append(
            f"minimum duration not met: {days:g} days run, {minimums.days:g} needed before PROMOTE"
        )
    return blocks


def _minimums_met(minimums: Minimums) -> str:
    parts = [f"at least {minimums.units_per_arm} units per arm"]
    if minimums.days > 0:
        parts.append(f"at least {minimums.days:g} days")
    return "minimums met: " + ", ".join(parts)


def _untestable(m: MetricResult) -> str:
    zero = not math.isfinite(m.baseline.value) or m.baseline.value == 0
    return (
        f"{m.baseline.n} baseline and {m.candidate.n} candidate units"
        f"{', zero or undefined baseline' if zero else ''}"
    )


def _value(m: MetricResult, x: float) -> str:
    return f"{x:.1%}" if m.kind == "proportion" else f"{x:.4g}"


def _pct(x: float) -> str:
    return f"{x:+.1%}" if math.isfinite(x) else "n/a"


def _decision(
    outcome: Outcome,
    reasons: list[str],
    primary: MetricResult,
    guards: tuple[MetricResult, ...],
    seconds: tuple[MetricResult, ...],
    srm: SrmResult | None,
    design: Design,
) -> Decision:
    return Decision(outcome, tuple(reasons), primary, guards, seconds, srm, design)
