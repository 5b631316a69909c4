"""The planner's warning follows the corp's mass-message rule: month, week or day."""

from __future__ import annotations

from datetime import datetime, timedelta

from engine.quota import cap_period, quota_warnings
from tests.support.wecom_fake import CST, planned

MONDAY = datetime(2025, 3, 10, 9, 0, tzinfo=CST)


def posts(*hours_after: float) -> list:
    return [
        planned(f"k{n}", channel="wecom_mass", group_id="g1", at=MONDAY + timedelta(hours=h))
        for n, h in enumerate(hours_after)
    ]


def test_one_a_day_warns_for_two_posts_on_one_day_but_not_on_two_days() -> None:
    assert quota_warnings(posts(0, 5), rule="day") == [
        "群 g1：2025-03-10：计划群发 2 条，企业微信上限每天 1 条"
    ]
    assert quota_warnings(posts(0, 24), rule="day") == []
    assert quota_warnings(posts(0, 5)) == []  # the default: days in the month


def test_seven_a_week_counts_monday_to_sunday() -> None:
    week = posts(*(12 * n for n in range(8)))  # 8 posts from Monday to Thursday
    assert len(quota_warnings(week, rule="week")) == 1
    spread = posts(*(24 * n for n in range(8)))  # the 8th falls on the next Monday
    assert quota_warnings(spread, rule="week") == []


def test_cap_periods_are_local_days_weeks_and_months() -> None:
    late = datetime(2025, 3, 31, 23, 30, tzinfo=CST)
    assert cap_period("day", late)[0] == datetime(2025, 3, 31, tzinfo=CST)
    assert cap_period("week", late)[0] == datetime(2025, 3, 31, tzinfo=CST)  # a Monday
    start, end, cap = cap_period("month", late)
    assert (start.day, end.month, cap) == (1, 4, 31)
