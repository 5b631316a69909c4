"""The check step: compare the candidate with production on real event data, then decide.

`evaluate()` computes each metric per group and version over the experiment window (DuckDB;
`services.check_metrics`: groups seen under both versions left out, CUPED with the pre-period),
runs the statistics engine (delta method on per-group sums: groups are the randomized units)
and returns an `Outcome` with the decision, its reasons, a Markdown summary, the changelog
line and the typed `Evidence`. `conclude()` then does what the verdict means, in one unit of
work each: PROMOTE approved -> approval + evidence + promotion; PROMOTE declined -> decline +
evidence; PROMOTE not waited for, or CONTINUE -> evidence only; REJECT -> evidence + the
candidate cleared.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from engine.stats.capped import cap_note
from engine.stats.decision import Decision, Minimums, Practical, decide
from engine.stats.result import MetricResult, metric_name
from engine.stats.srm import srm_check
from services.check_caps import compare_metric
from services.check_metrics import crossed_groups
from services.check_summary import changelog_line, markdown
from services.kpis_sends import kpi_source
from services.workspace import Workspace
from sop_models import parse_document
from sop_models.errors import CheckError, VersionNotFound
from sop_models.evidence import Evidence
from sop_models.i18n import ngettext, tr
from versions import audit, services
from versions.services import CHECK_ACTOR
from versions.store import VersionInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEFAULT_GUARDRAILS = ("leave_rate",)
MINIMUMS = Minimums(units_per_arm=4, days=7)


@dataclass
class Outcome:
    """Everything one check found: versions, window, decision, summary texts."""

    sop_id: str
    production: VersionInfo
    candidate: VersionInfo
    start: date
    end: date  # exclusive
    decision: Decision
    groups_per_arm: tuple[int, int]
    changelog: str
    markdown: str
    evidence: Evidence

    @property
    def verdict(self) -> str:
        return self.decision.decision

    @property
    def needs_approval(self) -> bool:
        """Only a PROMOTE moves production, and only with an ops lead's approval."""
        return self.verdict == "PROMOTE"

    @property
    def days(self) -> int:
        return (self.end - self.start).days


def _candidate_since(ws: Workspace, sop_id: str, candidate: VersionInfo) -> date:
    with ws.session() as session:
        records = audit.query(session, sop_id=sop_id, action="candidate")
    marks = [r.at for r in records if r.version == str(candidate.version)]
    when = marks[-1] if marks else candidate.at
    return when.astimezone(SHANGHAI).date()


def evaluate(
    ws: Workspace,
    *,
    sop_id: str,
    now: datetime,
    start: date | None = None,
    end: date | None = None,
    sequential: bool = True,
    expected_share: float = 0.5,
    before_after: bool = False,
) -> Outcome:
    """Decide PROMOTE / REJECT / CONTINUE for the SOP's candidate against production.

    By default both versions run side by side on randomized groups over the same window. With
    `before_after`, the candidate's window is compared with production's window of the same
    length just before it (weaker evidence: the decision says so; no SRM check applies).
    """
    store = ws.store
    try:
        candidate = store.resolve(sop_id, "candidate")
    except VersionNotFound as err:
        raise CheckError(f"{sop_id}: no candidate to check ({err})") from None
    production = store.resolve(sop_id, "production")
    doc = parse_document(store.content(candidate), candidate.tag)
    targets = [t.metric for t in doc.kpis.targets] or ["open_rate"]
    primary_name = targets[0]
    guardrail_names = [g for g in DEFAULT_GUARDRAILS if g != primary_name]
    secondary_names = [t for t in targets[1:] if t not in guardrail_names]
    first = start or _candidate_since(ws, sop_id, candidate)
    last = end or (now.astimezone(SHANGHAI).date() + timedelta(days=1))
    events = kpi_source(ws, sop_id=sop_id)  # events, and the ledger's sends they lack
    versions = (str(production.version), str(candidate.version))
    args = dict(
        sop_id=sop_id,
        start=first,
        end=last,
        versions=versions,
        sequential=sequential,
        before_after=before_after,
    )
    crossed = (
        frozenset()
        if before_after
        else crossed_groups(events, sop_id=sop_id, start=first, end=last, versions=versions)
    )
    args["crossed"] = crossed
    # Metrics with a declared cap (客单价, ROI) test capped order amounts (services.check_caps),
    # unless the workspace lists them in `uncapped_metrics`.
    uncapped = set(ws.settings.uncapped_metrics)

    def compare(name: str) -> tuple[MetricResult, tuple[int, int]]:
        return compare_metric(events, name, cap=name not in uncapped, **args)

    primary, arms = compare(primary_name)
    guardrails = [compare(name)[0] for name in guardrail_names]
    secondaries = []
    for name in secondary_names:
        try:
            secondaries.append(compare(name)[0])
        except CheckError:
            continue  # a secondary without data yet (e.g. first-week retention) is left out
    srm = None if before_after else srm_check(arms[0], arms[1], expected_share)
    decision = decide(
        primary,
        guardrails,
        secondaries,
        srm,
        MINIMUMS,
        days_observed=(last - first).days,
        design="before_after" if before_after else "randomized",
        practical=Practical(
            ws.settings.min_effect, ws.settings.suspicious_lift, ws.settings.guardrail_margin
        ),
    )
    caps = [cap_note(m.name, m.capped) for _, m in decision.metrics() if m.capped]
    caps += [
        tr("{metric} not capped (uncapped_metrics in the workspace settings)").format(
            metric=metric_name(m.name)
        )
        for _, m in decision.metrics()
        if m.name in uncapped
    ]
    decision = replace(decision, reasons=(*decision.reasons, *caps))
    if crossed:
        note = ngettext(
            "excluded {count} group seen under both versions in the window ({groups})",
            "excluded {count} groups seen under both versions in the window ({groups})",
            len(crossed),
        ).format(
            count=len(crossed),
            groups=", ".join(sorted(crossed)[:5]) + (", ..." if len(crossed) > 5 else ""),
        )
        decision = replace(decision, reasons=(*decision.reasons, note))
    message = candidate.message.split(": ", 1)[-1]
    changelog = changelog_line(candidate, message, primary, arms, (last - first).days)
    evidence = Evidence.model_validate(
        {
            "summary": changelog,
            "decision": decision.decision,
            "window": (first, last),
            "groups_per_arm": arms,
            "check": decision.as_dict(),
            "production": versions[0],
            "candidate": versions[1],
        }
    )
    outcome = Outcome(
        sop_id, production, candidate, first, last, decision, arms, changelog, "", evidence
    )
    outcome.markdown = markdown(outcome)
    return outcome


