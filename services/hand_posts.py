"""The operator's phone page: the hand work of their groups on a day, and marking a post done.

A person's groups are those they own (`owner` is their account name) or send for (`sender`
is their WeCom userid); the page lists those, whatever the role, and a lead may also mark any
group's post done. The day comes from the plan (`services.today`, as `sop today` and the
checklist), not from what a run has dispatched: posts show before any run, missed posts stay
listed, texts are the plan's rendering. Internal tasks (RFM lists) are listed apart, never as
posts. Marking done is `services.done_marks.record_done` (the CLI's rule: a planned post with
no ledger row gets one), judged by the ledger's punctuality rule (early, on time, late).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import or_
from sqlmodel import col, select

from engine import ledger
from engine.groups import Group
from services.accounts import User
from services.done_marks import judge, record_done
from services.post_images import image_file, image_link, planned_extras
from services.today import CHECK, INTERNAL, POST, DayItem, build_day, item_row
from services.workspace import Workspace
from sop_models.errors import AccountError, LedgerError


@dataclass
class DayWork:
    """One local day: posts to make by hand, internal tasks, and other rows needing a person."""

    day: date
    posts: list[dict[str, str]] = field(default_factory=list)
    internal: list[dict[str, str]] = field(default_factory=list)
    other: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Posted:
    """A hand post marked done: when, its verdict (`early`, `on_time`, `late`), its names."""

    key: str
    group_id: str
    group_name: str
    post: str
    done_at: datetime
    verdict: str
    changed: bool


def groups_of(ws: Workspace, user: User) -> dict[str, str]:
    """Id -> name of the groups a person works on (owns, or sends for)."""
    mine = col(Group.owner) == user.name
    if user.wecom_userid:
        mine = or_(mine, col(Group.sender) == user.wecom_userid)
    with ws.session() as session:
        return dict(session.exec(select(Group.id, Group.name).where(mine)).all())


def is_hand_post(item: DayItem) -> bool:
    """A post a person makes: planned by hand, or a machine send that failed for good (by its
    ledger status: `todo_for` lists a failed row only once no retries are left)."""
    return item.section == POST or (item.section == CHECK and item.status == ledger.FAILED)


def day_work(ws: Workspace, *, user: User, day: date) -> DayWork:
    """The open hand work of `user`'s groups on a local day, from the plan."""
    view = build_day(ws, day=day, group_ids=set(groups_of(ws, user)))
    zone = ws.settings.zone
    work = DayWork(day)
    posts: list[DayItem] = []
    for item in view.items:
        if item.finished:
            continue
        row = item_row(item, zone)
        if item.section == INTERNAL:
            work.internal.append(row)
        elif is_hand_post(item):
            work.posts.append(row)
            posts.append(item)
        else:
            work.other.append(row)
    extras = planned_extras(ws, [(i.key, i.sop_id, i.version, i.group_id) for i in posts], day)
    for row in work.posts:
        row["image"] = image_link(row["key"], extras.get(row["key"], {}))
    return work


def _post_of(ws: Workspace, key: str) -> tuple[str, date] | None:
    """The group and local day a key names: its ledger row's, else a planner key's parts."""
    with ws.session() as session:
        row = ledger.get_deliveries(session, [key]).get(key)
    if row is not None:
        return row.group_id, row.due_at.astimezone(ws.settings.zone).date()
    parts = key.split(":")  # sop:version:group:slot:date[:member]
    if len(parts) not in (5, 6):
        return None
    try:
        return parts[2], date.fromisoformat(parts[4])
    except ValueError:
        return None


def mark_posted(ws: Workspace, *, user: User, key: str, now: datetime) -> Posted:
    """Record that `user` posted `key` by hand now; refuse a key outside their groups."""
    found = _post_of(ws, key)
    if found is None or not (user.is_lead or found[0] in groups_of(ws, user)):
        raise AccountError(f"{key}: not a task of {user.name}'s groups")
    group_id, day = found
    try:
        report = record_done(ws, keys=[key], by=user.name, at=now, now=now)
    except LedgerError as err:  # not a planned post nor a ledger row
        raise AccountError(f"{key}: not a task of {user.name}'s groups ({err})") from None
    done_key = report.typed[key]
    with ws.session() as session:
        row = ledger.get_deliveries(session, [done_key])[done_key]
    verdict = report.changed.get(done_key) or judge(row.due_at, row.sent_at or now)
    view = build_day(ws, day=day, group_ids={group_id})
    item = next((i for i in view.items if i.key == done_key), None)
    return Posted(
        key=done_key,
        group_id=group_id,
        group_name=item.group_name if item else "",
        post=item.post if item else row.slot,
        done_at=row.sent_at or now,
        verdict=verdict,
        changed=done_key in report.changed,
    )


def post_image(ws: Workspace, *, user: User, key: str) -> tuple[bytes, str] | None:
    """The image file of a hand post of `user`'s groups (a lead: any group's), else None."""
    found = _post_of(ws, key)
    if found is None or not (user.is_lead or found[0] in groups_of(ws, user)):
        return None
    group_id, day = found
    parts = key.split(":")
    with ws.session() as session:
        row = ledger.get_deliveries(session, [key]).get(key)
    sop_id, version = (row.sop_id, row.version) if row else (parts[0], parts[1])
    extras = planned_extras(ws, [(key, sop_id, version, group_id)], day)
    return image_file(ws, extras.get(key, {}))
