"""The decision rule: PROMOTE, REJECT or CONTINUE a candidate SOP version, always with reasons.

- REJECT when the sample ratio is off (assignment or logging broken), or, once the minimum
  units and days are met, when a guardrail (Holm-adjusted across guardrails) or the primary
  metric is significantly worse. Before the minimums a harm is reported and the check CONTINUEs.
- PROMOTE when the primary metric is significantly better by at least the practical minimum,
  every guardrail *passes* (its CI rules out a harm larger than the declared margin: a
  non-inferiority test), the sample ratio is fine and the minimums are met. A lift at or above
  the suspicious size still PROMOTEs but asks for a human look.
- CONTINUE otherwise, with what is missing (an inconclusive guardrail blocks PROMOTE).

Significance is always the metric's own two-sided test at alpha (p and CI from one estimator);
better/worse come from the declared direction and the sign of the absolute difference.
A before/after comparison is decided by the same rule but labelled as weaker evidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from engine.stats.multiplicity import holm_adjust
from engine.stats.result import MetricResult, metric_name
from engine.stats.srm import SrmResult
from sop_models.i18n import N_, tr

Outcome = Literal["PROMOTE", "REJECT", "CONTINUE"]
Design = Literal["randomized", "before_after"]
GuardState = Literal["passes", "fails", "inconclusive"]

BEFORE_AFTER_NOTE = N_(
    "before/after comparison (previous version's period vs the new one): weaker evidence than a "
    "randomized experiment, because seasonality, holidays and other changes are not controlled"
)


@dataclass(frozen=True)
class Minimums:
    """Evidence required before any PROMOTE or REJECT: units per arm on the primary metric, and
    days run."""

    units_per_arm: int = 0
    days: float = 0.0


@dataclass(frozen=True)
class Practical:
    """What matters in practice: the smallest relative change worth promoting, the lift that
    asks for a human look, and how much harm a guardrail may not rule out (relative)."""

    min_effect: float = 0.0
    suspicious: float = 0.5
    guardrail_margin: float = 0.10


@dataclass(frozen=True)
class Guardrail:
    """One guardrail's verdict: Holm-adjusted p and passes / fails / inconclusive."""

    metric: MetricResult
    p_holm: float
    state: GuardState


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
    guardrail_states: tuple[Guardrail, ...] = ()
    flags: tuple[str, ...] = ()

    def metrics(self) -> list[tuple[str, MetricResult]]:
        """(role, result) pairs: primary, then secondaries, then guardrails."""
        return [
            ("primary", self.primary),
            *(("secondary", m) for m in self.secondaries),
            *(("guardrail", m) for m in self.guardrails),
        ]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (the `sop check-data --json` object without the data counts)."""
        states = {g.metric.name: g for g in self.guardrail_states}
        metrics = []
        for role, m in self.metrics():
            item = m.as_dict(role)
            if role == "guardrail" and m.name in states:
                g = states[m.name]
                item.update(state=g.state, p_holm=_finite(g.p_holm))
            metrics.append(item)
        return {
            "decision": self.decision,
            "reasons": list(self.reasons),
            "design": self.design,
            "flags": list(self.flags),
            "srm": self.srm.as_dict() if self.srm else None,
            "metrics": metrics,
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
    practical: Practical = Practical(),
) -> Decision:
    """Decide from already computed metric results; `srm` is required for randomized designs."""
    if srm is None and design == "randomized":
        raise ValueError("a randomized design needs a sample ratio check (srm)")
    seconds = tuple(secondaries)
    verdicts = _guardrails(tuple(guardrails), primary.alpha, practical.guardrail_margin)
    notes = [tr(BEFORE_AFTER_NOTE)] if design == "before_after" else []
    notes += _secondary_notes(seconds)
    if len(verdicts) > 1:
        holm = tr("guardrails tested together with Holm's adjustment ({count} metrics)")
        notes.append(holm.format(count=len(verdicts)))

    def done(outcome: Outcome, reasons: list[str], flags: tuple[str, ...] = ()) -> Decision:
        guards = tuple(g.metric for g in verdicts)
        return Decision(
            outcome, tuple(reasons), primary, guards, seconds, srm, design, verdicts, flags
        )

    if srm is not None and not srm.ok:
        return done("REJECT", [*notes, _srm_text(srm)])
    harms = [
        tr("guardrail {metric} is significantly worse (Holm p={p})").format(
            metric=describe(g.metric), p=f"{g.p_holm:.3g}"
        )
        for g in verdicts
        if g.state == "fails"
    ]
    if primary.worse:
        harms.append(tr("primary {metric} is significantly worse").format(metric=describe(primary)))
    blocks = _minimum_blocks(primary, minimums, days_observed)
    if harms and not blocks:
        return done("REJECT", [*notes, *harms])
    if harms:
        held = [tr("{harm}, but REJECT waits for the minimums").format(harm=h) for h in harms]
        return done("CONTINUE", [*notes, *held, *blocks])

    margin = practical.guardrail_margin
    blocks += [
        tr("guardrail {name} is inconclusive: {harm}, so PROMOTE waits").format(
            name=_name(g.metric), harm=_harm_text(g.metric, margin)
        )
        for g in verdicts
        if g.state == "inconclusive"
    ]
    effect = abs(primary.rel_lift) if primary.scale == "relative" else math.inf
    if primary.better and effect < practical.min_effect:
        blocks.append(
            tr(
                "the lift {lift} is below the practical minimum {minimum}: too small to matter"
            ).format(lift=_pct(primary.rel_lift), minimum=f"{practical.min_effect:.0%}")
        )
    if primary.better and not blocks:
        checks = [tr("primary {metric} is significantly better").format(metric=describe(primary))]
        checks += [
            tr("guardrail {name} holds: {harm}").format(
                name=_name(g.metric), harm=_harm_text(g.metric, margin)
            )
            for g in verdicts
        ]
        if srm is not None:
            checks.append(tr("sample ratio ok (p={p})").format(p=f"{srm.p_value:.2g}"))
        if minimums.units_per_arm or minimums.days:
            checks.append(_minimums_met(minimums))
        flags: tuple[str, ...] = ()
        if primary.scale == "relative" and effect >= practical.suspicious:
            flags = (
                tr(
                    "suspicious uplift {lift} (>= {limit}): look at the data before promoting"
                ).format(lift=_pct(primary.rel_lift), limit=f"{practical.suspicious:.0%}"),
            )
        return done("PROMOTE", [*notes, *checks, *flags], flags)

    if not primary.testable:
        untested = tr("primary {name} cannot be tested yet: {why}")
        why = [untested.format(name=_name(primary), why=_untestable(primary))]
    elif primary.better:
        blocked = tr("primary {metric} is significantly better, but PROMOTE is blocked")
        why = [blocked.format(metric=describe(primary))]
    else:
        why = [tr("primary {metric} is not significant yet").format(metric=describe(primary))]
    return done("CONTINUE", [*notes, *why, *blocks])


def _guardrails(
    guards: tuple[MetricResult, ...], alpha: float, margin: float
) -> tuple[Guardrail, ...]:
    adjusted = holm_adjust([g.p_value if g.testable else math.nan for g in guards])
    verdicts = []
    for g, p in zip(guards, adjusted, strict=True):
        if g.testable and p < alpha and g.abs_lift != 0 and not g.improves:
            state: GuardState = "fails"
        elif g.testable and g.harm_bound < margin:
            state = "passes"
        else:
            state = "inconclusive"
        verdicts.append(Guardrail(g, p, state))
    return tuple(verdicts)


def _secondary_notes(seconds: tuple[MetricResult, ...]) -> list[str]:
    adjusted = holm_adjust([m.p_value if m.testable else math.nan for m in seconds])
    family = tr(", Holm across {count} secondaries") if len(seconds) > 1 else ""
    family = family.format(count=len(seconds))
    worse = tr("note: secondary {metric} is significantly worse (adjusted p={p}{family})")
    return [
        worse.format(metric=describe(m), p=f"{p:.3g}", family=family)
        for m, p in zip(seconds, adjusted, strict=True)
        if m.testable and p < m.alpha and m.abs_lift != 0 and not m.improves
    ]


def _harm_text(m: MetricResult, margin: float) -> str:
    bound = m.harm_bound
    if not math.isfinite(bound):
        return tr("cannot bound the harm ({why})").format(why=_untestable(m))
    rise = m.direction == "lower"
    if bound >= margin:
        allows = (
            tr("its CI allows a rise of up to {bound} (margin {margin})")
            if rise
            else tr("its CI allows a fall of up to {bound} (margin {margin})")
        )
        return allows.format(bound=f"{max(bound, 0.0):.1%}", margin=f"{margin:.0%}")
    rules_out = (
        tr("its CI rules out a rise of more than {margin} (bound {bound})")
        if rise
        else tr("its CI rules out a fall of more than {margin} (bound {bound})")
    )
    return rules_out.format(margin=f"{margin:.0%}", bound=f"{bound:+.1%}")


def _srm_text(srm: SrmResult) -> str:
    return tr(
        "sample ratio mismatch: {baseline} baseline vs {candidate} candidate units, expected "
        "candidate share {share} (chi-square p={p} < 0.001); assignment or logging is broken, "
        "results untrustworthy"
    ).format(
        baseline=srm.n_baseline,
        candidate=srm.n_candidate,
        share=f"{srm.expected_share:.0%}",
        p=f"{srm.p_value:.2g}",
    )


def describe(m: MetricResult) -> str:
    """`open_rate: candidate 23.6% vs baseline 20.0% (+18.0%, 95% CI +8.1% to +29.0%, p=0.001)`."""
    level = (tr("{level} sequential CI") if m.sequential else tr("{level} CI")).format(
        level=f"{1 - m.alpha:.0%}"
    )
    low, high = m.ci
    lower = tr(", lower is better") if m.direction == "lower" else ""
    head = tr("{name}: candidate {candidate} vs baseline {baseline}").format(
        name=_name(m), candidate=_value(m, m.candidate.value), baseline=_value(m, m.baseline.value)
    )
    numbers = {"head": head, "level": level, "p": f"{m.p_value:.3g}", "lower": lower}
    if m.scale == "absolute":
        return tr(
            "{head} (absolute difference {diff}, {level} {low} to {high}, p={p}; "
            "baseline <= 0, so no relative lift{lower})"
        ).format(diff=_num(m.abs_lift), low=_num(low), high=_num(high), **numbers)
    return tr("{head} ({lift}, {level} {low} to {high}, p={p}{lower})").format(
        lift=_pct(m.rel_lift), low=_pct(low), high=_pct(high), **numbers
    )


def _minimum_blocks(m: MetricResult, minimums: Minimums, days: float | None) -> list[str]:
    blocks = []
    fewest = min(m.baseline.n, m.candidate.n)
    if fewest < minimums.units_per_arm:
        blocks.append(
            tr(
                "minimum sample size not met: {fewest} units in the smaller arm, "
                "{needed} needed per arm before PROMOTE or REJECT"
            ).format(fewest=fewest, needed=minimums.units_per_arm)
        )
    if minimums.days > 0 and days is None:
        unknown = tr("duration unknown; {days} days needed before PROMOTE or REJECT")
        blocks.append(unknown.format(days=f"{minimums.days:g}"))
    elif days is not None and days < minimums.days:
        blocks.append(
            tr(
                "minimum duration not met: {days} days run, {needed} needed before "
                "PROMOTE or REJECT"
            ).format(days=f"{days:g}", needed=f"{minimums.days:g}")
        )
    return blocks


def _minimums_met(minimums: Minimums) -> str:
    parts = [tr("at least {units} units per arm").format(units=minimums.units_per_arm)]
    if minimums.days > 0:
        parts.append(tr("at least {days} days").format(days=f"{minimums.days:g}"))
    return tr("minimums met: {parts}").format(parts=tr(", ").join(parts))


def _untestable(m: MetricResult) -> str:
    return tr("{baseline} baseline and {candidate} candidate units").format(
        baseline=m.baseline.n, candidate=m.candidate.n
    )


def _name(m: MetricResult) -> str:
    """The metric's name: the registry's Chinese label in Chinese, its id in English."""
    return metric_name(m.name)


def _value(m: MetricResult, x: float) -> str:
    return f"{x:.1%}" if m.kind == "proportion" else f"{x:.4g}"


def _pct(x: float) -> str:
    return f"{x:+.1%}" if math.isfinite(x) else "n/a"


def _num(x: float) -> str:
    return f"{x:+.4g}" if math.isfinite(x) else "n/a"


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None
