"""Check every raw event row in one DuckDB pass and turn the good ones into typed columns.

The checks run vectorised over the temp table `raw` (see readers.py); a row may fail several at
once and all its reasons are reported together.
"""

from __future__ import annotations

import duckdb

from engine.events.schema import (
    EVENT_TYPES,
    GROUP_EVENTS,
    KEEP_CAP,
    MEMBER_EVENTS,
    VALUE_REQUIRED,
    RowProblem,
)

_DATE_TIME = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?"
AWARE_RE = _DATE_TIME + r"(Z|z|[+-]\d{2}(:?\d{2})?)"
NAIVE_RE = _DATE_TIME
VERSION_RE = r"^[vV]?(\d+\.\d+)$"


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _shown(expr: str) -> str:
    """SQL quoting a user's text in a reason, shortened so one line stays one line."""
    return f"'''' || left(replace({expr}, chr(10), ' '), 40) || ''''"


def _checks_sql() -> str:
    reasons = [
        "field_error",
        "CASE WHEN g IS NULL THEN 'missing group' END",
        "CASE WHEN e IS NULL THEN 'missing event' END",
        f"CASE WHEN e NOT IN {_in(EVENT_TYPES)} THEN 'unknown event ' || {_shown('e')} END",
        "CASE WHEN time_s IS NULL THEN 'missing time' END",
        f"CASE WHEN naive AND $naive_tz IS NULL THEN 'time ' || {_shown('time_s')} "
        "|| ' has no UTC offset (write e.g. 2026-08-19T10:00:00+08:00)' END",
        f"CASE WHEN time_s IS NOT NULL AND ts IS NULL AND NOT (naive AND $naive_tz IS NULL) "
        f"THEN 'bad time ' || {_shown('time_s')} END",
        f"CASE WHEN value_s IS NOT NULL AND v IS NULL "
        f"THEN 'non-numeric value ' || {_shown('value_s')} END",
        f"CASE WHEN NOT isfinite(v) THEN 'value ' || {_shown('value_s')} || ' is not finite' END",
        "CASE WHEN v < 0 THEN 'negative ' || CASE WHEN e IN ('order', 'cost') THEN 'amount'"
        " ELSE 'value' END || ' ' || value_s END",
        f"CASE WHEN e IN {_in(VALUE_REQUIRED)} AND value_s IS NULL THEN e || ' without value' END",
        f"CASE WHEN e IN {_in(MEMBER_EVENTS)} AND m IS NULL THEN e || ' without member' END",
        f"CASE WHEN e IN {_in(GROUP_EVENTS)} AND m IS NOT NULL "
        "THEN e || ' is a group event: member must be empty' END",
        f"CASE WHEN ver_s IS NOT NULL AND ver IS NULL "
        f"THEN 'bad sop_version ' || {_shown('ver_s')} || ' (expected e.g. 1.0)' END",
    ]
    return f"""
        CREATE OR REPLACE TEMP TABLE checked AS
        WITH r AS (
            SELECT loc, pre_error, field_error,
                   nullif(trim("group"), '') AS g,
                   nullif(trim(member), '') AS m,
                   nullif(trim(time), '') AS time_s,
                   nullif(trim(event), '') AS e,
                   nullif(trim(value), '') AS value_s,
                   nullif(trim(sop_version), '') AS ver_s,
                   nullif(trim(sop), '') AS sop
            FROM raw),
        p AS (
            SELECT *,
                   regexp_full_match(time_s, '{NAIVE_RE}') AS naive,
                   CASE
                     WHEN regexp_full_match(time_s, '{AWARE_RE}')
                         THEN TRY_CAST(time_s AS TIMESTAMPTZ)
                     WHEN regexp_full_match(time_s, '{NAIVE_RE}') AND $naive_tz IS NOT NULL
                         THEN timezone($naive_tz, TRY_CAST(time_s AS TIMESTAMP))
                   END AS ts,
                   TRY_CAST(value_s AS DOUBLE) AS v,
                   nullif(regexp_extract(ver_s, '{VERSION_RE}', 1), '') AS ver
            FROM r)
        SELECT loc, g, m, ts, e, v, ver, sop,
               CASE WHEN pre_error IS NOT NULL THEN [pre_error]
                    ELSE list_filter([{", ".join(reasons)}], lambda x: x IS NOT NULL)
               END AS reasons
        FROM p
    """


def check_raw(
    con: duckdb.DuckDBPyConnection, *, where: str, naive_tz: str | None
) -> tuple[list[RowProblem], int]:
    """Check table `raw` into table `checked`; return the first bad rows and how many there are."""
    con.execute(_checks_sql(), {"naive_tz": naive_tz})
    rows = con.execute(
        f"""SELECT loc, array_to_string(reasons, '; '), count(*) OVER ()
            FROM checked WHERE len(reasons) > 0 ORDER BY loc LIMIT {KEEP_CAP}"""
    ).fetchall()
    problems = [RowProblem(f"{where} {loc}", reason) for loc, reason, _ in rows]
    return problems, (rows[0][2] if rows else 0)


def normalised_sql(tz: str) -> str:
    """SELECT over table `checked` giving the stored columns, `day` in zone `tz`."""
    return f"""
        SELECT g AS "group", m AS member, ts AS time, e AS event, v AS value,
               ver AS sop_version, sop, CAST(timezone('{tz}', ts) AS DATE) AS day
        FROM checked ORDER BY loc
    """
