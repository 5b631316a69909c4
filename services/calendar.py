"""The workspace holiday schedule: days an ops lead entered over the official library data.

The schedule lives in the workspace database (`engine.calendar_days`: entered days and the
years marked complete), so every machine on one `database_url` plans with it: a pool worker
with its own cache folder honours a holiday the registering machine entered. Each change is
one transaction with its audit record (`calendar_set`, `calendar_import`, `calendar_complete`).
A workspace that kept the schedule in `calendar.json` (before the database) has the file
imported once, on first use, and renamed to `calendar.json.imported`.

A year counts as known only when it is marked complete: importing a file that holds the
year's whole schedule (its 元旦 and 国庆 holidays: every State Council notice lists them) or
`sop calendar complete YEAR`. Days set one by one override those days only.

Import files are CSV with the header `date,type,name`: `type` is `holiday` (休) or `workday`
(班, an adjusted weekend workday); the State Council's notice lists exactly these days.
"""

from __future__ import annotations

import fcntl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, select

from engine.calendar import (
    HOLIDAY_YEARS,
    DataHorizon,
    DayEntry,
    WorkdayCalendar,
    library_note,
)
from engine.calendar_days import CalendarDay, CalendarYear
from services.calendar_files import (  # noqa: F401  (DAY_TYPES: for the CLI)
    DAY_TYPES,
    read_legacy_file,
    read_schedule_file,
    whole_years,
)
from services.cli_identity import os_user, signed
from services.workspace import Workspace
from sop_models.errors import CalendarDataMissing
from sop_models.i18n import tr
from versions import audit

CALENDAR_FILE = "calendar.json"
"""Where the schedule was kept before the database; imported once (services docstring)."""
WARN_DAYS = 45
"""`sop doctor` and `sop serve` warn this many days before the holiday data runs out."""
WORKSPACE_AUDIT_ID = "(workspace)"
"""The audit records' `sop_id` for changes to the workspace calendar (no one SOP's)."""


