"""Event imports as batches: import (groups by id or name, labels from the registry and the
ledger, naive times in the workspace zone), list, and remove (audited in the hash chain)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, col, select

from engine.events.attribution import Attribution
from engine.events.schema import TimeLimits
from engine.events.store import EventStore, ImportResult
from engine.groups import Group
from engine.ledger.model import SETTLED, Delivery
from services.workspace import Workspace
from sop_models.errors import DataFileError
from versions import audit

EVENTS_SOP = "-"  # the audit record's SOP for an event batch that names several or none


@dataclass(frozen=True)
class Batch:
    """One stored import as `sop events list` shows it."""

    batch: str
    source: str
    rows: int
    skipped: int
    imported_at: str | None


def event_store(ws: Workspace) -> EventStore:
    """The workspace's event store (days in the workspace timezone for a new store)."""
    return EventStore(ws.events_dir)


def time_limits(ws: Workspace) -> TimeLimits:
    """Where event times must fall: `events_earliest` to `events_ahead_days` after the import."""
    first = ws.settings.events_earliest
    return TimeLimits(
        earliest=datetime(first.year, first.month, first.day, tzinfo=UTC),
        ahead=timedelta(days=ws.settings.events_ahead_days),
    )


def import_events(
    ws: Workspace, path: Path, *, now: datetime, tz: str | None = None, actor: str = "operator"
) -> ImportResult:
    """Import one event file as a batch; audited. Times without an offset are in `tz` (default:
    the workspace timezone); groups are matched by id or registered name."""
    zone = _zone(tz) if tz else ws.settings.timezone
    with ws.session() as session:
        attribution = _attribution(ws, session)
        result = event_store(ws).import_file(
            path, now=now, naive_tz=zone, attribution=attribution, limits=time_limits(ws)
        )
        if not result.new:
            return result
        try:
            audit.append(
                session,
                actor=actor,
                action="events-import",
                sop_id=EVENTS_SOP,
                version=None,
                before=None,
                after={"batch": result.sha256, "source": result.source, "rows": result.rows},
                note=f"batch {result.batch}: {result.rows} event(s) from {Path(path).name}",
                now=now,
            )
            session.commit()
        except BaseException:
            event_store(ws).remove(result.sha256)  # no batch without its audit record
            raise
    return result


def list_batches(ws: Workspace) -> list[Batch]:
    """Every stored batch, oldest first."""
    return [
        Batch(i.batch, i.source, i.rows, i.skipped, i.imported_at)
        for i in event_store(ws).imports()
    ]


def remove_batch(ws: Workspace, batch: str, *, now: datetime, actor: str) -> ImportResult:
    """Take one batch out of the event store; the removal is an audit record."""
    store = event_store(ws)
    entry = store.find(batch)
    with ws.session() as session:
        audit.append(
            session,
            actor=actor,
            action="events-remove",
            sop_id=EVENTS_SOP,
            version=None,
            before={"batch": entry.sha256, "source": entry.source, "rows": entry.rows},
            after=None,
            note=f"batch {entry.batch}: {entry.rows} event(s) from {Path(entry.source).name}",
            now=now,
        )
        store.remove(entry.sha256)  # the audit row commits only once the rows are gone
        session.commit()
    return entry


def _zone(tz: str) -> str:
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise DataFileError(f"--tz: unknown time zone {tz!r} (e.g. Asia/Shanghai)") from None
    return tz


def _attribution(ws: Workspace, session: Session) -> Attribution:
    groups = list(session.exec(select(Group)))
    by_name: dict[str, list[str]] = defaultdict(list)
    for g in groups:
        by_name[g.name.strip()].append(g.id)
    ids = {g.id: g.id for g in groups}
    names = {n: i[0] for n, i in by_name.items() if len(i) == 1 and n not in ids}
    ambiguous = {n: tuple(i) for n, i in by_name.items() if len(i) > 1 and n not in ids}
    zone = ZoneInfo(ws.settings.timezone)

    def versions(
        group_ids: Sequence[str], first: date, last: date
    ) -> list[tuple[str, date, str, str]]:
        return ledger_versions(session, group_ids, first, last, zone)

    return Attribution(
        groups={**names, **ids},
        sop_of={g.id: g.sop_id for g in groups},
        versions=versions,
        ambiguous=ambiguous,
    )


def ledger_versions(
    session: Session, group_ids: Sequence[str], first: date, last: date, zone: ZoneInfo
) -> list[tuple[str, date, str, str]]:
    """(group, day, sop, version) for every day first..last: the version of the group's last
    delivered post that day, or carried forward from the last day before with one."""
    until = datetime.combine(last + timedelta(days=1), time(0), zone)
    rows = session.exec(
        select(Delivery.group_id, Delivery.sop_id, Delivery.version, Delivery.due_at)
        .where(col(Delivery.group_id).in_(list(group_ids)))
        .where(col(Delivery.status).in_(SETTLED))
        .where(Delivery.due_at < until)
        .order_by(col(Delivery.due_at))
    ).all()
    latest: dict[tuple[str, str], dict[date, str]] = defaultdict(dict)
    for group_id, sop_id, version, due_at in rows:
        latest[(group_id, sop_id)][due_at.astimezone(zone).date()] = version
    out: list[tuple[str, date, str, str]] = []
    for (group_id, sop_id), by_day in latest.items():
        days = sorted(by_day)
        current = None
        for d in days:
            if d < first:
                current = by_day[d]
        day = first
        while day <= last:
            current = by_day.get(day, current)
            if current is not None:
                out.append((group_id, day, sop_id, current))
            day += timedelta(days=1)
    return out
