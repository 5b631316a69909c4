"""On-join actions of the window's joins, with the joins of one night merged into one welcome.

Each join gets its on-join actions at `joined_at + delay`. With quiet hours that defer
(`schedule.quiet_hours.action: defer`), an on-join action that falls inside them waits for
their end, and every such action of one group and one morning becomes ONE merged message
(WeCom merges the welcomes of members who join close together the same way): its
`member_name` lists the names (、-separated, in join order), `extra.merged` is how many
joins it welcomes and `extra.members` their ids. Its key is
`sop:version:group:on_join.<id>:<morning date>:merged`, the same however many joins the
night brings and whichever window plans it, and a deferred join never also has a key of its
own: the ledger sends the morning welcome once, never the merged one and single ones both.
A join recorded after the merged welcome went out is not welcomed again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from engine import render as rendering
from engine.planner.slots import TZ, Slot
from engine.planner.variables import content_variables
from sop_models import SopDocument
from sop_models.schedule import OnJoinAction

if TYPE_CHECKING:
    from engine.planner.core import GroupLike, JoinLike

MERGED = "merged"
"""The member part of a merged welcome's key."""
NAMES_SEPARATOR = "、"

Add = Callable[["GroupLike", Slot, rendering.RenderedMessage, date, str | None], None]


def plan_welcomes(
    doc: SopDocument,
    groups: Mapping[str, GroupLike],
    joins: Sequence[JoinLike],
    add: Add,
) -> None:
    """Hand every on-join action of `joins` to `add(group, slot, message, key_day, member)`."""
    quiet = doc.schedule.quiet_hours
    defer = quiet is not None and quiet.action == "defer"
    nights: dict[tuple[str, str, datetime], list[tuple[JoinLike, datetime]]] = {}
    ordered = sorted(joins, key=lambda j: (j.joined_at, j.group_id, j.member_id))
    for join in ordered:
        group = groups.get(join.group_id)
        if group is None:
            continue
        joined = join.joined_at.astimezone(TZ)
        for action in doc.schedule.on_join:
            at = joined + timedelta(minutes=action.delay_minutes)
            if defer and quiet is not None and quiet.contains(at.hour * 60 + at.minute):
                morning = _quiet_end(at, *quiet.minutes())
                nights.setdefault((group.id, action.id, morning), []).append((join, at))
                continue
            slot = _slot(doc, action, group.name, join.member_name, joined.date(), at)
            message = rendering.render(doc, action.template, slot.variables)
            add(group, slot, message, joined.date(), join.member_id)
    actions = {a.id: a for a in doc.schedule.on_join}
    for (group_id, action_id, morning), night in nights.items():
        group, action = groups[group_id], actions[action_id]
        names = NAMES_SEPARATOR.join(dict.fromkeys(j.member_name for j, _ in night))
        slot = _slot(doc, action, group.name, names, morning.date(), morning)
        base = rendering.render(doc, action.template, slot.variables)
        first, last = night[0][1], night[-1][1]
        span = f"{first:%H:%M}" if first == last else f"{first:%H:%M}-{last:%H:%M}"
        marks = {
            "quiet_hours": f"deferred from {span}",
            "merged": str(len(night)),
            "members": ",".join(dict.fromkeys(j.member_id for j, _ in night)),
        }
        message = rendering.RenderedMessage(base.text, base.msgtype, {**base.extra, **marks})
        add(group, slot, message, morning.date(), MERGED)


def _quiet_end(at: datetime, start: int, end: int) -> datetime:
    """When the quiet hours that hold `at` end (the same night's morning)."""
    minute = at.hour * 60 + at.minute
    day = at.date() + timedelta(1) if start > end and minute >= start else at.date()
    return datetime.combine(day, time(end // 60, end % 60), tzinfo=at.tzinfo)


def _slot(
    doc: SopDocument,
    action: OnJoinAction,
    group_name: str,
    member_name: str,
    on: date,
    at: datetime,
) -> Slot:
    variables = {
        **doc.document_variables(),
        **content_variables(doc, action.content_tag),
        "group_name": group_name,
        "member_name": member_name,
        "date": at.date().isoformat(),
    }
    name, tag = f"on_join.{action.id}", action.content_tag
    return Slot(name, "welcome", on, at, action.template, tag, False, variables)
