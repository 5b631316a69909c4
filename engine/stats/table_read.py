"""Reading a unit-level table with DuckDB: load, check columns, type metric columns.

Columns keep their types: Parquet's as stored, CSV's as DuckDB's reader detects them (once, on
load); the variant and unit/cluster columns of a CSV are read as text so `--baseline 01` means
the text 01. A metric column is a proportion when it is BOOLEAN or holds only 0 and 1, a mean
when it holds other numbers; text columns (a CSV column mixing `True` and `1`) are read as
booleans or numbers where every value is one. Every failure is a one-line `DataFileError`
naming the file and the column.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb

from engine.stats.result import MetricKind
from sop_models.errors import DataFileError

_BOOLEAN_TEXT = ("true", "false", "1", "0", "1.0", "0.0")
_NUMERIC = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
    "FLOAT",
    "DOUBLE",
)


def quote(name: str) -> str:
    """A SQL identifier for any column name."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def load(
    con: duckdb.DuckDBPyConnection, path: Path, text_columns: Sequence[str] = ()
) -> dict[str, str]:
    """Make the view `raw` over CSV (types detected by DuckDB) or Parquet (types as stored);
    returns {column: DuckDB type}. `text_columns` that exist are read from a CSV as text.
    `keep_columns` then makes `src`, what the check reads."""
    if not path.is_file():
        raise DataFileError(f"{path}: no such file")
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as err:
        raise DataFileError(f"{path}: cannot read: {err.strerror}") from None
    parquet = path.suffix.lower() in (".parquet", ".pq") or magic == b"PAR1"
    source = literal(exact_path(path))
    try:
        if parquet:
            con.execute(f"CREATE VIEW raw AS SELECT * FROM read_parquet({source})")
        else:
            sniffed = con.execute(f"DESCRIBE SELECT * FROM read_csv({source}, header=true)")
            sniffed_rows = sniffed.fetchall()
            names = [row[0] for row in sniffed_rows]
            text = [c for c in dict.fromkeys(text_columns) if c in names]
            types = ", ".join(f"{literal(c)}: 'VARCHAR'" for c in text)
            option = f", types={{{types}}}" if text else ""
            con.execute(f"CREATE VIEW raw AS SELECT * FROM read_csv({source}, header=true{option})")
            # The sniffed types, with the text columns as text: no second sniff of the file.
            return {str(r[0]): "VARCHAR" if r[0] in text else str(r[1]) for r in sniffed_rows}
        described = con.execute("DESCRIBE raw").fetchall()
    except duckdb.Error as err:
        first = str(err).strip().splitlines()[0][:200]
        kind = "Parquet" if parquet else "CSV"
        raise DataFileError(f"{path}: cannot read as {kind}: {first}") from None
    return {row[0]: str(row[1]) for row in described}


def keep_columns(
    con: duckdb.DuckDBPyConnection, path: Path, columns: Sequence[str], *, csv: bool
) -> None:
    """`src`: the columns the check uses. A CSV is parsed once, into a table of just those
    columns; a Parquet file stays a view (columnar reads are cheap to repeat)."""
    listed = ", ".join(quote(c) for c in dict.fromkeys(columns))
    try:
        if csv:
            con.execute(f"CREATE TABLE src AS SELECT {listed} FROM raw")
        else:
            con.execute(f"CREATE VIEW src AS SELECT {listed} FROM raw")
    except duckdb.Error as err:
        first = str(err).strip().splitlines()[0][:200]
        raise DataFileError(
            f"{path}: cannot read as {'CSV' if csv else 'Parquet'}: {first}"
        ) from None


def is_parquet(path: Path) -> bool:
    """Parquet by suffix or magic bytes (the caller has checked the file exists)."""
    with path.open("rb") as handle:
        return path.suffix.lower() in (".parquet", ".pq") or handle.read(4) == b"PAR1"


