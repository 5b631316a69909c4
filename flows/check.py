"""The check flow: decide on the candidate, publish the evidence, pause for an ops lead.

On PROMOTE the run pauses (`pause_flow_run(wait_for_input=...)`) until someone approves or
declines in the Prefect UI or with `sop approve RUN_ID` / `sop decline RUN_ID`. What each
verdict then does (promote with the measured changelog line, decline, reject, keep the look as
evidence) is `services.check.conclude`; this flow only evaluates, pauses and hands over.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.context import FlowRunContext
from prefect.logging import get_run_logger

from flows.approval import DEFAULT_TIMEOUT_S, wait_for_approval
from services import check as check_service
from services.preflight import CHECK_FLOW
from services.shards import workspace_root
from services.workspace import open_workspace


@flow(name=CHECK_FLOW)
def check(
    workspace: str,
    sop: str,
    start: str | None = None,
    end: str | None = None,
    sequential: bool = True,
    approval_timeout_s: int = DEFAULT_TIMEOUT_S,
    poll_interval_s: int = 5,
    wait_for_approver: bool = True,
    before_after: bool = False,
    now: str | None = None,
) -> dict[str, Any]:
    """Check `sop`'s candidate against production and act on the decision.

    `workspace=""` (the pool's `check/kpi-check` deployment): the worker's workspace cache."""
    context = FlowRunContext.get()
    run_id = str(context.flow_run.id) if context and context.flow_run else ""
    with open_workspace(workspace_root(workspace)) as ws:
        outcome = check_service.evaluate(
            ws,
            sop_id=sop,
            now=datetime.fromisoformat(now) if now else datetime.now(UTC),
            sequential=sequential,
            before_after=before_after,
            start=date.fromisoformat(start) if start else None,
            end=date.fromisoformat(end) if end else None,
        )
    create_markdown_artifact(
        markdown=outcome.markdown, key=f"check-{sop}", description=f"{sop} {outcome.verdict}"
    )
    get_run_logger().info("%s: %s", outcome.verdict, outcome.changelog)
    approval = None
    if outcome.needs_approval and wait_for_approver:
        # The workspace stays closed while the run waits (possibly for days).
        decision = wait_for_approval(
            description_md=outcome.markdown,
            evidence=outcome.evidence.as_json(),
            timeout_s=approval_timeout_s,
            poll_interval_s=poll_interval_s,
        )
        approval = check_service.Approval(decision.approved, decision.approver, decision.reason)
    with open_workspace(workspace_root(workspace)) as ws:
        concluded = check_service.conclude(
            ws, outcome=outcome, approval=approval, run_id=run_id, now=datetime.now(UTC)
        )
    return concluded.as_dict()
