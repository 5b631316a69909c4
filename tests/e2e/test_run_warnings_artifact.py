"""A run of a year without holiday data says so in the flow run's artifact, not only in the
printed summary and the log: the planner's warnings are listed in the table artifact's
description, or in a Markdown artifact of their own when nothing is due."""

from __future__ import annotations

import pytest
from prefect import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowFilter,
    FlowFilterName,
)
from prefect.client.schemas.sorting import FlowRunSort

from flows.runtime import PrefectServer
from services.workspace import Workspace
from tests.support.workspaces import EXAMPLES, Cli


@pytest.mark.e2e
def test_a_run_in_a_year_without_holiday_data_names_the_year_in_its_artifact(
    prefect_server: PrefectServer, cli: Cli, workspace: Workspace
) -> None:
    cli("save", str(EXAMPLES / "mombaby-refined.yaml"), "--author", "运营小王", "-m", "首版")
    cli("promote", "mombaby-refined", "1.0", "--approver", "李经理")
    cli("groups", "add", "mom-01", "--name", "宝妈成长营一群", "--sop", "mombaby-refined",
        "--channel", "outbox", "--target", "mom-01", "--start-date", "2026-08-01")  # fmt: skip

    result = cli("run", "mature_day", "--date", "2027-01-05", "--dry-run")  # a Tuesday
    assert "2027" in result.output

    with get_client(sync_client=True) as client:
        [run] = [
            r
            for r in client.read_flow_runs(
                flow_filter=FlowFilter(name=FlowFilterName(any_=["mature_day"])),
                sort=FlowRunSort.START_TIME_DESC,
                limit=200,
            )
            if r.parameters.get("workspace") == str(workspace.root)
        ]
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]))
        )
    # a future day: nothing is due, so no table; the warnings still get their own artifact
    [note] = [a for a in artifacts if a.key == "mature-day-deliveries-warnings"]
    heading, listed = str(note.data).split("\n\n")
    assert heading == "mature_day 2027-01-05 (dry run)"
    assert any(line.startswith("- 2027 年没有节假日安排") for line in listed.splitlines())
