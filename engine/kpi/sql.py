"""Generate one DuckDB query computing the requested metrics for every unit at once.

Cells are (group, day, version, sop). Event measures are aggregated in one pass over the events;
each distinct-member measure adds one filtered pass; membership reads the join/leave subset.
Metrics made only of plain event measures, on data where every event carries its version, skip
the cells and aggregate straight by the unit keys, as a hand-written query would.
Parameters: $start_day, $end_day (end exclusive), $horizon, and $versions / $sop when filtered.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from engine.kpi.definitions import (
    ACTIVE_EVENTS,
    MEASURES,
    MEMBER_PERIOD_COLUMNS,
    METRICS,
    Metric,
)
from engine.kpi.stays import COUNTED, FIRST_WEEK, STAYS, delta

KEY_COLUMNS = {"group": "g", "version": "ver", "day": "day"}
OUT_NAMES = {"g": "group", "ver": "sop_version", "day": "day"}
ORDER = {name: i for i, name in enumerate(METRICS)}
_ROWS = "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"
_EV_SELECT = """SELECT "group" AS g, member AS m, time AS t, event AS e, value AS v,
    sop_version AS ver, sop, day, message AS msg,
    CASE WHEN message LIKE '%:%' THEN split_part(message, ':', 3) ELSE message END AS slot
    FROM {source}{where}"""


@dataclass(frozen=True)
class Query:
    """What to compute: metrics, unit keys, filters, and whether some events lack a version."""

    metrics: Sequence[Metric]
    keys: Sequence[str]  # cell columns: g, ver, day
    filters: Sequence[str]  # SQL conditions on ver / sop
    unversioned: bool  # some events lack sop_version (or sop, when filtering by sop)
    from_start: bool = True  # filter day >= $start_day (False: the window starts with the data)
    to_end: bool = True  # filter day < $end_day (False: the window ends with the data)

    def where(self, *, start: bool, end: bool, more: Sequence[str] = ()) -> str:
        """A WHERE clause for the window bounds asked for, plus `more`; "" when empty."""
        conds = ["day >= $start_day"] if start and self.from_start else []
        conds += ["day < $end_day"] if end and self.to_end else []
        conds += list(more)
        return " WHERE " + " AND ".join(conds) if conds else ""

    def measures(self, *sources: str) -> list[str]:
        """Names of the measures the metrics use that come from `sources`, registry order."""
        needed = set().union(*(m.measures for m in self.metrics))
        return [n for n, m in MEASURES.items() if n in needed and m.source in sources]


def build_sql(q: Query, *, source: str) -> str:
    """One query giving rows (metric, <keys as group/sop_version/day>, num, den, value)."""
    plain = q.measures("event")
    direct = all(m.grain == "day" for m in q.metrics) and not q.unversioned
    if not (direct and set(q.measures(*_SOURCES)) == set(plain)):
        return _general(q, source)
    where = q.where(start=True, end=True, more=q.filters)
    if len(q.metrics) == 1:
        return _single(q, q.metrics[0], _EV_SELECT.format(source=source, where=where))
    cols = "".join(f"{k}, " for k in q.keys)
    aggs = ", ".join(f"coalesce({MEASURES[n].sql}, 0) AS {n}" for n in plain)
    ctes = [
        f"ev AS NOT MATERIALIZED ({_EV_SELECT.format(source=source, where=where)})",
        f"cells AS (SELECT {cols}{aggs} FROM ev{_group_by(q.keys)})",
    ]
    return _finish(ctes, q, q.metrics, [], "cells")


def _single(q: Query, metric: Metric, events: str) -> str:
    """The plainest query for one event metric: what one would write by hand."""

    def expr(text: str) -> str:
        return re.sub(
            r"[a-z_0-9]+",
            lambda w: f"coalesce({MEASURES[w[0]].sql}, 0)" if w[0] in MEASURES else w[0],
            text,
        )

    cols = "".join(f"{k}, " for k in q.keys)
    keys = "".join(f'{k} AS "{OUT_NAMES[k]}", ' for k in q.keys)
    order = " ORDER BY " + ", ".join(f'"{OUT_NAMES[k]}"' for k in q.keys) if q.keys else ""
    inner = (
        f"SELECT {cols}CAST({expr(metric.numerator)} AS DOUBLE) AS num, "
        f"CAST({expr(metric.denominator)} AS DOUBLE) AS den FROM ({events}){_group_by(q.keys)}"
    )
    return (
        f"SELECT '{metric.name}' AS metric, {keys}num, den, {_value(metric, 'num', 'den')} "
        f"AS value FROM ({inner}) WHERE num <> 0 OR den <> 0{order}"
    )


def _value(metric: Metric, num: str, den: str) -> str:
    return num if metric.kind == "count" else f"CASE WHEN {den} <> 0 THEN {num} / {den} END"


_CELL_SOURCES = ("event", "event_distinct", "grid", "member_day")
_SOURCES = (*_CELL_SOURCES, "period_member", "period_stay")


def _general(q: Query, source: str) -> str:
    plain, distinct = q.measures("event"), q.measures("event_distinct")
    member_day, stay = q.measures("member_day"), q.measures("period_stay")
    period = [m for m in q.metrics if m.grain == "period"]
    grid = bool(member_day or stay or q.measures("grid"))
    labels = q.unversioned or grid
    stays = bool(member_day or stay)

    where = q.where(start=False, end=True)
    # NOT MATERIALIZED: DuckDB would otherwise copy every event once `ev` is used twice.
    ctes = [
        f"ev AS NOT MATERIALIZED ({_EV_SELECT.format(source=source, where=where)})",
        "gd AS (SELECT g, day, ver, sop"
        + (", max(t) AS last_t" if labels else "")
        + "".join(f", {MEASURES[n].sql} AS {n}" for n in plain)
        + " FROM ev GROUP BY g, day, ver, sop)",
    ]
    if labels:
        latest = "struct_pack(t := last_t, v := ver)"
        ctes.append(
            f"lab AS (SELECT g, day, arg_max(ver, {latest}) FILTER (WHERE ver IS NOT NULL) AS "
            f"lver, arg_max(sop, {latest}) FILTER (WHERE ver IS NOT NULL) AS lsop "
            "FROM gd GROUP BY g, day)"
        )
    if grid or stays:
        ctes.append("span AS (SELECT g, min(day) AS d_first FROM gd GROUP BY g)")
    if grid:
        ctes.append(
            "grid AS (SELECT g, CAST(unnest(generate_series(d_first, $end_day - 1, "
            "INTERVAL 1 DAY)) AS DATE) AS day FROM span)"
        )
        base, at = "grid LEFT JOIN lab ON lab.g = grid.g AND lab.day = grid.day", "grid"
    else:
        base, at = "lab", "lab"
    if labels:
        ctes.append(
            f"glab AS (SELECT {at}.g, {at}.day, last_value(lver IGNORE NULLS) OVER w AS ver, "
            f"last_value(lsop IGNORE NULLS) OVER w AS sop FROM {base} "
            f"WINDOW w AS (PARTITION BY {at}.g ORDER BY {at}.day {_ROWS}))"
        )
    if q.unversioned:
        ctes.append(_attributed("evx", "ev", ["m", "t", "e", "v"]))
        ctes.append(_attributed("ecells", "gd", plain))
    else:
        ctes.append("evx AS NOT MATERIALIZED (SELECT * FROM ev)")
        ctes.append(
            f"ecells AS (SELECT g, day, ver, sop{''.join(', ' + n for n in plain)} FROM gd)"
        )
    parts = ["SELECT * FROM ecells"]
    for n in distinct:
        ctes.append(
            f"{n}_cells AS (SELECT g, day, ver, sop, count(*) AS {n} FROM (SELECT DISTINCT g, "
            f"day, ver, sop, m FROM evx WHERE e = '{MEASURES[n].sql}') GROUP BY ALL)"
        )
        parts.append(f"SELECT * FROM {n}_cells")
    if stays:
        ctes.append(STAYS)
    if grid:
        ctes += _member_cells(q, member_day)
        parts.append("SELECT * FROM mcells")
    sums = "".join(f", coalesce(sum({n}), 0) AS {n}" for n in q.measures(*_CELL_SOURCES))
    ctes.append(
        f"cells AS (SELECT g, day, ver, sop{sums} FROM ("
        + " UNION ALL BY NAME ".join(parts)
        + ") GROUP BY g, day, ver, sop)"
    )
    ctes.append(f"win AS (SELECT * FROM cells{q.where(start=True, end=False, more=q.filters)})")
    if period:
        ctes += _period_ctes(q, q.measures(*_CELL_SOURCES), q.measures("period_member"), stay)
    return _finish(ctes, q, [m for m in q.metrics if m.grain == "day"], period, "win")


def _attributed(name: str, table: str, cols: Sequence[str]) -> str:
    """Rows of `table` with a missing version replaced by their group-day's version."""
    extra = "".join(f", x.{c}" for c in cols)
    return (
        f"{name} AS NOT MATERIALIZED (SELECT x.g, x.day, "
        "CASE WHEN x.ver IS NULL THEN l.ver ELSE x.ver END AS ver, "
        "CASE WHEN x.ver IS NULL THEN l.sop ELSE coalesce(x.sop, l.sop) END AS sop"
        f"{extra} FROM {table} x LEFT JOIN glab l ON l.g = x.g AND l.day = x.day)"
    )


