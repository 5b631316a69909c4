"""Playbook flows end to end: cron deployments from the SOP, served runs, exactly-once sends.

Runs against the session's real `prefect server start` (`prefect_server`). The workspace is
real: the mother-and-baby example saved and promoted (author and approver differ), groups on
the `outbox` channel, a SQLite ledger, JSON-lines outbox files.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prefect import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowRunFilter,
    FlowRunFilterId,
)
from prefect.client.schemas.objects import StateType, TaskRun
from prefect.deployments import run_deployment

from engine import groups as group_registry
from engine.channels.outbox import read_outbox
from engine.ledger import Delivery, list_deliveries
from flows.deploy import build_deployments, register_deployments, serving_in_background
from flows.playbooks import mature_day
from flows.runtime import PrefectServer
from flows.schedules import deployment_specs
from services import playbooks, sending
from services.playbooks import SHANGHAI
from services.workspace import Workspace, init_workspace
from sop_models import SopDocument, parse_document
from tests.support.waiting import wait_until
from tests.support.workspaces import example_text, modified
from versions import services

pytestmark = pytest.mark.e2e

AUTHOR, APPROVER = "运营小王", "李经理"
DAY = date(2026, 9, 8)  # a Tuesday and a workday: the three workday columns run
GROUPS = ("sh-01", "sh-02", "bj-01")
NEW_WELFARE = "新版晚间福利：{{ content_title }}，今晚 8 点半前下单再送湿巾一包！"
MATURE_CRONS = {
    "mature_day-1000": "0 10 * * *",
    "mature_day-1500": "0 15 * * *",
    "mature_day-1930": "30 19 * * *",
    "mature_day-2000": "0 20 * * *",
    "mature_day-2030": "30 20 * * *",
    "mature_day-2100": "0 21 * * *",
}


def now() -> datetime:
    return datetime.now(UTC)


def ready_workspace(root: Path) -> Workspace:
    """A workspace with `mombaby-refined` v1.0 in production and mature groups on `outbox`."""
    ws = init_workspace(root)
    saved = services.save_version(
        ws.uow(),
        text=example_text("mombaby-refined"),
        source="mombaby-refined.yaml",
        author=AUTHOR,
        message="首版 SOP",
        major=False,
        now=now(),
    )
    services.promote(
        ws.uow(),
        sop_id=saved.sop_id,
        version="1.0",
        approver=APPROVER,
        policy=ws.policy,
        now=now(),
    )
    with ws.session() as session:
        for group_id in GROUPS:
            group_registry.add_group(
                session,
                id=group_id,
                name=f"宝妈成长营{group_id}群",
                sop_id=saved.sop_id,
                now=now(),
                owner=AUTHOR,
                sender="xiaowang",
                channel="outbox",
                target=group_id,
                start_date=DAY - timedelta(days=30),
                member_count=150,
            )
        session.commit()
    return ws


def production_doc(ws: Workspace, sop_id: str = "mombaby-refined") -> SopDocument:
    info = ws.store.resolve(sop_id, "production")
    return parse_document(ws.store.content(info), info.tag)


def promote_new_welfare_text(ws: Workspace) -> None:
    """Save v1.1 (new evening-welfare text) by the author and promote it by the approver."""

    def change(data: dict[str, Any]) -> None:
        next(t for t in data["templates"] if t["id"] == "welfare")["body"] = NEW_WELFARE

    text = modified(ws.store.content(ws.store.resolve("mombaby-refined", "1.0")), change)
    saved = services.save_version(
        ws.uow(),
        text=text,
        source="v1.1",
        author=AUTHOR,
        message="晚间福利加赠品",
        major=False,
        now=now(),
    )
    services.promote(
        ws.uow(),
        sop_id=saved.sop_id,
        version=str(saved.version),
        approver=APPROVER,
        policy=ws.policy,
        now=now(),
    )


def day_outbox(ws: Workspace, day: date = DAY) -> list[dict[str, Any]]:
    """Lines of the day's outbox file (the outbox channel writes one file per local day).

    Assertions look at DAY only: while deployments are served, one of their crons may fire
    and legitimately post today's actions into today's file.
    """
    return read_outbox(ws.root / "outbox" / f"outbox-{day.isoformat()}.jsonl")


def day_ledger(ws: Workspace, day: date = DAY) -> list[Delivery]:
    start = datetime.combine(day, clock(0), SHANGHAI)
    with ws.session() as session:
        return list_deliveries(session, since=start, until=start + timedelta(days=1))


def ledger_state(rows: list[Delivery]) -> list[tuple[str, str, int, str]]:
    return [(r.key, r.status, r.attempts, str(r.sent_at)) for r in rows]


def task_runs(run_id: UUID) -> list[TaskRun]:
    only_run = FlowRunFilter(id=FlowRunFilterId(any_=[run_id]))
    with get_client(sync_client=True) as client:
        return client.read_task_runs(flow_run_filter=only_run)


def delivery_table(run_id: UUID) -> dict[str, dict[str, Any]]:
    """The run's `mature-day-deliveries` table artifact, by group."""
    only_run = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=only_run)
    [table] = [a for a in artifacts if a.key == "mature-day-deliveries"]
    assert table.type == "table"
    return {row["group"]: row for row in json.loads(table.data)}


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    workspace = ready_workspace(tmp_path / "ws")
    try:
        yield workspace
    finally:
        workspace.close()


