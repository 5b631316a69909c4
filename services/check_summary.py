"""The texts a check produces: the changelog line and the Markdown summary (artifact)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from engine.stats.result import MetricResult
from sop_models.i18n import tr
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


def markdown(outcome: Outcome) -> str:
    """The check's Markdown artifact: metrics table, CI, reasons, SRM."""
    d = outcome.decision
    lines = [
        f"# Check {outcome.sop_id}: {outcome.candidate.version.label} vs "
        f"{outcome.production.version.label} — **{d.decision}**",
        "",
        f"Window {outcome.start} .. {outcome.end - timedelta(days=1)} ({outcome.days} days), "
        f"groups {outcome.groups_per_arm[0]} + {outcome.groups_per_arm[1]}, design {d.design}.",
        "",
        "| metric | role | production | candidate | lift | 95% CI | p |",
        "|---|---|---:|---:|---:|---|---:|",
    ]
    rows = [
        (d.primary, "primary"),
        *((m, "guardrail") for m in d.guardrails),
        *((m, "secondary") for m in d.secondaries),
    ]
    for m, role in rows:
        if m.scale == "absolute":
            lift, ci = f"{m.abs_lift:+.4g} (abs.)", f"[{m.ci[0]:+.4g}, {m.ci[1]:+.4g}] (abs.)"
        else:
            lift, ci = _signed(m.rel_lift), f"[{_signed(m.ci[0])}, {_signed(m.ci[1])}]"
        lines.append(
            f"| {m.name} | {role} | {m.baseline.value:.4f} | {m.candidate.value:.4f} | "
            f"{lift} | {ci} | {m.p_value:.4f} |"
        )
    lines += ["", "**Reasons**", "", *(f"- {reason}" for reason in d.reasons), ""]
    if d.srm is not None:
        lines.append(f"SRM: p = {d.srm.p_value:.4f} ({'ok' if d.srm.ok else 'MISMATCH'})")
    lines += ["", f"Changelog: {outcome.changelog}"]
    return "\n".join(lines)
