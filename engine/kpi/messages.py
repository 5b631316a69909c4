"""KPIs per message and per slot: each message's own opens over its own deliveries.

Events carrying a `message` key (`sop:version:slot:date`, see sop_models.messages) are grouped
by that key or by its slot; `open_rate` here is opens of that message / members it reached
(the `delivered` events of the same message), never diluted by other posts of the day, and
`click_rate` its tracked-link clicks (click events naming it) / the same members reached.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import duckdb
import pyarrow as pa

from engine.kpi.compute import EventSource
from sop_models.errors import CheckError

MESSAGE_KEYS = {"message": "msg", "slot": "slot", "version": "ver", "group": "g", "day": "day"}
OUT = {"msg": "message", "slot": "slot", "ver": "sop_version", "g": "group", "day": "day"}
MESSAGE_METRICS = ("open_rate", "click_rate")
_COUNTED = {"open_rate": "open", "click_rate": "click"}  # the event each one counts


def message_kpis(
    source: EventSource,
    *,
    sop: str,
    by: Sequence[str] = ("message",),
    metrics: Sequence[str] | None = None,
    start: date | None = None,
    end: date | None = None,
) -> pa.Table:
    """Rows (metric, <by columns>, num, den, value) over events of `sop` that name a message;
    `by` holds message or slot, and may add version, group, day; `metrics` open_rate (the
    default) and click_rate."""
    unknown = [b for b in by if b not in MESSAGE_KEYS]
    if unknown or not {"message", "slot"} & set(by):
        raise CheckError(
            f"cannot group message KPIs by {', '.join(by)} "
            "(use message or slot, plus version, group, day)"
        )
    wrong = [m for m in metrics or () if m not in MESSAGE_METRICS]
    if wrong:
        raise CheckError(
            f"per message or slot only {', '.join(MESSAGE_METRICS)} is known, not {wrong[0]}"
        )
    chosen = list(dict.fromkeys(metrics or ("open_rate",)))
    cols = [MESSAGE_KEYS[b] for b in dict.fromkeys(by)]
    keys = ", ".join(cols)
    named = ", ".join(f'{c} AS "{OUT[c]}"' for c in cols)
    shown = ", ".join(f'"{OUT[c]}"' for c in cols)
    counts = ", ".join(
        f"CAST(count(*) FILTER (WHERE e = '{_COUNTED[m]}') AS DOUBLE) AS n_{m}" for m in chosen
    )
    rows = " UNION ALL ".join(
        f"SELECT '{m}' AS metric, {named}, n_{m} AS num, den, "
        f"CASE WHEN den <> 0 THEN n_{m} / den END AS value FROM u WHERE n_{m} <> 0 OR den <> 0"
        for m in chosen
    )
    sql = f"""
        WITH ev AS (
            SELECT "group" AS g, event AS e, value AS v, sop_version AS ver, day,
                   message AS msg, split_part(message, ':', 3) AS slot
            FROM {source.source_sql()}
            WHERE sop = $sop AND message LIKE '%:%:%:%'
              AND ($start IS NULL OR day >= $start) AND ($end IS NULL OR day < $end)),
        u AS (
            SELECT {keys}, {counts},
                   CAST(coalesce(sum(v) FILTER (WHERE e = 'delivered'), 0) AS DOUBLE) AS den
            FROM ev GROUP BY {keys})
        {rows}
        ORDER BY {shown}, metric
    """
    con = duckdb.connect()
    try:
        return con.sql(sql, params={"sop": sop, "start": start, "end": end}).to_arrow_table()
    finally:
        con.close()
