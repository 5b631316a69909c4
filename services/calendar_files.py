"""Holiday schedule files: the `date,type,name` CSV an ops lead imports, and the
`calendar.json` a workspace kept before the schedule moved into the database."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from datetime import date
from pathlib import Path

from engine.calendar import DayEntry
from sop_models.errors import BadRowsError, DataFileError, Problem, WorkspaceError

DAY_TYPES = {
    "holiday": False,
    "休": False,
    "休息": False,
    "假日": False,
    "节假日": False,
    "workday": True,
    "班": True,
    "上班": True,
    "工作日": True,
}
COLUMNS = ("date", "type", "name")
WHOLE_YEAR = ((1, 1), (10, 1))
"""A file holds a year's whole schedule when it lists these days of it as holidays."""


def read_legacy_file(path: Path) -> dict[date, DayEntry]:
    """The days of a `calendar.json` written before the schedule moved into the database."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))["days"]
        return {
            date.fromisoformat(r["date"]): DayEntry(bool(r["workday"]), r.get("name") or None)
            for r in rows
        }
    except (ValueError, KeyError, TypeError) as err:
        raise WorkspaceError(f"{path}: not a holiday schedule written by sopflow ({err})") from None


def whole_years(days: Mapping[date, DayEntry]) -> list[int]:
    """The years whose whole schedule `days` holds (元旦 and 国庆 listed as holidays)."""
    years = {d.year for d in days}
    return sorted(
        y
        for y in years
        if all((e := days.get(date(y, m, d))) is not None and not e.workday for m, d in WHOLE_YEAR)
    )


def read_schedule_file(path: Path) -> dict[date, DayEntry]:
    """Every row of a `date,type,name` CSV; BadRowsError lists each bad row by line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise DataFileError(f"{path}: cannot read: {err}") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in reader.fieldnames or []]
    if header[:2] != ["date", "type"] or not set(header) <= set(COLUMNS):
        raise DataFileError(f"{path}: line 1: the header must be `date,type,name`, not {header}")
    found: dict[date, DayEntry] = {}
    problems: list[Problem] = []
    for line, row in enumerate(reader, start=2):
        where = f"line {line}"
        cells = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if None in row:
            problems.append(Problem(str(path), where, "more fields than the header"))
            continue
        try:
            day = date.fromisoformat(cells["date"])
        except ValueError:
            problems.append(Problem(str(path), where, f"date {cells['date']!r} is not YYYY-MM-DD"))
            continue
        kind = cells["type"]
        if kind not in DAY_TYPES:
            problems.append(
                Problem(str(path), where, f"type {kind!r}: use holiday (休) or workday (班)")
            )
        elif day in found:
            problems.append(Problem(str(path), where, f"{day} is listed twice"))
        else:
            found[day] = DayEntry(DAY_TYPES[kind], cells.get("name") or None)
    if problems:
        raise BadRowsError(problems)
    if not found:
        raise DataFileError(f"{path}: no days to import")
    return found