def test_sop_send_times_become_shanghai_cron_deployments_on_the_server(
    prefect_server: PrefectServer, ws: Workspace
) -> None:
    specs = deployment_specs(str(ws.root), [production_doc(ws)])
    ids = register_deployments(build_deployments(specs))

    with get_client(sync_client=True) as client:
        stored = {d.name: d for d in (client.read_deployment(i) for i in ids)}
    mature = {name: dep for name, dep in stored.items() if name.startswith("mature_day-")}
    crons = {name: dep.schedules[0].schedule.cron for name, dep in mature.items()}
    assert crons == MATURE_CRONS
    for spec in specs:
        [schedule] = stored[spec.name].schedules
        assert (schedule.schedule.cron, schedule.schedule.timezone) == (spec.cron, "Asia/Shanghai")
        assert schedule.active
    assert stored["welcome-every-5-min"].schedules[0].schedule.cron == "*/5 * * * *"
    # No clock parameter: each run sends what is due at the minute it was scheduled for.
    assert stored["mature_day-1000"].parameters == {"workspace": str(ws.root)}


def test_served_mature_day_sends_each_planned_action_once_per_batch_task(
    prefect_server: PrefectServer, ws: Workspace
) -> None:
    planned = playbooks.plan_day(ws, playbook="mature_day", day=DAY)
    batches = sending.batches(planned.actions)
    keys = sorted(a.key for a in planned.actions)
    assert len(keys) == 3 * len(GROUPS) and len(batches) == 3  # 10:00, 15:00, 20:00 columns
    deployments = build_deployments(deployment_specs(str(ws.root), [production_doc(ws)]))
    parameters = {
        "workspace": str(ws.root),
        "day": DAY.isoformat(),
        "scheduled_clock": True,  # replay the whole (past) day, each batch at its time
    }

    with serving_in_background(deployments, limit=2):
        first = run_deployment(
            name="mature_day/mature_day-1000", parameters=parameters, timeout=90, poll_interval=1
        )
        assert first.state is not None and first.state.is_completed(), first.state
        sent_lines = day_outbox(ws)
        sent_ledger = ledger_state(day_ledger(ws))
        second = run_deployment(
            name="mature_day/mature_day-1000", parameters=parameters, timeout=90, poll_interval=1
        )
        assert second.state is not None and second.state.is_completed(), second.state

    # The outbox holds exactly the plan, each action once, and the ledger says sent.
    assert sorted(line["key"] for line in sent_lines) == keys
    assert {line["version"] for line in sent_lines} == {"1.0"}
    assert sorted((key, status) for key, status, *_ in sent_ledger) == [(k, "sent") for k in keys]
    # One task per channel batch, never one per message.
    runs = wait_until(
        lambda: (found := task_runs(first.id)) and len(found) >= len(batches) and found,
        what="the batch task runs to be recorded",
    )
    assert sorted(r.name for r in runs) == sorted(f"send {b.label}" for b in batches)
    assert {r.state_type for r in runs} == {StateType.COMPLETED}
    table = delivery_table(first.id)
    assert {g: (r["planned"], r["sent"], r["failed"]) for g, r in table.items()} == {
        g: (3, 3, 0) for g in GROUPS
    }
    # The second run finds everything settled: no line, no ledger change, all skipped.
    assert len(day_outbox(ws)) == len(sent_lines)
    assert ledger_state(day_ledger(ws)) == sent_ledger
    again = delivery_table(second.id)
    assert {g: (r["planned"], r["sent"], r["skipped"]) for g, r in again.items()} == {
        g: (3, 0, 3) for g in GROUPS
    }