def _member_cells(q: Query, member_day: Sequence[str]) -> list[str]:
    ctes, joins, cols = [], [], ["1 AS group_days"]
    for n in member_day:
        if n in COUNTED:
            table, text = COUNTED[n]
            if text:
                ctes.append(text)
            ctes.append(delta(table, n))
            joins.append(f"LEFT JOIN {n}_d ON {n}_d.g = gl.g AND {n}_d.day = gl.day")
            cols.append(f"sum(coalesce({n}_d.dn, 0)) OVER w AS {n}")
    if {"week1_joins", "week1_retained"} & set(member_day):
        ctes.append(FIRST_WEEK)
        joins.append("LEFT JOIN first_week fw ON fw.g = gl.g AND fw.day = gl.day")
        cols += ["coalesce(fw.week1_joins, 0) AS week1_joins"]
        cols += ["coalesce(fw.week1_retained, 0) AS week1_retained"]
    ctes.append(
        f"mcells AS (SELECT gl.g, gl.day, gl.ver, gl.sop, {', '.join(cols)} FROM glab gl "
        f"{' '.join(joins)} WINDOW w AS (PARTITION BY gl.g ORDER BY gl.day {_ROWS}))"
    )
    return ctes


def _group_by(keys: Sequence[str]) -> str:
    return f" GROUP BY {', '.join(keys)}" if keys else ""


