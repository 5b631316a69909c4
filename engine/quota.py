"""WeCom's cap on customer-group mass messages, and the plan checked against it.

Each customer group receives at most as many mass messages a month as the month has days,
counting staff's own sends and every tool's [92135]; admins may switch the rule to 7 a
week or 1 a day. The rule is a workspace setting (`wecom_mass_cap`). A plan past the cap
would see its extra sends refused (status 3), so the planner warns before anything is sent
and the mass-send channel skips a group that WeCom would refuse.
"""

from __future__ import annotations

from calendar import monthrange
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from sop_models.actions import PlannedAction
from sop_models.i18n import N_, tr

MASS_CHANNEL = "wecom_mass"
TZ = ZoneInfo("Asia/Shanghai")
CapRule = Literal["month", "week", "day"]
CAP_RULES: tuple[str, ...] = get_args(CapRule)
RULE_WORDS = {"month": N_("per month"), "week": N_("per week"), "day": N_("per day")}


def cap_period(rule: CapRule, at: datetime) -> tuple[datetime, datetime, int]:
    """[start, end) of the local period `at` falls in under `rule`, and its cap."""
    local = at.astimezone(TZ)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if rule == "day":
        return day, day + timedelta(days=1), 1
    if rule == "week":
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=7), 7
    first = day.replace(day=1)
    days = monthrange(first.year, first.month)[1]
    return first, first + timedelta(days=days), days


def quota_warnings(
    actions: Iterable[PlannedAction],
    *,
    per_month: int | None = None,
    rule: CapRule = "month",
    sent: Mapping[tuple[str, datetime], int] | None = None,
) -> list[str]:
    """One line per group and period whose `wecom_mass` actions exceed the cap.

    The cap is `rule`'s (days in the month, 7 a week, 1 a day); `per_month` overrides the
    monthly one. Periods are local (Asia/Shanghai). `sent` gives, per (group id, period
    start), the mass messages WeCom already reports (staff's and other tools' count too).
    """
    already = dict(sent or {})
    counts: Counter[tuple[str, datetime]] = Counter()
    caps: dict[datetime, int] = {}
    for action in actions:
        if action.channel == MASS_CHANNEL:
            start, _, cap = cap_period(rule, action.at)
            counts[(action.group_id, start)] += 1
            caps[start] = per_month if per_month is not None and rule == "month" else cap
    warnings: list[str] = []
    for (group, start), planned in sorted(counts.items()):
        cap = caps[start]
        if planned + already.get((group, start), 0) > cap:
            period = start.strftime("%Y-%m" if rule == "month" else "%Y-%m-%d")
            if rule == "week":
                period = tr("week of {day}").format(day=period)
            done = already.get((group, start), 0)
            before = tr(" ({count} already sent)").format(count=done) if done else ""
            warnings.append(
                tr("group {group}: {period}: {planned} mass messages planned").format(
                    group=group, period=period, planned=planned
                )
                + before
                + tr(", WeCom cap {cap} {per}").format(cap=cap, per=tr(RULE_WORDS[rule]))
            )
    return warnings
