"""Read CSV, JSONL or Parquet event files into one raw DuckDB table of text columns.

Every reader creates the temp table `raw(loc, pre_error, field_error, group, member, time, event,
value, sop_version, sop)`: `loc` is where the row sits in its file (the CSV line counting the
header as line 1, the JSONL line, the Parquet row index from 0). `pre_error` is a fault that makes
the fields unreadable (wrong field count, not a JSON object); `field_error` one found while
reading fields that the field checks then add to.
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from engine.events.schema import COLUMNS, REQUIRED_COLUMNS
from sop_models.errors import DataFileError, one_line

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


def file_format(path: Path) -> str:
    """The format named by a file's suffix; DataFileError for anything else."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(FORMATS))
        raise DataFileError(f"{path}: unknown event file type {path.suffix!r} (use {known})")
    return fmt


def check_columns(source: str, names: list[str]) -> None:
    """Refuse duplicate, unknown or missing columns, naming all of them in one line."""
    dupes = sorted({n for n in names if names.count(n) > 1})
    unknown = [n for n in names if n not in COLUMNS]
    missing = [n for n in REQUIRED_COLUMNS if n not in names]
    faults = []
    if dupes:
        faults.append(f"duplicate column(s) {', '.join(dupes)}")
    if unknown:
        faults.append(f"unknown column(s) {', '.join(unknown)}")
    if missing:
        faults.append(f"missing column(s) {', '.join(missing)}")
    if faults:
        raise DataFileError(f"{source}: {'; '.join(faults)} (event columns: {', '.join(COLUMNS)})")


def load_raw(con: duckdb.DuckDBPyConnection, path: Path) -> str:
    """Create the `raw` table from a file; return its location word ("line" or "row")."""
    fmt = file_format(path)
    if fmt == "csv":
        _register_raw(con, _read_csv(path))
        return "line"
    if fmt == "jsonl":
        _load_jsonl(con, path)
        return "line"
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as err:
        raise DataFileError(f"{path}: not a readable Parquet file ({one_line(err)})") from None
    load_table(con, table, str(path))
    return "row"


def load_table(con: duckdb.DuckDBPyConnection, table: pa.Table, source: str) -> None:
    """Create the `raw` table from an Arrow table (Parquet file or rows handed over in memory)."""
    check_columns(source, table.column_names)
    loc = pa.array(np.arange(table.num_rows, dtype=np.int64))
    con.register("raw_in", table.append_column("__loc", loc))
    cols = [
        f'CAST("{c}" AS VARCHAR) AS "{c}"' if c in table.column_names else f'NULL AS "{c}"'
        for c in COLUMNS
    ]
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE raw AS SELECT __loc AS loc, NULL::VARCHAR AS pre_error, "
            f"NULL::VARCHAR AS field_error, {', '.join(cols)} FROM raw_in"
        )
    except duckdb.Error as err:
        raise DataFileError(
            f"{source}: a column has a type that is not text or number ({one_line(err)})"
        ) from None
    finally:
        con.unregister("raw_in")


def _register_raw(con: duckdb.DuckDBPyConnection, table: pa.Table) -> None:
    con.register("raw_in", table)
    cols = ", ".join(f'"{c}"' for c in COLUMNS)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE raw AS "
        f"SELECT loc, pre_error, NULL::VARCHAR AS field_error, {cols} FROM raw_in"
    )
    con.unregister("raw_in")


def _header(path: Path) -> list[str]:
    with path.open("rb") as fh:
        raw = fh.readline()
    try:
        first = next(csv.reader([raw.decode("utf-8-sig")]), None)
    except UnicodeDecodeError:
        raise DataFileError(f"{path}: line 1: not UTF-8 (save the file as UTF-8)") from None
    if not first:
        raise DataFileError(f"{path}: no header row (expected columns {', '.join(COLUMNS)})")
    return [name.strip() for name in first]


def _read_csv(path: Path) -> pa.Table:
    names = _header(path)
    check_columns(str(path), names)
    invalid: list[tuple[int, str, str]] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        fault = f"expected {row.expected_columns} fields, found {row.actual_columns}"
        invalid.append((int(row.number or 0), row.text or "", fault))
        return "skip"

    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=False, column_names=names, skip_rows=1),
            parse_options=pacsv.ParseOptions(
                newlines_in_values=True, ignore_empty_lines=False, invalid_row_handler=on_invalid
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=False
            ),
        )
    except pa.ArrowInvalid as err:
        if "UTF8" in str(err):
            line = _bad_utf8_line(path)
            raise DataFileError(
                f"{path}: line {line}: not UTF-8 (save the file as UTF-8)"
            ) from None
        raise DataFileError(f"{path}: not a readable CSV file ({one_line(err)})") from None
    return _with_lines(table, names, invalid)


