"""A run sends only what is due at its clock, on a real workspace (git store + SQLite).

The mombaby example posts three workday columns at 10:00, 15:00 and 20:00; 2026-09-08 is a
Tuesday and a workday. Every run goes through `playbooks.plan_due`, the one rule the flows,
`sop run` and the cron deployments use.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from engine.channels.outbox import read_outbox
from engine.groups import add_group
from services import playbooks, run_summary, sending
from services.workspace import Workspace, open_workspace
from sop_models.errors import PlaybookError
from tests.support.planning import local
from tests.support.workspaces import in_production

SETUP = datetime(2026, 8, 1, 9, 0, tzinfo=UTC)
SOP = "mombaby-refined"
DAY = date(2026, 9, 8)
GROUPS = ("sh-01", "bj-01")


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    """Mombaby 1.0 in production, two mature groups on the outbox channel."""
    in_production(workspace, SOP, now=SETUP)
    with workspace.session() as session:
        for group_id in GROUPS:
            add_group(
                session,
                id=group_id,
                name=f"宝妈成长营{group_id}群",
                sop_id=SOP,
                now=SETUP,
                channel="outbox",
                target=group_id,
                start_date=date(2026, 8, 1),
            )
        session.commit()
    return workspace


def run(
    ws: Workspace, now: datetime, day: date | None = DAY, *, catch_up: bool = False
) -> run_summary.RunSummary:
    """What a `mature_day` run at `now` does: plan what is due, send it, summarise."""
    planned = playbooks.plan_due(ws, playbook="mature_day", day=day, now=now, catch_up=catch_up)
    batches = sending.batches(planned.actions)
    reports = [sending.send_batch(ws, batch, now=now) for batch in batches]
    assert not any(r.needs_attention for r in reports), reports
    return run_summary.summarise(
        name="mature_day",
        planned=planned,
        batches=batches,
        reports=reports,
        dry_run=False,
        sent_at=now,
    )


def sent_times(ws: Workspace) -> list[tuple[str, str]]:
    """(group, local due time) of every line in the workspace's outbox files."""
    rows = [r for path in (ws.root / "outbox").glob("*.jsonl") for r in read_outbox(path)]
    return sorted((str(r["group"]), str(r["at"])[11:16]) for r in rows)


def test_a_run_at_0733_sends_nothing_and_leaves_the_days_posts_for_later(ws: Workspace) -> None:
    summary = run(ws, local(2026, 9, 8, 7, 33)).summary

    assert sent_times(ws) == []
    assert (summary["timing"], summary["planned"], summary["later"]) == ("today", 0, 6)
    assert summary["totals"]["sent"] == 0 and summary["late"]["count"] == 0


def test_a_run_at_1005_sends_the_1000_posts_only(ws: Workspace) -> None:
    summary = run(ws, local(2026, 9, 8, 10, 5)).summary

    assert sent_times(ws) == [(g, "10:00") for g in sorted(GROUPS)]
    assert (summary["planned"], summary["later"], summary["totals"]["sent"]) == (2, 4, 2)
    assert summary["late"]["count"] == 0  # five minutes after its time is on time


def test_each_scheduled_minute_sends_its_own_posts_once(ws: Workspace) -> None:
    sent = [run(ws, local(2026, 9, 8, h, m)).summary["totals"] for h, m in ((10, 0), (15, 0))]
    assert [t["sent"] for t in sent] == [2, 2]
    assert sent[1]["skipped"] == 2  # the 10:00 posts, already sent by the 10:00 run

    assert sent_times(ws) == sorted((g, t) for g in GROUPS for t in ("10:00", "15:00"))


def test_a_past_day_is_missed_not_sent_unless_caught_up(ws: Workspace) -> None:
    now = local(2026, 9, 9, 8, 0)
    summary = run(ws, now).summary

    assert sent_times(ws) == []
    assert (summary["planned"], summary["later"]) == (0, 0)
    assert summary["missed"] == {
        "count": 6,
        "earliest_due": local(2026, 9, 8, 10, 0).isoformat(),
        "window_minutes": 120,
    }


def test_a_past_day_is_caught_up_whole_and_its_sends_reported_late(ws: Workspace) -> None:
    now = local(2026, 9, 9, 8, 0)
    summary = run(ws, now, catch_up=True).summary

    assert sent_times(ws) == sorted((g, t) for g in GROUPS for t in ("10:00", "15:00", "20:00"))
    assert (summary["timing"], summary["planned"], summary["later"]) == ("catch_up", 6, 0)
    assert summary["late"] == {
        "count": 6,
        "earliest_due": local(2026, 9, 8, 10, 0).isoformat(),
        "sent_at": now.isoformat(),
    }


def test_a_future_day_has_nothing_due_and_a_real_run_of_it_is_refused(ws: Workspace) -> None:
    now = local(2026, 9, 7, 21, 0)
    summary = run(ws, now).summary

    assert sent_times(ws) == []
    assert (summary["timing"], summary["planned"], summary["later"]) == ("future", 0, 6)
    with pytest.raises(PlaybookError, match=r"2026-09-08 is a future day.*--dry-run"):
        playbooks.check_run_day(DAY, now=now, dry_run=False)
    playbooks.check_run_day(DAY, now=now, dry_run=True)  # a dry run may look ahead
    playbooks.check_run_day(None, now=now, dry_run=False)  # today is never refused


