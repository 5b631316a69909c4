"""Reading a unit-level table with DuckDB: load, check columns, type metric columns.

Every failure is a one-line `DataFileError` naming the file and the column.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from engine.stats.result import MetricKind
from sop_models.errors import DataFileError

_BOOLEAN_TEXT = ("true", "false", "1", "0", "1.0", "0.0")


def quote(name: str) -> str:
    """A SQL identifier for any column name."""
    return '"' + name.replace('"', '""') + '"'


def load(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    """Read CSV (all text) or Parquet (by suffix or magic bytes) into table `src`; its columns."""
    if not path.is_file():
        raise DataFileError(f"{path}: no such file")
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as err:
        raise DataFileError(f"{path}: cannot read: {err.strerror}") from None
    parquet = path.suffix.lower() in (".parquet", ".pq") or magic == b"PAR1"
    literal = "'" + exact_path(path).replace("'", "''") + "'"
    reader = (
        f"read_parquet({literal})"
        if parquet
        else f"read_csv({literal}, header=true, all_varchar=true)"
    )
    try:
        con.execute(f"CREATE TABLE src AS SELECT * FROM {reader}")
    except duckdb.Error as err:
        first = str(err).strip().splitlines()[0][:200]
        kind = "Parquet" if parquet else "CSV"
        raise DataFileError(f"{path}: cannot read as {kind}: {first}") from None
    return [row[0] for row in con.execute("DESCRIBE src").fetchall()]


def exact_path(path: Path) -> str:
    """`path` as DuckDB must be given it to read that one file: absolute (so no `~` or URL
    prefix is read into it) and with the glob characters `*`, `?` and `[` each escaped as a
    one-character class (`a[1].csv` -> `a[[]1].csv`), so a file name is never a pattern.
    """
    text = str(path.absolute())
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def need(columns: list[str], name: str, path: Path, what: str) -> None:
    """Raise unless the table has column `name` (`what` says which option asked for it)."""
    if name not in columns:
        raise DataFileError(f"{path}: no column {name!r} ({what}); columns: {', '.join(columns)}")


def column_kind(
    con: duckdb.DuckDBPyConnection, path: Path, column: str, field: str, table: str
) -> MetricKind:
    """`proportion` when every value of `field` in `table` (the user's `column`) is a boolean
    (true/false in any case, 1/0), else `mean`.

    Empty cells and values that are not finite numbers are errors, never silently skipped.
    """
    bools = ", ".join(f"'{v}'" for v in _BOOLEAN_TEXT)
    empty, non_bool, bad, example = con.execute(
        "SELECT count(*) FILTER (WHERE t IS NULL), "
        f"count(*) FILTER (WHERE t IS NOT NULL AND lower(t) NOT IN ({bools})), "
        "count(*) FILTER (WHERE bad), any_value(t) FILTER (WHERE bad) FROM "
        "(SELECT t, t IS NOT NULL AND lower(t) NOT IN ('true', 'false') AND "
        "NOT coalesce(isfinite(TRY_CAST(t AS DOUBLE)), false) AS bad FROM "
        f"(SELECT NULLIF(trim(CAST({quote(field)} AS VARCHAR)), '') AS t FROM {table}))"
    ).fetchone()
    if empty:
        raise DataFileError(
            f"{path}: column {column!r} has {empty} empty values; fill them (e.g. with 0)"
        )
    if bad:
        raise DataFileError(
            f"{path}: column {column!r} is not numeric: {bad} values like {example!r}"
        )
    return "mean" if non_bool else "proportion"


def number(column: str) -> str:
    """SQL expression for a column's value as a double (booleans as 1.0 / 0.0)."""
    t = f"lower(trim(CAST({quote(column)} AS VARCHAR)))"
    return (
        f"(CASE WHEN {t} = 'true' THEN 1.0 WHEN {t} = 'false' THEN 0.0 "
        f"ELSE CAST({t} AS DOUBLE) END)"
    )
