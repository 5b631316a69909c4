"""Posts the planner moved (deferred out of the quiet hours, shifted by a collision) are sent
by the scheduled run at their new time, on a real workspace (git store + SQLite + outbox)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from engine.channels.outbox import read_outbox
from engine.groups import add_group
from flows.schedules import deployment_specs
from services import overlays, playbooks, sending
from services.workspace import Workspace
from sop_models import parse_document
from tests.support.examples import example_text, modified, moved_posts
from tests.support.planning import local
from tests.support.workspaces import in_production
from versions import services

SETUP = datetime(2026, 8, 1, 9, 0, tzinfo=UTC)
DAY = date(2026, 9, 8)  # a Tuesday, a workday


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    text = modified(example_text("mombaby-refined"), moved_posts)
    services.save_version(
        workspace.uow(), text=text, source="moved.yaml", author="小王", message="夜读",
        major=False, now=SETUP,
    )  # fmt: skip
    services.promote(
        workspace.uow(), sop_id="mombaby-moved", version="1.0", approver="李经理",
        policy=workspace.policy, now=SETUP,
    )  # fmt: skip
    with workspace.session() as session:
        add_group(
            session, id="sh-01", name="宝妈成长营一群", sop_id="mombaby-moved", now=SETUP,
            channel="outbox", target="sh-01", start_date=date(2026, 8, 1),
        )  # fmt: skip
        session.commit()
    return workspace


def run_at(ws: Workspace, now: datetime) -> playbooks.DayPlan:
    """What the scheduled `mature_day` run at `now` does: plan what is due and send it."""
    planned = playbooks.plan_due(ws, playbook="mature_day", now=now)
    for batch in sending.batches(planned.actions):
        sending.send_batch(ws, batch, now=now)
    return planned


def sent(ws: Workspace) -> list[tuple[str, str]]:
    rows = [r for path in (ws.root / "outbox").glob("*.jsonl") for r in read_outbox(path)]
    return sorted((str(r["key"]).split(":")[3], str(r["at"])[11:16]) for r in rows)


def test_the_run_at_the_quiet_hours_end_sends_the_post_deferred_into_it(ws: Workspace) -> None:
    doc = parse_document(modified(example_text("mombaby-refined"), moved_posts))
    names = {spec.name for spec in deployment_specs(str(ws.root), [doc], today=DAY)}
    assert {"mature_day-0800", "mature_day-0830", "mature_day-1530"} <= names

    at_eight = run_at(ws, local(2026, 9, 8, 8, 0))
    assert sent(ws) == [("columns.night", "08:00")]  # yesterday's 23:00 post, deferred
    assert not at_eight.missed
    run_at(ws, local(2026, 9, 8, 8, 30))
    run_at(ws, local(2026, 9, 8, 15, 30))  # (10:00 had its own run: here it is missed)
    assert sent(ws) == [
        ("columns.afternoon-topic", "15:00"),
        ("columns.early", "08:30"),
        ("columns.night", "08:00"),
        ("columns.tip", "15:30"),
    ]


def test_a_column_an_overlay_wins_over_is_not_sent_by_the_mature_day_run(
    workspace: Workspace,
) -> None:
    for name in ("mombaby-refined", "mombaby-weekly-jielong"):
        in_production(workspace, name, now=SETUP)
    overlays.attach(
        workspace,
        overlays.Attachment(
            overlay="mombaby-weekly-jielong", base="mombaby-refined", start=date(2026, 9, 21)
        ),
    )
    with workspace.session() as session:
        add_group(
            session, id="sh-01", name="宝妈成长营一群", sop_id="mombaby-refined", now=SETUP,
            channel="outbox", target="sh-01", start_date=date(2026, 8, 1),
        )  # fmt: skip
        session.commit()
    monday_evening = local(2026, 9, 21, 20, 0)  # the 接龙 opens at 20:00 and wins the slot

    mature = playbooks.plan_due(workspace, playbook="mature_day", now=monday_evening)
    campaign = playbooks.plan_due(workspace, playbook="campaign", now=monday_evening)

    at_eight = [(a.sop_id, a.slot) for a in [*mature.actions, *campaign.actions]
                if a.at == monday_evening]  # fmt: skip
    assert at_eight == [("mombaby-weekly-jielong", "campaigns.jielong.open")]
