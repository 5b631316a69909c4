"""Playbooks: the cold start of a new group, the mature phase, and campaigns.

Phases of one group: its start day is day 1. Days 1..`cold_start.days` are the cold start
(cold-start actions run); afterwards the group is mature. Columns listed in
`mature.columns` start only once the cold start is over; columns not listed there run from
day 1. Without a cold start every group is mature from day 1. On-join actions, calendar
columns and campaigns run in every phase.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from sop_models.campaigns import Campaign, Coupon
from sop_models.content import ContentTag
from sop_models.day_rules import DayRuleFields, HolidayPolicy, Weekday
from sop_models.spacing import Priority
from sop_models.values import ClockTime, Items, Key, NonEmptyItems, SopModel, Text, aliased

RfmScopeName = Literal["group", "sop"]
RfmScope = aliased(RfmScopeName, {"按群": "group", "全部群": "sop"})


class ColdStartHook(SopModel):
    """The welfare hook that keeps new members coming back, e.g. sign in 3 days for a gift."""

    name: Text
    """e.g. 连续签到 3 天领试用装."""
    streak_days: Annotated[int, Field(ge=1, le=30)]
    """Days in a row a member must sign in; at most the cold start's length."""
    reward: Text
    time: ClockTime | None = None
    """With `template`: the sign-in prompt's time on each day 1..streak_days."""
    template: Key | None = None
    """The day-N sign-in prompt (variables: day, streak_days, reward)."""


class ColdStartAction(DayRuleFields):
    """An action on cold-start day `day` (the group's start day is day 1).

    The date of day `day` is moved by the cold start's `holiday_policy` first; the action is
    then left out when the day rule (`days`, `weekdays`, `except_weekdays`, `month_days`,
    `nth_weekdays`, the rule columns take) rejects that date, and posts `lead_days` before
    it (never before the group's start)."""

    id: Key
    name: Text | None = None
    """e.g. 首个互动话题."""
    day: Annotated[int, Field(ge=1)]
    time: ClockTime
    template: Key
    content_tag: ContentTag | None = None
    priority: Priority = 0
    """Higher wins when two posts collide (see `schedule.spacing`)."""


class ColdStart(SopModel):
    """冷启动期: the first `days` days of a group."""

    days: Annotated[int, Field(ge=1, le=30)] = 3
    pilot_group_size: Annotated[int, Field(ge=50, le=100)] | None = None
    """Members of the pilot group that tests rules and content before rollout (50-100)."""
    hook: ColdStartHook | None = None
    actions: Items[ColdStartAction] = ()
    holiday_policy: HolidayPolicy = "keep"
    """An action whose day is an official holiday: keep (保持) it, or shift (顺延) it to the
    first day after the holiday (a group started 9/29 then has its day 3 on 10/8, not in the
    National Day break); ordinary weekends are kept."""


class Countdown(SopModel):
    """A countdown reminder (poster) sent `minutes_before` the flash sale starts."""

    minutes_before: Annotated[int, Field(ge=1, le=24 * 60)]
    template: Key
    content_tag: ContentTag | None = None


class FlashSale(DayRuleFields):
    """The weekly flash sale (每周秒杀): on `weekday` at `time`, with countdown and coupon.

    The day rule columns take says which of those weekdays (`days`: every_day, workdays = no
    sale on a holiday Wednesday, non_workdays, or monthly with `month_days`/`nth_weekdays`;
    not weekly: the sale's weekday is `weekday`) and `lead_days` posts the sale's message
    that many days before too (the countdown goes out on the day only)."""

    id: Key
    weekday: Weekday
    time: ClockTime
    duration_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 60
    template: Key
    content_tag: ContentTag | None = None
    countdown: Countdown | None = None
    coupon: Coupon | None = None
    priority: Priority = 0
    """Higher wins when two posts collide (see `schedule.spacing`)."""


class RfmSegment(SopModel):
    """A member segment defined on recency (days since last order), frequency, monetary.

    Every bound is optional and inclusive; a member belongs to the first segment whose
    bounds it meets (segments are listed from most to least specific).
    """

    id: Key
    """e.g. loyal, bargain_hunter, need_driven, low_need."""
    name: Text
    """e.g. 忠诚用户."""
    description: Text | None = None
    min_recency_days: Annotated[int, Field(ge=0)] | None = None
    max_recency_days: Annotated[int, Field(ge=0)] | None = None
    min_orders: Annotated[int, Field(ge=0)] | None = None
    max_orders: Annotated[int, Field(ge=0)] | None = None
    min_amount: Annotated[float, Field(ge=0)] | None = None
    """Order amount in yuan within the lookback window."""
    max_amount: Annotated[float, Field(ge=0)] | None = None
    min_referrals: Annotated[int, Field(ge=0)] | None = None
    template: Key | None = None
    """Message for the members of this segment, if any."""


class RfmTask(SopModel):
    """Month-end RFM segmentation: runs `days_before_month_end` days before month end."""

    id: Key
    days_before_month_end: Annotated[int, Field(ge=0, le=27)] = 0
    """0 = the last day of the month."""
    time: ClockTime
    template: Key
    """The task note (or report) for the operators."""
    lookback_days: Annotated[int, Field(ge=1, le=730)] = 90
    """Orders and amounts count within this many days up to the task's day; recency is the
    days since the member's last order, however long ago."""
    scope: RfmScope = "group"
    """group (按群): a member is measured per group; sop (全部群): across all the SOP's groups."""
    segments: NonEmptyItems[RfmSegment]


class Mature(SopModel):
    """成熟期: daily columns, a weekly flash sale, month-end RFM."""

    columns: Items[Key] = ()
    """Ids of `schedule.columns` that start once the cold start is over."""
    flash_sale: FlashSale | None = None
    rfm: RfmTask | None = None


class Playbooks(SopModel):
    """Cold start, mature phase and campaigns."""

    cold_start: ColdStart | None = None
    mature: Mature | None = None
    campaigns: Items[Campaign] = ()
