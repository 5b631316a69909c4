"""Day runs on a real workspace (git store + SQLite): a join's on-join actions across midnight.

The mombaby example welcomes at once and asks for a self-intro 30 minutes later, so a 23:45
join has its welcome on its own day and its self-intro at 00:15 the next day (here without the
example's quiet hours, which would defer both to 08:00: tests/unit/test_planner_spacing.py).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from engine.channels.outbox import read_outbox
from engine.groups import add_group
from engine.ledger import get_deliveries
from engine.members import MemberJoin
from services import playbooks, sending
from services.planning import plan_window
from services.workspace import Workspace
from tests.support.planning import local
from tests.support.workspaces import in_production

NOW = datetime(2026, 8, 1, 9, 0, tzinfo=UTC)
SOP = "mombaby-refined"
JOIN_DAY, NEXT_DAY = date(2026, 9, 3), date(2026, 9, 4)
WELCOME = f"{SOP}:1.0:g1:on_join.welcome:2026-09-03:wm-late"
SELF_INTRO = f"{SOP}:1.0:g1:on_join.self-intro:2026-09-03:wm-late"
LAST_WELCOME = f"{SOP}:1.0:g1:on_join.welcome:2026-09-03:wm-last"
LAST_INTRO = f"{SOP}:1.0:g1:on_join.self-intro:2026-09-03:wm-last"


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    """Mombaby 1.0 (no quiet hours) in production, one outbox group, one member who joined at
    23:45."""
    in_production(workspace, SOP, now=NOW, change=without_quiet_hours)
    with workspace.session() as session:
        add_group(
            session,
            id="g1",
            name="上海宝妈一群",
            sop_id=SOP,
            now=NOW,
            channel="outbox",
            start_date=date(2026, 9, 1),
        )
        session.add(
            MemberJoin(
                group_id="g1",
                member_id="wm-late",
                member_name="小红",
                joined_at=local(2026, 9, 3, 23, 45),
            )
        )
        session.commit()
    return workspace


def without_quiet_hours(data: dict) -> None:
    del data["schedule"]["quiet_hours"]


def _run(ws: Workspace, day: date, playbook: playbooks.Playbook = "welcome") -> list[str]:
    """Plan `playbook` for `day` and send it as a run would; the keys it planned."""
    planned = playbooks.plan_day(ws, playbook=playbook, day=day)
    for batch in sending.batches(planned.actions):
        report = sending.send_batch(ws, batch, now=max(a.at for a in batch.actions))
        assert not report.needs_attention, report
    return [a.key for a in planned.actions]


def _outbox(ws: Workspace) -> list[tuple[str, str]]:
    """(key, local send time) of every on-join line in the workspace's outbox files."""
    rows = [r for path in (ws.root / "outbox").glob("*.jsonl") for r in read_outbox(path)]
    return sorted((str(r["key"]), str(r["at"])) for r in rows if ":on_join." in str(r["key"]))


def test_the_next_days_run_sends_the_self_intro_of_a_2345_join_and_not_its_welcome_again(
    ws: Workspace,
) -> None:
    assert _run(ws, JOIN_DAY) == [WELCOME]
    assert _run(ws, NEXT_DAY) == [SELF_INTRO]
    with ws.session() as session:
        ledger = get_deliveries(session, [WELCOME, SELF_INTRO])
    assert {k: d.status for k, d in ledger.items()} == {WELCOME: "sent", SELF_INTRO: "sent"}
    assert _outbox(ws) == [
        (SELF_INTRO, "2026-09-04T00:15:00+08:00"),
        (WELCOME, "2026-09-03T23:45:00+08:00"),
    ]


def test_rerunning_both_days_in_any_order_sends_nothing_twice(ws: Workspace) -> None:
    _run(ws, NEXT_DAY)
    _run(ws, JOIN_DAY)
    _run(ws, NEXT_DAY)
    _run(ws, JOIN_DAY)
    assert [key for key, _ in _outbox(ws)] == [SELF_INTRO, WELCOME]


def test_the_whole_day_run_plans_the_crossing_self_intro_too(ws: Workspace) -> None:
    planned = playbooks.plan_day(ws, playbook="all", day=NEXT_DAY)
    on_join = [(a.key, a.at) for a in planned.actions if a.kind == "welcome"]
    assert on_join == [(SELF_INTRO, local(2026, 9, 4, 0, 15))]


def test_day_runs_plan_exactly_what_sop_plan_lists_for_both_days(ws: Workspace) -> None:
    listed = plan_window(ws, sop_id=SOP, ref=None, start=JOIN_DAY, end=NEXT_DAY, group_ids=[])
    by_plan = sorted(a.key for a in listed.actions if a.kind == "welcome")
    by_runs = [
        a.key
        for day in (JOIN_DAY, NEXT_DAY)
        for a in playbooks.plan_day(ws, playbook="welcome", day=day).actions
    ]
    assert by_plan == sorted(by_runs) == sorted([WELCOME, SELF_INTRO])


def _join_at_2358(ws: Workspace) -> None:
    """A second member, joined after the day's last on-join loop run (23:55)."""
    with ws.session() as session:
        session.add(
            MemberJoin(
                group_id="g1",
                member_id="wm-last",
                member_name="豆豆妈",
                joined_at=local(2026, 9, 3, 23, 58),
            )
        )
        session.commit()


def _loop(ws: Workspace, now: datetime) -> list[str]:
    """One run of the on-join loop at `now` (the flow's rule: what is due today): what it sent."""
    planned = playbooks.plan_due(ws, playbook="welcome", now=now)
    sent = []
    for batch in sending.batches(planned.actions):
        report = sending.send_batch(ws, batch, now=now)
        assert not report.needs_attention, report
        sent += report.sent
    return sent


def test_the_on_join_loop_sends_each_action_once_when_due_on_either_side_of_midnight(
    ws: Workspace,
) -> None:
    _join_at_2358(ws)
    runs = [
        local(2026, 9, 3, 23, 40),
        local(2026, 9, 3, 23, 50),
        local(2026, 9, 3, 23, 55),
        local(2026, 9, 4, 0, 0),
        local(2026, 9, 4, 0, 10),
        local(2026, 9, 4, 0, 20),
        local(2026, 9, 4, 0, 30),
    ]
    sent = [_loop(ws, at) for at in runs]
    assert sent == [[], [WELCOME], [], [LAST_WELCOME], [], [SELF_INTRO], [LAST_INTRO]]
    assert [key for key, _ in _outbox(ws)] == sorted(
        [WELCOME, SELF_INTRO, LAST_WELCOME, LAST_INTRO]
    )


def test_whole_day_runs_leave_the_day_before_to_its_own_run(ws: Workspace) -> None:
    _join_at_2358(ws)
    planned = playbooks.plan_day(ws, playbook="welcome", day=NEXT_DAY)
    assert [a.at for a in planned.actions] == [local(2026, 9, 4, 0, 15), local(2026, 9, 4, 0, 28)]


def test_a_catch_up_run_of_a_past_day_sends_that_day_only(ws: Workspace) -> None:
    _join_at_2358(ws)
    planned = playbooks.plan_due(
        ws, playbook="welcome", day=NEXT_DAY, now=local(2026, 9, 6, 9), catch_up=True
    )
    assert planned.timing == "catch_up" and planned.later == []
    assert [a.at for a in planned.actions] == [local(2026, 9, 4, 0, 15), local(2026, 9, 4, 0, 28)]
