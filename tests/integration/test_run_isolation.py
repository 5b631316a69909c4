"""One failing SOP or group never stops the others: planning is isolated per SOP and group,
and the failure is recorded in the run's summary and per-group table."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from engine.channels.outbox import read_outbox
from engine.groups import add_group
from services import calendar, overlays, playbooks, run_summary, sending
from services.workspace import Workspace
from tests.support.examples import example_text, modified
from tests.support.planning import local
from tests.support.workspaces import in_production
from versions import services

SETUP = datetime(2026, 8, 1, 9, 0, tzinfo=UTC)
# A template that passes validation (the sample group name has 3 characters) but divides by
# zero for a group whose name has 5.
FRAGILE = "{{ 100 // (group_name | length - 5) }} 份干货｜{{ content_title }}\n{{ content_body }}"


def every_day(data: dict[str, Any]) -> None:
    """Another SOP: mombaby's posts every day (no workday calendar), a fragile template."""
    data["id"] = "daily-care"
    for column in data["schedule"]["columns"]:
        if column.get("days") == "workdays":
            column["days"] = "every_day"
    for template in data["templates"]:
        if template["id"] == "knowledge":
            template["body"] = FRAGILE
            template["variables"] = [*template["variables"], "group_name"]


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    in_production(workspace, "mombaby-refined", now=SETUP)
    text = modified(example_text("mombaby-refined"), every_day)
    services.save_version(
        workspace.uow(), text=text, source="daily-care.yaml", author="小王", message="每天",
        major=False, now=SETUP,
    )  # fmt: skip
    services.promote(
        workspace.uow(), sop_id="daily-care", version="1.0", approver="李经理",
        policy=workspace.policy, now=SETUP,
    )  # fmt: skip
    groups = (
        ("mom-01", "宝妈成长营一群", "mombaby-refined"),
        ("daily-ok", "上海宝妈福利群", "daily-care"),
        ("daily-bad", "北京宝妈群", "daily-care"),  # 5 characters: its template raises
    )
    with workspace.session() as session:
        for group_id, name, sop in groups:
            add_group(
                session, id=group_id, name=name, sop_id=sop, now=SETUP, channel="outbox",
                target=group_id, start_date=date(2026, 8, 1),
            )  # fmt: skip
        session.commit()
    return workspace


def run(
    ws: Workspace, day: date, playbook: playbooks.Playbook = "mature_day"
) -> tuple[playbooks.DayPlan, run_summary.RunSummary]:
    """A run at 21:00 of `day`: plan, send, summarise (the flow's steps)."""
    now = local(day.year, day.month, day.day, 21)
    planned = playbooks.plan_due(ws, playbook=playbook, day=day, now=now)
    batches = sending.batches(planned.actions)
    reports = [sending.send_batch(ws, batch, now=now) for batch in batches]
    summary = run_summary.summarise(
        name=playbook, planned=planned, batches=batches, reports=reports,
        failures=planned.failures, dry_run=False, sent_at=now,
    )  # fmt: skip
    return planned, summary


def sent_groups(ws: Workspace) -> set[str]:
    rows = [r for path in (ws.root / "outbox").glob("*.jsonl") for r in read_outbox(path)]
    return {str(r["group"]) for r in rows}


def test_a_template_that_raises_for_one_group_stops_only_that_group(ws: Workspace) -> None:
    planned, summary = run(ws, date(2026, 9, 8))

    assert [(f.stage, f.sop_id, f.groups) for f in planned.failures] == [
        ("plan", "daily-care", ("daily-bad",))
    ]
    assert "division" in planned.failures[0].error or "zero" in planned.failures[0].error
    assert sent_groups(ws) == {"mom-01", "daily-ok"}
    assert summary.summary["status"] == "partial"
    assert summary.summary["failures"][0]["first_groups"] == ["daily-bad"]
    rows = {row["group"]: row for row in summary.table}
    assert rows["daily-bad"]["planned"] == 0 and rows["daily-bad"]["error"].startswith("plan: ")
    assert rows["daily-ok"]["sent"] > 0 and rows["daily-ok"]["error"] == ""
    assert [row["group"] for row in summary.summary["attention"]] == ["daily-bad"]
    assert "：1 个群在 1 处失败，其余群已照常计划和发送" in run_summary.failure_line(
        summary.summary
    )


def test_a_year_without_holiday_data_plans_workday_posts_on_weekdays_with_a_warning(
    ws: Workspace,
) -> None:
    planned, summary = run(ws, date(2027, 1, 5))  # a Tuesday; no official 2027 data

    assert [(f.sop_id, f.groups) for f in planned.failures] == [("daily-care", ("daily-bad",))]
    assert any("2027" in w for w in planned.warnings)
    assert sent_groups(ws) == {"mom-01", "daily-ok"}  # workday posts (fallback) and every-day
    assert summary.summary["totals"]["sent"] == len(planned.actions) > 0
    assert planned.versions == {"mom-01": "1.0", "daily-ok": "1.0"}


def test_a_run_honours_the_holidays_the_workspace_entered(ws: Workspace) -> None:
    calendar.set_day(ws, day=date(2027, 1, 5), workday=False, name="团建日")

    planned, _ = run(ws, date(2027, 1, 5))

    assert {a.group_id for a in planned.actions} == {"daily-ok"}  # mom-01 posts on workdays
    assert sent_groups(ws) == {"daily-ok"}


def test_a_run_sends_the_overlays_attached_to_a_groups_sop(ws: Workspace) -> None:
    overlay = "mombaby-weekly-jielong"
    services.save_version(
        ws.uow(), text=example_text(overlay), source=f"{overlay}.yaml", author="小王",
        message="接龙", major=False, now=SETUP,
    )  # fmt: skip
    services.promote(
        ws.uow(), sop_id=overlay, version="1.0", approver="李经理", policy=ws.policy, now=SETUP
    )  # fmt: skip
    overlays.attach(
        ws, overlays.Attachment(overlay=overlay, base="mombaby-refined", start=date(2026, 9, 21))
    )

    planned, _ = run(ws, date(2026, 9, 21), playbook="campaign")  # a Monday: 接龙 opens

    mine = [a for a in planned.actions if a.sop_id == overlay]
    assert {a.group_id for a in mine} == {"mom-01"}  # the base SOP's groups only
    rows = [r for path in (ws.root / "outbox").glob("*.jsonl") for r in read_outbox(path)]
    sent = [r for r in rows if str(r.get("key", "")).startswith(f"{overlay}:")]
    assert len(sent) == len(mine) and all("接龙" in str(r["text"]) for r in sent)


def test_a_run_without_failures_is_ok(workspace: Workspace) -> None:
    in_production(workspace, "mombaby-refined", now=SETUP)
    planned = playbooks.plan_due(
        workspace, playbook="mature_day", day=date(2026, 9, 8), now=local(2026, 9, 8, 21)
    )
    summary = run_summary.summarise(
        name="mature_day", planned=planned, batches=[], reports=[], dry_run=True
    )
    assert planned.failures == [] and summary.summary["status"] == "ok"
    assert summary.summary["failures"] == []
