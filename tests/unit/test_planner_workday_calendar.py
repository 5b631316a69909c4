"""The planner beyond the holiday library: a year without data never stops the schedule, and
days a workspace entered override and extend the official data."""

from __future__ import annotations

from datetime import date

from engine.calendar import DayEntry, WorkdayCalendar
from tests.support.examples import example
from tests.support.planning import G, by_slot, dates, run, sop

LONG_AGO = date(2025, 1, 1)
GROUP = [G("g1", "一群", LONG_AGO)]
SPRING_2027 = {  # the 2027 schedule as an ops lead would enter it (春节 2027-02-06)
    **{date(2027, 2, d): DayEntry(False, "春节") for d in range(6, 13)},
    date(2027, 2, 20): DayEntry(True),  # an adjusted Saturday workday
}


def test_a_2027_window_without_data_plans_workday_slots_monday_to_friday_with_a_warning() -> None:
    result = run(example("mombaby-refined"), GROUP, date(2027, 1, 4), date(2027, 1, 10))
    morning = by_slot(result.actions, "columns.morning-knowledge")
    assert dates(morning) == [date(2027, 1, d) for d in range(4, 9)]  # Mon-Fri
    weekend = by_slot(result.actions, "columns.weekend-story")
    assert dates(weekend) == [date(2027, 1, 9), date(2027, 1, 10)]
    (warning,) = [w for w in result.warnings if "节假日安排" in w]
    assert "2027" in warning and "按周一至周五排期" in warning and "sop calendar import" in warning


def test_the_skip_fallback_plans_no_workday_slot_but_every_other_slot_of_2027() -> None:
    skip = WorkdayCalendar(fallback="skip")
    doc = example("mombaby-refined")
    result = run(doc, GROUP, date(2027, 1, 4), date(2027, 1, 10), calendar=skip)
    assert not by_slot(result.actions, "columns.morning-knowledge")
    assert len(by_slot(result.actions, "columns.weekend-story")) == 2
    assert any("2027" in w and "fallback `skip`" in w for w in result.warnings)
    qixi = run(doc, GROUP, date(2027, 8, 1), date(2027, 8, 31), calendar=skip, kinds={"campaign"})
    assert dates(by_slot(qixi.actions, "campaigns.qixi.main")) == [date(2027, 8, 8)]


def test_a_window_that_needs_no_workday_data_warns_about_nothing() -> None:
    column = {"id": "daily", "name": "每日", "time": "08:30", "template": "t"}
    every_day = sop(schedule={"columns": [column]})  # no workday rule
    later = run(every_day, GROUP, date(2028, 3, 1), date(2028, 3, 1))
    assert by_slot(later.actions, "columns.daily")
    assert not [w for w in later.warnings if "节假日安排" in w]
    last_day = run(example("mombaby-refined"), GROUP, date(2026, 12, 31), date(2026, 12, 31))
    assert by_slot(last_day.actions, "columns.morning-knowledge")
    assert not [w for w in last_day.warnings if "节假日安排" in w]


def test_a_complete_2027_schedule_is_honoured_without_a_warning() -> None:
    entered = WorkdayCalendar(entered=SPRING_2027, complete_years=frozenset({2027}))
    doc = example("mombaby-refined")
    result = run(doc, GROUP, date(2027, 2, 1), date(2027, 2, 28), calendar=entered)
    morning = dates(by_slot(result.actions, "columns.morning-knowledge"))
    assert not [d for d in morning if date(2027, 2, 6) <= d <= date(2027, 2, 12)]
    assert date(2027, 2, 20) in morning  # the adjusted Saturday
    assert date(2027, 2, 5) in morning and date(2027, 2, 15) in morning
    assert date(2027, 2, 21) not in morning  # an ordinary Sunday of an entered year
    assert not [w for w in result.warnings if "节假日安排" in w]


