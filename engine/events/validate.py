"""Check every raw event row in one DuckDB pass and turn the good ones into typed columns.

The checks run vectorised over the temp table `raw` (see readers.py); a row may fail several at
once and all its reasons are reported together. Times must carry an offset within ±14:00 and
fall in the import's window (`TimeLimits` in schema.py); the bounds come in as parameters.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb

from engine.events.schema import (
    EVENT_TYPES,
    GROUP_EVENTS,
    KEEP_CAP,
    MAX_OFFSET_MINUTES,
    MEMBER_EVENTS,
    VALUE_REQUIRED,
    RowProblem,
)

_DATE_TIME = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?"
AWARE_RE = _DATE_TIME + r"(Z|z|[+-]\d{2}(:?\d{2})?)"
NAIVE_RE = _DATE_TIME
VERSION_RE = r"^[vV]?(\d+\.\d+)$"
OFFSET_RE = r"[+-](\d{2}):?(\d{2})?$"
#: A message key `sop:version:slot:date` (version as 1.0 or v1.0), or only its slot.
MESSAGE_RE = r"[^:\s]+(:[vV]?\d+\.\d+:[^:\s]+:\d{4}-\d{2}-\d{2})?"


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
        f"CASE WHEN bad_offset THEN 'time ' || {_shown('time_s')} "
        "|| ' has a UTC offset beyond ±14:00' END",
        f"CASE WHEN time_s IS NOT NULL AND ts IS NULL AND NOT (naive AND $naive_tz IS NULL) "
        f"AND NOT bad_offset THEN 'bad time ' || {_shown('time_s')} END",
        f"CASE WHEN ts < $earliest THEN 'time ' || {_shown('time_s')} || ' is before ' "
        "|| $earliest_text END",
        f"CASE WHEN ts > $latest THEN 'time ' || {_shown('time_s')} || ' is after ' "
        "|| $latest_text END",
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
        f"CASE WHEN msg IS NOT NULL AND NOT regexp_full_match(msg, '{MESSAGE_RE}') "
        f"THEN 'bad message ' || {_shown('msg')} || ' (expected sop:version:slot:date or a slot)'"
        " END",
        f"CASE WHEN eid_n > 1 THEN 'event_id ' || {_shown('eid')} || ' repeated in the file' END",
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
                   nullif(trim(sop), '') AS sop,
                   nullif(trim(message), '') AS msg,
                   nullif(trim(event_id), '') AS eid
            FROM raw),
        o AS (
            SELECT *,
                   regexp_full_match(time_s, '{AWARE_RE}') AS aware,
                   TRY_CAST(nullif(regexp_extract(time_s, '{OFFSET_RE}', 1), '') AS INTEGER)
                       AS off_h,
                   coalesce(TRY_CAST(nullif(regexp_extract(time_s, '{OFFSET_RE}', 2), '')
                       AS INTEGER), 0) AS off_m
            FROM r),
        q AS (
            SELECT *,
                   coalesce(aware AND off_h IS NOT NULL
                       AND (off_m > 59 OR off_h * 60 + off_m > {MAX_OFFSET_MINUTES}), false)
                       AS bad_offset
            FROM o),
        p AS (
            SELECT *,
                   regexp_full_match(time_s, '{NAIVE_RE}') AS naive,
                   CASE
                     WHEN aware AND NOT bad_offset
                         THEN TRY_CAST(time_s AS TIMESTAMPTZ)
                     WHEN regexp_full_match(time_s, '{NAIVE_RE}') AND $naive_tz IS NOT NULL
                         THEN timezone($naive_tz, TRY_CAST(time_s AS TIMESTAMP))
                   END AS ts,
                   TRY_CAST(value_s AS DOUBLE) AS v,
                   nullif(regexp_extract(ver_s, '{VERSION_RE}', 1), '') AS ver,
                   CASE WHEN eid IS NOT NULL THEN count(*) OVER (PARTITION BY eid) END AS eid_n
            FROM q)
        SELECT loc, g, m, ts, e, v, ver, sop, msg, eid,
               CASE WHEN pre_error IS NOT NULL THEN [pre_error]
                    ELSE list_filter([{", ".join(reasons)}], lambda x: x IS NOT NULL)
               END AS reasons
        FROM p
    """


def check_raw(
    con: duckdb.DuckDBPyConnection,
    *,
    where: str,
    naive_tz: str | None,
    window: tuple[datetime, datetime],
    latest_why: str,
) -> tuple[list[RowProblem], int]:
    """Check table `raw` into table `checked`; return the first bad rows and how many there are.

    `window` is the first and last allowed time (aware datetimes, both included); `latest_why`
    says in a few words where the last one comes from ("a year after the import").
    """
    earliest, latest = window
    con.execute(
        _checks_sql(),
        {
            "naive_tz": naive_tz,
            "earliest": earliest,
            "latest": latest,
            "earliest_text": _utc_text(earliest),
            "latest_text": f"{_utc_text(latest)} ({latest_why})",
        },
    )
    rows = con.execute(
        f"""SELECT loc, array_to_string(reasons, '; '), count(*) OVER ()
            FROM checked WHERE len(reasons) > 0 ORDER BY loc LIMIT {KEEP_CAP}"""
    ).fetchall()
    problems = [RowProblem(f"{where} {loc}", reason) for loc, reason, _ in rows]
    return problems, (rows[0][2] if rows else 0)


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def normalised_sql() -> str:
    """SELECT over table `checked` (after `attribute`, see attribution.py) giving the stored
    columns."""
    return """
        SELECT g AS "group", m AS member, ts AS time, e AS event, v AS value,
               ver AS sop_version, sop, msg AS message, eid AS event_id, day, row_hash
        FROM checked ORDER BY loc
    """
