"""When a campaign runs: the runs (first day, goal date) that reach a window of dates, how far
its lead days reach back, and which run a first day is (content rotates by run).

Pure date arithmetic over the campaign's window (weekly, anchored on a yearly date, or fixed);
`engine.planner.slots.SlotBook` turns each run's days into slots.
"""

from __future__ import annotations

from datetime import date, timedelta

from engine.calendar import days as days_between
from engine.calendar import occurrences
from sop_models import WEEKDAY_NUMBERS, Campaign


def lead_reach(campaign: Campaign) -> timedelta:
    """The longest lead of the campaign's actions: a run starting that much later still posts."""
    return timedelta(max((max(a.lead_days) for a in campaign.actions), default=0))


def campaign_runs(campaign: Campaign, first: date, last: date) -> list[tuple[date, date]]:
    """Every run (first day, goal date) of `campaign` with a day in [first, last]."""
    window = campaign.window
    if window.weekly is not None:
        weekday = WEEKDAY_NUMBERS[window.weekly.first_weekday]
        span = timedelta(window.length - 1)
        return [
            (day, day + span)
            for day in days_between(first - span, last)
            if day.weekday() == weekday
        ]
    if window.anchor is not None:
        after, before = timedelta(window.days_after or 0), timedelta(window.days_before or 0)
        anchors = occurrences(window.anchor, first - after, last + before)
        return [(window.first_day(anchor), anchor) for anchor in anchors]
    assert window.start is not None and window.end is not None  # checked by the model
    return [(window.start, window.end)]


def run_number(campaign: Campaign, first_day: date, start: date) -> int:
    """Runs of `campaign` that began on or after `start` and before `first_day` (negative
    before `start`): weekly runs by week, yearly ones by year, a one-off window has one."""
    window = campaign.window
    if window.weekly is not None:
        days = (first_day - start).days
        offset = (first_day.weekday() - start.weekday()) % 7  # first run day on/after start
        return days // 7 + (days % 7 > offset)
    if window.anchor is not None:
        return first_day.year - start.year
    return 0
