"""End to end against a real `prefect server start`: cron deployments, serving, approvals."""

from __future__ import annotations

import json
import os
import socket
import threading
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest
from prefect import flow, get_client, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    DeploymentFilter,
    DeploymentFilterId,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.deployments import run_deployment

from flows.approval import (
    ApprovalDecision,
    approve_run,
    decline_run,
    paused_runs,
    wait_for_approval,
)
from flows.deploy import (
    DeploymentError,
    DeploymentSpec,
    build_deployments,
    full_name,
    register_deployments,
    serving_in_background,
)
from flows.runtime import PrefectServer, PrefectServerError, prefect_env, prefect_environment
from sop_models.errors import ApprovalError
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e
SHANGHAI = ZoneInfo("Asia/Shanghai")


@task
def publish_open_rates(group: str) -> UUID:
    rows = [{"群": group, "打开率": 0.25}, {"群": "对照群", "打开率": 0.19}]
    return create_table_artifact(table=rows, key="e2e-open-rates", description="打开率")


@flow(name="e2e-publish-open-rates")
def publish_flow(group: str = "默认群") -> str:
    publish_open_rates(group)
    return group


@flow(name="e2e-needs-approval")
def approval_flow(change: str, timeout_s: int = 120) -> dict[str, Any]:
    decision = wait_for_approval(
        description_md=f"## 请审批\n{change}", timeout_s=timeout_s, poll_interval_s=1
    )
    create_markdown_artifact(
        f"{decision.approver}: {decision.approved} {decision.reason}", key="e2e-decision"
    )
    return decision.model_dump()


def read_run(run_id: UUID) -> FlowRun:
    with get_client(sync_client=True) as client:
        return client.read_flow_run(run_id)


def run_artifacts(run_id: UUID) -> list[Any]:
    only_run = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
    with get_client(sync_client=True) as client:
        return client.read_artifacts(artifact_filter=only_run)


def paused_approval(flow_name: str) -> UUID | None:
    """The id of the one run of `flow_name` waiting for approval, if any."""
    waiting = [r for r in paused_runs() if r.flow_name == flow_name and r.waits_for_approval]
    return waiting[0].id if waiting else None


def test_client_in_any_thread_talks_to_the_session_server(prefect_server: PrefectServer) -> None:
    seen: list[str] = []

    def probe() -> None:
        with get_client(sync_client=True) as client:
            seen.append(str(client.api_url))

    worker = threading.Thread(target=probe)
    worker.start()
    worker.join()
    with get_client(sync_client=True) as client:
        seen.append(str(client.api_url))
    assert seen == [prefect_server.api_url + "/"] * 2


def test_cron_deployment_is_registered_with_shanghai_timezone(
    prefect_server: PrefectServer,
) -> None:
    spec = DeploymentSpec(
        "weekday-10am", publish_flow, "0 10 * * 1-5", parameters={"group": "上海1群"}
    )
    [deployment_id] = register_deployments(build_deployments([spec]))

    with get_client(sync_client=True) as client:
        stored = client.read_deployment(deployment_id)
    [schedule] = stored.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("0 10 * * 1-5", "Asia/Shanghai")
    assert schedule.active
    assert stored.parameters == {"group": "上海1群"}

    def scheduled_runs() -> list[FlowRun]:
        only_this = DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
        with get_client(sync_client=True) as client:
            return client.read_flow_runs(deployment_filter=only_this)

    # The server's scheduler fills in runs at 10:00 Beijing time on weekdays (02:00 UTC).
    runs = wait_until(scheduled_runs, timeout=40, what="the scheduler to create runs")
    for run in runs:
        local: datetime = run.expected_start_time.astimezone(SHANGHAI)
        assert (local.hour, local.minute) == (10, 0)
        assert local.weekday() < 5
        assert run.state_type == StateType.SCHEDULED


def test_served_deployment_runs_and_publishes_table_artifact(
    prefect_server: PrefectServer,
) -> None:
    spec = DeploymentSpec("kpi-table", publish_flow, "0 15 * * *", parameters={"group": "北京2群"})
    deployments = build_deployments([spec])
    with serving_in_background(deployments, limit=2):
        run = run_deployment(full_name(deployments[0]), timeout=60, poll_interval=1)

    assert run.state is not None and run.state.is_completed(), run.state
    [artifact] = run_artifacts(run.id)
    assert artifact.key == "e2e-open-rates"
    assert artifact.type == "table"
    # Prefect stores table data as ASCII-escaped JSON; compare decoded rows.
    assert json.loads(artifact.data)[0] == {"群": "北京2群", "打开率": 0.25}


def test_build_deployments_rejects_unknown_timezone() -> None:
    with pytest.raises(DeploymentError, match="Mars/Base"):
        build_deployments([("x", publish_flow, "0 10 * * *", "Mars/Base", {})])


def test_build_deployments_rejects_bad_cron() -> None:
    with pytest.raises(DeploymentError, match="0 25"):
        build_deployments([("x", publish_flow, "0 25 * * *")])