def exact_path(path: Path) -> str:
    """`path` as DuckDB must be given it to read that one file: absolute (so no `~` or URL
    prefix is read into it) and with the glob characters `*`, `?` and `[` each escaped as a
    one-character class (`a[1].csv` -> `a[[]1].csv`), so a file name is never a pattern.
    """
    text = str(path.absolute())
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def need(columns: Sequence[str], name: str, path: Path, what: str) -> None:
    """Raise unless the table has column `name` (`what` says which option asked for it)."""
    if name not in columns:
        raise DataFileError(f"{path}: no column {name!r} ({what}); columns: {', '.join(columns)}")


def column_kind(
    con: duckdb.DuckDBPyConnection, path: Path, column: str, field: str, table: str, sql_type: str
) -> MetricKind:
    """`proportion` when every value of `field` in `table` (the user's `column`) is a boolean
    or 0/1, else `mean`. Empty cells and values that are not finite numbers are errors."""
    if is_typed(sql_type):
        empty, bad, non_bool = con.execute(
            f"SELECT {', '.join(typed_checks(field, sql_type))} FROM {table}"
        ).fetchone()
        example = "inf or nan"
    elif sql_type.startswith("VARCHAR"):
        empty, non_bool, bad, example = _text_counts(con, field, table)
    else:
        raise DataFileError(f"{path}: column {column!r} is not numeric: it holds {sql_type}")
    return kind_from_counts(path, column, empty, bad, non_bool, example)


def is_typed(sql_type: str) -> bool:
    """A BOOLEAN or numeric column: checked and aggregated as it is, no text parsing."""
    base = sql_type.split("(")[0]
    return base == "BOOLEAN" or base in _NUMERIC or base == "DECIMAL"


def typed_checks(field: str, sql_type: str) -> list[str]:
    """Aggregates counting a typed column's empty, non-finite and non-0/1 values (in that
    order), so they can share a scan with other aggregates; what a type cannot hold (a
    non-finite integer, a boolean other than 0/1) is not looked for."""
    base = sql_type.split("(")[0]
    value = f"CAST({quote(field)} AS DOUBLE)"
    floating = base in ("FLOAT", "DOUBLE")
    return [
        f"count(*) - count({quote(field)})",
        f"count(*) FILTER (WHERE NOT isfinite({value}))" if floating else "0",
        "0" if base == "BOOLEAN" else f"count(*) FILTER (WHERE {value} NOT IN (0, 1))",
    ]


def kind_from_counts(
    path: Path, column: str, empty: int, bad: int, non_bool: int, example: object
) -> MetricKind:
    """The metric kind from a column's counts, or the one-line error they call for."""
    if empty:
        raise DataFileError(
            f"{path}: column {column!r} has {empty} empty values; fill them (e.g. with 0)"
        )
    if bad:
        raise DataFileError(
            f"{path}: column {column!r} is not numeric: {bad} values like {example!r}"
        )
    return "mean" if non_bool else "proportion"


def _text_counts(con: duckdb.DuckDBPyConnection, field: str, table: str) -> tuple:
    bools = ", ".join(f"'{v}'" for v in _BOOLEAN_TEXT)
    return con.execute(
        "SELECT count(*) FILTER (WHERE t IS NULL), "
        f"count(*) FILTER (WHERE t IS NOT NULL AND lower(t) NOT IN ({bools})), "
        "count(*) FILTER (WHERE bad), any_value(t) FILTER (WHERE bad) FROM "
        "(SELECT t, t IS NOT NULL AND lower(t) NOT IN ('true', 'false') AND "
        "NOT coalesce(isfinite(TRY_CAST(t AS DOUBLE)), false) AS bad FROM "
        f"(SELECT NULLIF(trim({quote(field)}), '') AS t FROM {table}))"
    ).fetchone()


def number(column: str, sql_type: str) -> str:
    """SQL expression for a column's value as a double (booleans as 1.0 / 0.0)."""
    if not sql_type.startswith("VARCHAR"):
        return f"CAST({quote(column)} AS DOUBLE)"
    t = f"lower(trim({quote(column)}))"
    return (
        f"(CASE WHEN {t} = 'true' THEN 1.0 WHEN {t} = 'false' THEN 0.0 "
        f"ELSE CAST({t} AS DOUBLE) END)"
    )
