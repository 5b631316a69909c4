"""On-join actions whose delay crosses midnight: planned by the day they fall on, once."""

from __future__ import annotations

from datetime import date, timedelta

from engine.planner import join_window
from tests.support.planning import TZ, G, J, local, run, sop

DOC = sop(
    schedule={
        "on_join": [
            {"id": "welcome", "template": "hi"},
            {"id": "self-intro", "delay_minutes": 30, "template": "intro"},
        ]
    },
    templates=[
        {"id": "hi", "variables": ["member_name"], "body": "欢迎 {{ member_name }}"},
        {"id": "intro", "variables": ["member_name"], "body": "{{ member_name }}，自我介绍一下吧"},
    ],
)
GROUP = G("g1", "一群", date(2026, 9, 1))
LATE = J("g1", "m1", "小红", local(2026, 9, 3, 23, 45))


def _keys_and_times(day: date) -> list[tuple[str, str]]:
    low, high = join_window([DOC], day, day)
    joins = [j for j in [LATE] if low <= j.joined_at < high]
    planned = run(DOC, [GROUP], day, day, joins=joins, kinds={"welcome"})
    return [(a.key, a.at.isoformat()) for a in planned.actions]


def test_join_window_reaches_back_by_the_longest_on_join_delay_and_ends_after_the_last_day() -> (
    None
):
    low, high = join_window([DOC, sop()], date(2026, 9, 4), date(2026, 9, 5))
    assert (low, high) == (local(2026, 9, 3, 23, 30), local(2026, 9, 6))
    assert join_window([sop()], date(2026, 9, 4), date(2026, 9, 4)) == (
        local(2026, 9, 4),
        local(2026, 9, 5),
    )
    assert join_window([], date(2026, 9, 4), date(2026, 9, 4))[0].tzinfo == TZ


def test_a_2345_join_is_welcomed_that_day_and_its_self_intro_is_sent_by_the_next_days_plan() -> (
    None
):
    assert _keys_and_times(date(2026, 9, 3)) == [
        ("test-sop:1.0:g1:on_join.welcome:2026-09-03:m1", "2026-09-03T23:45:00+08:00")
    ]
    # The key keeps the join's date: the same action whichever window plans it.
    assert _keys_and_times(date(2026, 9, 4)) == [
        ("test-sop:1.0:g1:on_join.self-intro:2026-09-03:m1", "2026-09-04T00:15:00+08:00")
    ]
    assert _keys_and_times(date(2026, 9, 5)) == []


def test_day_plans_split_a_join_exactly_as_the_multi_day_plan_does() -> None:
    window = run(DOC, [GROUP], date(2026, 9, 3), date(2026, 9, 4), joins=[LATE])
    by_day = _keys_and_times(date(2026, 9, 3)) + _keys_and_times(date(2026, 9, 4))
    assert [(a.key, a.at.isoformat()) for a in window.actions] == by_day


def test_a_join_too_early_for_any_delay_to_reach_the_day_plans_nothing_on_it() -> None:
    early = J("g1", "m2", "小蓝", local(2026, 9, 3, 23, 29))
    day = date(2026, 9, 4)
    low, _high = join_window([DOC], day, day)
    assert early.joined_at < low
    # Even handed to the planner, nothing of it falls on the day: the window is the filter.
    planned = run(DOC, [GROUP], day, day, joins=[early])
    assert [a.at for a in planned.actions] == []
    assert early.joined_at + timedelta(minutes=30) < local(2026, 9, 4)
