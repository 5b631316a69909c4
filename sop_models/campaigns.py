"""Campaigns: holiday promotions, check-ins, group-buy chains, limited offers, member days.

A campaign runs in a window of days: either fixed dates (`start`..`end`, a one-off) or
anchored on a yearly calendar date (`anchor`, e.g. lunar 7/7) from `days_before` to
`days_after` it (recurring every year), or `weekly` (every week from `first_weekday` to
`last_weekday`, e.g. a Monday-to-Wednesday 接龙). Days inside the window count from 1 (day 1 = the
first day of the window; for an anchored window the anchor is day `days_before + 1`).

Campaign kinds accept Chinese aliases on input: 节日活动, 打卡, 拼团接龙, 限时限量, 会员日,
快闪群; scarcity kinds 前N名 and 截止时间.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field

from sop_models.content import ContentTag
from sop_models.content_plan import ContentPlan
from sop_models.day_rules import WEEKDAY_NUMBERS, DayRuleFields, Weekday
from sop_models.schedule import CalendarDate
from sop_models.spacing import Priority
from sop_models.triggers import CountTrigger
from sop_models.values import ClockTime, DeadlineTime, IsoDate, Items, Key, SopModel, Text, aliased

CampaignKindName = Literal[
    "holiday",
    "check_in",
    "group_buy",
    "limited_offer",
    "membership_day",
    "flash_group",
]
CAMPAIGN_KIND_ALIASES = {
    "节日活动": "holiday",
    "打卡": "check_in",
    "拼团接龙": "group_buy",
    "接龙": "group_buy",
    "限时限量": "limited_offer",
    "会员日": "membership_day",
    "快闪群": "flash_group",
}
CampaignKind = aliased(CampaignKindName, CAMPAIGN_KIND_ALIASES)

ScarcityKindName = Literal["first_n", "deadline"]
SCARCITY_KIND_ALIASES = {"前N名": "first_n", "截止时间": "deadline"}
ScarcityKind = aliased(ScarcityKindName, SCARCITY_KIND_ALIASES)


class Coupon(SopModel):
    """A coupon handed out with an offer."""

    name: Text
    """e.g. 满 39 减 10 秒杀券."""
    valid_hours: Annotated[int, Field(ge=1)] | None = None


class WeeklyWindow(SopModel):
    """A window that recurs every week, e.g. Monday to Wednesday (a weekly 接龙)."""

    first_weekday: Weekday
    """Day 1 of each week's run, e.g. mon."""
    last_weekday: Weekday
    """The run's last day, e.g. wed (a run may cross the weekend: fri to mon)."""

    @property
    def length(self) -> int:
        """Days in each week's run."""
        first, last = WEEKDAY_NUMBERS[self.first_weekday], WEEKDAY_NUMBERS[self.last_weekday]
        return (last - first) % 7 + 1


class CampaignWindow(SopModel):
    """`start` + `end` (fixed dates), `anchor` with `days_before`/`days_after` (yearly), or
    `weekly` (every week, e.g. Monday to Wednesday)."""

    start: IsoDate | None = None
    end: IsoDate | None = None
    anchor: CalendarDate | None = None
    days_before: Annotated[int, Field(ge=0, le=60)] | None = None
    days_after: Annotated[int, Field(ge=0, le=60)] | None = None
    weekly: WeeklyWindow | None = None

    @property
    def length(self) -> int:
        """Days in the window (1 for a one-day campaign)."""
        if self.weekly is not None:
            return self.weekly.length
        if self.start is not None and self.end is not None:
            return (self.end - self.start).days + 1
        return (self.days_before or 0) + (self.days_after or 0) + 1

    def first_day(self, anchor_date: date | None = None) -> date:
        """Date of day 1: `start`, or `anchor_date` (the anchor resolved for a year) minus
        `days_before`."""
        if self.start is not None:
            return self.start
        if anchor_date is None:
            raise ValueError("an anchored window needs the anchor's date for the year")
        return date.fromordinal(anchor_date.toordinal() - (self.days_before or 0))


class CampaignAction(DayRuleFields):
    """A message on campaign day `day` at `time`, or without `day` on every day of the window.

    The day rule columns take (`days`, `weekdays`, `except_weekdays`, `month_days`,
    `nth_weekdays`) keeps the dates it selects; `lead_days` posts that many days before each
    (a countdown may start before the window)."""

    id: Key
    name: Text | None = None
    day: Annotated[int, Field(ge=1)] | None = None
    """Campaign day (1 = the window's first day); without it every day of the window."""
    time: ClockTime
    template: Key
    content_tag: ContentTag | None = None
    """A fixed item; with `content`, what runs without a scheduled or rotated item post."""
    content: ContentPlan | None = None
    """The content rule of columns: a schedule (date -> tag) and/or a rotation through the
    library, which moves one item per run of the campaign (a weekly 接龙: one a week)."""
    priority: Priority = 0
    """Higher wins when two posts collide (see `schedule.spacing`)."""


class CheckIn(SopModel):
    """A check-in challenge (e.g. 21 days): a prompt each day from `start_day`."""

    days: Annotated[int, Field(ge=1, le=100)]
    start_day: Annotated[int, Field(ge=1)] = 1
    """Campaign day of the first check-in."""
    reward: Text
    time: ClockTime
    """When the daily check-in prompt is sent."""
    template: Key
    content_tag: ContentTag | None = None


class GroupBuy(SopModel):
    """A group-buy chain (接龙): ships once `ships_at_orders` join; stretch goal optional."""

    product: Text
    ships_at_orders: Annotated[int, Field(ge=1)]
    """e.g. 满 10 单成团发货."""
    goal_orders: Annotated[int, Field(ge=1)] | None = None
    """e.g. 200 单."""
    within_hours: Annotated[int, Field(ge=1)] | None = None
    """Time box of the goal, e.g. 3 hours."""


class ScarcityRule(SopModel):
    """A limited or scarce offer: the first `limit` orders, or until `until` on `day`;
    either may also cap what one member takes (`per_member_limit`, 每人限购)."""

    kind: ScarcityKind
    """first_n (前N名) or deadline (截止时间)."""
    offer: Text
    """e.g. 前 50 单加赠 1 盒蓝莓."""
    limit: Annotated[int, Field(ge=1)] | None = None
    """first_n: how many orders get the offer."""
    day: Annotated[int, Field(ge=1)] | None = None
    """deadline: campaign day the offer ends."""
    until: DeadlineTime | None = None
    """deadline: time it ends that day; "24:00" = midnight at the end of the day."""
    per_member_limit: Annotated[int, Field(ge=1)] | None = None
    """At most this many per member (每人限购), e.g. 2; for first_n no more than `limit`."""


class Campaign(SopModel):
    """A campaign with its window, actions and mechanics."""

    id: Key
    name: Text
    kind: CampaignKind
    """holiday, check_in, group_buy, limited_offer, membership_day or flash_group."""
    window: CampaignWindow
    actions: Items[CampaignAction] = ()
    check_in: CheckIn | None = None
    """Required for kind check_in."""
    group_buy: GroupBuy | None = None
    """Required for kind group_buy."""
    scarcity: Items[ScarcityRule] = ()
    """At least one for kind limited_offer."""
    coupon: Coupon | None = None
    """Coupon handed out in this campaign, if any."""
    triggers: Items[CountTrigger] = ()
    """Posts fired by live counts in the window (成团 at 10 orders, progress every 20)."""
