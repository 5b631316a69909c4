"""`sop run` with one SOP group whose template raises: the others go out, the failure is in
the printed summary and the run's table artifact, and the flow run ends Failed in Prefect."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from prefect import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowFilter,
    FlowFilterName,
)
from prefect.client.schemas.sorting import FlowRunSort

from engine.channels.outbox import read_outbox
from flows.runtime import PrefectServer
from services.workspace import Workspace
from tests.support.examples import example_text, modified
from tests.support.workspaces import EXAMPLES, Cli

FRAGILE = "{{ 100 // (group_name | length - 5) }} 份干货｜{{ content_title }}\n{{ content_body }}"


def daily_care(data: dict[str, Any]) -> None:
    data["id"] = "daily-care"
    for template in data["templates"]:
        if template["id"] == "knowledge":
            template["body"] = FRAGILE
            template["variables"] = [*template["variables"], "group_name"]


@pytest.mark.e2e
def test_a_group_that_fails_to_plan_leaves_the_others_sent_and_the_run_failed(
    prefect_server: PrefectServer, cli: Cli, workspace: Workspace, tmp_path: Path
) -> None:
    other = tmp_path / "daily-care.yaml"
    other.write_text(modified(example_text("mombaby-refined"), daily_care), encoding="utf-8")
    for path, sop in (
        (EXAMPLES / "mombaby-refined.yaml", "mombaby-refined"),
        (other, "daily-care"),
    ):
        cli("save", str(path), "--author", "运营小王", "-m", "首版")
        cli("promote", sop, "1.0", "--approver", "李经理")
    for group, name, sop in (
        ("mom-01", "宝妈成长营一群", "mombaby-refined"),
        ("daily-ok", "上海宝妈福利群", "daily-care"),
        ("daily-bad", "北京宝妈群", "daily-care"),
    ):
        cli("groups", "add", group, "--name", name, "--sop", sop, "--channel", "outbox",
            "--target", group, "--start-date", "2026-08-01")  # fmt: skip

    result = cli("run", "mature_day", "--date", "2026-09-08", "--catch-up", ok=False)

    assert result.exit_code == 1, result.output
    assert "已发 6，失败 0" in result.stdout  # mom-01 and daily-ok: 3 posts each
    [error] = result.stderr.splitlines()[-1:]
    assert error.startswith("sop: error: daily-care 的 1 个群在 plan 阶段失败（daily-bad）")
    lines = [r for p in (workspace.root / "outbox").glob("*.jsonl") for r in read_outbox(p)]
    assert {r["group"] for r in lines} == {"mom-01", "daily-ok"}

    with get_client(sync_client=True) as client:
        # The session's server holds other tests' mature_day runs (some only scheduled):
        # this test's run is the one on this workspace.
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
    assert run.state is not None and run.state.is_failed()
    assert "daily-bad" in (run.state.message or "") or "：1 个群在 1 处失败" in (
        run.state.message or ""
    )
    [table] = [a for a in artifacts if a.key == "mature-day-deliveries"]
    rows = {row["group"]: row for row in json.loads(str(table.data))}
    assert rows["daily-bad"]["error"].startswith("plan: ")
    assert rows["daily-ok"]["sent"] == 3 and rows["daily-ok"]["error"] == ""
