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
from sopflow.prefect_context import prefect_api_url, prefect_for
from sopflow.web.app import render
from sopflow.web.auth import checked_form, lead, workspace
from sopflow.web.evidence_view import blocks, chart

router = APIRouter()


@router.get("/approvals")
def inbox(request: Request, user: Login = Depends(lead)) -> Response:
    from flows.approval import paused_runs

    ws = workspace(request)
    # Only this workspace's check runs, read from a server that stays up between loads
    # (starting the ephemeral one, or switching Prefect's settings, took seconds per load).
    api_url = prefect_api_url(ws.root)
    found = paused_runs(flow_name=preflight.CHECK_FLOW, workspace=ws.root, api_url=api_url)
    runs = [run for run in found if run.waits_for_approval]
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
    with prefect_for(ws.root, keep_server=True):
        if decision == "approve":
            preflight.for_approval(ws, run_id=run_id, approver=name)
            approve_run(run_id, name, reason)
        elif decision == "decline":
            preflight.for_decline(ws, run_id=run_id, reason=reason)
            decline_run(run_id, name, reason)
        else:
            raise HTTPException(404, f"no decision {decision!r}")
    return RedirectResponse("/approvals", status_code=303)