def test_promotion_changes_the_next_run_without_redeploy(
    prefect_server: PrefectServer, ws: Workspace
) -> None:
    before = mature_day(workspace=str(ws.root), day=DAY.isoformat(), dry_run=True)
    promote_new_welfare_text(ws)
    after = mature_day(workspace=str(ws.root), day=DAY.isoformat(), dry_run=True)

    def welfare(summary: dict[str, Any]) -> set[str]:
        return {a["text"] for a in summary["actions"] if "evening-welfare" in a["key"]}

    assert before["versions"] == {"1.0": len(GROUPS)}
    assert after["versions"] == {"1.1": len(GROUPS)}
    assert all("新版晚间福利" not in text for text in welfare(before))
    assert {text.split("：")[0] for text in welfare(after)} == {"新版晚间福利"}
    assert len(after["actions"]) == len(before["actions"]) == 3 * len(GROUPS)
    # Dry runs send and record nothing.
    assert day_outbox(ws) == [] and day_ledger(ws) == []


def test_promotion_after_a_sent_day_does_not_resend_its_slots(
    prefect_server: PrefectServer, ws: Workspace
) -> None:
    first = mature_day(workspace=str(ws.root), day=DAY.isoformat(), scheduled_clock=True)
    assert first["planned"] == 3 * len(GROUPS)
    sent = day_outbox(ws)
    assert len(sent) == 3 * len(GROUPS)
    promote_new_welfare_text(ws)

    # A later run of the same day (e.g. the 21:00 deployment, which re-plans everything due
    # so far) must not post the 10:00, 15:00 and 20:00 columns a second time.
    mature_day(workspace=str(ws.root), day=DAY.isoformat(), scheduled_clock=True)

    resent = [(line["group"], line["slot"]) for line in day_outbox(ws)[len(sent) :]]
    assert resent == [], f"slots posted twice after promoting v1.1: {resent}"


def test_a_run_sends_only_what_is_due_at_its_clock(
    prefect_server: PrefectServer, ws: Workspace
) -> None:
    early = mature_day(workspace=str(ws.root), day=DAY.isoformat(), now=f"{DAY}T07:33:00+08:00")
    assert day_outbox(ws) == [] and day_ledger(ws) == []
    assert (early["timing"], early["planned"], early["later"]) == ("today", 0, 3 * len(GROUPS))

    at_1005 = mature_day(workspace=str(ws.root), day=DAY.isoformat(), now=f"{DAY}T10:05:00")

    assert at_1005["totals"]["sent"] == len(GROUPS) and at_1005["later"] == 2 * len(GROUPS)
    assert sorted((line["group"], line["at"][11:16]) for line in day_outbox(ws)) == [
        (group, "10:00") for group in sorted(GROUPS)
    ]
    assert [r.status for r in day_ledger(ws)] == ["sent"] * len(GROUPS)
