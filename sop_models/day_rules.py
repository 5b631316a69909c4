"""Day rules: which dates a scheduled thing runs on, said the same way everywhere.

`days` names the rule: `every_day`; `workdays` (mainland China workdays including adjusted
weekend workdays; the document only names the rule, the engine's calendar resolves it);
`non_workdays` (weekends and official holidays); `weekly` on the listed `weekdays`;
`monthly` on `month_days` (1..31, -1 = the last day) and/or `nth_weekdays` (the 2nd Tuesday,
the last Friday). `except_weekdays` removes weekdays from any rule ("workdays except
Wednesday"). `lead_days` posts that many days before each date the rule selects, e.g.
`[3, 0]` = three days before and on the day itself (a countdown to a member day).

Chinese aliases accepted on input: 每天/每日, 工作日, 节假日/休息日, 每周, 每月; weekdays
周一..周日 / 星期一..星期日 (also 周天/星期天).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from sop_models.values import Items, SopModel, aliased, as_tuple

WeekdayName = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAY_NUMBERS: dict[str, int] = {
    name: number for number, name in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
}
"""Weekday name -> `date.weekday()` number (Monday = 0)."""

_CN_DAYS = "一二三四五六日"
WEEKDAY_ALIASES: dict[str, str] = {
    **{f"周{c}": name for c, name in zip(_CN_DAYS, WEEKDAY_NUMBERS, strict=True)},
    **{f"星期{c}": name for c, name in zip(_CN_DAYS, WEEKDAY_NUMBERS, strict=True)},
    "周天": "sun",
    "星期天": "sun",
}
Weekday = aliased(WeekdayName, WEEKDAY_ALIASES)

DayRuleName = Literal["every_day", "workdays", "non_workdays", "weekly", "monthly"]
DAY_RULE_ALIASES = {
    "每天": "every_day",
    "每日": "every_day",
    "工作日": "workdays",
    "节假日": "non_workdays",
    "休息日": "non_workdays",
    "holidays": "non_workdays",
    "每周": "weekly",
    "每月": "monthly",
}
DayRule = aliased(DayRuleName, DAY_RULE_ALIASES)

HolidayPolicyName = Literal["keep", "shift"]
HOLIDAY_POLICY_ALIASES = {"保持": "keep", "顺延": "shift"}
HolidayPolicy = aliased(HolidayPolicyName, HOLIDAY_POLICY_ALIASES)
"""keep (保持: run on the day even if it is a holiday) or shift (顺延: to the day after it)."""

LeadDay = Annotated[int, Field(ge=0, le=60)]


def _lead_items(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,)
    return as_tuple(value)


LeadDays = Annotated[
    tuple[LeadDay, ...],
    Field(min_length=1),
    BeforeValidator(_lead_items, json_schema_input_type=int | list[LeadDay]),
]
"""Days before the date: one number (3) or a list ([3, 0] = three days before and the day);
kept as a tuple."""


def lead_list(value: tuple[int, ...]) -> tuple[int, ...]:
    """`lead_days` without repeats, largest first."""
    return tuple(sorted(set(value), reverse=True))


class NthWeekday(SopModel):
    """The `n`th `weekday` of the month (n = -1: the last one), e.g. the 2nd Tuesday."""

    n: Annotated[int, Field(ge=-1, le=5)]
    """1..5, or -1 for the last one in the month (0 is refused)."""
    weekday: Weekday


class DayRuleFields(SopModel):
    """The day rule of columns, the flash sale, cold-start and campaign actions (see the
    module docstring)."""

    days: DayRule = "every_day"
    """every_day, workdays, non_workdays (holidays and weekends), weekly or monthly."""
    weekdays: Items[Weekday] = ()
    """Required for (and only for) `days: weekly`, e.g. [mon, wed]."""
    except_weekdays: Items[Weekday] = ()
    """Weekdays left out, e.g. workdays except [wed]."""
    month_days: Items[Annotated[int, Field(ge=-1, le=31)]] = ()
    """`days: monthly`: days of the month, -1 = the last day (0 is refused)."""
    nth_weekdays: Items[NthWeekday] = ()
    """`days: monthly`: e.g. [{n: 2, weekday: tue}]."""
    lead_days: LeadDays = (0,)
    """Post this many days before each selected date; [3, 0] = three days before and on it."""
