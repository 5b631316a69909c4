"""The approvals inbox: check runs paused for a lead's decision, with their evidence.

Approve and decline resume the paused Prefect run as the logged-in lead, after the same
preflight the CLI runs (a paused check run of this workspace; four eyes: not the author).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from services import preflight
from services.sessions import Login
from sop_models.i18n import tr
from sopflow.prefect_context import prefect_for
from sopflow.web.app import render
from sopflow.web.auth import checked_form, lead, workspace
from sopflow.web.evidence_view import blocks, chart

router = APIRouter()


@router.get("/approvals")
def inbox(request: Request, user: Login = Depends(lead)) -> Response:
    from flows.approval import paused_runs

    ws = workspace(request)
    with prefect_for(ws.root):
        runs = [
            run
            for run in paused_runs()
            if run.waits_for_approval and run.flow_name == preflight.CHECK_FLOW
        ]
    return render(request, "approvals.html", runs=runs, evidence=blocks, chart=chart)


@router.post("/approvals/{run_id}/{decision}")
def decide(
    request: Request,
    run_id: str,
    decision: str,
    user: Login = Depends(lead),
    form: dict[str, str] = Depends(checked_form),
) -> Response:
    from flows.approval import approve_run, decline_run

    ws, name = workspace(request), user.user.name
    reason = form.get("reason", "").strip()
    if form.get("confirm") != "yes":
        raise HTTPException(400, tr("tick the confirmation box"))
    with prefect_for(ws.root):
        if decision == "approve":
            preflight.for_approval(ws, run_id=run_id, approver=name)
            approve_run(run_id, name, reason)
        elif decision == "decline":
            preflight.for_decline(ws, run_id=run_id, reason=reason)
            decline_run(run_id, name, reason)
        else:
            raise HTTPException(404, f"no decision {decision!r}")
    return RedirectResponse("/approvals", status_code=303)