def test_approved_run_resumes_and_returns_the_approver(prefect_server: PrefectServer) -> None:
    results: list[Any] = []
    worker = threading.Thread(target=lambda: results.append(approval_flow(change="欢迎语 v3")))
    worker.start()
    try:
        run_id = wait_until(
            lambda: paused_approval("e2e-needs-approval"), what="the run to pause for approval"
        )
        [listed] = [r for r in paused_runs() if r.id == run_id]
        assert "欢迎语 v3" in listed.description_md
        approve_run(run_id, approver="李经理")
    finally:
        worker.join(60)

    assert results == [{"approved": True, "approver": "李经理", "reason": ""}]
    assert read_run(run_id).state_type == StateType.COMPLETED
    with pytest.raises(ApprovalError, match="is not paused"):
        approve_run(run_id, approver="李经理")


def test_declined_served_run_records_the_chinese_reason(prefect_server: PrefectServer) -> None:
    spec = DeploymentSpec(
        "approval", approval_flow, "0 9 * * *", parameters={"change": "新促活文案"}
    )
    deployments = build_deployments([spec])
    with serving_in_background(deployments):
        started = run_deployment(full_name(deployments[0]), timeout=0)
        wait_until(
            lambda: read_run(started.id).state_type == StateType.PAUSED,
            timeout=45,
            what="the served run to pause",
        )
        decline_run(started.id, approver="王总监", reason="文案太长，周五前改短")
        wait_until(lambda: read_run(started.id).state_type == StateType.COMPLETED, what="the end")

    [note] = run_artifacts(started.id)
    assert note.data == "王总监: False 文案太长，周五前改短"


def test_decisions_are_refused_for_unknown_or_malformed_runs(prefect_server: PrefectServer) -> None:
    missing = uuid4()
    with pytest.raises(ApprovalError, match=f"flow run {missing} does not exist"):
        approve_run(missing, approver="李经理")
    with pytest.raises(ApprovalError, match="not a flow run id"):
        decline_run("run-42", approver="李经理", reason="不行")


def test_decline_needs_a_reason_and_approve_needs_an_approver() -> None:
    with pytest.raises(ApprovalError, match="needs a reason"):
        decline_run(uuid4(), approver="李经理", reason="  ")
    with pytest.raises(ApprovalError, match="approver must not be empty"):
        approve_run(uuid4(), approver="")


def test_wait_for_approval_outside_a_flow_is_refused() -> None:
    with pytest.raises(ApprovalError, match="inside a flow run"):
        wait_for_approval(description_md="x")


def test_approval_decision_fields_are_what_the_cli_sends() -> None:
    decision = ApprovalDecision(approved=False, approver="李经理", reason="太长")
    assert decision.model_dump() == {"approved": False, "approver": "李经理", "reason": "太长"}


def test_unanswered_approval_times_out_and_fails_the_run(prefect_server: PrefectServer) -> None:
    state = approval_flow(change="没人审批", timeout_s=2, return_state=True)

    # The flow raises ApprovalError; the server's pause-expiry service may fail the run first.
    # (Were the timeout ignored, the call would block until pytest-timeout fails the test.)
    assert state.is_failed()
    assert read_run(state.state_details.flow_run_id).state_type == StateType.FAILED


def test_prefect_env_points_runs_at_the_server_or_at_ephemeral_mode(tmp_path: Path) -> None:
    served = prefect_env(tmp_path, "http://127.0.0.1:4321/api")
    ephemeral = prefect_env(tmp_path)

    assert served["PREFECT_API_URL"] == "http://127.0.0.1:4321/api"
    assert "PREFECT_API_URL" not in ephemeral
    assert ephemeral["PREFECT_SERVER_EPHEMERAL_ENABLED"] == "true"
    for env in (served, ephemeral):
        assert env["PREFECT_HOME"] == str(tmp_path.resolve())
        assert env["PREFECT_LOCAL_STORAGE_PATH"] == str(tmp_path.resolve() / "storage")
        assert env["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"


def test_prefect_environment_applies_settings_and_restores_them(
    prefect_server: PrefectServer, tmp_path: Path
) -> None:
    from prefect.settings import get_current_settings

    other = prefect_env(tmp_path, "http://127.0.0.1:9/api")
    with prefect_environment(other):
        assert get_current_settings().api.url == "http://127.0.0.1:9/api"
        assert get_current_settings().home == tmp_path.resolve()
    assert get_current_settings().api.url == prefect_server.api_url
    assert os.environ["PREFECT_API_URL"] == prefect_server.api_url


def test_server_that_never_gets_healthy_is_reported_and_stopped(tmp_path: Path) -> None:
    server = PrefectServer(tmp_path / "home", startup_timeout_s=0.5)
    with pytest.raises(PrefectServerError, match=r"not healthy within 0\.5 s"):
        server.start()

    assert server.pid is not None
    with pytest.raises(ProcessLookupError):
        os.killpg(server.pid, 0)


def test_server_refuses_a_port_already_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PrefectServerError, match=f"port {port} is already in use"):
            PrefectServer(tmp_path, port=port).start()
