"""The group registry: which customer groups exist, who runs them and which SOP they follow.

Refusals raise GroupRegistryError, DuplicateGroupError or UnknownGroupError, a CSV header
with missing, unknown or repeated columns DataFileError, bad CSV rows BadRowsError (all drawn
in `sop_models.errors`, re-exported here).

Group ids and SOP ids follow the id rule (`sop_models.ids`: no `:`, globs, slashes, spaces
or control characters, at most 64 characters), because they become parts of delivery keys and
git ref names; a bad one is refused by field (and by line in a CSV).

Service functions take a Session and plain values; the caller commits.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Dialect, TypeDecorator
from sqlmodel import Field, Session, SQLModel, col, select

from sop_models.errors import (
    BadRowsError,
    DataFileError,
    DuplicateGroupError,
    GroupRegistryError,
    Problem,
    UnknownGroupError,
)
from sop_models.ids import id_problem

CHANNELS = ("console", "outbox", "robot", "wecom_mass", "tasklist")
ALIASES = ("production", "candidate")
CSV_COLUMNS = (
    *("id", "name", "owner", "sender", "channel", "target", "sop", "alias"),
    *("start_date", "member_count", "tags"),
)
REQUIRED_COLUMNS = ("id", "name", "sop")
# A WeCom customer group (客户群) holds at most 500 members (WeCom 3.1.0 and later); neither
# ../shared/domain.md nor ../shared/wecom-api.md states the figure, WeCom's help pages do.
MAX_MEMBERS = 500
EARLIEST_START = date(2000, 1, 1)
START_AHEAD = timedelta(days=366)  # a cold start may be planned up to a year ahead
SHOWN_CHARS = 40  # a cell's value is cut to this many characters in a message
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


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


def read_text_file(path: Path) -> str:
    """A data file's text: UTF-8 with or without BOM, or a one-line DataFileError."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFileError(
            f"{path}: not UTF-8 (bad byte at offset {exc.start}); save it as UTF-8"
        ) from None


def _shown(value: str) -> str:
    """A cell's value for a one-line message: quoted, and cut short if long."""
    return repr(value if len(value) <= SHOWN_CHARS else value[:SHOWN_CHARS] + "…")


def _parse_start(text: str, today: date) -> tuple[date | None, list[str]]:
    if not text:
        return None, []
    try:
        if not _ISO_DATE.fullmatch(text):
            raise ValueError(text)
        start = date.fromisoformat(text)
    except ValueError:
        return None, [f"start_date: {_shown(text)} is not a date (YYYY-MM-DD)"]
    latest = today + START_AHEAD
    if not EARLIEST_START <= start <= latest:
        return None, [f"start_date: {text} is not between {EARLIEST_START} and {latest}"]
    return start, []


def _parse_count(text: str) -> tuple[int, list[str]]:
    if not text:
        return 0, []
    if not _WHOLE_NUMBER.fullmatch(text):
        return 0, [f"member_count: {_shown(text)} is not a whole number"]
    if len(text.lstrip("+-").lstrip("0")) > 9:  # far out of range: no int, no 20-digit echo
        return 0, [_members_out_of_range(_shown(text))]  # _check_values then sees 0
    return int(text), []


def _parse_csv_row(row: dict[str, str], today: date) -> tuple[dict[str, Any], list[str]]:
    get = lambda name: (row.get(name) or "").strip()  # noqa: E731
    start, problems = _parse_start(get("start_date"), today)
    count, count_problems = _parse_count(get("member_count"))
    values: dict[str, Any] = {
        "id": get("id"),
        "name": get("name"),
        "owner": get("owner"),
        "sender": get("sender"),
        "channel": get("channel") or "console",
        "target": get("target"),
        "sop_id": get("sop"),
        "alias": get("alias") or "production",
        "start_date": start,
        "member_count": count,
        "tags": get("tags").split(";"),
    }
    return values, problems + count_problems + _check_values(values)


def _check_header(path: Path, fields: list[str]) -> list[str]:
    """The header's column names, or a one-line DataFileError naming every bad one."""
    header = [f.strip() for f in fields]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [
        name or f"(no name, column {n})"
        for n, name in enumerate(header, 1)
        if name not in CSV_COLUMNS
    ]
    repeated = [c for c in CSV_COLUMNS if header.count(c) > 1]
    parts = [f"missing column(s) {', '.join(missing)}"] if missing else []
    parts += [f"unknown column(s) {', '.join(dict.fromkeys(unknown))}"] if unknown else []
    parts += [f"repeated column(s) {', '.join(repeated)}"] if repeated else []
    if parts:
        known = ",".join(CSV_COLUMNS)
        raise DataFileError(f"{path}: {'; '.join(parts)} (known columns: {known})")
    return header


def import_groups_csv(session: Session, path: Path, *, now: datetime | None = None) -> int:
    """Import groups from a CSV file, all or nothing; returns how many were added.

    Header: id,name,owner,sender,channel,target,sop,alias,start_date,member_count,tags
    (only id, name and sop are required, each column at most once; tags are separated by `;`).
    A row may have fewer fields than the header (the rest are empty), never more; rows with
    every field empty are skipped. Every bad row is reported by line in one BadRowsError.
    """
    now = now or datetime.now(UTC)
    reader = csv.reader(io.StringIO(read_text_file(path), newline=""))
    try:
        header = _check_header(path, next(reader, []))
    except csv.Error as exc:
        raise DataFileError(f"{path}: line 1: not CSV ({exc})") from None
    problems: list[Problem] = []
    rows: list[dict[str, Any]] = []
    first_line: dict[str, int] = {}
    end = reader.line_num
    while True:
        line = end + 1  # a quoted field may span lines: report the row's first one
        try:
            fields = next(reader, None)
        except csv.Error as exc:  # a NUL byte, a field past csv's size limit
            problems.append(Problem(str(path), f"line {reader.line_num}", f"not CSV ({exc})"))
            break
        end = reader.line_num
        if fields is None:
            break
        if not any(f.strip() for f in fields):
            continue
        if len(fields) > len(header):
            extra = ",".join(fields[len(header) :])
            message = (
                f"{len(fields)} fields but the header has {len(header)} (extra: {_shown(extra)});"
                " quote a value that contains a comma"
            )
            problems.append(Problem(str(path), f"line {line}", message))
            continue
        cells = dict(zip(header, fields, strict=False))  # missing trailing fields: empty
        values, row_problems = _parse_csv_row(cells, now.date())
        gid = values["id"]
        if gid and gid in first_line:
            row_problems.append(f"id: {_shown(gid)} repeats line {first_line[gid]}")
        elif gid:
            first_line[gid] = line
        problems += [Problem(str(path), f"line {line}", msg) for msg in row_problems]
        rows.append(values)
    for gid in _existing_ids(session, list(first_line)):
        message = f"id: {_shown(gid)} is already registered"
        problems.append(Problem(str(path), f"line {first_line[gid]}", message))
    if problems:
        problems.sort(key=lambda p: int(p.path.split()[1]))
        raise BadRowsError(problems)
    for values in rows:
        session.add(_new_group(values, now))
    session.flush()
    return len(rows)


def _existing_ids(session: Session, ids: list[str]) -> list[str]:
    found: list[str] = []
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        found += session.exec(select(Group.id).where(col(Group.id).in_(part))).all()
    return sorted(found)


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
