"""Quiet hours and spacing: when nothing goes to customers, and how close two posts may be.

`quiet_hours` (optional; a document without it keeps every time as planned): anything planned
from `start` to `end` (default 22:00-08:00, crossing midnight) is deferred to `end` (顺延) or
dropped (取消); an on-join welcome at 23:58 waits for 08:00. Operator tasks (the RFM list)
are not customer posts and keep their time.

`spacing`: two posts to one group closer than `gap_minutes` (default 30) are a collision. The
plan warns (`warn`, the default), or the post with the lower `priority` is dropped (`drop`) or
moved to `gap_minutes` after the other (`shift`); equal priorities are only warned about.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from sop_models.values import ClockTime, SopModel, aliased, parse_time

QuietActionName = Literal["defer", "drop"]
QuietAction = aliased(QuietActionName, {"顺延": "defer", "取消": "drop"})
CollisionName = Literal["warn", "drop", "shift"]
Collision = aliased(CollisionName, {"提醒": "warn", "取消": "drop", "顺延": "shift"})
Priority = Annotated[int, Field(ge=-100, le=100)]
"""Higher wins a collision; 0 when not given."""


class QuietHours(SopModel):
    """No customer posts from `start` to `end` (may cross midnight)."""

    start: ClockTime = "22:00"
    end: ClockTime = "08:00"
    action: QuietAction = "defer"
    """defer (顺延: to `end`) or drop (取消)."""

    def minutes(self) -> tuple[int, int]:
        """(start, end) as minutes after midnight."""
        (sh, sm), (eh, em) = parse_time(self.start), parse_time(self.end)
        return sh * 60 + sm, eh * 60 + em

    def contains(self, minute_of_day: int) -> bool:
        """True when a post at `minute_of_day` falls inside the quiet hours."""
        start, end = self.minutes()
        if start <= end:
            return start <= minute_of_day < end
        return minute_of_day >= start or minute_of_day < end


class Spacing(SopModel):
    """How close two posts to one group may be, and what happens when they are closer."""

    gap_minutes: Annotated[int, Field(ge=0, le=24 * 60)] = 30
    """0 turns the check off."""
    on_collision: Collision = "warn"
    """warn (提醒), drop (取消) the lower priority post, or shift (顺延) it after the other."""
