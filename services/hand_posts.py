"""The operator's phone page: hand posts of their groups for a day, and marking one done.

An operator's groups are those they own (`owner` is their account name) or send for (`sender`
is their WeCom userid); leads and admins see every group. Rows come from the checklist
service; marking done goes through the delivery ledger service, recording who and when.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from engine import ledger
from services.accounts import User
from services.deliveries import checklist, mark_done
from services.groups import list_groups
from services.workspace import Workspace
from sop_models.errors import AccountError

LATE_AFTER = timedelta(minutes=30)  # as `sop deliveries summary --late-after` by default
HAND_CHANNEL = "tasklist"


@dataclass
class DayWork:
    """One local day: posts to make by hand, and the other tasks needing a person."""

    day: date
    posts: list[dict[str, str]] = field(default_factory=list)
    other: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Posted:
    """A hand post marked done: when, and whether within LATE_AFTER of its due time."""

    key: str
    group_id: str
    done_at: datetime
    late: bool
    changed: bool


def groups_of(ws: Workspace, user: User) -> set[str] | None:
    """Ids of the groups a person works on; None for leads (every group)."""
    if user.is_lead:
        return None
    return {
        g.id
        for g in list_groups(ws)
        if g.owner == user.name or (user.wecom_userid and g.sender == user.wecom_userid)
    }


def day_work(ws: Workspace, *, user: User, day: date) -> DayWork:
    """The open hand work of `user`'s groups on a local day."""
    mine = groups_of(ws, user)
    work = DayWork(day)
    for row in checklist(ws, day=day):
        if mine is not None and row["group"] not in mine:
            continue
        is_post = row["channel"] == HAND_CHANNEL or row["todo"].startswith("发送失败")
        (work.posts if is_post else work.other).append(row)
    return work


def mark_posted(ws: Workspace, *, user: User, key: str, now: datetime) -> Posted:
    """Record that `user` posted `key` by hand now; refuse a key outside their groups."""
    with ws.session() as session:
        row = ledger.get_deliveries(session, [key]).get(key)
    mine = groups_of(ws, user)
    if row is None or (mine is not None and row.group_id not in mine):
        raise AccountError(f"{key}: not a task of {user.name}'s groups")
    result = mark_done(ws, keys=[key], by=user.name, now=now)
    return Posted(key, row.group_id, now, now - row.due_at > LATE_AFTER, key in result.changed)