@dataclass(frozen=True)
class Approval:
    """What an ops lead decided on a paused PROMOTE."""

    approved: bool
    approver: str
    reason: str = ""


@dataclass(frozen=True)
class Conclusion:
    """What a check ended with: the verdict, and what moved because of it."""

    outcome: Outcome
    run_id: str
    approval: Approval | None = None
    promoted: bool = False
    rejected: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The check flow's JSON-ready result (what `sop check --json` prints)."""
        o = self.outcome
        found: dict[str, Any] = {
            "decision": o.verdict,
            "reasons": list(o.decision.reasons),
            "changelog": o.changelog,
            "run_id": self.run_id,
            "promoted": self.promoted,
            "candidate": str(o.candidate.version),
            "production": str(o.production.version),
        }
        if o.needs_approval and self.approval is None:
            found["awaiting_approval"] = True
        if self.approval is not None:
            found.update(approved=self.approval.approved, approver=self.approval.approver)
        if self.rejected:
            found["rejected"] = True
        capped = {m.name: m.capped.as_dict() for _, m in o.decision.metrics() if m.capped}
        if capped:
            found["capped"] = capped
        return found


def conclude(
    ws: Workspace,
    *,
    outcome: Outcome,
    approval: Approval | None,
    run_id: str,
    now: datetime,
) -> Conclusion:
    """Do what the verdict means, as one unit of work; `approval` answers a PROMOTE, if any."""
    sop_id, version, evidence = outcome.sop_id, str(outcome.candidate.version), outcome.evidence
    if outcome.verdict == "REJECT":
        reason = "; ".join(outcome.decision.reasons)
        services.reject(
            ws.uow(), sop_id=sop_id, actor=CHECK_ACTOR, reason=reason, evidence=evidence, now=now
        )
        return Conclusion(outcome, run_id, rejected=True)
    if not outcome.needs_approval or approval is None:  # CONTINUE, or a PROMOTE left waiting
        services.attach_evidence(
            ws.uow(), sop_id=sop_id, version=version, actor=CHECK_ACTOR, evidence=evidence, now=now
        )
        return Conclusion(outcome, run_id)
    if not approval.approved:
        services.decline(
            ws.uow(),
            sop_id=sop_id,
            version=version,
            approver=approval.approver,
            reason=approval.reason,
            run_id=run_id,
            evidence=evidence,
            now=now,
        )
        return Conclusion(outcome, run_id, approval)
    services.approve_and_promote(
        ws.uow(),
        sop_id=sop_id,
        version=version,
        approver=approval.approver,
        reason=approval.reason,
        run_id=run_id,
        evidence=evidence,
        policy=ws.policy,
        now=now,
    )
    return Conclusion(outcome, run_id, approval, promoted=True)
