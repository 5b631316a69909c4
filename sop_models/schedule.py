"""The time skeleton of an SOP: on-join actions, fixed columns and calendar columns.

Every action has an `id` unique within its list (the planner's slot name, e.g.
`columns.morning-knowledge`), a `template` id and optionally a `content_tag` from the
content library. Times are local "HH:MM" (Asia/Shanghai).

Day rules of a column: `every_day`; `workdays` = mainland China workdays including adjusted
weekend workdays (the document only names the rule, the engine's calendar resolves it);
`weekly` on the listed `weekdays`. Chinese aliases accepted on input: 每天/每日, 工作日,
每周; weekdays 周一..周日 / 星期一..星期日 (also 周天/星期天).
"""

from __future__ import annotations

from calendar import monthrange
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from sop_models.content import ContentTag
from sop_models.values import ClockTime, Items, Key, SopModel, Text, aliased

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

DayRuleName = Literal["every_day", "workdays", "weekly"]
DAY_RULE_ALIASES = {
    "每天": "every_day",
    "每日": "every_day",
    "工作日": "workdays",
    "每周": "weekly",
}
DayRule = aliased(DayRuleName, DAY_RULE_ALIASES)

CalendarKind = Literal["gregorian", "lunar"]
CALENDAR_ALIASES = {"公历": "gregorian", "阳历": "gregorian", "农历": "lunar", "阴历": "lunar"}
Calendar = aliased(CalendarKind, CALENDAR_ALIASES)


class CalendarDate(SopModel):
    """A yearly date: Gregorian month/day (6/18, 11/11, 3/8) or lunar (七夕 7/7, 中秋 8/15).

    Gregorian days are checked against a leap year (2/29 is allowed, 2/30 and 4/31 are not);
    lunar months are 1-12 and lunar days 1-30 (leap months are not supported).
    """

    calendar: Calendar = "gregorian"
    """gregorian (公历) or lunar (农历)."""
    month: Annotated[int, Field(ge=1, le=12)]
    day: Annotated[int, Field(ge=1, le=31)]

    @field_validator("day")
    @classmethod
    def _day_exists(cls, day: int, info: ValidationInfo) -> int:
        kind, month = info.data.get("calendar"), info.data.get("month")
        if kind == "lunar" and day > 30:
            raise ValueError(f"lunar day {day} does not exist (a lunar month has 29 or 30 days)")
        if kind == "gregorian" and isinstance(month, int):
            last = monthrange(2024, month)[1]  # a leap year: 2/29 is a real date
            if day > last:
                raise ValueError(f"{month}/{day} does not exist (month {month} has {last} days)")
        return day

    def __str__(self) -> str:
        prefix = "农历 " if self.calendar == "lunar" else ""
        return f"{prefix}{self.month}/{self.day}"


class OnJoinAction(SopModel):
    """Sent to each new member after joining: `delay_minutes` 0 means at once."""

    id: Key
    delay_minutes: Annotated[int, Field(ge=0, le=7 * 24 * 60)] = 0
    template: Key
    content_tag: ContentTag | None = None


class Column(SopModel):
    """A fixed column (日常固定栏目): a post at `time` on the days the rule selects."""

    id: Key
    name: Text
    """e.g. 育儿干货, 周三秒杀."""
    time: ClockTime
    days: DayRule = "every_day"
    """every_day, workdays (mainland China calendar) or weekly (on `weekdays`)."""
    weekdays: Items[Weekday] = ()
    """Required for (and only for) `days: weekly`, e.g. [mon, wed]."""
    template: Key
    content_tag: ContentTag | None = None


class CalendarColumn(SopModel):
    """A flexible column anchored on a yearly date, sent `lead_days` before it."""

    id: Key
    name: Text
    """e.g. 中秋团圆, 双11 预热."""
    date: CalendarDate
    lead_days: Annotated[int, Field(ge=0, le=60)] = 0
    """0 = on the day itself; 3 = three days before."""
    time: ClockTime
    template: Key
    content_tag: ContentTag | None = None


class Schedule(SopModel):
    """The SOP's skeleton in time."""

    on_join: Items[OnJoinAction] = ()
    columns: Items[Column] = ()
    calendar_columns: Items[CalendarColumn] = ()
