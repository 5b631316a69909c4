"""The texts a check produces: the changelog line and the Markdown summary (artifact)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from engine.stats.result import MetricResult
from sop_models.i18n import N_, tr
from sop_models.kpis import metric_title
from versions.store import VersionInfo

if TYPE_CHECKING:
    from services.check import Outcome


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _signed(value: float) -> str:
    return f"{value * 100:+.1f}%"


def changelog_line(
    candidate: VersionInfo, message: str, primary: MetricResult, arms: tuple[int, int], days: int
) -> str:
    """`v2.0：新欢迎语 — 欢迎语打开率 +18.0%（20.0% → 23.6%），95% 置信区间 [...]，8+8 个群，14 天`
    (in English with `language = "en"`: `v2.0: ... 95% CI [...], 8+8 groups, 14 days`)."""
    low, high = primary.ci
    words = {
        "version": candidate.version.label,
        "message": message,
        "metric": metric_title(primary.name),
        "level": round((1 - primary.alpha) * 100),
        "a": arms[0],
        "b": arms[1],
        "days": days,
    }
    if primary.scale == "absolute":  # no relative lift over a baseline <= 0
        return tr(
            "{version}: {message} — {metric} {lift} absolute ({before} → {after}), "
            "{level}% CI [{low}, {high}], {a}+{b} groups, {days} days"
        ).format(
            lift=f"{primary.abs_lift:+.4g}",
            before=f"{primary.baseline.value:.4g}",
            after=f"{primary.candidate.value:.4g}",
            low=f"{low:+.4g}",
            high=f"{high:+.4g}",
            **words,
        )
    return tr(
        "{version}: {message} — {metric} {lift} ({before} → {after}), "
        "{level}% CI [{low}, {high}], {a}+{b} groups, {days} days"
    ).format(
        lift=_signed(primary.rel_lift),
        before=_pct(primary.baseline.value),
        after=_pct(primary.candidate.value),
        low=_signed(low),
        high=_signed(high),
        **words,
    )


ROLES = {"primary": N_("primary"), "guardrail": N_("guardrail"), "secondary": N_("secondary")}


def markdown(outcome: Outcome) -> str:
    """The check's Markdown artifact: metrics table, CI, reasons, SRM."""
    d = outcome.decision
    lines = [
        "# "
        + tr("Check {sop}: {candidate} vs {production} — **{decision}**").format(
            sop=outcome.sop_id,
            candidate=outcome.candidate.version.label,
            production=outcome.production.version.label,
            decision=d.decision,
        ),
        "",
        tr("Window {start} .. {end} ({days} days), groups {a} + {b}, design {design}.").format(
            start=outcome.start,
            end=outcome.end - timedelta(days=1),
            days=outcome.days,
            a=outcome.groups_per_arm[0],
            b=outcome.groups_per_arm[1],
            design=d.design,
        ),
        "",
        tr("| metric | role | production | candidate | lift | 95% CI | p |"),
        "|---|---|---:|---:|---:|---|---:|",
    ]
    rows = [
        (d.primary, "primary"),
        *((m, "guardrail") for m in d.guardrails),
        *((m, "secondary") for m in d.secondaries),
    ]
    absolute = tr("(abs.)")
    for m, role in rows:
        if m.scale == "absolute":
            lift = f"{m.abs_lift:+.4g} {absolute}"
            ci = f"[{m.ci[0]:+.4g}, {m.ci[1]:+.4g}] {absolute}"
        else:
            lift, ci = _signed(m.rel_lift), f"[{_signed(m.ci[0])}, {_signed(m.ci[1])}]"
        lines.append(
            f"| {metric_title(m.name)} | {tr(ROLES[role])} | {m.baseline.value:.4f} | "
            f"{m.candidate.value:.4f} | {lift} | {ci} | {m.p_value:.4f} |"
        )
    reasons = (f"- {reason}" for reason in d.reasons)
    lines += ["", "**" + tr("Reasons") + "**", "", *reasons, ""]
    if d.srm is not None:
        ok = tr("ok") if d.srm.ok else tr("MISMATCH")
        lines.append(tr("SRM: p = {p} ({ok})").format(p=f"{d.srm.p_value:.4f}", ok=ok))
    lines += ["", tr("Changelog: {line}").format(line=outcome.changelog)]
    return "\n".join(lines)
