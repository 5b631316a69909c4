"""Importing groups from a CSV file into the registry (`engine.groups`), all rows or none.

Every bad row is reported by line in one BadRowsError (drawn in `sop_models.errors`); a header
with missing, unknown or repeated columns is a one-line DataFileError, and so is a file that
is not UTF-8 text (`read_text_file`, which the other CSV imports use too).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from engine.groups import Group, _check_values, _members_out_of_range, _new_group, _shown
from sop_models.errors import BadRowsError, DataFileError, Problem

CSV_COLUMNS = (
    *("id", "name", "owner", "sender", "channel", "target", "sop", "alias"),
    *("start_date", "member_count", "tags"),
)
REQUIRED_COLUMNS = ("id", "name", "sop")
EARLIEST_START = date(2000, 1, 1)
START_AHEAD = timedelta(days=366)  # a cold start may be planned up to a year ahead
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


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
