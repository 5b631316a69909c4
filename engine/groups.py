"""The group registry: which customer groups exist, who runs them and which SOP they follow.

Refusals raise GroupRegistryError, DuplicateGroupError or UnknownGroupError (drawn in
`sop_models.errors`, re-exported here with BadRowsError). Importing groups from a CSV file is
`engine.group_csv`; changing and removing them `engine.group_edits`.

Group ids and SOP ids follow the id rule (`sop_models.ids`: no `:`, globs, slashes, spaces
or control characters, at most 64 characters), because they become parts of delivery keys and
git ref names; a bad one is refused by field (and by line in a CSV).

Service functions take a Session and plain values; the caller commits.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, TypeDecorator
from sqlmodel import Field, Session, SQLModel, col, select

from sop_models.errors import BadRowsError as BadRowsError
from sop_models.errors import DuplicateGroupError, GroupRegistryError, UnknownGroupError
from sop_models.ids import id_problem

CHANNELS = ("console", "outbox", "robot", "wecom_mass", "tasklist")
ALIASES = ("production", "candidate")
# A WeCom customer group (客户群) holds at most 500 members (WeCom 3.1.0 and later); neither
# ../shared/domain.md nor ../shared/wecom-api.md states the figure, WeCom's help pages do.
MAX_MEMBERS = 500
SHOWN_CHARS = 40  # a cell's value is cut to this many characters in a message


class AwareDateTime(TypeDecorator[datetime]):
    """Timezone-aware timestamps on every backend: stored as UTC, returned as aware UTC.

    SQLite has no time zone type, so it gets naive UTC; PostgreSQL gets timestamptz.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} (needs a UTC offset)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Group(SQLModel, table=True):
    """One customer group (WeCom/WeChat) and how its SOP actions reach it."""

    __tablename__ = "groups"

    id: str = Field(primary_key=True)
    name: str
    owner: str = ""
    sender: str = ""  # staff userid that owns the group (WeCom customer-group mass send)
    channel: str = "console"
    target: str = ""  # chat id, robot name, ...: never a webhook URL or a secret
    sop_id: str = Field(index=True)
    alias: str = "production"
    start_date: date | None = None  # cold-start day 1
    member_count: int = 0
    tags: str = "[]"  # JSON list, e.g. ["city:上海"]
    created_at: datetime = Field(sa_type=AwareDateTime)
    archived_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    """Set when a group with history is removed: it keeps its id and rows, gets no actions."""

    @property
    def tag_list(self) -> list[str]:
        """The tags as a list."""
        return list(json.loads(self.tags or "[]"))


def _check_values(values: dict[str, Any]) -> list[str]:
    """Every problem with one group's values, as 'field: message' strings."""
    problems: list[str] = []
    for name in ("id", "name", "sop_id"):
        if not str(values.get(name) or "").strip():
            problems.append(f"{'sop' if name == 'sop_id' else name}: required")
    for name, what in (("id", "group id"), ("sop_id", "SOP id")):
        value = values.get(name) or ""
        problem = id_problem(value, what) if value else None
        if problem is not None:
            problems.append(f"{'sop' if name == 'sop_id' else name}: {problem}")
    if values["channel"] not in CHANNELS:
        problems.append(f"channel: {_shown(values['channel'])} is not one of {', '.join(CHANNELS)}")
    if values["alias"] not in ALIASES:
        problems.append(f"alias: {_shown(values['alias'])} is not one of {', '.join(ALIASES)}")
    if values["channel"] in ("robot", "wecom_mass") and not values["target"]:
        problems.append(f"target: required for channel {values['channel']}")
    if values["channel"] == "wecom_mass" and not values["sender"]:
        problems.append("sender: required for channel wecom_mass (staff userid)")
    if not 0 <= values["member_count"] <= MAX_MEMBERS:
        problems.append(_members_out_of_range(str(values["member_count"])))
    target = values["target"].lower()
    if target.startswith(("http://", "https://")) or "key=" in target:
        problems.append("target: give the robot's name, not its webhook URL or key")
    return problems


def _members_out_of_range(shown: str) -> str:
    return (
        f"member_count: {shown} is not between 0 and {MAX_MEMBERS}"
        f" (a WeCom customer group holds at most {MAX_MEMBERS} members)"
    )


def _new_group(values: dict[str, Any], now: datetime) -> Group:
    tags = [t.strip() for t in values.pop("tags") if t.strip()]
    return Group(**values, tags=json.dumps(tags, ensure_ascii=False), created_at=now)


def add_group(
    session: Session,
    *,
    id: str,
    name: str,
    sop_id: str,
    now: datetime,
    owner: str = "",
    sender: str = "",
    channel: str = "console",
    target: str = "",
    alias: str = "production",
    start_date: date | None = None,
    member_count: int = 0,
    tags: Iterable[str] = (),
) -> Group:
    """Register one group; refuses an id that is already registered or bad values."""
    values: dict[str, Any] = {
        "id": id.strip(),
        "name": name.strip(),
        "owner": owner,
        "sender": sender,
        "channel": channel,
        "target": target,
        "sop_id": sop_id.strip(),
        "alias": alias,
        "start_date": start_date,
        "member_count": member_count,
        "tags": list(tags),
    }
    problems = _check_values(values)
    if problems:
        raise GroupRegistryError(f"group {_shown(id)}: {'; '.join(problems)}")
    if session.get(Group, values["id"]) is not None:
        raise DuplicateGroupError(f"group {values['id']!r} is already registered")
    group = _new_group(values, now)
    session.add(group)
    session.flush()
    return group


def _shown(value: str) -> str:
    """A cell's value for a one-line message: quoted, and cut short if long."""
    return repr(value if len(value) <= SHOWN_CHARS else value[:SHOWN_CHARS] + "…")


def get_group(session: Session, group_id: str) -> Group:
    """The group with this id, or UnknownGroupError."""
    group = session.get(Group, group_id)
    if group is None:
        raise UnknownGroupError([group_id], _all_ids(session))
    return group


def _all_ids(session: Session) -> list[str]:
    return list(session.exec(select(Group.id).order_by(col(Group.id))).all())


def list_groups(
    session: Session,
    sop_id: str | None = None,
    tag: str | None = None,
    *,
    archived: bool = False,
) -> list[Group]:
    """Registered groups ordered by id, optionally only one SOP's and/or those with a tag.

    Archived (removed) groups are left out unless `archived` is true.
    """
    query = select(Group).order_by(col(Group.id))
    if not archived:
        query = query.where(col(Group.archived_at).is_(None))
    if sop_id is not None:
        query = query.where(Group.sop_id == sop_id)
    groups = list(session.exec(query).all())
    if tag is not None:
        groups = [g for g in groups if tag in g.tag_list]
    return groups


def set_alias(session: Session, group_ids: Sequence[str], alias: str) -> list[Group]:
    """Point groups at the SOP's production or candidate version; refuses unknown ids."""
    if alias not in ALIASES:
        raise GroupRegistryError(f"alias {alias!r} is not one of {', '.join(ALIASES)}")
    ids = list(dict.fromkeys(group_ids))
    found = {g.id: g for g in session.exec(select(Group).where(col(Group.id).in_(ids))).all()}
    missing = [gid for gid in ids if gid not in found]
    if missing:
        raise UnknownGroupError(missing, _all_ids(session))
    for group in found.values():
        group.alias = alias
        session.add(group)
    session.flush()
    return [found[gid] for gid in ids]
