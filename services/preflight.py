"""Preconditions of a user action, checked before any flow run starts.

A user's mistake found inside a flow run reaches them as Prefect's ERROR log and a traceback;
found here it is one `sop: error: ...` line. Entry points call one of these first:

    for_check(ws, sop_id=...)                 `sop check`: candidate and production exist
    for_run(playbook=...)                     `sop run`: the playbook name is valid
    for_approval(ws, run_id=..., approver=...) `sop approve`: a paused check run of this
                                              workspace, and the approver is not the author
    for_decline(ws, run_id=..., reason=...)   `sop decline`: a paused check run, a reason

The run checks talk to Prefect: call them inside the entry point's Prefect context.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from services.playbooks import Playbook, check_playbook
from services.prefect_api import prefect_api_errors
from services.workspace import Workspace
from sop_models.errors import ApprovalError, CheckError, VersionNotFound
from versions.services import check_four_eyes
from versions.store import checked_id, unknown_sop

CHECK_FLOW = "check"  # the Prefect flow name of a check run (flows.check)


@dataclass(frozen=True)
class PausedCheck:
    """A check flow run waiting for an ops lead's decision."""

    run_id: UUID
    sop_id: str


def for_check(ws: Workspace, *, sop_id: str) -> None:
    """The SOP has a candidate to check and a production version to check it against."""
    if ws.store.latest(checked_id(sop_id)) is None:
        raise unknown_sop(sop_id, ws.store.sop_ids())
    aliases = ws.store.aliases(sop_id)
    if "candidate" not in aliases:
        raise CheckError(
            f"{sop_id}: no candidate to check (set one with `sop candidate {sop_id} VERSION`)"
        )
    if "production" not in aliases:
        raise CheckError(
            f"{sop_id}: no production version to check the candidate against "
            f"(promote one with `sop promote {sop_id} VERSION`)"
        )


def for_run(*, playbook: str) -> Playbook:
    """The playbook to run, refused in one line when there is no such playbook."""
    return check_playbook(playbook)


def for_approval(ws: Workspace, *, run_id: str, approver: str) -> PausedCheck:
    """A paused check run of this workspace that `approver` may approve (four eyes).

    Checked before resuming, so a refused approver leaves the run waiting for another.
    """
    if not approver.strip():
        raise ApprovalError("--approver must not be empty")
    run = paused_check(ws, run_id=run_id)
    try:
        candidate = ws.store.resolve(run.sop_id, "candidate")
    except VersionNotFound as err:
        raise ApprovalError(f"flow run {run.run_id}: nothing to approve ({err})") from None
    check_four_eyes(candidate, approver, ws.policy)
    return run


def for_decline(ws: Workspace, *, run_id: str, reason: str) -> PausedCheck:
    """A paused check run of this workspace, declined with a reason."""
    if not reason.strip():
        raise ApprovalError(f"flow run {run_id}: a decline needs a reason")
    return paused_check(ws, run_id=run_id)


def paused_check(ws: Workspace, *, run_id: str) -> PausedCheck:
    """The check run `run_id`, which must be paused and belong to this workspace."""
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    try:
        flow_run_id = UUID(run_id.strip())
    except ValueError:
        raise ApprovalError(f"{run_id!r} is not a flow run id") from None
    with get_client(sync_client=True) as client, prefect_api_errors(client.api_url):
        try:
            flow_run = client.read_flow_run(flow_run_id)
            flow_name = client.read_flow(flow_run.flow_id).name
        except ObjectNotFound:
            raise ApprovalError(f"flow run {flow_run_id} does not exist") from None
    if flow_name != CHECK_FLOW:
        raise ApprovalError(f"flow run {flow_run_id} is a {flow_name!r} run, not a check run")
    state = flow_run.state
    if state is None or not state.is_paused():
        raise ApprovalError(
            f"flow run {flow_run_id} is not paused (state: {state.name if state else 'none'})"
        )
    checked = Path(str(flow_run.parameters.get("workspace", ""))).resolve()
    if checked != ws.root.resolve():
        raise ApprovalError(
            f"flow run {flow_run_id} checks the workspace {checked}, not {ws.root} "
            "(pass --workspace)"
        )
    return PausedCheck(flow_run_id, str(flow_run.parameters["sop"]))
