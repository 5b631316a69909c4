"""Cold-start and campaign actions take the day rule columns take, with fixed dates: a weekday
list, except_weekdays, monthly day N / last day / Nth weekday, lead days (cold start: after its
holiday policy; campaigns: a countdown may start before the window or the planned range)."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

import pytest

from sop_models import DocumentInvalid, document_schema, validate_data
from tests.support.examples import example
from tests.support.planning import BASE, G, by_slot, dates, local, run, sop

LONG_AGO = date(2025, 1, 1)
GROUP = [G("g1", "一群", LONG_AGO)]
COUNTDOWN = {
    "id": "cd",
    "variables": ["date", "days_left"],
    "body": "{{ date }} 差 {{ days_left }} 天",
}


def cold_dates(name: str, start: date, slot: str) -> list[date]:
    """Dates of cold-start `slot` of example `name` for a group that starts on `start`."""
    group = [G("g1", "新群", start)]
    return dates(by_slot(run(example(name), group, start, start + timedelta(4)).actions, slot))


def test_a_cold_start_action_for_workdays_except_wednesday_skips_a_wednesday_day_n() -> None:
    def visits(start: date) -> list[date]:
        return cold_dates("jewelry-service", start, "cold_start.day2-store-visit")

    assert visits(date(2026, 9, 14)) == [date(2026, 9, 15)]  # day 2 a Tuesday
    assert visits(date(2026, 9, 15)) == []  # day 2 a Wednesday
    assert visits(date(2026, 9, 16)) == [date(2026, 9, 17)]  # day 2 a Thursday


def test_a_cold_start_action_on_a_weekday_list_posts_its_lead_day_the_evening_before() -> None:
    start = date(2026, 9, 15)  # Tuesday: day 3 is Thursday, a live night
    group = [G("g1", "新群", start)]
    result = run(example("jewelry-service"), group, start, start + timedelta(4))
    live = [a for a in result.actions if a.slot.startswith("cold_start.day3-live")]
    assert [(a.slot, a.at) for a in live] == [
        ("cold_start.day3-live.d1", local(2026, 9, 16, 20, 30)),
        ("cold_start.day3-live", local(2026, 9, 17, 20, 30)),
    ]
    assert [a.text[:4] for a in live] == ["明晚 2", "今晚 2"]
    # a Monday start has day 3 on Wednesday: no live class, no preview
    assert cold_dates("jewelry-service", date(2026, 9, 14), "cold_start.day3-live.d1") == []


def test_a_cold_start_action_on_month_day_28_or_the_last_friday() -> None:
    def perks(start: date) -> list[date]:
        return cold_dates("mombaby-refined", start, "cold_start.day2-member-perk")

    assert perks(date(2026, 10, 27)) == [date(2026, 10, 28)]  # the 28th
    assert perks(date(2026, 10, 29)) == [date(2026, 10, 30)]  # last Friday of October
    assert perks(date(2026, 10, 22)) == []  # 10-23 is a Friday but not the last one
    assert perks(date(2026, 10, 19)) == []


def cold_doc(policy: str = "shift", **rule: Any):
    action = {"id": "a", "day": 3, "time": "09:30", "template": "t", **rule}
    cold = {"days": 3, "holiday_policy": policy, "actions": [action]}
    return sop(playbooks={"cold_start": cold})


def test_the_cold_start_holiday_policy_moves_the_day_before_the_rule_judges_it() -> None:
    group = [G("g1", "新群", date(2026, 9, 29))]  # day 3 is 10-01, National Day
    window = (date(2026, 9, 29), date(2026, 10, 12))
    # shifted to Thursday 10-08, a workday: a workday rule keeps it
    assert dates(run(cold_doc(days="工作日"), group, *window).actions) == [date(2026, 10, 8)]
    thursday_off = cold_doc(days="工作日", except_weekdays=["周四"])
    assert run(thursday_off, group, *window).actions == []


def test_a_cold_start_lead_day_never_posts_before_the_group_starts() -> None:
    doc = cold_doc(day=1, lead_days=[1, 0], policy="keep")
    start = date(2026, 9, 14)
    result = run(doc, [G("g1", "新群", start)], start - timedelta(3), start + timedelta(3))
    assert [(a.slot, a.at.date()) for a in result.actions] == [("cold_start.a", start)]


def test_a_campaign_action_on_the_last_day_of_the_month_with_a_3_day_countdown() -> None:
    result = run(example("jewelry-service"), GROUP, date(2026, 11, 1), date(2027, 1, 10))
    care = [a for a in result.actions if a.slot.startswith("campaigns.year-end-care.month-end")]
    assert [(a.slot.rsplit(".", 1)[-1], a.at) for a in care] == [
        ("d3", local(2026, 11, 27, 20)),
        ("month-end-care", local(2026, 11, 30, 20)),
        ("d3", local(2026, 12, 28, 20)),
        ("month-end-care", local(2026, 12, 31, 20)),
    ]
    assert care[0].text == "2026-11-27：年末保养季月末免费清洗，距离截止还有 34 天。"
    tuesday = by_slot(result.actions, "campaigns.year-end-care.member-tuesday")
    assert dates(tuesday) == [date(2026, 12, 8)]  # 2nd Tuesday; November's is before the window
    saturday = by_slot(result.actions, "campaigns.year-end-care.saturday-care")
    assert dates(saturday) == [date(2026, 11, 28) + timedelta(7 * n) for n in range(5)]


def campaign_doc(start: str, end: str, **rule: Any):
    action = {"id": "a", "time": "20:00", "template": "cd", **rule}
    campaign = {
        "id": "c",
        "name": "活动",
        "kind": "holiday",
        "window": {"start": start, "end": end},
        "actions": [action],
    }
    return sop(playbooks={"campaigns": [campaign]}, templates=[COUNTDOWN])


def test_a_campaign_action_with_lead_days_posts_before_its_day_even_past_the_range() -> None:
    doc = campaign_doc("2026-11-08", "2026-11-11", day=4, lead_days=[3, 0])
    whole = run(doc, GROUP, date(2026, 11, 1), date(2026, 11, 30))
    assert [(a.slot, a.at) for a in whole.actions] == [
        ("campaigns.c.a.d3", local(2026, 11, 8, 20)),
        ("campaigns.c.a", local(2026, 11, 11, 20)),
    ]
    # planned up to 11-08 only: the countdown for 11-11 is still there, with the same key
    early = run(doc, GROUP, date(2026, 11, 1), date(2026, 11, 8))
    assert [a.key for a in early.actions] == [whole.actions[0].key]
    before = campaign_doc("2026-11-08", "2026-11-11", day=1, lead_days=2)
    assert dates(run(before, GROUP, date(2026, 11, 1), date(2026, 11, 30)).actions) == [
        date(2026, 11, 6)
    ]


def test_a_campaign_action_for_workdays_except_wednesday_and_on_the_last_friday() -> None:
    week = ("2026-09-14", "2026-09-20")  # Monday..Sunday; Sunday 09-20 is a make-up workday
    workdays = campaign_doc(*week, days="workdays", except_weekdays=["wed"])
    got = dates(run(workdays, GROUP, date(2026, 9, 1), date(2026, 9, 30)).actions)
    assert got == [date(2026, 9, d) for d in (14, 15, 17, 18, 20)]
    fridays = campaign_doc(
        "2026-10-01", "2026-12-31", days="monthly", nth_weekdays=[{"n": -1, "weekday": "fri"}]
    )
    got = dates(run(fridays, GROUP, date(2026, 10, 1), date(2026, 12, 31)).actions)
    assert got == [date(2026, 10, 30), date(2026, 11, 27), date(2026, 12, 25)]


def test_the_old_days_strings_still_work_on_cold_start_and_campaign_actions() -> None:
    doc = campaign_doc("2026-10-05", "2026-10-09", days="工作日")  # 10-05..07 are holidays
    got = dates(run(doc, GROUP, date(2026, 10, 1), date(2026, 10, 31)).actions)
    assert got == [date(2026, 10, 8), date(2026, 10, 9)]


@pytest.mark.parametrize(
    ("where", "rule", "path", "fragment"),
    [
        ("campaign", {"days": "weekly"}, "playbooks.campaigns[0].actions[0].weekdays", "weekly"),
        ("cold", {"days": "每月"}, "playbooks.cold_start.actions[0].month_days", "monthly"),
        ("cold", {"month_days": [5]}, "playbooks.cold_start.actions[0].month_days", "monthly"),
        ("campaign", {"lead_days": [61]}, "playbooks.campaigns[0].actions[0].lead_days", ""),
    ],
)
def test_an_action_day_rule_that_cannot_work_is_refused_by_its_field_path(
    where: str, rule: dict[str, Any], path: str, fragment: str
) -> None:
    data = copy.deepcopy(BASE)
    action = {"id": "a", "day": 1, "time": "10:00", "template": "t", **rule}
    if where == "cold":
        data["playbooks"] = {"cold_start": {"days": 3, "actions": [action]}}
    else:
        window = {"start": "2026-10-01", "end": "2026-10-03"}
        campaign = {"id": "c", "name": "活动", "kind": "holiday", "window": window}
        data["playbooks"] = {"campaigns": [{**campaign, "actions": [action]}]}
    with pytest.raises(DocumentInvalid) as info:
        validate_data(data)
    lines = [f"{p.path}: {p.message}" for p in info.value.problems]
    assert any(line.startswith(path) and fragment in line for line in lines), lines


def test_the_schema_offers_the_day_rule_on_cold_start_and_campaign_actions() -> None:
    defs = document_schema()["$defs"]
    rule = {"days", "weekdays", "except_weekdays", "month_days", "nth_weekdays", "lead_days"}
    for model in ("ColdStartAction", "CampaignAction"):
        assert rule <= set(defs[model]["properties"]), model
    assert "day" not in defs["CampaignAction"].get("required", [])
    assert "day" in defs["ColdStartAction"]["required"]


def test_a_workday_action_planned_to_12_31_asks_nothing_of_the_next_year() -> None:
    doc = campaign_doc("2026-12-21", "2027-01-08", days="workdays")
    december = run(doc, GROUP, date(2026, 12, 21), date(2026, 12, 31))
    assert december.warnings == []
    assert dates(december.actions)[-1] == date(2026, 12, 31)
    january = run(doc, GROUP, date(2026, 12, 21), date(2027, 1, 8))
    assert any("2027" in line for line in january.warnings), january.warnings
