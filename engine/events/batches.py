"""Import batches: what one import stored, and the rule that stored rows never come twice.

A batch is named by the SHA-256 of its rows (attribution.batch_hash). The same batch again is
refused (or, for callers that retry, handed back); rows equal to stored rows (same group,
member, time, event, value and message: `row_hash`) are refused by line, naming the batch that
holds them; rows with an `event_id` already stored are skipped instead (the declared way to
deduplicate overlapping exports).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb

from sop_models.errors import DataFileError

EMPTY_SQL = """SELECT NULL::VARCHAR AS "group", NULL::VARCHAR AS member, NULL::TIMESTAMPTZ AS time,
    NULL::VARCHAR AS event, NULL::DOUBLE AS value, NULL::VARCHAR AS sop_version,
    NULL::VARCHAR AS sop, NULL::VARCHAR AS message, NULL::VARCHAR AS event_id,
    NULL::DATE AS day, NULL::VARCHAR AS row_hash WHERE false"""
SHOWN = 5  # repeated rows named in a refusal
Again = Literal["refuse", "reuse"]


@dataclass(frozen=True)
class ImportResult:
    """What one import stored: rows, Parquet file, content hash, and whether it is new."""

    rows: int
    file: Path
    sha256: str
    source: str = ""
    new: bool = True
    skipped: int = 0  # rows whose event_id was already stored
    imported_at: str | None = None

    @property
    def batch(self) -> str:
        """The batch id people type: the first 12 hex digits of the content hash."""
        return self.sha256[:12]


def against_stored(
    con: duckdb.DuckDBPyConnection,
    imports: list[ImportResult],
    source: str,
    where: str,
    sha: str,
    again: Again,
) -> ImportResult | None:
    """The earlier batch of the same rows (when reused), after dropping rows whose event_id
    is stored (into table `dropped`); DataFileError when stored rows come again."""
    con.execute("CREATE OR REPLACE TEMP TABLE dropped (loc BIGINT)")
    done = next((i for i in imports if i.sha256 == sha), None)
    if done is not None:
        if again == "reuse":
            return done
        raise DataFileError(
            f"{source}: these {done.rows} row(s) were already imported as batch {done.batch}"
            f" (from {done.source}); nothing imported (take that batch out first with"
            f" `sop events remove {done.batch}`)"
        )
    if not imports:
        return None
    files = ", ".join("'" + str(p).replace("'", "''") + "'" for p in (i.file for i in imports))
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW stored AS SELECT row_hash, event_id, filename FROM
            (SELECT *, NULL::VARCHAR AS filename FROM ({EMPTY_SQL}) UNION ALL BY NAME
             SELECT * FROM read_parquet([{files}], union_by_name=true, filename=true))"""
    )
    con.execute(
        """INSERT INTO dropped SELECT loc FROM checked WHERE eid IS NOT NULL AND eid IN
           (SELECT event_id FROM stored WHERE event_id IS NOT NULL)"""
    )
    con.execute("DELETE FROM checked WHERE loc IN (SELECT loc FROM dropped)")
    repeats = con.execute(
        """SELECT c.loc, min(s.filename), count(*) OVER () FROM checked c
           JOIN stored s ON s.row_hash = c.row_hash WHERE c.eid IS NULL
           GROUP BY c.loc ORDER BY c.loc"""
    ).fetchall()
    if not repeats:
        return None
    batches = sorted({Path(f).stem.removeprefix("events-")[:12] for _, f, _ in repeats})
    lines = ", ".join(str(loc) for loc, _, _ in repeats[:SHOWN])
    more = f" and {len(repeats) - SHOWN} more" if len(repeats) > SHOWN else ""
    raise DataFileError(
        f"{source}: {len(repeats)} row(s) ({where} {lines}{more}) were already imported in"
        f" batch {', '.join(batches)}; nothing imported (remove the batch with `sop events"
        " remove BATCH`, or give rows an event_id column so repeats are skipped)"
    )
