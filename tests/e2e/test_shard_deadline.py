"""A sharded parent run on a pool no worker serves: re-submission of unstarted shards, deadline.

Against the session's real Prefect server; the pool has no worker at all, so every shard run
stays Scheduled (no playbook ever runs, so the workspace folder is never opened).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from prefect import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterId,
)

from flows.pool import pool_deployments, register_on_pool
from flows.runtime import PrefectServer
from flows.shards import sharded_playbook
from sop_models.errors import PlaybookError

pytestmark = pytest.mark.e2e
POOL = "nobody-works-here"


@pytest.fixture
def pool(prefect_server: PrefectServer) -> str:
    register_on_pool(pool_deployments([], pool=POOL), pool=POOL)
    return POOL


def parent_table(run_id: Any) -> list[dict[str, Any]]:
    only = ArtifactFilter(
        flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]),
        key=ArtifactFilterKey(any_=["mature-day-shards"]),
    )
    with get_client(sync_client=True) as client:
        [table] = client.read_artifacts(artifact_filter=only)
    return sorted(json.loads(str(table.data)), key=lambda r: (r["shard"], r["attempt"]))


def run_parent(**options: Any) -> tuple[Any, str]:
    state = sharded_playbook(
        workspace="/nowhere", shards_total=2, poll_s=0.3, return_state=True, **options
    )
    assert state.is_failed()
    with pytest.raises(PlaybookError) as raised:
        state.result()
    return state.state_details.flow_run_id, str(raised.value)


def test_shards_no_worker_starts_are_crashed_and_resubmitted_until_attempts_run_out(
    pool: str,
) -> None:
    run_id, reason = run_parent(start_within_s=1, max_attempts=2, deadline_s=120)

    assert reason == "shard(s) [1, 2] did not complete"
    rows = parent_table(run_id)
    assert [(r["shard"], r["attempt"], r["state"]) for r in rows] == [
        ("1/2", 1, "CRASHED"), ("1/2", 2, "CRASHED"), ("2/2", 1, "CRASHED"), ("2/2", 2, "CRASHED"),
    ]  # fmt: skip
    assert all("no worker of the pool has a healthy heartbeat" in r["note"] for r in rows)
    with get_client(sync_client=True) as client:
        ids = FlowRunFilterId(any_=[r["flow_run_id"] for r in rows])
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(id=ids))
    assert {r.state.type.value for r in runs if r.state} == {"CRASHED"}  # none left to run late


def test_a_parent_past_its_deadline_fails_in_one_line_naming_the_shards_left(pool: str) -> None:
    _, reason = run_parent(start_within_s=3600, deadline_s=2)

    assert reason == (
        "deadline of 2 s passed with shard(s) not completed: 1/2 (scheduled), 2/2 (scheduled)"
    )