def _import_legacy_file(ws: Workspace) -> None:
    """Move a `calendar.json` of this workspace into the database, once (audited)."""
    path = ws.root / CALENDAR_FILE
    if not path.exists():
        return
    with (ws.root / f"{CALENDAR_FILE}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            if not path.exists():
                return  # another process of this machine moved it meanwhile
            found = read_legacy_file(path)
            moved = path.with_name(f"{CALENDAR_FILE}.imported")
            path.replace(moved)
            try:
                _write(
                    ws,
                    found,
                    whole_years(found),
                    action="calendar_import",
                    by=None,
                    source=f"import {CALENDAR_FILE}",
                    note=f"{CALENDAR_FILE} moved into the database ({len(found)} day(s))",
                    files={CALENDAR_FILE: None},
                    keep_entered=True,
                )
            except BaseException:
                moved.replace(path)
                raise
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _entered(session: Session) -> dict[date, DayEntry]:
    rows = session.exec(select(CalendarDay)).all()
    return {r.day: DayEntry(r.workday, r.name) for r in rows}


def load_entered(ws: Workspace) -> dict[date, DayEntry]:
    """The days this workspace entered (empty when it entered none)."""
    _import_legacy_file(ws)
    with ws.session() as session:
        return _entered(session)


def complete_years(ws: Workspace) -> frozenset[int]:
    """The years this workspace marked complete (a whole year's schedule entered)."""
    _import_legacy_file(ws)
    with ws.session() as session:
        return frozenset(session.exec(select(CalendarYear.year)).all())


def workspace_calendar(ws: Workspace) -> WorkdayCalendar:
    """The calendar plans and runs of this workspace use: entered days, complete years and
    the fallback setting."""
    return WorkdayCalendar(
        entered=load_entered(ws),
        fallback=ws.settings.workday_fallback,
        complete_years=complete_years(ws),
    )


def _day(entry: DayEntry | None) -> dict[str, object] | None:
    return None if entry is None else {"workday": entry.workday, "name": entry.name}


def _write(
    ws: Workspace,
    days: Mapping[date, DayEntry],
    years: list[int],
    *,
    action: str,
    by: str | None,
    source: str,
    note: str,
    now: datetime | None = None,
    files: dict[str, None] | None = None,
    keep_entered: bool = False,
    count_changed: bool = False,
) -> list[date]:
    """Enter `days` and mark `years` complete in one transaction with its audit record
    (`keep_entered`: a day already in the database wins; `count_changed`: the note ends with
    how many days changed); returns the days that changed."""
    user = os_user()
    at = now or datetime.now(UTC)
    with ws.session() as session:
        old = _entered(session)
        changed = sorted(
            d for d, e in days.items() if old.get(d) != e and not (keep_entered and d in old)
        )
        for day in changed:
            entry = days[day]
            session.merge(CalendarDay(day=day, workday=entry.workday, name=entry.name))
        marked = set(session.exec(select(CalendarYear.year)).all())
        new_years = [y for y in years if y not in marked]
        for year in new_years:
            session.add(
                CalendarYear(year=year, marked_by=signed(by or user, user), marked_at=at,
                             source=source)
            )  # fmt: skip
        after: dict[str, object] = {"days": {d.isoformat(): _day(days[d]) for d in changed}}
        if new_years:
            after["complete_years"] = new_years
        if files is not None:
            after["files"] = files
        audit.append(
            session,
            actor=signed(by or user, user),
            action=action,
            sop_id=WORKSPACE_AUDIT_ID,
            version=None,
            before={"days": {d.isoformat(): _day(old.get(d)) for d in changed}},
            after=after,
            note=f"{note}, {len(changed)} changed" if count_changed else note,
            now=at,
        )
        session.commit()
    return changed


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
    as `calendar_set` by `by` (default: the OS login name). The year stays as covered as it
    was: one day does not make a year's schedule known."""
    _import_legacy_file(ws)
    kind = "workday" if workday else "holiday"
    note = f"calendar {day.isoformat()}: {kind} {name or ''}".rstrip()
    entry = DayEntry(workday, name or None)
    _write(ws, {day: entry}, [], action="calendar_set", by=by, source="set", note=note, now=now)


def mark_complete(
    ws: Workspace, *, year: int, by: str | None = None, now: datetime | None = None
) -> bool:
    """Mark `year`'s entered schedule as the whole of it (audited as `calendar_complete`);
    False when it already was. A year without any entered holiday is refused."""
    _import_legacy_file(ws)
    if year in complete_years(ws):
        return False
    if not any(d.year == year and not e.workday for d, e in load_entered(ws).items()):
        raise CalendarDataMissing(
            f"YEAR: no holiday of {year} is entered; enter its schedule first "
            "(`sop calendar import FILE` or `sop calendar set DATE holiday`)"
        )
    note = f"calendar {year}: schedule complete"
    _write(ws, {}, [year], action="calendar_complete", by=by, source="complete", note=note, now=now)
    return True


@dataclass(frozen=True)
class Imported:
    """What `import_schedule` entered: the years it touched, those it marked complete."""

    years: list[int]
    complete: list[int]
    changed: int


def import_schedule(
    ws: Workspace, *, path: Path, by: str | None = None, now: datetime | None = None
) -> Imported:
    """Enter every day of the file (all rows or none) and mark complete each year whose whole
    schedule it holds (`whole_years`). Audited as `calendar_import` (the days that changed,
    before and after, and the years marked)."""
    _import_legacy_file(ws)
    entries = read_schedule_file(path)
    years = sorted({d.year for d in entries})
    whole = whole_years(entries)
    shown = ", ".join(map(str, years))
    note = f"calendar import {path.name}: {len(entries)} day(s) for {shown}"
    changed = _write(
        ws,
        entries,
        whole,
        action="calendar_import",
        by=by,
        source=f"import {path.name}",
        note=note,
        now=now,
        count_changed=True,
    )
    return Imported(years, whole, len(changed))


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
    complete = year in cal.complete_years
    source = {(True, False): "official", (True, True): "official + entered"}.get(
        (official, entered), "entered" if complete else "partly entered" if entered else "none"
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
