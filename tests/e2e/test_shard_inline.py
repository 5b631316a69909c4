"""A sharded parent whose shard runs find no free worker slot runs them itself.

The audit's deadlock: one live worker with `--limit 2`, two sharded parents holding both slots
while their shard runs wait Scheduled. Here the pool has no worker at all (no slot is ever
free, the extreme of that case): the parent, run in this process against the session's real
Prefect server, withdraws each shard run still Scheduled after `inline_after_s` and runs the
shard as its own subflow; every action goes out once and the withdrawn runs never start.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
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
from sqlmodel import select

from engine.channels.outbox import read_outbox
from engine.groups import add_group
from engine.ledger import Delivery
from flows.pool import pool_deployments, register_on_pool
from flows.runtime import PrefectServer
from flows.shards import sharded_playbook
from services import playbooks
from services.workspace import Workspace
from tests.support.workspaces import in_production

pytestmark = pytest.mark.e2e
POOL = "every-slot-taken"
SETUP = datetime(2026, 8, 1, 9, 0, tzinfo=UTC)
DAY = date(2026, 9, 8)  # a Tuesday: the mature day's workday columns


@pytest.fixture
def ws(workspace: Workspace, prefect_server: PrefectServer) -> Workspace:
    """Mombaby 1.0 in production, 12 mature outbox groups; the pool exists, nobody works it."""
    register_on_pool(pool_deployments([], pool=POOL), pool=POOL)
    in_production(workspace, "mombaby-refined", now=SETUP)
    with workspace.session() as session:
        for n in range(12):
            add_group(
                session, id=f"城市{n:02d}群", name=f"宝妈成长营{n}群", sop_id="mombaby-refined",
                now=SETUP, channel="outbox", target=f"chat{n}", start_date=date(2026, 1, 5),
            )  # fmt: skip
        session.commit()
    return workspace


def parent_table(run_id: Any) -> tuple[list[dict[str, Any]], str]:
    only = ArtifactFilter(
        flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]),
        key=ArtifactFilterKey(any_=["mature-day-shards"]),
    )
    with get_client(sync_client=True) as client:
        [table] = client.read_artifacts(artifact_filter=only)
    rows = sorted(json.loads(str(table.data)), key=lambda r: (r["shard"], r["attempt"]))
    return rows, str(table.description)


def test_shards_left_scheduled_are_withdrawn_and_run_by_the_parent_each_action_once(
    ws: Workspace,
) -> None:
    planned = {a.key for a in playbooks.plan_day(ws, playbook="mature_day", day=DAY).actions}

    state = sharded_playbook(
        workspace=str(ws.root), shards_total=2, day=DAY.isoformat(), scheduled_clock=True,
        poll_s=0.3, inline_after_s=1, deadline_s=600, return_state=True,
    )  # fmt: skip

    assert state.is_completed(), state.message
    rows, description = parent_table(state.state_details.flow_run_id)
    assert [(r["shard"], r["attempt"], r["state"]) for r in rows] == [
        ("1/2", 1, "CANCELLED"), ("1/2", 2, "COMPLETED"),
        ("2/2", 1, "CANCELLED"), ("2/2", 2, "COMPLETED"),
    ]  # fmt: skip
    assert all("run inline by the parent" in r["note"] for r in rows if r["attempt"] == 1)
    assert all(r["flow_run"].endswith("-inline") for r in rows if r["attempt"] == 2)
    assert "shard 1 (not started after" in description
    with get_client(sync_client=True) as client:
        withdrawn = FlowRunFilterId(any_=[r["flow_run_id"] for r in rows if r["attempt"] == 1])
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(id=withdrawn))
    assert {r.state.type.value for r in runs if r.state} == {"CANCELLED"}  # none runs late
    with ws.session() as session:
        ledger = dict(session.exec(select(Delivery.key, Delivery.status)).all())
    assert ledger == {key: "sent" for key in planned} and planned
    written = [str(r["key"]) for r in read_outbox(ws.root / "outbox" / f"outbox-{DAY}.jsonl")]
    assert sorted(written) == sorted(planned)
