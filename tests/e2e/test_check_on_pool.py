"""`sop check SOP --pool P` submits the check to the pool's `check/kpi-check` deployment, whose
work queue takes it to the machines that read the event store (nothing runs it here)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest
from prefect import get_client

from flows.pool import pool_deployments, register_on_pool
from flows.runtime import PrefectServer
from services.workspace import Workspace
from tests.support.workspaces import Cli, with_candidate

pytestmark = pytest.mark.e2e
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def test_a_check_is_submitted_to_the_pools_check_queue_with_its_options(
    prefect_server: PrefectServer, workspace: Workspace, cli: Cli
) -> None:
    with_candidate(
        workspace, "mombaby-refined", lambda d: d.update(title="新版"), message="新", now=NOW
    )
    register_on_pool(pool_deployments([], pool="checks", check_queue="events"), pool="checks")

    result = cli("check", "mombaby-refined", "--pool", "checks", "--fixed-horizon", "--no-wait")

    said = result.stdout.splitlines()[0]
    assert said.startswith("submitted check of mombaby-refined to pool checks (queue events)")
    run_id = said.rsplit(" id ", 1)[1]
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(UUID(run_id))
        deployment = client.read_deployment(run.deployment_id)
    assert (deployment.name, run.work_queue_name) == ("kpi-check", "events")
    assert run.parameters["sop"] == "mombaby-refined" and run.parameters["workspace"] == ""
    assert run.parameters["sequential"] is False and run.parameters["wait_for_approver"] is False
    assert run.state_type is not None and run.state_type.value == "SCHEDULED"


def test_a_pool_without_the_check_deployment_is_refused_in_one_line(
    prefect_server: PrefectServer, workspace: Workspace, cli: Cli
) -> None:
    with_candidate(
        workspace, "mombaby-refined", lambda d: d.update(title="新版"), message="新", now=NOW
    )
    register_on_pool(pool_deployments([], pool="checks-elsewhere"), pool="checks-elsewhere")

    result = cli("check", "mombaby-refined", "--pool", "not-registered", ok=False)

    assert result.exit_code != 0
    assert result.stderr.strip() == (
        "sop: error: --pool not-registered: check/kpi-check is on pool 'checks-elsewhere';"
        " register it: sop serve --work-pool not-registered"
    )