def _with_lines(table: pa.Table, names: list[str], invalid: list[tuple[int, str, str]]) -> pa.Table:
    """Give each record its physical line, counting quoted newlines and skipped rows."""
    # pyarrow numbers records (not physical lines) with the header as record 1.
    bad_rec = np.array([num for num, _, _ in invalid], dtype=np.int64)
    total = table.num_rows + len(invalid)
    records = np.arange(2, total + 2, dtype=np.int64)
    is_bad = np.isin(records, bad_rec)
    newlines = np.zeros(total, dtype=np.int64)
    valid_nl = np.zeros(table.num_rows, dtype=np.int64)
    for name in names:
        valid_nl += pc.count_substring(table[name], "\n").to_numpy(zero_copy_only=False)
    newlines[~is_bad] = valid_nl
    newlines[is_bad] = [text.count("\n") for _, text, _ in sorted(invalid)]
    lines = records + np.concatenate([[0], np.cumsum(newlines)[:-1]]).astype(np.int64)
    blank = np.ones(table.num_rows, dtype=bool)
    for name in names:
        blank &= pc.equal(pc.utf8_trim_whitespace(table[name]), "").to_numpy(zero_copy_only=False)
    good = _complete(table, names).append_column("loc", pa.array(lines[~is_bad]))
    good = good.append_column("pre_error", pa.nulls(table.num_rows, pa.string()))
    good = good.filter(pa.array(~blank))
    faults = [fault for _, _, fault in sorted(invalid)]
    bad = pa.table(
        {
            **{c: pa.nulls(len(invalid), pa.string()) for c in COLUMNS},
            "loc": pa.array(lines[is_bad]),
            "pre_error": pa.array(faults, pa.string()),
        }
    )
    return pa.concat_tables([good.select(bad.column_names), bad])


def _complete(table: pa.Table, names: list[str]) -> pa.Table:
    cols = {c: table[c] if c in names else pa.nulls(table.num_rows, pa.string()) for c in COLUMNS}
    return pa.table(cols)


def _bad_utf8_line(path: Path) -> int:
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        return data.count(b"\n", 0, err.start) + 1
    return 1


def _load_jsonl(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise DataFileError(f"{path}: line {line}: not UTF-8") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    con.register(
        "raw_lines",
        pa.table({"loc": pa.array(np.arange(1, len(lines) + 1)), "line": pa.array(lines)}),
    )
    paths = ", ".join(f"'$.{c}'" for c in COLUMNS)
    known = ", ".join(f"'{c}'" for c in COLUMNS)
    version_at = COLUMNS.index("sop_version") + 1
    fields = ", ".join(
        f'CASE WHEN ok THEN vals[{i + 1}] END AS "{c}"' for i, c in enumerate(COLUMNS)
    )
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE raw AS
        WITH j AS (
            SELECT loc, rtrim(line, chr(13)) AS line FROM raw_lines
            WHERE trim(rtrim(line, chr(13))) <> ''),
        k AS (
            SELECT loc, line,
                   coalesce(CASE WHEN json_valid(line) THEN json_type(line) = 'OBJECT' END, false)
                       AS ok
            FROM j),
        p AS (
            SELECT loc, ok,
                   CASE WHEN ok THEN json_extract_string(line, [{paths}]) END AS vals,
                   CASE WHEN ok THEN json_type(line, [{paths}]) END AS types,
                   CASE WHEN ok THEN list_filter(json_keys(line), lambda x: x NOT IN ({known})) END
                       AS extra
            FROM k)
        SELECT loc,
               CASE WHEN NOT ok THEN 'not a JSON object' END AS pre_error,
               nullif(concat_ws('; ',
                 CASE WHEN len(extra) > 0
                      THEN 'unknown field(s) ' || array_to_string(extra, ', ') END,
                 CASE WHEN list_has_any(types, ['OBJECT', 'ARRAY', 'BOOLEAN'])
                      THEN 'a field holds a list, object or true/false, not text or a number' END,
                 CASE WHEN types[{version_at}] NOT IN ('VARCHAR', 'NULL')
                      THEN 'sop_version must be text like "1.0"' END), '') AS field_error,
               {fields}
        FROM p
    """)
    con.unregister("raw_lines")
