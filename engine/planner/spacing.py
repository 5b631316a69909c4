"""Quiet hours and spacing applied to planned actions (see `sop_models.spacing`).

Both run on the actions of one SOP after keys are given, so a deferred or shifted action
keeps the key of the slot and date it was planned for: planning twice, or from the next
day's window, names it alike and the ledger never sends it twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, time, timedelta

from sop_models.actions import PlannedAction
from sop_models.i18n import tr
from sop_models.spacing import QuietHours, Spacing

POSTS = frozenset({"column", "flash_sale", "calendar", "campaign", "cold_start"})
"""Kinds that are posts to the whole group (welcomes go to one member, RFM to operators)."""


def apply_quiet_hours(
    actions: list[PlannedAction], quiet: QuietHours | None
) -> tuple[list[PlannedAction], list[str]]:
    """Defer (to the quiet hours' end) or drop every customer action inside the quiet hours."""
    if quiet is None:
        return actions, []
    end = quiet.minutes()[1]
    kept: list[PlannedAction] = []
    touched: dict[str, int] = defaultdict(int)
    for action in actions:
        local = action.at
        minute = local.hour * 60 + local.minute
        if action.kind == "rfm" or not quiet.contains(minute):
            kept.append(action)
            continue
        if action.kind != "welcome":
            touched[action.slot] += 1
        if quiet.action == "drop":
            continue
        day = local.date() if minute < end else local.date() + timedelta(1)
        at = datetime.combine(day, time(end // 60, end % 60), tzinfo=local.tzinfo)
        marker = {"quiet_hours": f"deferred from {local:%H:%M}"}  # shown by plans and the console
        kept.append(replace(action, at=at, extra={**action.extra, **marker}))
    line = (
        tr(
            "quiet hours {start}-{end}: {slot} planned inside them {count} time(s), "
            "deferred to {end}"
        )
        if quiet.action == "defer"
        else tr(
            "quiet hours {start}-{end}: {slot} planned inside them {count} time(s), "
            "dropped (quiet hours end {end})"
        )
    )
    warnings = [
        line.format(start=quiet.start, end=quiet.end, slot=slot, count=count)
        for slot, count in sorted(touched.items())
    ]
    return kept, warnings


def apply_spacing(
    actions: list[PlannedAction], priorities: Mapping[str, int], spacing: Spacing
) -> tuple[list[PlannedAction], list[str]]:
    """Warn about posts to one group closer than the gap; drop or shift the lower priority."""
    if spacing.gap_minutes == 0:
        return actions, []
    gap = timedelta(minutes=spacing.gap_minutes)
    by_group: dict[str, list[PlannedAction]] = defaultdict(list)
    for action in actions:
        if action.kind in POSTS:
            by_group[action.group_id].append(action)
    changed: dict[str, PlannedAction | None] = {}
    seen: dict[tuple[str, str], list[str]] = {}
    for group_id, posts in sorted(by_group.items()):
        posts.sort(key=lambda a: (a.at, a.slot))
        last: PlannedAction | None = None
        for post in posts:
            if last is None or post.at - last.at >= gap:
                last = post
                continue
            mine, theirs = priorities.get(post.key, 0), priorities.get(last.key, 0)
            loser, winner = (post, last) if mine <= theirs else (last, post)
            minutes = int((post.at - last.at).total_seconds() // 60)
            outcome, follows, both = tr("kept both"), post, True
            if mine != theirs and spacing.on_collision == "drop":
                changed[loser.key] = None
                outcome = tr("dropped {lost}, kept {kept}").format(
                    lost=loser.slot, kept=winner.slot
                )
                follows, both = winner, False
            elif mine != theirs and spacing.on_collision == "shift":
                marker = {"collision": f"moved from {loser.at:%H:%M} ({winner.slot})"}
                moved = replace(loser, at=winner.at + gap, extra={**loser.extra, **marker})
                changed[loser.key] = moved
                outcome = tr("moved {slot} to {at}").format(slot=loser.slot, at=f"{moved.at:%H:%M}")
                follows, both = moved, False
            elif mine == theirs:
                outcome = tr("kept both (equal priority)")
            else:  # warn: both go out, but say which one the declared priority would keep
                outcome = tr("kept both (priority keeps {slot})").format(slot=winner.slot)
            if both:  # both go out: mark each with the other
                for one, other in ((post, last), (last, post)):
                    note = {"collision": f"{minutes} min from {other.slot}"}
                    changed[one.key] = replace(one, extra={**one.extra, **note})
            seen.setdefault((last.slot, post.slot), []).append(
                tr("{group} {day} {first}/{second} ({minutes} min apart): {outcome}").format(
                    group=group_id,
                    day=f"{post.at:%Y-%m-%d}",
                    first=f"{last.at:%H:%M}",
                    second=f"{post.at:%H:%M}",
                    minutes=minutes,
                    outcome=outcome,
                )
            )
            last = follows
    result = [changed.get(a.key, a) for a in actions] if changed else list(actions)
    kept = [a for a in result if a is not None]
    line = tr(
        "collision (gap {gap} min): {first} and {second} in {count} group-day(s), first {case}"
    )
    warnings = [
        line.format(
            gap=spacing.gap_minutes, first=first, second=second, count=len(cases), case=cases[0]
        )
        for (first, second), cases in sorted(seen.items())
    ]
    return kept, warnings