def test_a_dry_run_lists_the_whole_day_marking_what_is_due(ws: Workspace) -> None:
    planned = playbooks.plan_due(ws, playbook="mature_day", day=DAY, now=local(2026, 9, 8, 15, 0))
    summary = run_summary.summarise(
        name="mature_day",
        planned=planned,
        batches=sending.batches(planned.actions),
        reports=[],
        dry_run=True,
    ).summary

    listed = [(a["group"], a["at"][11:16], a["due"], a["missed"]) for a in summary["actions"]]
    assert sorted(listed) == sorted(  # at 15:00 the 10:00 posts are 5 h old: missed
        (g, t, t == "15:00", t == "10:00") for g in GROUPS for t in ("10:00", "15:00", "20:00")
    )
    assert sent_times(ws) == []


def test_within_the_lateness_window_a_late_run_still_sends_and_older_sent_posts_are_not_missed(
    ws: Workspace,
) -> None:
    run(ws, local(2026, 9, 8, 10, 5))  # the 10:00 run
    summary = run(ws, local(2026, 9, 8, 16, 30)).summary  # 15:00 run 90 min late

    assert sent_times(ws) == sorted((g, t) for g in GROUPS for t in ("10:00", "15:00"))
    assert summary["missed"]["count"] == 0  # 10:00 is 6.5 h old but was sent
    assert summary["late"]["count"] == len(GROUPS)


def test_the_lateness_window_is_a_setting(ws: Workspace) -> None:
    (ws.root / "sopflow.toml").write_text("lateness_minutes = 30\n", encoding="utf-8")
    with open_workspace(ws.root) as strict:
        planned = playbooks.plan_due(strict, playbook="mature_day", day=DAY,
                                     now=local(2026, 9, 8, 10, 45))  # fmt: skip
    assert planned.actions == [] and len(planned.missed) == len(GROUPS)


def test_without_a_day_the_run_is_for_the_local_day_of_now(ws: Workspace) -> None:
    # 02:05 UTC is 10:05 in Shanghai: the run is for 2026-09-08 and the 10:00 posts are due.
    now = datetime(2026, 9, 8, 2, 5, tzinfo=UTC)
    planned = playbooks.plan_due(ws, playbook="mature_day", now=now)

    assert planned.day == DAY and planned.timing == "today"
    assert {a.at for a in planned.actions} == {local(2026, 9, 8, 10, 0)}
    assert planned.later and all(a.at > now for a in planned.later)


@pytest.mark.parametrize(("rule", "warned"), [("month", False), ("day", True)])
def test_the_plans_cap_warning_follows_the_workspaces_mass_cap_rule(
    ws: Workspace, rule: str, warned: bool
) -> None:
    config = ws.root / "sopflow.toml"
    config.write_text(
        config.read_text(encoding="utf-8") + f'wecom_mass_cap = "{rule}"\n', encoding="utf-8"
    )
    with open_workspace(ws.root) as fresh, fresh.session() as session:
        add_group(session, id="mass-01", name="宝妈群", sop_id=SOP, now=SETUP,
                  channel="wecom_mass", target="wr-1", sender="zhangsan",
                  start_date=date(2026, 8, 1))  # fmt: skip
        session.commit()
        planned = playbooks.plan_day(fresh, playbook="mature_day", day=DAY)
    capped = [w for w in planned.warnings if "群 mass-01" in w]
    assert capped == (
        [f"群 mass-01：{DAY}：计划群发 3 条，企业微信上限每天 1 条"] if warned else []
    )


def test_missed_posts_stay_in_the_ledger_for_attention_until_a_catch_up_sends_them(
    ws: Workspace,
) -> None:
    from services import deliveries

    now = local(2026, 9, 9, 8, 0)
    planned = playbooks.plan_due(ws, playbook="mature_day", day=DAY, now=now)
    playbooks.record_missed(ws, planned, now=now)
    playbooks.record_missed(ws, planned, now=now)  # a second run records nothing twice

    items = deliveries.attention(ws, now=now)
    assert sorted(
        (i.group_id, i.due_at.astimezone(now.tzinfo).strftime("%H:%M")) for i in items
    ) == (sorted((g, t) for g in GROUPS for t in ("10:00", "15:00", "20:00")))
    assert all("--catch-up" in i.action for i in items)
    assert sent_times(ws) == []  # recorded, never sent by being recorded

    run(ws, now, catch_up=True)
    assert sent_times(ws) == sorted((g, t) for g in GROUPS for t in ("10:00", "15:00", "20:00"))
    assert deliveries.attention(ws, now=now) == []


def test_the_runs_clock_is_shown_in_the_plans_zone_whatever_zone_it_was_given_in(
    ws: Workspace,
) -> None:
    given = datetime(2026, 9, 8, 12, 52, tzinfo=UTC)  # 20:52 in Beijing
    summary = run(ws, given).summary
    assert summary["now"] == local(2026, 9, 8, 20, 52).isoformat()
