"""Human approval inside a flow: pause the run until someone approves or declines it.

Inside a flow, `wait_for_approval()` pauses the run (state PAUSED, process keeps waiting) and
returns the `ApprovalDecision` given on resume. Outside, `approve_run()` / `decline_run()`
resume it with a decision and `paused_runs()` lists what waits. A pause may carry structured
evidence (a JSON object, stored as the run's input `EVIDENCE_KEY` before the pause) so that an
inbox can draw it; `paused_runs()` returns it beside the Markdown. Prefect 3.8 has no CLI for
resuming with input, so these are what `sop` calls.

A Prefect server that cannot be reached or refuses our credentials is reported as one
`PrefectApiError` line; a resume the server refuses as `FlowRunError`.
"""

from __future__ import annotations

import json
import ssl
import time
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from prefect import get_client
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterId,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.responses import SetStateStatus
from prefect.client.schemas.sorting import FlowRunSort
from prefect.context import FlowRunContext
from prefect.exceptions import FlowPauseTimeout, ObjectNotFound
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput, create_flow_run_input, keyset_from_paused_state
from prefect.logging import get_run_logger

from services.prefect_api import prefect_api_errors
from sop_models.errors import ApprovalError, FlowRunError

DEFAULT_TIMEOUT_S = 7 * 24 * 3600
# A run turns PAUSED a moment before its input schema is stored; resuming in between is refused.
_SCHEMA_WAIT_S = 10.0
#: The run input under which a pause keeps its structured evidence.
EVIDENCE_KEY = "sopflow-evidence"


class ApprovalDecision(RunInput):
    """What an approver decided for a paused run."""

    approved: bool
    approver: str
    reason: str = ""


@dataclass(frozen=True)
class PausedRun:
    """A flow run waiting in PAUSED state."""

    id: UUID
    flow_name: str
    name: str
    paused_since: datetime | None
    waits_for_approval: bool
    description_md: str
    evidence: dict[str, Any] | None = None


def wait_for_approval(
    *,
    description_md: str,
    evidence: dict[str, Any] | None = None,
    timeout_s: int = DEFAULT_TIMEOUT_S,
    poll_interval_s: int = 5,
) -> ApprovalDecision:
    """Pause the current flow run until it is approved or declined; return the decision.

    Call inside a (sync) flow. The run stays PAUSED and its process keeps polling every
    `poll_interval_s`; after `timeout_s` without a decision this raises `ApprovalError`.
    `evidence` (JSON-able) is stored with the run first, for `paused_runs()` to hand out.
    """
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        raise ApprovalError("wait_for_approval() must be called inside a flow run")
    logger = get_run_logger()
    if evidence is not None:
        # Stored before the pause, so every run listed as waiting already has it.
        create_flow_run_input(key=EVIDENCE_KEY, value=evidence, flow_run_id=context.flow_run.id)
    form = ApprovalDecision.with_initial_data(description=description_md)
    try:
        given = pause_flow_run(
            wait_for_input=form, timeout=timeout_s, poll_interval=poll_interval_s
        )
    except FlowPauseTimeout as exc:
        raise ApprovalError(
            f"flow run {context.flow_run.id}: no approval decision within {timeout_s} s"
        ) from exc
    decision = ApprovalDecision.model_validate(given.model_dump())
    if not decision.approver.strip():
        raise ApprovalError(f"flow run {context.flow_run.id}: decision has no approver")
    verdict = "approved" if decision.approved else "declined"
    logger.info("Run %s by %s. %s", verdict, decision.approver, decision.reason)
    return decision


def approve_run(run_id: UUID | str, approver: str, reason: str = "") -> None:
    """Resume the paused run `run_id` with an approval by `approver`."""
    _resume(run_id, ApprovalDecision(approved=True, approver=approver, reason=reason))


def decline_run(run_id: UUID | str, approver: str, reason: str) -> None:
    """Resume the paused run `run_id` with a refusal by `approver`, giving `reason`."""
    if not reason.strip():
        raise ApprovalError(f"flow run {run_id}: a decline needs a reason")
    _resume(run_id, ApprovalDecision(approved=False, approver=approver, reason=reason))


def _resume(run_id: UUID | str, decision: ApprovalDecision) -> None:
    if not decision.approver.strip():
        raise ApprovalError(f"flow run {run_id}: approver must not be empty")
    flow_run_id = _as_uuid(run_id)
    run_input = decision.model_dump()
    deadline = time.monotonic() + _SCHEMA_WAIT_S
    with get_client(sync_client=True) as client, prefect_api_errors(client.api_url):
        while (schema := _pause_schema(client, _read_paused(client, flow_run_id))) is None:
            if time.monotonic() > deadline:
                raise ApprovalError(f"flow run {flow_run_id} is paused but not for an approval")
            time.sleep(0.2)
        if not _asks_for_approval(schema):
            raise ApprovalError(f"flow run {flow_run_id} is paused but not for an approval")
        result = client.resume_flow_run(flow_run_id, run_input=run_input)
    if result.status != SetStateStatus.ACCEPT:
        reason = result.details.reason if result.details else result.status.value
        raise FlowRunError(
            f"flow run {flow_run_id} cannot be resumed: {reason}", flow_run_id=str(flow_run_id)
        )


