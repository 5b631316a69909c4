"""The time skeleton of an SOP: on-join actions, fixed columns and calendar columns.

Every action has an `id` unique within its list (the planner's slot name, e.g.
`columns.morning-knowledge`), a `template` id and optionally a `content_tag` from the
content library. Times are local "HH:MM" (Asia/Shanghai).

Day rules of a column (every_day, workdays, non_workdays, weekly, monthly, except_weekdays,
lead_days): see `sop_models.day_rules`, which also defines the weekday names.
"""

from __future__ import annotations

from calendar import monthrange
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from sop_models.content import ContentTag
from sop_models.content_plan import ContentPlan
from sop_models.day_rules import DayRuleFields, LeadDays
from sop_models.spacing import Priority, QuietHours, Spacing
from sop_models.values import ClockTime, Items, Key, SopModel, Text, aliased

AudienceKind = Literal["group", "internal"]
AUDIENCE_ALIASES = {"群": "group", "客户群": "group", "内部": "internal", "运营": "internal"}
Audience = aliased(AudienceKind, AUDIENCE_ALIASES)
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


class Column(DayRuleFields):
    """A fixed column (日常固定栏目): a post at `time` on the days the rule selects."""

    id: Key
    name: Text
    """e.g. 育儿干货, 周三秒杀."""
    time: ClockTime
    template: Key
    content_tag: ContentTag | None = None
    """A fixed item; with `content`, what days without a scheduled or rotated item post."""
    content: ContentPlan | None = None
    """The content calendar: a schedule (date -> tag) and/or a rotation through the library."""
    priority: Priority = 0
    """Higher wins when two posts collide (see `schedule.spacing`)."""
    audience: Audience | None = None
    """`internal` (内部): an operator task such as a weekly review, planned as kind `task` on
    the operators' list, never posted to the group; unset: a post for the group."""


class CalendarColumn(SopModel):
    """A flexible column anchored on a yearly date, sent `lead_days` before it."""

    id: Key
    name: Text
    """e.g. 中秋团圆, 双11 预热."""
    date: CalendarDate
    lead_days: LeadDays = (0,)
    """0 = on the day itself; 3 = three days before; [3, 0] = three days before and on it."""
    time: ClockTime
    template: Key
    content_tag: ContentTag | None = None
    priority: Priority = 0
    """Higher wins when two posts collide (see `schedule.spacing`)."""


class Schedule(SopModel):
    """The SOP's skeleton in time."""

    on_join: Items[OnJoinAction] = ()
    columns: Items[Column] = ()
    calendar_columns: Items[CalendarColumn] = ()
    quiet_hours: QuietHours | None = None
    """No customer posts in these hours (see sop_models.spacing); none when not given."""
    spacing: Spacing = Spacing()
    """Posts to one group closer than this collide (warned about by default)."""
