"""The KPI source of a workspace: its events plus the `delivered` rows of what sopflow sent.

Every KPI reader (`sop kpi`, the report, `sop check`) reads `kpi_source(ws)`, so that a team
sending only through sopflow has denominators for its delivery KPIs; which of the ledger and
the events counts for a message is decided in one place, engine/kpi/sends.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import bindparam, text

from engine.events.store import EventStore
from engine.groups import AwareDateTime
from engine.kpi.definitions import resolve
from engine.kpi.sends import LEDGER_COLUMNS, MEMBER_COUNTS, WithSends
from engine.ledger import DONE, SENT
from services.workspace import Workspace

#: Measures whose `delivered` rows the ledger can provide.
DELIVERED_MEASURES = frozenset({"delivered", "welcome_delivered"})


def kpi_source(
    ws: Workspace,
    *,
    sop_id: str | None = None,
    start: date | None = None,
    end: date | None = None,
    metrics: Sequence[str] | None = None,
) -> WithSends:
    """The events of the workspace plus its sent/done ledger rows (of `sop_id`, due around
    start..end) where no `delivered` event covers them; the ledger is not read when none of
    `metrics` divides by members reached."""
    store = EventStore(ws.events_dir)
    if metrics is not None and not any(DELIVERED_MEASURES & m.measures for m in resolve(metrics)):
        return WithSends(store, LEDGER_COLUMNS.empty_table(), MEMBER_COUNTS.empty_table())
    ledger = ledger_rows(ws, tz=store.tz, sop_id=sop_id, start=start, end=end)
    return WithSends(store, ledger, member_counts(ws))


def ledger_rows(
    ws: Workspace,
    *,
    tz: str,
    sop_id: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> pa.Table:
    """Sent and done ledger rows with a time (LEDGER_COLUMNS), read column-wise: at a million
    rows a row object each would cost more than the KPI query."""
    where = ["status IN (:sent, :done)", "(sent_at IS NOT NULL OR status = :done)"]
    params: dict[str, object] = {"sent": SENT, "done": DONE}
    binds = []
    if sop_id is not None:
        # With a window, `|| ''` keeps the database off the SOP index (one SOP may hold most
        # rows) and on the due-time one.
        where.append("sop_id || '' = :sop" if start or end else "sop_id = :sop")
        params["sop"] = sop_id
    zone = ZoneInfo(tz)
    # A hand post's day is its done time's; a row due a day outside the window may be done inside.
    for name, bound, op, shift in (("since", start, ">=", -1), ("until", end, "<", 1)):
        if bound is not None:
            at = datetime.combine(bound + timedelta(days=shift), time(0), zone).astimezone(UTC)
            where.append(f"due_at {op} :{name}")
            params[name] = at
            binds.append(bindparam(name, type_=AwareDateTime()))
    sql = text(
        "SELECT key, group_id, member_id, status, sent_at, updated_at, due_at, version, sop_id "
        f"FROM deliveries WHERE {' AND '.join(where)}"
    ).bindparams(*binds)
    with ws.engine.connect() as conn:
        rows = conn.execute(sql, params).fetchall()
        sqlite = conn.dialect.name == "sqlite"
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in LEDGER_COLUMNS]
    arrays = [
        _utc(values, sqlite)
        if field.name in ("sent_at", "updated_at", "due_at")
        else pa.array(values, pa.string())
        for field, values in zip(LEDGER_COLUMNS, columns, strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=LEDGER_COLUMNS)


def member_counts(ws: Workspace) -> pa.Table:
    """Each registered group's member count (MEMBER_COUNTS)."""
    with ws.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, member_count FROM groups")).fetchall()
    ids, counts = (list(c) for c in zip(*rows, strict=True)) if rows else ([], [])
    return pa.table({"group": pa.array(ids, pa.string()), "members": pa.array(counts, pa.int64())})


def _utc(values: Sequence[object], sqlite: bool) -> pa.Array:
    """UTC timestamps: SQLite hands back naive UTC text, PostgreSQL aware datetimes."""
    if sqlite:
        naive = pc.cast(pa.array(values, pa.string()), pa.timestamp("us"))
        return pc.cast(naive, pa.timestamp("us", tz="UTC"))
    return pa.array(values, pa.timestamp("us", tz="UTC"))
