"""WeCom's monthly cap on customer-group mass messages, checked against a plan.

By default WeCom lets each customer group receive as many mass messages per month as the
month has days (admins may lower it). A plan that exceeds the cap would see its extra sends
refused, so the planner warns before anything is sent.
"""

from __future__ import annotations

from calendar import monthrange
from collections import Counter
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from sop_models.actions import PlannedAction

MASS_CHANNEL = "wecom_mass"
TZ = ZoneInfo("Asia/Shanghai")


def quota_warnings(actions: Iterable[PlannedAction], *, per_month: int | None = None) -> list[str]:
    """One line per group and calendar month whose `wecom_mass` actions exceed the cap.

    The cap is `per_month` if given, else the number of days in that month. Months are
    local (Asia/Shanghai) calendar months.
    """
    counts: Counter[tuple[str, int, int]] = Counter()
    for action in actions:
        if action.channel == MASS_CHANNEL:
            at = action.at.astimezone(TZ)
            counts[(action.group_id, at.year, at.month)] += 1
    warnings: list[str] = []
    for (group, year, month), planned in sorted(counts.items()):
        cap = per_month if per_month is not None else monthrange(year, month)[1]
        if planned > cap:
            warnings.append(
                f"group {group}: {year:04d}-{month:02d}: {planned} mass messages planned, "
                f"WeCom cap {cap} per month"
            )
    return warnings