def _read_paused(client: Any, flow_run_id: UUID) -> FlowRun:
    """The run, which must be PAUSED waiting for input."""
    try:
        flow_run: FlowRun = client.read_flow_run(flow_run_id)
    except ObjectNotFound:
        raise ApprovalError(f"flow run {flow_run_id} does not exist") from None
    if flow_run.state is None or not flow_run.state.is_paused():
        state = flow_run.state.name if flow_run.state else "no state"
        raise ApprovalError(f"flow run {flow_run_id} is not paused (state: {state})")
    if flow_run.state.state_details.run_input_keyset is None:
        raise ApprovalError(f"flow run {flow_run_id} is paused but not for an approval")
    return flow_run


def _pause_schema(client: Any, flow_run: FlowRun) -> Any:
    """The input schema the run's pause stored, or None (no input asked, or not stored yet)."""
    assert flow_run.state is not None
    if flow_run.state.state_details.run_input_keyset is None:
        return None
    return _read_input(client, flow_run.id, keyset_from_paused_state(flow_run.state)["schema"])


def _asks_for_approval(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("title") == ApprovalDecision.__name__


def _read_input(client: Any, flow_run_id: UUID, key: str) -> Any:
    try:
        raw = client.read_flow_run_input(flow_run_id, key)
    except httpx.HTTPStatusError as exc:
        # The key is absent until the run stores it; Prefect answers 404 here without turning
        # it into ObjectNotFound (read_flow_run does). Anything else is a real failure.
        if exc.response.status_code == httpx.codes.NOT_FOUND:
            return None
        raise
    return json.loads(raw) if raw else None


def paused_runs(
    limit: int = 200,
    *,
    flow_name: str | None = None,
    workspace: Path | None = None,
    api_url: str | None = None,
) -> list[PausedRun]:
    """Flow runs currently PAUSED on the server, oldest pause first; only runs of the flow
    `flow_name` and with the `workspace` parameter naming that folder, when given (the server
    filters by flow; the inputs of the other runs are not read). `api_url`: that server's,
    without Prefect's settings (else the current settings' client)."""
    paused = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
    )
    of_flow = None if flow_name is None else FlowFilter(name=FlowFilterName(any_=[flow_name]))
    connected = _client_for(api_url) if api_url else get_client(sync_client=True)
    with connected as client, prefect_api_errors(client.api_url):
        runs = client.read_flow_runs(
            flow_filter=of_flow,
            flow_run_filter=paused,
            sort=FlowRunSort.START_TIME_ASC,
            limit=limit,
        )
        if workspace is not None:
            runs = [run for run in runs if _for_workspace(run, workspace)]
        if not runs:
            return []
        flow_ids = list({run.flow_id for run in runs})
        flows = client.read_flows(flow_filter=FlowFilter(id=FlowFilterId(any_=flow_ids)))
        names = {flow.id: flow.name for flow in flows}
        listed = []
        for run in runs:
            description, evidence = "", None
            waits = _asks_for_approval(_pause_schema(client, run))
            if waits:
                assert run.state is not None
                key = keyset_from_paused_state(run.state)["description"]
                description = str(_read_input(client, run.id, key) or "")
                stored = _read_input(client, run.id, EVIDENCE_KEY)
                evidence = stored if isinstance(stored, dict) else None
            listed.append(
                PausedRun(
                    id=run.id,
                    flow_name=names.get(run.flow_id, ""),
                    name=run.name,
                    paused_since=run.state.timestamp if run.state else None,
                    waits_for_approval=waits,
                    description_md=description,
                    evidence=evidence,
                )
            )
    return listed


def _client_for(api_url: str) -> SyncPrefectClient:
    """A client of `api_url`; over plain HTTP without loading CA certificates for nothing
    (Prefect's client loads them for every new client, ~50 ms)."""
    if api_url.startswith("http://"):
        return SyncPrefectClient(api_url, httpx_settings={"verify": _unused_tls()})
    return SyncPrefectClient(api_url)


@cache
def _unused_tls() -> ssl.SSLContext:
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def _for_workspace(run: FlowRun, workspace: Path) -> bool:
    named = run.parameters.get("workspace")
    return bool(named) and Path(str(named)).resolve() == workspace.resolve()


def _as_uuid(run_id: UUID | str) -> UUID:
    if isinstance(run_id, UUID):
        return run_id
    try:
        return UUID(str(run_id).strip())
    except ValueError:
        raise ApprovalError(f"{run_id!r} is not a flow run id") from None
