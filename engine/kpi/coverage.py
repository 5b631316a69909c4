"""How many events a KPI call used and how many it could not attribute to any SOP version.

An event counts for its own sop/sop_version; one without a version takes its group-day's
(carried forward), as the KPI query does (sql.py). Whatever is still without an SOP or a version
is unattributed: `sop kpi` says how many, so missing labels never go unnoticed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from engine.kpi.compute import EventSource

_SQL = """
WITH ev AS (SELECT "group" AS g, day, time AS t, sop_version AS ver, sop FROM {source}
            WHERE $end_day IS NULL OR day < $end_day),
lab AS (SELECT g, day, arg_max(ver, t) FILTER (WHERE ver IS NOT NULL) AS lver,
               arg_max(sop, t) FILTER (WHERE ver IS NOT NULL) AS lsop FROM ev GROUP BY g, day),
glab AS (SELECT g, day, last_value(lver IGNORE NULLS) OVER w AS ver,
                last_value(lsop IGNORE NULLS) OVER w AS sop FROM lab
         WINDOW w AS (PARTITION BY g ORDER BY day
                      ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)),
fin AS (SELECT x.day, coalesce(x.ver, l.ver) AS ver,
               CASE WHEN x.ver IS NULL THEN l.sop ELSE coalesce(x.sop, l.sop) END AS sop
        FROM ev x LEFT JOIN glab l ON l.g = x.g AND l.day = x.day)
SELECT count(*) FILTER (WHERE sop = $sop AND ver IS NOT NULL),
       count(*) FILTER (WHERE sop IS NULL OR ver IS NULL)
FROM fin WHERE $start_day IS NULL OR day >= $start_day
"""


@dataclass(frozen=True)
class Coverage:
    """Events of the window counted for the SOP, and events no SOP version could be given."""

    used: int
    unattributed: int


def coverage(
    source: EventSource, *, sop: str, start: date | None = None, end: date | None = None
) -> Coverage:
    """Events in local days start..end (end exclusive) used for `sop`, and unattributed ones."""
    con = duckdb.connect()
    try:
        row = con.execute(
            _SQL.format(source=source.source_sql()),
            {"sop": sop, "start_day": start, "end_day": end},
        ).fetchall()[0]
    finally:
        con.close()
    assert row is not None
    return Coverage(int(row[0]), int(row[1]))
