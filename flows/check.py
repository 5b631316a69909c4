"""The check flow: decide on the candidate, publish the evidence, pause for an ops lead.

On PROMOTE the run pauses (`pause_flow_run(wait_for_input=...)`) until someone approves or
declines in the Prefect UI or with `sop approve RUN_ID` / `sop decline RUN_ID`; approval moves
`production` and writes the measured changelog line into the tag, the evidence and the audit
log. On REJECT the candidate alias is cleared and the evidence kept. CONTINUE moves nothing
and keeps the look as evidence.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.context import FlowRunContext
from prefect.logging import get_run_logger

from flows.approval import DEFAULT_TIMEOUT_S, ApprovalDecision, wait_for_approval
from services import check as check_service
from services.workspace import open_workspace


@flow(name="check")
def check(
    workspace: str,
    sop: str,
    start: str | None = None,
    end: str | None = None,
    sequential: bool = True,
    approval_timeout_s: int = DEFAULT_TIMEOUT_S,
    poll_interval_s: int = 5,
    auto_approve_as: str | None = None,
    wait_for_approver: bool = True,
    before_after: bool = False,
    now: str | None = None,
) -> dict[str, Any]:
    """Check `sop`'s candidate against production and act on the decision."""
    logger = get_run_logger()
    context = FlowRunContext.get()
    run_id = str(context.flow_run.id) if context and context.flow_run else ""
    clock = datetime.fromisoformat(now) if now else datetime.now(UTC)
    with open_workspace(Path(workspace)) as ws:
        outcome = check_service.evaluate(
            ws,
            sop_id=sop,
            now=clock,
            sequential=sequential,
            before_after=before_after,
            start=date.fromisoformat(start) if start else None,
            end=date.fromisoformat(end) if end else None,
        )
    create_markdown_artifact(
        markdown=outcome.markdown, key=f"check-{sop}", description=f"{sop} {outcome.verdict}"
    )
    logger.info("%s: %s", outcome.verdict, outcome.changelog)
    result: dict[str, Any] = {
        "decision": outcome.verdict,
        "reasons": list(outcome.decision.reasons),
        "changelog": outcome.changelog,
        "run_id": run_id,
        "promoted": False,
        "candidate": str(outcome.candidate.version),
        "production": str(outcome.production.version),
    }
    if outcome.verdict == "PROMOTE" and not (auto_approve_as or wait_for_approver):
        with open_workspace(Path(workspace)) as ws:
            check_service.record_evidence(ws, outcome, now=datetime.now(UTC))
        result["awaiting_approval"] = True
    elif outcome.verdict == "PROMOTE":
        if auto_approve_as:
            decision = ApprovalDecision(
                approved=True, approver=auto_approve_as, reason="demo mode: approved automatically"
            )
            logger.info("demo mode: approving automatically as %s", auto_approve_as)
        else:
            decision = wait_for_approval(
                description_md=outcome.markdown,
                timeout_s=approval_timeout_s,
                poll_interval_s=poll_interval_s,
            )
        with open_workspace(Path(workspace)) as ws:
            promoted = check_service.apply_approval(
                ws,
                outcome,
                approver=decision.approver,
                approved=decision.approved,
                reason=decision.reason,
                run_id=run_id,
                now=datetime.now(UTC),
            )
        result.update(
            approved=decision.approved, approver=decision.approver, promoted=promoted is not None
        )
    elif outcome.verdict == "REJECT":
        with open_workspace(Path(workspace)) as ws:
            check_service.apply_reject(ws, outcome, now=datetime.now(UTC))
        result["rejected"] = True
    else:  # CONTINUE: nothing moves, but the look is kept as evidence on the candidate
        with open_workspace(Path(workspace)) as ws:
            check_service.record_evidence(ws, outcome, now=datetime.now(UTC))
    return result
