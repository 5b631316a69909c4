"""The workspace holiday schedule: days an ops lead entered over the official library data.

Storage is a file in the workspace, `calendar.json`, not a database table: the schedule is
workspace configuration like `sopflow.toml` (a few dozen rows a year, read whole by every plan,
worth reading and copying by hand), and the workspace is already one folder on one host (its
`store.git` is). Writes hold an flock and replace the file atomically, so an import either
lands whole or leaves the previous file as it was.

Import files are CSV with the header `date,type,name`: `type` is `holiday` (休) or `workday`
(班, an adjusted weekend workday); the State Council's notice lists exactly these days.
"""

from __future__ import annotations

import csv
import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from engine.calendar import (
    HOLIDAY_YEARS,
    DataHorizon,
    DayEntry,
    WorkdayCalendar,
    library_note,
)
from services.workspace import Workspace
from services.workspace_files import write_audited
from sop_models.errors import BadRowsError, DataFileError, Problem, WorkspaceError
from sop_models.i18n import tr

CALENDAR_FILE = "calendar.json"
WARN_DAYS = 45
"""`sop doctor` and `sop serve` warn this many days before the holiday data runs out."""
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
WORKSPACE_AUDIT_ID = "(workspace)"
"""The audit records' `sop_id` for changes to the workspace calendar (no one SOP's)."""


def _path(ws: Workspace) -> Path:
    return ws.root / CALENDAR_FILE


def load_entered(ws: Workspace) -> dict[date, DayEntry]:
    """The days this workspace entered (empty when it entered none)."""
    path = _path(ws)
    if not path.exists():
        return {}
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))["days"]
        return {
            date.fromisoformat(r["date"]): DayEntry(bool(r["workday"]), r.get("name") or None)
            for r in rows
        }
    except (ValueError, KeyError, TypeError) as err:
        raise WorkspaceError(f"{path}: not a holiday schedule written by sopflow ({err})") from None


def workspace_calendar(ws: Workspace) -> WorkdayCalendar:
    """The calendar plans and runs of this workspace use: entered days + the fallback setting."""
    return WorkdayCalendar(entered=load_entered(ws), fallback=ws.settings.workday_fallback)


@dataclass
class _Change:
    """What one write of calendar.json audits (filled in by the caller inside the lock)."""

    action: str
    by: str | None
    now: datetime | None
    note: str = ""
    before: dict[str, object] | None = None
    after: dict[str, object] = field(default_factory=dict)


@contextmanager
def _locked(ws: Workspace, change: _Change) -> Iterator[dict[date, DayEntry]]:
    """The entered days under an exclusive lock; written back (atomically, with `change` in
    the audit trail: `services.workspace_files`) when no error."""
    with (ws.root / f"{CALENDAR_FILE}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            days = load_entered(ws)
            yield days
            rows = [
                {"date": d.isoformat(), "workday": e.workday, "name": e.name}
                for d, e in sorted(days.items())
            ]
            text = json.dumps({"days": rows}, ensure_ascii=False, indent=1) + "\n"
            write_audited(
                ws,
                name=CALENDAR_FILE,
                text=text,
                action=change.action,
                sop_id=WORKSPACE_AUDIT_ID,
                by=change.by,
                before=change.before,
                after=change.after,
                note=change.note,
                now=change.now,
            )
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _day(entry: DayEntry | None) -> dict[str, object] | None:
    return None if entry is None else {"workday": entry.workday, "name": entry.name}


def set_day(
    ws: Workspace,
    *,
    day: date,
    workday: bool,
    name: str | None = None,
    by: str | None = None,
    now: datetime | None = None,
) -> None:
    """Enter one day as a workday or a holiday (replacing what was entered for it); audited
    as `calendar_set` by `by` (default: the OS login name)."""
    change = _Change("calendar_set", by, now)
    with _locked(ws, change) as days:
        entry = DayEntry(workday, name or None)
        change.before = {"date": day.isoformat(), "day": _day(days.get(day))}
        change.after = {"date": day.isoformat(), "day": _day(entry)}
        kind = "workday" if workday else "holiday"
        change.note = f"calendar {day.isoformat()}: {kind} {name or ''}".rstrip()
        days[day] = entry


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


def import_schedule(
    ws: Workspace, *, path: Path, by: str | None = None, now: datetime | None = None
) -> list[int]:
    """Enter every day of the file (all rows or none); returns the years it touched. Audited
    as `calendar_import` (the days that changed, before and after)."""
    entries = read_schedule_file(path)
    years = sorted({d.year for d in entries})
    change = _Change("calendar_import", by, now)
    with _locked(ws, change) as days:
        changed = sorted(d for d, e in entries.items() if days.get(d) != e)
        change.before = {"days": {d.isoformat(): _day(days.get(d)) for d in changed}}
        change.after = {"days": {d.isoformat(): _day(entries[d]) for d in changed}}
        change.note = (
            f"calendar import {path.name}: {len(entries)} day(s) for "
            f"{', '.join(map(str, years))}, {len(changed)} changed"
        )
        days.update(entries)
    return years


@dataclass(frozen=True)
class YearView:
    """A year's holidays and adjusted workdays, and where the data comes from."""

    year: int
    source: str  # "official", "official + entered", "entered" or "none"
    rows: list[tuple[date, bool, str | None, bool]]  # day, workday, name, entered


def year_view(ws: Workspace, year: int) -> YearView:
    """The days of `year` that break the Monday-Friday rhythm, or are named, with their source."""
    cal = workspace_calendar(ws)
    first, last = HOLIDAY_YEARS
    official = first <= year <= last
    entered = year in cal.entered_years
    source = {(True, False): "official", (True, True): "official + entered"}.get(
        (official, entered), "entered" if entered else "none"
    )
    rows: list[tuple[date, bool, str | None, bool]] = []
    if source != "none":
        day = date(year, 1, 1)
        while day.year == year:
            workday, name = cal.is_workday(day), cal.holiday_name(day)
            if workday != (day.weekday() < 5) or name:
                rows.append((day, workday, name, day in cal.entered))
            day += timedelta(1)
    return YearView(year, source, rows)


def horizon(ws: Workspace, *, today: date, days: int = WARN_DAYS) -> DataHorizon:
    """How far this workspace's holiday data (official or entered) reaches from `today`."""
    return workspace_calendar(ws).horizon(today, days=days)


def coverage_warnings(ws: Workspace, *, today: date, days: int = WARN_DAYS) -> list[str]:
    """A warning when the holiday data (official or entered) ends within `days` of `today`."""
    return render_warnings(horizon(ws, today=today, days=days))


def render_warnings(found: DataHorizon) -> list[str]:
    """The horizon as `sop serve`'s warning lines (none when it is ok)."""
    if found.ok:
        return []
    if found.covered_until is None:
        return [
            tr(
                "no holiday schedule for {year} ({library}): workday slots then follow "
                "workday_fallback = {fallback}; enter it with `sop calendar import FILE`"
            ).format(year=found.today.year, library=library_note(), fallback=repr(found.fallback))
        ]
    return [
        tr(
            "holiday data ends {day} ({days} days from now; {library}): enter {year}'s official "
            "schedule with `sop calendar import FILE` before then, or workday slots then follow "
            "workday_fallback = {fallback}"
        ).format(
            day=found.covered_until,
            days=found.days_left,
            library=library_note(),
            year=found.missing[0],
            fallback=repr(found.fallback),
        )
    ]
