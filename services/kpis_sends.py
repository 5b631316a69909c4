"""The KPI source of a workspace: its events plus the `delivered` rows of what sopflow sent.

Every KPI reader (`sop kpi`, the report, `sop check`) reads `kpi_source(ws)`, so that a team
sending only through sopflow has denominators for its delivery KPIs; which of the ledger and
the events counts for a message is decided in one place, engine/kpi/sends.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from engine.events.store import EventStore
from engine.groups import Group
from engine.kpi.sends import Send, WithSends
from engine.ledger import DONE, SENT, Delivery
from services.workspace import Workspace
from sop_models.messages import message_of_delivery

MERGED_SUFFIX = ":merged"  # engine.planner.welcomes.MERGED, the member part of a merged welcome


def kpi_source(
    ws: Workspace,
    *,
    sop_id: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> WithSends:
    """The events of the workspace plus its sent/done ledger rows (of `sop_id`, due or sent
    around start..end) where no `delivered` event covers them."""
    store = EventStore(ws.events_dir)
    return WithSends(store, ledger_sends(ws, tz=store.tz, sop_id=sop_id, start=start, end=end))


def ledger_sends(
    ws: Workspace,
    *,
    tz: str,
    sop_id: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> list[Send]:
    """Sent and done ledger rows as `delivered` rows: value 1 for a row to one member, the
    group's registered member count for a group post (None when it has none)."""
    d = Delivery
    stmt = select(
        d.key, d.group_id, d.member_id, d.status, d.sent_at, d.updated_at, d.version, d.sop_id
    ).where(col(d.status).in_((SENT, DONE)))
    if sop_id is not None:
        stmt = stmt.where(d.sop_id == sop_id)
    zone = ZoneInfo(tz)
    # A send's day is its send time's; a row due a day outside the window may be sent inside it.
    if start is not None:
        since = datetime.combine(start - timedelta(days=1), time(0), zone).astimezone(UTC)
        stmt = stmt.where(col(d.due_at) >= since)
    if end is not None:
        until = datetime.combine(end + timedelta(days=1), time(0), zone).astimezone(UTC)
        stmt = stmt.where(col(d.due_at) < until)
    with ws.session() as session:
        rows = session.exec(stmt).all()
        counts = dict(session.exec(select(Group.id, Group.member_count)).all())
    found = []
    for key, group, member, status, sent_at, updated_at, version, sop in rows:
        at = sent_at or (updated_at if status == DONE else None)
        try:
            message = message_of_delivery(key)
        except ValueError:
            continue  # not a planner key: no message to attribute
        if at is None:
            continue
        if member is not None:
            value: float | None = 1.0
        elif key.endswith(MERGED_SUFFIX):
            value = None  # a merged welcome: how many it welcomed is not in the ledger
        else:
            value = float(counts[group]) if counts.get(group) else None
        found.append(Send(group, at, value, version, sop, message))
    return found
