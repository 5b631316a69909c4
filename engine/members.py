"""Member joins: who joined which group when (the trigger for per-member welcome messages).

Imports are all or nothing and idempotent: a row already stored (same group, member and
instant, whatever the UTC offset it was written with) is skipped, so re-importing a file is a
no-op. Group and member ids follow the id rule (`sop_models.ids`); a bad one is refused by
line, like every other problem of the file.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, select

from engine.group_csv import read_text_file
from engine.groups import AwareDateTime, BadRowsError, Group
from sop_models.errors import DataFileError, Problem
from sop_models.ids import id_problem

COLUMNS = ("group", "member", "name", "joined_at")


class MemberJoin(SQLModel, table=True):
    """One member joining one group at one instant."""

    __tablename__ = "member_joins"
    __table_args__ = (
        UniqueConstraint("group_id", "member_id", "joined_at", name="uq_member_join"),
    )

    id: int | None = Field(default=None, primary_key=True)
    group_id: str = Field(foreign_key="groups.id", index=True)
    member_id: str
    member_name: str = ""
    joined_at: datetime = Field(sa_type=AwareDateTime, index=True)


def _records(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, raw record) pairs from a CSV or JSONL file."""
    text = read_text_file(path)
    if Path(path).suffix.lower() in (".jsonl", ".ndjson"):
        records: list[tuple[int, dict[str, Any]]] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                record = {"__error__": f"not JSON ({exc.msg})"}
            if not isinstance(record, dict):
                record = {"__error__": "not a JSON object"}
            records.append((number, record))
        return records
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in reader.fieldnames or []]
    reader.fieldnames = header
    missing = [c for c in ("group", "member", "joined_at") if c not in header]
    if missing:
        raise DataFileError(
            f"{path}: missing column(s) {', '.join(missing)} (header: {','.join(COLUMNS)})"
        )
    return [(reader.line_num, dict(row)) for row in reader]


def _parse(record: dict[str, Any]) -> tuple[tuple[str, str, str, datetime | None], list[str]]:
    if "__error__" in record:
        return ("", "", "", None), [record["__error__"]]
    get = lambda name: str(record.get(name) or "").strip()  # noqa: E731
    problems = [f"{name}: required" for name in ("group", "member") if not get(name)]
    for name in ("group", "member"):
        problem = id_problem(get(name), f"{name} id") if get(name) else None
        if problem is not None:
            problems.append(f"{name}: {problem}")
    joined: datetime | None = None
    raw = get("joined_at")
    if not raw:
        problems.append("joined_at: required")
    else:
        try:
            joined = datetime.fromisoformat(raw)
        except ValueError:
            problems.append(f"joined_at: {raw!r} is not an ISO-8601 time")
        else:
            if joined.tzinfo is None:
                problems.append(f"joined_at: {raw!r} has no UTC offset (e.g. +08:00)")
                joined = None
    return (get("group"), get("member"), get("name"), joined), problems


def import_member_joins(session: Session, path: Path) -> int:
    """Import member joins from CSV or JSONL (`group,member,name,joined_at`), all or nothing.

    Returns how many new joins were stored; rows already stored are skipped.
    """
    problems: list[Problem] = []
    parsed: list[tuple[str, str, str, datetime]] = []
    lines_by_group: dict[str, int] = {}
    for line, record in _records(path):
        (group, member, name, joined), row_problems = _parse(record)
        problems += [Problem(str(path), f"line {line}", msg) for msg in row_problems]
        if group and id_problem(group) is None:  # a bad id is reported once, above
            lines_by_group.setdefault(group, line)
        if not row_problems and joined is not None:
            parsed.append((group, member, name, joined))
    known = set(session.exec(select(Group.id).where(col(Group.id).in_(list(lines_by_group)))).all())
    for group, line in lines_by_group.items():
        if group not in known:
            problems.append(Problem(str(path), f"line {line}", f"group: unknown group {group!r}"))
    if problems:
        problems.sort(key=lambda p: int(p.path.split()[1]))
        raise BadRowsError(problems)
    if not parsed:
        return 0
    seen = _stored_keys(session, parsed)
    added = 0
    for group, member, name, joined in parsed:
        key = (group, member, joined)
        if key in seen:
            continue
        seen.add(key)
        session.add(
            MemberJoin(group_id=group, member_id=member, member_name=name, joined_at=joined)
        )
        added += 1
    session.flush()
    return added


def _stored_keys(
    session: Session, rows: list[tuple[str, str, str, datetime]]
) -> set[tuple[str, str, datetime]]:
    """(group, member, instant) of rows already stored in the span the file covers."""
    first = min(r[3] for r in rows)
    last = max(r[3] for r in rows)
    query = select(MemberJoin.group_id, MemberJoin.member_id, MemberJoin.joined_at).where(
        col(MemberJoin.group_id).in_(sorted({r[0] for r in rows})),
        col(MemberJoin.joined_at) >= first,
        col(MemberJoin.joined_at) <= last,
    )
    return {(g, m, j) for g, m, j in session.exec(query).all()}


def joins_between(
    session: Session, start: datetime, end: datetime, group_ids: Sequence[str] | None = None
) -> list[MemberJoin]:
    """Joins with start <= joined_at < end, oldest first, optionally only some groups."""
    query = select(MemberJoin).where(
        col(MemberJoin.joined_at) >= start, col(MemberJoin.joined_at) < end
    )
    if group_ids is not None:
        query = query.where(col(MemberJoin.group_id).in_(list(group_ids)))
    query = query.order_by(col(MemberJoin.joined_at), col(MemberJoin.id))
    return list(session.exec(query).all())
