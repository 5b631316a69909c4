"""Threshold triggers: posts fired by a live count of a campaign, not by the clock.

"When the group's orders for this campaign reach 10, post 成团" is `at: 10`; "every 20 orders,
post 已接龙 {{ count }} 单" is `every: 20`. Counts are the group's events of `event` (orders
by default) in the campaign window; each threshold fires at most once per group per window
(its key names the threshold and the window's first day, so the ledger never sends it twice).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from sop_models.content import ContentTag
from sop_models.values import Key, SopModel, Text

CountedEvent = Literal["order", "participate", "join"]


class CountTrigger(SopModel):
    """A post fired when the group's count of `event` in the campaign window reaches `at`
    (once) or each multiple of `every`."""

    id: Key
    name: Text | None = None
    """e.g. 成团通知."""
    event: CountedEvent = "order"
    """What is counted: order (default), participate or join events of the group."""
    at: Annotated[int, Field(ge=1, le=100_000)] | None = None
    """Fire once when the count reaches this number, e.g. 10 (成团)."""
    every: Annotated[int, Field(ge=1, le=100_000)] | None = None
    """Fire at each multiple of this number, e.g. 20 -> at 20, 40, 60 ..."""
    template: Key
    """The post (variables: count, threshold, and the campaign's own)."""
    content_tag: ContentTag | None = None

    def thresholds(self, count: int) -> list[int]:
        """The thresholds `count` has reached, lowest first."""
        if self.at is not None:
            return [self.at] if count >= self.at else []
        step = self.every or 0
        return [step * n for n in range(1, count // step + 1)] if step else []
