"""Quiet hours and spacing applied to planned actions (see `sop_models.spacing`).

Both run on the actions of one SOP after keys are given, so a deferred or shifted action
keeps the key of the slot and date it was planned for: planning twice, or from the next
day's window, names it alike and the ledger never sends it twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime, time, timedelta

from sop_models.actions import PlannedAction, is_internal
from sop_models.i18n import tr
from sop_models.spacing import QuietHours, Spacing

POSTS = frozenset({"column", "flash_sale", "calendar", "campaign", "cold_start"})
"""Kinds that are posts to the whole group (welcomes go to one member, tasks to operators)."""


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
        if is_internal(action.kind) or not quiet.contains(minute):
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
    actions: list[PlannedAction],
    priorities: Mapping[str, int],
    spacing: Spacing,
    quiet: QuietHours | None = None,
) -> tuple[list[PlannedAction], list[str]]:
    """Warn about posts to one group closer than the gap; drop or shift the lower priority.

    Each group-day is placed highest priority first, so every post is compared with every post
    kept so far, not only its neighbour: the result is stable (no two posts of different
    priorities stay closer than the gap unless `on_collision` is `warn`). A shifted post moves
    to the first free time after its own; one that would land inside the quiet hours or after
    midnight is dropped with a warning, so no day's run misses it and nobody gets it at night.
    """
    if spacing.gap_minutes == 0:
        return actions, []
    gap = timedelta(minutes=spacing.gap_minutes)
    days: dict[tuple[str, date], list[PlannedAction]] = defaultdict(list)
    for action in actions:
        if action.kind in POSTS:
            days[(action.group_id, action.at.date())].append(action)
    changed: dict[str, PlannedAction | None] = {}
    seen: dict[tuple[str, str], list[str]] = {}
    for (group_id, _), posts in sorted(days.items()):
        day = _Day(group_id, priorities, spacing, gap, quiet)
        for post in sorted(posts, key=lambda a: (-priorities.get(a.key, 0), a.at, a.slot)):
            day.place(post)
        changed.update(day.changed)
        for pair, line in day.lines:
            seen.setdefault(pair, []).append(line)
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


class _Day:
    """The posts of one group on one day, placed one at a time (highest priority first)."""

    def __init__(
        self,
        group_id: str,
        priorities: Mapping[str, int],
        spacing: Spacing,
        gap: timedelta,
        quiet: QuietHours | None,
    ) -> None:
        self.group_id, self.priorities, self.spacing, self.gap = group_id, priorities, spacing, gap
        self.quiet = quiet
        self.placed: list[PlannedAction] = []
        self.changed: dict[str, PlannedAction | None] = {}
        self.lines: list[tuple[tuple[str, str], str]] = []

    def place(self, post: PlannedAction) -> None:
        mine = self.priorities.get(post.key, 0)
        close = [p for p in self.placed if abs(p.at - post.at) < self.gap]
        stronger = [p for p in close if self.priorities.get(p.key, 0) > mine]
        mode = self.spacing.on_collision
        if not stronger or mode == "warn":
            for other in close:
                self._keep_both(post, other, stronger=other in stronger)
            self.placed.append(self.changed.get(post.key) or post)
            return
        winner = min(stronger, key=lambda p: abs(p.at - post.at))
        moved = self._free_time(post) if mode == "shift" else None
        if moved is None:
            self.changed[post.key] = None
            outcome = tr("dropped {lost}, kept {kept}").format(lost=post.slot, kept=winner.slot)
            if mode == "shift":
                end = self.quiet.start if self.quiet is not None else "24:00"
                outcome = tr("no room for {slot} before {end}: dropped").format(
                    slot=post.slot, end=end
                )
        else:
            marker = {"collision": f"moved from {post.at:%H:%M} ({winner.slot})"}
            shifted = replace(post, at=moved, extra={**post.extra, **marker})
            self.changed[post.key] = shifted
            self.placed.append(shifted)
            outcome = tr("moved {slot} to {at}").format(slot=post.slot, at=f"{moved:%H:%M}")
        self._line(post, winner, outcome)

    def _keep_both(self, post: PlannedAction, other: PlannedAction, *, stronger: bool) -> None:
        minutes = _minutes(post, other)
        for one, two in ((post, other), (other, post)):
            current = self.changed.get(one.key) or one
            note = {"collision": f"{minutes} min from {two.slot}"}
            self.changed[one.key] = replace(current, extra={**current.extra, **note})
        self.placed = [self.changed.get(p.key) or p for p in self.placed]
        if self.priorities.get(post.key, 0) == self.priorities.get(other.key, 0):
            outcome = tr("kept both (equal priority)")
        else:
            winner = other if stronger else post
            outcome = tr("kept both (priority keeps {slot})").format(slot=winner.slot)
        self._line(post, other, outcome)

    def _free_time(self, post: PlannedAction) -> datetime | None:
        """The first time from `post.at` on at least the gap from every placed post, before
        midnight and outside the quiet hours; None when there is none."""
        after = (p.at + self.gap for p in self.placed if p.at + self.gap > post.at)
        for at in sorted({post.at, *after}):
            if at.date() != post.at.date():
                return None
            if self.quiet is not None and self.quiet.contains(at.hour * 60 + at.minute):
                continue
            if all(abs(p.at - at) >= self.gap for p in self.placed):
                return at
        return None

    def _line(self, post: PlannedAction, other: PlannedAction, outcome: str) -> None:
        first, second = sorted((post, other), key=lambda a: (a.at, a.slot))
        text = tr("{group} {day} {first}/{second} ({minutes} min apart): {outcome}").format(
            group=self.group_id,
            day=f"{post.at:%Y-%m-%d}",
            first=f"{first.at:%H:%M}",
            second=f"{second.at:%H:%M}",
            minutes=_minutes(post, other),
            outcome=outcome,
        )
        self.lines.append(((first.slot, second.slot), text))


def _minutes(one: PlannedAction, other: PlannedAction) -> int:
    """Whole minutes between two posts, never negative."""
    return int(abs(one.at - other.at).total_seconds() // 60)


NIGHT = QuietHours()
"""The quiet hours an SOP should declare when it declares none (22:00-08:00)."""


def undeclared_quiet_warnings(
    quiet: QuietHours | None, on_join: bool, actions: list[PlannedAction]
) -> list[str]:
    """Without declared quiet hours: each post planned between 22:00 and 08:00 (first time),
    and on-join actions (a member may join at 23:58), one line each naming the field."""
    if quiet is not None:
        return []
    first: dict[str, datetime] = {}
    for action in sorted(actions, key=lambda a: a.at):
        if action.kind in POSTS and NIGHT.contains(action.at.hour * 60 + action.at.minute):
            first.setdefault(action.slot, action.at)
    line = tr(
        "schedule.quiet_hours: not declared, and {slot} is planned at {at} ({start}-{end}): "
        "declare quiet_hours to defer or drop it"
    )
    out = [
        line.format(slot=slot, at=f"{at:%Y-%m-%d %H:%M}", start=NIGHT.start, end=NIGHT.end)
        for slot, at in first.items()
    ]
    if on_join:
        out.append(
            tr(
                "schedule.quiet_hours: not declared, and schedule.on_join goes out whenever a "
                "member joins, at 23:58 too: declare quiet_hours to defer it to the morning"
            )
        )
    return out