def _finish(
    ctes: list[str], q: Query, daily: Sequence[Metric], period: Sequence[Metric], cells: str
) -> str:
    """Sum numerators and denominators per unit; one output row per metric and unit with
    value = num / den (num for counts), leaving out units where both are zero."""
    parts = []
    jobs = ((daily, cells, "daily_units"), (period, "period_cells", "period_units"))
    keys = "".join(f'{k} AS "{OUT_NAMES[k]}", ' for k in q.keys)
    for metrics, table, name in jobs:
        if not metrics:
            continue
        sums = ", ".join(
            f"CAST(sum({m.numerator}) AS DOUBLE) AS n_{m.name}, "
            f"CAST(sum({m.denominator}) AS DOUBLE) AS d_{m.name}"
            for m in metrics
        )
        cols = "".join(f"{k}, " for k in q.keys)
        ctes.append(f"{name} AS (SELECT {cols}{sums} FROM {table}{_group_by(q.keys)})")
        for m in metrics:
            num, den = f"n_{m.name}", f"d_{m.name}"
            value = _value(m, num, den)
            parts.append(
                f"SELECT {ORDER[m.name]} AS _order, '{m.name}' AS metric, {keys}{num} AS num, "
                f"{den} AS den, {value} AS value FROM {name} WHERE {num} <> 0 OR {den} <> 0"
            )
    order = "".join(f', "{OUT_NAMES[k]}"' for k in q.keys)
    return (
        "WITH "
        + ",\n".join(ctes)
        + "\nSELECT * EXCLUDE (_order) FROM ("
        + "\nUNION ALL\n".join(parts)
        + f") ORDER BY _order{order}"
    )


def _period_ctes(
    q: Query, cell_ms: Sequence[str], member: Sequence[str], stay: Sequence[str]
) -> list[str]:
    """Period cells: one group over the unit's days, with distinct-member measures."""
    pkeys = list(dict.fromkeys(["g", *q.keys]))
    sel = ", ".join(pkeys)
    psel = ", ".join(f"p.{k}" for k in pkeys)

    def on(alias: str) -> str:
        return " AND ".join(f"{alias}.{k} IS NOT DISTINCT FROM p.{k}" for k in pkeys)

    sums = "".join(f", sum({n}) AS {n}" for n in cell_ms)
    ctes = [
        f"pcell AS (SELECT {sel}, min(day) AS p0, max(day) AS p1{sums} FROM win GROUP BY {sel})"
    ]
    if member or "churned_members" in stay:
        cols = ", ".join(f"{sql} AS {name}" for name, sql in MEMBER_PERIOD_COLUMNS.items())
        events = ", ".join(f"'{e}'" for e in ACTIVE_EVENTS)
        where = q.where(
            start=True, end=False, more=["m IS NOT NULL", f"e IN ({events})", *q.filters]
        )
        ctes.append(f"pm AS (SELECT {sel}, m, {cols} FROM evx{where} GROUP BY ALL)")
    extra, joins = [], []
    if member:
        aggs = ", ".join(f"{MEASURES[n].sql} AS {n}" for n in member)
        ctes.append(f"pmm AS (SELECT {sel}, {aggs} FROM pm GROUP BY {sel})")
        joins.append(f"LEFT JOIN pmm x ON {on('x')}")
        extra += [f"coalesce(x.{n}, 0) AS {n}" for n in member]
    if stay:
        aggs = ", ".join(f"{MEASURES[n].sql} AS {n}" for n in stay)
        active = f"LEFT JOIN pm a ON {on('a')} AND a.m = i.m" if "churned_members" in stay else ""
        ctes.append(
            f"pstay AS (SELECT {psel}, {aggs} FROM pcell p JOIN isl i ON i.g = p.g "
            f"AND i.d0 <= p.p1 AND (i.d1 IS NULL OR i.d1 >= p.p0) {active} GROUP BY {psel})"
        )
        joins.append(f"LEFT JOIN pstay y ON {on('y')}")
        extra += [f"coalesce(y.{n}, 0) AS {n}" for n in stay]
    ctes.append(
        f"period_cells AS (SELECT p.*{''.join(', ' + c for c in extra)} "
        f"FROM pcell p {' '.join(joins)})"
    )
    return ctes
