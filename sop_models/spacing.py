"""Quiet hours and spacing: when nothing goes to customers, and how close two posts may be.

`quiet_hours` (optional; a document without it keeps every time as planned): anything planned
from `start` to `end` (default 22:00-08:00, crossing midnight) is deferred to `end` (顺延) or
dropped (取消); an on-join welcome at 23:58 waits for 08:00. Operator tasks (the RFM list)
are not customer posts and keep their time.

`spacing`: two posts to one group closer than `gap_minutes` (default 30) are a collision. The
post with the lower `priority` moves to the first time at least `gap_minutes` from every other
post of its day (`shift`, the default; one that would land in the quiet hours or after midnight
is dropped), is dropped (`drop`), or both go out with a warning (`warn`); equal priorities are
only warned about.
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
    on_collision: Collision = "shift"
    """shift (顺延, the default) the lower priority post after the other, drop (取消) it, or
    only warn (提醒); equal priorities are always only warned about."""

    def declared_collision(self) -> CollisionName | None:
        """`on_collision` when the document says it, None when it is the default."""
        return self.on_collision if "on_collision" in self.model_fields_set else None