def test_days_entered_without_marking_the_year_complete_override_only_those_days() -> None:
    one_day = WorkdayCalendar(entered={date(2028, 1, 1): DayEntry(False, "元旦")})
    assert not one_day.known(2028) and one_day.covered_until(date(2028, 1, 1)) is None
    doc = example("mombaby-refined")
    result = run(doc, GROUP, date(2028, 10, 1), date(2028, 10, 9), calendar=one_day)
    morning = dates(by_slot(result.actions, "columns.morning-knowledge"))
    assert date(2028, 10, 2) not in morning  # National Day, known without the year's data
    assert date(2028, 10, 4) in morning  # guessed by the fallback, and said so
    assert any("2028" in w and "节假日安排" in w for w in result.warnings)
    horizon = one_day.horizon(date(2027, 12, 1), days=45)
    assert horizon.missing == (2027, 2028) and not horizon.ok


def test_the_weekdays_fallback_never_plans_the_date_fixed_public_holidays() -> None:
    doc = example("mombaby-refined")
    new_year = run(doc, GROUP, date(2027, 1, 1), date(2027, 1, 1))  # a Friday, no 2027 data
    assert not by_slot(new_year.actions, "columns.morning-knowledge")
    guessed = WorkdayCalendar()
    for day in (date(2027, 1, 1), date(2027, 5, 1), date(2027, 10, 1), date(2027, 10, 3)):
        assert guessed.lookup(day) == (False, False) and guessed.is_holiday(day)
    assert guessed.holiday_name(date(2027, 10, 2)) == "National Day"
    assert guessed.lookup(date(2027, 10, 4)) == (True, True)  # a Monday: guessed by the fallback


def test_an_entered_day_overrides_the_official_data() -> None:
    extra_day_off = WorkdayCalendar(entered={date(2026, 10, 8): DayEntry(False, "调休")})
    doc = example("mombaby-refined")
    result = run(doc, GROUP, date(2026, 10, 8), date(2026, 10, 9), calendar=extra_day_off)
    morning = dates(by_slot(result.actions, "columns.morning-knowledge"))
    assert morning == [date(2026, 10, 9)]


def test_coverage_runs_through_consecutive_known_years_only() -> None:
    assert WorkdayCalendar().covered_until(date(2026, 11, 27)) == date(2026, 12, 31)
    entered = WorkdayCalendar(entered=SPRING_2027, complete_years=frozenset({2027}))
    assert entered.covered_until(date(2026, 11, 27)) == date(2027, 12, 31)
    assert entered.covered_until(date(2028, 1, 2)) is None
    assert entered.holiday_name(date(2027, 2, 8)) == "春节"
    assert WorkdayCalendar().holiday_name(date(2026, 10, 1)) == "National Day"


def test_the_data_horizon_names_the_years_without_data_and_the_last_covered_day() -> None:
    official_only = WorkdayCalendar().horizon(date(2026, 12, 1), days=45)
    assert not official_only.ok and official_only.missing == (2027,)
    assert official_only.covered_until == date(2026, 12, 31) and official_only.days_left == 30
    assert [(y.year, y.official, y.entered) for y in official_only.years] == [
        (2026, True, False),
        (2027, False, False),
    ]
    complete = frozenset({2027})
    with_2027 = WorkdayCalendar(entered=SPRING_2027, complete_years=complete).horizon(
        date(2026, 12, 1), days=45
    )
    assert with_2027.ok and with_2027.entered == (2027,) and with_2027.missing == ()
    assert with_2027.covered_until == date(2027, 12, 31)


def test_the_data_horizon_warns_once_the_data_ends_within_the_warning_distance() -> None:
    assert WorkdayCalendar().horizon(date(2026, 11, 15), days=45).ok  # 46 days left
    assert not WorkdayCalendar().horizon(date(2026, 11, 16), days=45).ok  # 45 days left
    unknown = WorkdayCalendar(fallback="skip").horizon(date(2027, 3, 1), days=45)
    assert unknown.missing == (2027,) and unknown.covered_until is None
    assert unknown.days_left is None and unknown.fallback == "skip"
