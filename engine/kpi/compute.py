"""Compute KPIs over stored events with DuckDB: one generated query for all metrics and units."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa

from engine.kpi.definitions import METRICS, Metric, resolve
from engine.kpi.sql import KEY_COLUMNS, Query, build_sql
from sop_models.errors import CheckError

Key = Literal["group", "version", "day"]
OUT_NAMES = {"g": "group", "ver": "sop_version", "day": "day"}
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
    for bound in (start, end):
        if isinstance(bound, datetime):
            raise CheckError(f"KPI window bounds are local dates, not times: {bound.isoformat()}")
    versions = [sop_version] if isinstance(sop_version, str) else sop_version
    versions = [v.strip().lstrip("vV") for v in versions] if versions is not None else None
    ask = _Ask(chosen, keys, versions, sop, start, end)
    if isinstance(source, duckdb.DuckDBPyConnection):
        return _compute(source, _connection_source(source, table, tz), None, tz, ask)
    con = duckdb.connect()
    try:
        paths = list(getattr(source, "paths", None) or [])
        return _compute(con, source.source_sql(), paths, source.tz, ask)
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
        raise CheckError(f"no event table {table!r} on the connection ({err})") from None
    extra = []
    if "day" not in cols:
        extra.append(f"CAST(timezone('{tz}', time) AS DATE) AS day")
    if "sop" not in cols:
        extra.append("NULL::VARCHAR AS sop")
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


@dataclass(frozen=True)
class _Extent:
    """What the query plan needs to know about the stored events before it runs."""

    first: date | None
    last: date | None
    latest: datetime | None
    no_version: int  # events without sop_version
    no_sop: int  # events without sop


def _extent(con: duckdb.DuckDBPyConnection, source: str, paths: list[Path] | None) -> _Extent:
    """From Parquet footers when the files are known (no scan), else one scan."""
    if paths:
        files = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
        stats = {
            row[0]: row[1:]
            for row in con.execute(
                f"""SELECT path_in_schema, min(stats_min_value), max(stats_max_value),
                           sum(stats_null_count), count(*) FILTER (WHERE stats_null_count IS NULL
                                OR (stats_max_value IS NULL AND row_group_num_rows >
                                    stats_null_count))
                    FROM parquet_metadata([{files}]) WHERE row_group_num_rows > 0
                    GROUP BY path_in_schema"""
            ).fetchall()
        }
        wanted = ("day", "time", "sop_version", "sop")
        if not stats:
            return _Extent(None, None, None, 0, 0)
        if all(c in stats and stats[c][3] == 0 for c in wanted):
            return _Extent(
                date.fromisoformat(stats["day"][0]),
                date.fromisoformat(stats["day"][1]),
                datetime.fromisoformat(stats["time"][1].replace("+00", "+00:00")),
                int(stats["sop_version"][2]),
                int(stats["sop"][2]),
            )
    row = con.execute(
        f"""SELECT min(day), max(day), max(time), count(*) FILTER (WHERE sop_version IS NULL),
                   count(*) FILTER (WHERE sop IS NULL) FROM {source}"""
    ).fetchall()[0]
    return _Extent(*row)


def _compute(
    con: duckdb.DuckDBPyConnection,
    source: str,
    paths: list[Path] | None,
    tz: str,
    ask: _Ask,
) -> pa.Table:
    extent = _extent(con, source, paths)
    key_cols = [KEY_COLUMNS[k] for k in ask.keys]
    start, end, versions, sop = ask.start, ask.end, ask.versions, ask.sop
    if extent.first is None or extent.last is None:
        return _empty(key_cols)
    params: dict[str, object] = {
        "start_day": start or extent.first,
        "end_day": end or extent.last + timedelta(days=1),
        "horizon": datetime.combine(end, time(0), ZoneInfo(tz)) if end else extent.latest,
    }
    filters = []
    if versions is not None:
        filters.append("list_contains($versions, ver)")
        params["versions"] = versions
    if sop is not None:
        filters.append("sop = $sop")
        params["sop"] = sop
    unversioned = extent.no_version > 0 or (sop is not None and extent.no_sop > 0)
    sql = build_sql(Query(ask.metrics, key_cols, filters, unversioned), source=source)
    order = {m: i for i, m in enumerate(METRICS)}
    return con.sql(
        f"""SELECT metric{"".join(f', {k} AS "{OUT_NAMES[k]}"' for k in key_cols)}, num, den,
                   CASE WHEN metric IN ({_counts()}) THEN num
                        WHEN den <> 0 THEN num / den END AS value
            FROM ({sql}) WHERE num <> 0 OR den <> 0
            ORDER BY {_metric_order(order)}{"".join(f', "{OUT_NAMES[k]}"' for k in key_cols)}""",
        params={k: v for k, v in params.items() if f"${k}" in sql},
    ).to_arrow_table()


def _counts() -> str:
    return ", ".join(f"'{m.name}'" for m in METRICS.values() if m.kind == "count") or "''"


def _metric_order(order: dict[str, int]) -> str:
    cases = " ".join(f"WHEN '{name}' THEN {i}" for name, i in order.items())
    return f"CASE metric {cases} END"


def _empty(key_cols: list[str]) -> pa.Table:
    types = {"g": pa.string(), "ver": pa.string(), "day": pa.date32()}
    fields = [pa.field("metric", pa.string())]
    fields += [pa.field(OUT_NAMES[k], types[k]) for k in key_cols]
    fields += [pa.field(n, pa.float64()) for n in ("num", "den", "value")]
    return pa.schema(fields).empty_table()
