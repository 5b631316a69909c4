"""Compute KPIs over stored events with DuckDB: one generated query for all metrics and units."""

from __future__ import annotations

import atexit
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import pyarrow as pa

from engine.kpi.definitions import Metric, resolve
from engine.kpi.sql import KEY_COLUMNS, OUT_NAMES, Query, build_sql
from sop_models.errors import CheckError, one_line

Key = Literal["group", "version", "day"]
DEFAULT_TZ = "Asia/Shanghai"


class EventSource(Protocol):
    """What compute_kpis needs from an event store (engine.events.EventStore fits)."""

    @property
    def tz(self) -> str:
        """Zone of the stored `day` column."""
        ...

    def source_sql(self) -> str:
        """A FROM-clause item reading all events."""
        ...

    def summary(self) -> EventExtent:
        """First and last day, latest time, and how many events lack a version or sop."""
        ...


_DB: duckdb.DuckDBPyConnection | None = None
_DB_LOCK = threading.Lock()


def _close_shared() -> None:
    global _DB
    with _DB_LOCK:
        if _DB is not None:
            _DB.close()
            _DB = None


atexit.register(_close_shared)


def _cursor() -> duckdb.DuckDBPyConnection:
    """A connection to one shared in-memory database: opening a database per call costs more
    than a small KPI query."""
    global _DB
    with _DB_LOCK:
        if _DB is None:
            _DB = duckdb.connect()
        return _DB.cursor()


def compute_kpis(
    source: EventSource | duckdb.DuckDBPyConnection,
    *,
    metrics: Sequence[str] | None = None,
    by: Sequence[Key] = ("version",),
    sop_version: str | Sequence[str] | None = None,
    sop: str | None = None,
    start: date | None = None,
    end: date | None = None,
    table: str = "events",
    tz: str = DEFAULT_TZ,
) -> pa.Table:
    """KPI rows (metric, <by columns>, num, den, value) for local days start..end (end exclusive).

    `by` is any combination of "group", "version" and "day" (empty: one row per metric);
    output columns are named group, sop_version, day. `source` is an EventStore or a DuckDB
    connection holding a table or view `table` in the event schema (its `day` is computed in
    `tz` when missing). Units with zero numerator and zero denominator are left out.
    """
    chosen = resolve(metrics)
    keys = _keys(by)
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise CheckError(f"unknown time zone {tz!r}") from None
    for bound in (start, end):
        if isinstance(bound, datetime):
            raise CheckError(f"KPI window bounds are local dates, not times: {bound.isoformat()}")
    versions = [sop_version] if isinstance(sop_version, str) else sop_version
    versions = [v.strip().lstrip("vV") for v in versions] if versions is not None else None
    ask = _Ask(chosen, keys, versions, sop, start, end)
    if isinstance(source, duckdb.DuckDBPyConnection):
        src = _connection_source(source, table, tz)
        return _compute(source, src, _scan_extent(source, src), tz, ask)
    con = _cursor()
    try:
        return _compute(con, source.source_sql(), source.summary(), source.tz, ask)
    finally:
        con.close()


def unit_sums(
    source: EventSource | duckdb.DuckDBPyConnection,
    metric: str,
    *,
    start: date | None = None,
    end: date | None = None,
    sop: str | None = None,
) -> pa.Table:
    """Per (group, sop_version) numerator and denominator sums of one metric: the statistics
    engine's input for the delta method. Columns: group, sop_version, num, den."""
    rows = compute_kpis(
        source, metrics=[metric], by=("group", "version"), sop=sop, start=start, end=end
    )
    return rows.select(["group", "sop_version", "num", "den"])


def _keys(by: Sequence[str]) -> list[str]:
    if isinstance(by, str):
        by = (by,)
    unknown = [b for b in by if b not in KEY_COLUMNS]
    if unknown:
        raise CheckError(f"cannot group KPIs by {', '.join(unknown)} (use group, version, day)")
    return list(dict.fromkeys(by))


def _connection_source(con: duckdb.DuckDBPyConnection, table: str, tz: str) -> str:
    try:
        cols = [d[0] for d in con.execute(f"SELECT * FROM {table} LIMIT 0").description]
    except duckdb.Error as err:
        raise CheckError(f"no event table {table!r} on the connection ({one_line(err)})") from None
    extra = []
    if "day" not in cols:
        extra.append(f"CAST(timezone('{tz}', time) AS DATE) AS day")
    if "sop" not in cols:
        extra.append("NULL::VARCHAR AS sop")
    if "message" not in cols:
        extra.append("NULL::VARCHAR AS message")
    return f"(SELECT *{''.join(', ' + e for e in extra)} FROM {table})" if extra else table


@dataclass(frozen=True)
class _Ask:
    """One compute_kpis call's request, checked."""

    metrics: list[Metric]
    keys: list[str]
    versions: list[str] | None
    sop: str | None
    start: date | None
    end: date | None


class EventExtent(Protocol):
    """What the query plan needs to know about the events before it runs."""

    @property
    def first_day(self) -> date | None: ...
    @property
    def last_day(self) -> date | None: ...
    @property
    def latest(self) -> datetime | None: ...
    @property
    def without_version(self) -> int: ...
    @property
    def without_sop(self) -> int: ...


@dataclass(frozen=True)
class _Scanned:
    """An extent found by scanning a table on a connection."""

    first_day: date | None
    last_day: date | None
    latest: datetime | None
    without_version: int
    without_sop: int


def _scan_extent(con: duckdb.DuckDBPyConnection, source: str) -> EventExtent:
    row = con.execute(
        f"""SELECT min(day), max(day), max(time), count(*) FILTER (WHERE sop_version IS NULL),
                   count(*) FILTER (WHERE sop IS NULL) FROM {source}"""
    ).fetchall()[0]
    return _Scanned(*row)


def _compute(
    con: duckdb.DuckDBPyConnection, source: str, extent: EventExtent, tz: str, ask: _Ask
) -> pa.Table:
    key_cols = [KEY_COLUMNS[k] for k in ask.keys]
    start, end, versions, sop = ask.start, ask.end, ask.versions, ask.sop
    if extent.first_day is None or extent.last_day is None:
        return _empty(key_cols)
    params: dict[str, object] = {
        "start_day": start or extent.first_day,
        "end_day": end or extent.last_day + timedelta(days=1),
        "horizon": datetime.combine(end, time(0), ZoneInfo(tz)) if end else extent.latest,
    }
    filters = []
    if versions is not None:
        filters.append("list_contains($versions, ver)")
        params["versions"] = versions
    if sop is not None:
        filters.append("sop = $sop")
        params["sop"] = sop
    unversioned = extent.without_version > 0 or (sop is not None and extent.without_sop > 0)
    query = Query(ask.metrics, key_cols, filters, unversioned, start is not None, end is not None)
    sql = build_sql(query, source=source)
    used = {k: v for k, v in params.items() if f"${k}" in sql}
    return con.sql(sql, params=used).to_arrow_table()


def _empty(key_cols: list[str]) -> pa.Table:
    types = {"g": pa.string(), "ver": pa.string(), "day": pa.date32()}
    fields = [pa.field("metric", pa.string())]
    fields += [pa.field(OUT_NAMES[k], types[k]) for k in key_cols]
    fields += [pa.field(n, pa.float64()) for n in ("num", "den", "value")]
    return pa.schema(fields).empty_table()
