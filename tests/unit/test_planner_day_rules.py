"""Day rules everywhere, with fixed dates: workday / holiday / weekday / monthly rules, lead
days that include the day itself, the flash sale's day rule, the cold-start holiday policy."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

import pytest

from sop_models import DocumentInvalid, validate_data
from tests.support.examples import example
from tests.support.planning import BASE, G, by_slot, dates, local, run, sop

LONG_AGO = date(2025, 1, 1)
GROUP = [G("g1", "一群", LONG_AGO)]
OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))
COUNTDOWN = {
    "id": "cd",
    "variables": ["date", "days_left"],
    "body": "{{ date }} 还有 {{ days_left }} 天",
}


def column_doc(**rule: Any):
    column = {"id": "c", "name": "栏目", "time": "10:00", "template": "cd", **rule}
    return sop(schedule={"columns": [column]}, templates=[COUNTDOWN])


def column_dates(start: date, end: date, **rule: Any) -> list[date]:
    return dates(by_slot(run(column_doc(**rule), GROUP, start, end).actions, "columns.c"))


def test_the_wednesday_flash_sale_under_a_workday_rule_skips_the_national_day_holiday() -> None:
    def sale_doc(days: str):
        sale = {"id": "wed", "weekday": "周三", "days": days, "time": "20:00", "template": "t"}
        return sop(playbooks={"mature": {"flash_sale": sale}})

    october = (date(2026, 10, 1), date(2026, 10, 31))
    workdays = run(sale_doc("工作日"), GROUP, *october)
    assert dates(workdays.actions) == [date(2026, 10, d) for d in (14, 21, 28)]
    every = run(sale_doc("every_day"), GROUP, *october)
    assert dates(every.actions)[0] == date(2026, 10, 7)
    holidays = run(sale_doc("non_workdays"), GROUP, *october)
    assert dates(holidays.actions) == [date(2026, 10, 7)]


def sale_doc(**rule: Any):
    sale = {"id": "wed", "weekday": "周三", "time": "20:00", "template": "cd", **rule}
    sale["countdown"] = {"minutes_before": 60, "template": "cd"}
    return sop(playbooks={"mature": {"flash_sale": sale}}, templates=[COUNTDOWN])


def test_a_workday_flash_sale_posted_a_day_ahead_skips_the_holiday_and_its_eve() -> None:
    result = run(sale_doc(days="workdays", lead_days=[1, 0]), GROUP, *OCTOBER)
    previews = by_slot(result.actions, "flash_sale.wed.d1")
    assert dates(previews) == [date(2026, 10, d) for d in (13, 20, 27)]
    assert [a.text for a in previews][:1] == ["2026-10-13 还有 1 天"]
    assert dates(by_slot(result.actions, "flash_sale.wed")) == [
        date(2026, 10, d) for d in (14, 21, 28)
    ]
    # the countdown goes out on the sale's day only, an hour before it
    countdowns = by_slot(result.actions, "flash_sale.wed.countdown")
    assert [a.at for a in countdowns] == [local(2026, 10, d, 19) for d in (14, 21, 28)]
    assert by_slot(result.actions, "flash_sale.wed.d1.countdown") == []


def test_a_monthly_flash_sale_runs_on_the_wednesdays_its_month_rule_names() -> None:
    # 每月 = monthly: the 14th (a Wednesday in October 2026) and the last Wednesday
    rule = {"days": "每月", "month_days": [14, 15], "nth_weekdays": [{"n": -1, "weekday": "wed"}]}
    result = run(sale_doc(**rule), GROUP, *OCTOBER)
    assert dates(by_slot(result.actions, "flash_sale.wed")) == [
        date(2026, 10, 14),
        date(2026, 10, 28),
    ]


@pytest.mark.parametrize(
    ("rule", "field", "fragment"),
    [
        ({"days": "每月"}, "month_days", "needs month_days"),
        ({"days": "weekly", "weekdays": ["wed"]}, "days", "runs on its `weekday`"),
        ({"weekdays": ["wed"]}, "weekdays", "runs on its `weekday`"),
        ({"except_weekdays": ["wed"]}, "except_weekdays", "no weekly"),
        ({"days": "monthly", "month_days": [0]}, "month_days[0]", "0 is no day"),
        ({"days": "sometimes"}, "days", "every_day"),
    ],
)
def test_a_flash_sale_day_rule_that_cannot_work_is_refused_by_its_field_path(
    rule: dict[str, Any], field: str, fragment: str
) -> None:
    data = copy.deepcopy(BASE)
    sale = {"id": "wed", "weekday": "wed", "time": "20:00", "template": "t", **rule}
    data["playbooks"] = {"mature": {"flash_sale": sale}}
    with pytest.raises(DocumentInvalid) as info:
        validate_data(data)
    lines = [f"{p.path}: {p.message}" for p in info.value.problems]
    path = f"playbooks.mature.flash_sale.{field}"
    assert any(line.startswith(path) and fragment in line for line in lines), lines


def test_double_11_with_lead_days_3_and_0_posts_on_11_08_and_on_11_11() -> None:
    column = {
        "id": "d11",
        "name": "双11",
        "date": {"month": 11, "day": 11},
        "lead_days": [3, 0],
        "time": "20:00",
        "template": "cd",
    }
    doc = sop(schedule={"calendar_columns": [column]}, templates=[COUNTDOWN])
    result = run(doc, GROUP, date(2026, 11, 1), date(2026, 11, 30))
    assert [a.at for a in result.actions] == [local(2026, 11, 8, 20), local(2026, 11, 11, 20)]
    assert [a.text for a in result.actions] == ["2026-11-08 还有 3 天", "2026-11-11 还有 0 天"]
    assert len({a.key for a in result.actions}) == 2


def test_a_cold_start_begun_9_29_shifts_its_holiday_day_3_to_the_next_workday() -> None:
    def cold_doc(policy: str):
        actions = [{"id": f"day{n}", "day": n, "time": "09:30", "template": "t"} for n in (1, 2, 3)]
        cold = {"days": 3, "holiday_policy": policy, "actions": actions}
        return sop(playbooks={"cold_start": cold})

    group = [G("g1", "新群", date(2026, 9, 29))]
    window = (date(2026, 9, 29), date(2026, 10, 12))
    shifted = run(cold_doc("顺延"), group, *window)
    assert dates(shifted.actions) == [date(2026, 9, 29), date(2026, 9, 30), date(2026, 10, 8)]
    assert shifted.actions[-1].text.startswith("2026-10-08")
    kept = run(cold_doc("keep"), group, *window)
    assert dates(kept.actions) == [date(2026, 9, 29), date(2026, 9, 30), date(2026, 10, 1)]


def test_workdays_except_wednesday_and_holidays_only() -> None:
    week = (date(2026, 9, 7), date(2026, 9, 13))  # Mon..Sun, no holiday
    assert column_dates(*week, days="workdays", except_weekdays=["wed"]) == [
        date(2026, 9, d) for d in (7, 8, 10, 11)
    ]
    national_day = column_dates(date(2026, 9, 26), date(2026, 10, 11), days="节假日")
    assert national_day == [date(2026, 9, 26), date(2026, 9, 27)] + [
        date(2026, 10, d) for d in range(1, 8)
    ] + [date(2026, 10, 11)]  # 9/20... 10/10 are adjusted workdays


def test_a_monthly_member_day_on_the_8th_with_a_3_day_countdown() -> None:
    doc = column_doc(days="每月", month_days=[8], lead_days=[3, 0])
    result = run(doc, GROUP, date(2026, 9, 1), date(2026, 10, 31))
    assert dates(result.actions) == [
        date(2026, 9, 5),
        date(2026, 9, 8),
        date(2026, 10, 5),
        date(2026, 10, 8),
    ]
    assert [a.slot for a in result.actions[:2]] == ["columns.c.d3", "columns.c"]
    assert result.actions[0].text == "2026-09-05 还有 3 天"


def test_monthly_last_day_and_nth_weekdays() -> None:
    months = (date(2026, 1, 1), date(2026, 4, 30))
    assert column_dates(*months, days="monthly", month_days=[-1]) == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
    ]
    second_tuesday = column_dates(
        *months, days="monthly", nth_weekdays=[{"n": 2, "weekday": "tue"}]
    )
    assert second_tuesday == [
        date(2026, 1, 13),
        date(2026, 2, 10),
        date(2026, 3, 10),
        date(2026, 4, 14),
    ]
    last_friday = column_dates(*months, days="monthly", nth_weekdays=[{"n": -1, "weekday": "fri"}])
    assert last_friday == [
        date(2026, 1, 30),
        date(2026, 2, 27),
        date(2026, 3, 27),
        date(2026, 4, 24),
    ]


@pytest.mark.parametrize(
    ("rule", "path", "fragment"),
    [
        ({"days": "monthly"}, "schedule.columns[0].month_days", "needs month_days"),
        (
            {"days": "workdays", "month_days": [8]},
            "schedule.columns[0].month_days",
            "only to days: monthly",
        ),
        (
            {"days": "monthly", "month_days": [0]},
            "schedule.columns[0].month_days[0]",
            "0 is no day",
        ),
        (
            {"days": "weekly", "weekdays": ["mon"], "except_weekdays": ["wed"]},
            "schedule.columns[0].except_weekdays",
            "weekly",
        ),
        ({"lead_days": [3, 61]}, "schedule.columns[0].lead_days", "60"),
    ],
)
def test_a_day_rule_that_cannot_work_is_refused_by_its_field_path(
    rule: dict[str, Any], path: str, fragment: str
) -> None:
    data = copy.deepcopy(BASE)
    data["schedule"] = {
        "columns": [{"id": "c", "name": "栏目", "time": "10:00", "template": "t", **rule}]
    }
    with pytest.raises(DocumentInvalid) as info:
        validate_data(data)
    lines = [f"{p.path}: {p.message}" for p in info.value.problems]
    assert any(line.startswith(path) and fragment in line for line in lines), lines


def test_the_shift_policy_keeps_ordinary_weekends() -> None:
    actions = [{"id": f"day{n}", "day": n, "time": "09:30", "template": "t"} for n in (1, 2, 3)]
    cold = {"days": 3, "holiday_policy": "shift", "actions": actions}
    friday = [G("g1", "新群", date(2026, 9, 11))]
    result = run(sop(playbooks={"cold_start": cold}), friday, date(2026, 9, 11), date(2026, 9, 20))
    assert dates(result.actions) == [date(2026, 9, 11), date(2026, 9, 12), date(2026, 9, 13)]


def test_a_weekly_monday_to_wednesday_jielong_runs_every_week_and_skips_a_holiday_opening() -> None:
    doc = example("flash-sale-promo")  # weekly-jielong: day 1 (workdays only) and day 3
    result = run(doc, GROUP, date(2026, 9, 28), date(2026, 10, 14), kinds={"campaign"})
    opened = by_slot(result.actions, "campaigns.weekly-jielong.open")
    closed = by_slot(result.actions, "campaigns.weekly-jielong.close")
    # Monday 10-05 is in the National Day holiday: no opening post that week
    assert dates(opened) == [date(2026, 9, 28), date(2026, 10, 12)]
    assert dates(closed) == [date(2026, 9, 30), date(2026, 10, 7), date(2026, 10, 14)]
    assert opened[0].text.startswith("2026-09-28 本周水果箱接龙开团")


def test_a_weekly_window_across_the_weekend_counts_its_days_from_the_first_weekday() -> None:
    campaign = {
        "id": "weekend",
        "name": "周末接龙",
        "kind": "group_buy",
        "window": {"weekly": {"first_weekday": "fri", "last_weekday": "mon"}},
        "actions": [{"id": "last", "day": 4, "time": "10:00", "template": "t"}],
        "group_buy": {"product": "水果箱", "ships_at_orders": 10},
    }
    doc = sop(playbooks={"campaigns": [campaign]})
    result = run(doc, GROUP, date(2026, 9, 1), date(2026, 9, 15))
    assert dates(result.actions) == [date(2026, 9, 7), date(2026, 9, 14)]  # Mondays
    bad = copy.deepcopy(campaign)
    bad["actions"][0]["day"] = 5
    with pytest.raises(DocumentInvalid, match=r"actions\[0\]\.day: day 5 is outside"):
        sop(playbooks={"campaigns": [bad]})


def test_a_cold_start_action_with_a_workday_rule_is_left_out_on_a_weekend_day_n() -> None:
    def visits(start: date) -> list[date]:
        group = [G("g1", "珠宝一群", start)]
        result = run(example("jewelry-service"), group, start, start + timedelta(3))
        return [a.at.date() for a in by_slot(result.actions, "cold_start.day2-store-visit")]

    assert visits(date(2026, 9, 14)) == [date(2026, 9, 15)]  # Monday start: Tuesday
    assert visits(date(2026, 9, 11)) == []  # Friday start: day 2 is a Saturday
    assert visits(date(2026, 9, 30)) == []  # day 2 is 10-01, National Day (policy keep)
