"""Day rules resolved against a workday calendar: which dates a rule selects, when to post.

Pure: the workday question is a function passed in (the SlotBook's, which remembers the
years only the calendar's fallback could answer).
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Callable
from datetime import date, timedelta

from sop_models.day_rules import WEEKDAY_NUMBERS, DayRuleFields, lead_list

IsWorkday = Callable[[date], bool]


def _nth_weekday(day: date, n: int, weekday: int) -> bool:
    if day.weekday() != weekday:
        return False
    if n == -1:
        return (day + timedelta(7)).month != day.month
    return (day.day - 1) // 7 + 1 == n


def _monthly(rule: DayRuleFields, day: date) -> bool:
    last = monthrange(day.year, day.month)[1]
    for wanted in rule.month_days:
        # day 31 in a 30-day month means nothing that month (as a calendar would), -1 = last
        if day.day == (last if wanted == -1 else wanted):
            return True
    return any(_nth_weekday(day, n.n, WEEKDAY_NUMBERS[n.weekday]) for n in rule.nth_weekdays)


def selects(
    rule: DayRuleFields, day: date, is_workday: IsWorkday, weekday: int | None = None
) -> bool:
    """True when `rule` selects `day` (before lead days); `weekday` (the flash sale's own
    weekday) also requires that weekday."""
    if weekday is not None and day.weekday() != weekday:
        return False
    if day.weekday() in {WEEKDAY_NUMBERS[w] for w in rule.except_weekdays}:
        return False
    match rule.days:
        case "weekly":
            return day.weekday() in {WEEKDAY_NUMBERS[w] for w in rule.weekdays}
        case "monthly":
            return _monthly(rule, day)
        case "workdays":
            return is_workday(day)
        case "non_workdays":
            return not is_workday(day)
    return True


def posts_on(
    rule: DayRuleFields, day: date, is_workday: IsWorkday, weekday: int | None = None
) -> list[int]:
    """The lead days with which `rule` posts on `day` (0 = the selected date itself)."""
    return [
        lead
        for lead in lead_list(rule.lead_days)
        if selects(rule, day + timedelta(lead), is_workday, weekday)
    ]


def posts_for(
    rule: DayRuleFields, day: date, is_workday: IsWorkday, first: date, last: date
) -> list[tuple[int, date]]:
    """(lead, post date) in [first, last] of an action whose date is `day`, largest lead first
    (0 = on `day` itself); none when `rule` rejects `day`, which is asked only when some post
    falls in the range (the calendar is not consulted for dates nothing is planned on)."""
    posts = [(lead, day - timedelta(lead)) for lead in lead_list(rule.lead_days)]
    posts = [(lead, post) for lead, post in posts if first <= post <= last]
    return posts if posts and selects(rule, day, is_workday) else []


def after_holiday(day: date, is_holiday: IsWorkday, *, limit: int = 60) -> date:
    """`day`, or the first day after the holiday it falls in (a weekend is no holiday)."""
    for offset in range(limit + 1):
        candidate = day + timedelta(offset)
        if not is_holiday(candidate):
            return candidate
    return day
