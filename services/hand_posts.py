"""The operator's phone page: hand posts of their groups for a day, and marking one done.

A person's groups are those they own (`owner` is their account name) or send for (`sender`
is their WeCom userid); the page lists those, whatever the role, and a lead may also mark any
group's post done. A row needs a person by the checklist's rule (`todo_for`); marking done
goes through the delivery ledger service, recording who and when.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import or_
from sqlmodel import col, select

from engine import ledger
from engine.groups import Group
from services.accounts import User
from services.checklist import CHECKLIST_COLUMNS, task_texts, todo_for
from services.deliveries import mark_done
from services.post_images import image_file, image_link, planned_extras
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


def groups_of(ws: Workspace, user: User) -> dict[str, str]:
    """Id -> name of the groups a person works on (owns, or sends for)."""
    mine = col(Group.owner) == user.name
    if user.wecom_userid:
        mine = or_(mine, col(Group.sender) == user.wecom_userid)
    with ws.session() as session:
        return dict(session.exec(select(Group.id, Group.name).where(mine)).all())


def day_work(ws: Workspace, *, user: User, day: date) -> DayWork:
    """The open hand work of `user`'s groups on a local day."""
    rows = _rows_of(ws, groups_of(ws, user), day)
    work = DayWork(day)
    for row in rows:
        is_post = row["channel"] == HAND_CHANNEL or row["todo"].startswith("发送失败")
        (work.posts if is_post else work.other).append(row)
    return work


def _rows_of(ws: Workspace, groups: dict[str, str], day: date) -> list[dict[str, str]]:
    """The checklist rows of a few groups, read by group (indexed) rather than the whole day."""
    zone = ws.settings.zone
    start = datetime.combine(day, time(), zone)
    texts = task_texts(ws.root / "tasks", day)
    found: list[tuple[datetime, dict[str, str]]] = []
    posts: list[ledger.Delivery] = []
    with ws.session() as session:
        for group_id, name in groups.items():
            for row in ledger.list_deliveries(
                session, group_id=group_id, since=start, until=start + timedelta(days=1)
            ):
                todo = todo_for(row)
                if todo is None:
                    continue
                posts.append(row)
                found.append(
                    (
                        row.due_at,
                        {
                            **dict.fromkeys(CHECKLIST_COLUMNS, ""),
                            "time": row.due_at.astimezone(zone).strftime("%H:%M"),
                            **{"group": group_id, "group_name": name, "channel": row.channel},
                            **{"todo": todo, "kind": row.kind, "slot": row.slot},
                            **{"member": row.member_id or "", "status": row.status},
                            **{"key": row.key, "text": texts.get(row.key, "")},
                        },
                    )
                )
    rows = [row for _, row in sorted(found, key=lambda item: (item[0], item[1]["key"]))]
    extras = planned_extras(ws, [(r.key, r.sop_id, r.version, r.group_id) for r in posts], day)
    for row in rows:
        row["image"] = image_link(row["key"], extras.get(row["key"], {}))
    return rows


def mark_posted(ws: Workspace, *, user: User, key: str, now: datetime) -> Posted:
    """Record that `user` posted `key` by hand now; refuse a key outside their groups."""
    with ws.session() as session:
        row = ledger.get_deliveries(session, [key]).get(key)
    if row is None or not (user.is_lead or row.group_id in groups_of(ws, user)):
        raise AccountError(f"{key}: not a task of {user.name}'s groups")
    result = mark_done(ws, keys=[key], by=user.name, now=now)
    return Posted(key, row.group_id, now, now - row.due_at > LATE_AFTER, key in result.changed)


def post_image(ws: Workspace, *, user: User, key: str) -> tuple[bytes, str] | None:
    """The image file of a hand post of `user`'s groups (a lead: any group's), else None."""
    with ws.session() as session:
        row = ledger.get_deliveries(session, [key]).get(key)
    if row is None or not (user.is_lead or row.group_id in groups_of(ws, user)):
        return None
    day = row.due_at.astimezone(ws.settings.zone).date()
    extras = planned_extras(ws, [(row.key, row.sop_id, row.version, row.group_id)], day)
    return image_file(ws, extras.get(key, {}))
