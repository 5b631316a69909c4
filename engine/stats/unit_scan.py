"""The scans `check-data` makes over a unit table, as few as the rules allow (issue 14, item 9).

1. `keep_rows`: the variant column grouped by value (a scan of one low-cardinality column):
   which values are the baseline and the candidate (compared as trimmed text, once per distinct
   value, not per row), how many rows each has; the view `kept` joins the rows to their arm.
2. `profile`: one scan of `kept` for everything else the check needs when nothing has to be
   excluded: each typed metric column's checks (empty, not finite, not 0/1) and per arm its
   count, sum and sample variance (DuckDB's `var_samp`, numerically stable).
3. `exclude`: a unit with several rows (or a cluster in both variants) is left out with all its
   rows: one GROUP BY id lists the repeated (and, in unit mode, the empty) ids in a small
   table; `clean` is a view over `kept` (anti-joined with that table when it is not empty), so
   no copy of the rows is ever made.

Text metric columns (a CSV column mixing `True` and `1`) keep their own check scan
(`table_read.column_kind`) and get their moments from `clean`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from engine.stats.result import MetricKind
from engine.stats.table_read import (
    column_kind,
    is_typed,
    kind_from_counts,
    literal,
    number,
    quote,
    typed_checks,
)
from sop_models.errors import DataFileError

Moments = dict[bool, tuple[int, float, float | None]]
"""Per arm (True = baseline): count, sum and sample variance of one column."""


def keep_rows(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    variant: str,
    values: tuple[str, str],
    key: str,
    alias: dict[str, str],
) -> tuple[int, int]:
    """View `kept(is_b, id, c0, ...)`: the two arms' rows, id the trimmed unit/cluster id.
    Returns (rows in the file, rows with another variant value)."""
    b, c = (literal(v.strip()) for v in values)
    con.execute(
        "CREATE TEMP TABLE variants AS SELECT v, n, CASE trim(CAST(v AS VARCHAR)) "
        f"WHEN {b} THEN true WHEN {c} THEN false END AS is_b FROM "
        f"(SELECT {quote(variant)} AS v, count(*) AS n FROM src GROUP BY 1)"
    )
    copies = "".join(f", src.{quote(column)} AS {name}" for column, name in alias.items())
    con.execute(
        f"CREATE VIEW kept AS SELECT arms.is_b, "
        f"NULLIF(trim(CAST(src.{quote(key)} AS VARCHAR)), '') AS id{copies} FROM src JOIN "
        "(SELECT v, is_b FROM variants WHERE is_b IS NOT NULL) AS arms "
        f"ON src.{quote(variant)} = arms.v"
    )
    rows, n_b, n_c = con.execute(
        "SELECT sum(n), coalesce(sum(n) FILTER (WHERE is_b), 0), "
        "coalesce(sum(n) FILTER (WHERE NOT is_b), 0) FROM variants"
    ).fetchone()
    for count, value in ((n_b, values[0]), (n_c, values[1])):
        if not count:
            seen = con.execute(
                "SELECT DISTINCT trim(CAST(v AS VARCHAR)) AS t FROM variants ORDER BY t LIMIT 10"
            ).fetchall()
            raise DataFileError(
                f"{path}: no rows with {variant} = {value.strip()!r}; values seen: "
                + ", ".join(repr(v[0]) for v in seen)
            )
    return int(rows), int(rows - n_b - n_c)


@dataclass
class Profile:
    """What one scan of `kept` found: rows per arm, metric kinds, typed columns' moments."""

    rows: dict[bool, int]
    kinds: dict[str, MetricKind]
    moments: dict[str, Moments] = field(default_factory=dict)


def empty_ids(path: Path, key: str, empty: int) -> None:
    """The one-line error for rows without a unit or cluster id."""
    if empty:
        raise DataFileError(f"{path}: column {key!r} has {empty} empty ids")


def profile(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    key: str,
    columns: dict[str, tuple[str, str]],
    *,
    by_cluster: bool,
) -> Profile:
    """One scan of `kept`; `columns` maps alias -> (the user's column name, its SQL type).
    Raises the one-line error for empty ids or a bad metric column."""
    typed = [a for a, (_, t) in columns.items() if is_typed(t)]
    # Unit mode counts empty ids in the duplicate scan (`exclude`), which reads the ids anyway.
    parts = ["count(*)", "count(*) FILTER (WHERE id IS NULL)" if by_cluster else "0"]
    for a in typed:
        x = f"CAST({quote(a)} AS DOUBLE)"
        parts += [*typed_checks(a, columns[a][1]), f"sum({x})", f"var_samp({x})"]
    found = con.execute(f"SELECT is_b, {', '.join(parts)} FROM kept GROUP BY is_b").fetchall()
    by_arm = {bool(r[0]): r[1:] for r in found}
    empty_ids(path, key, sum(int(r[1]) for r in by_arm.values()))
    kinds: dict[str, MetricKind] = {}
    moments: dict[str, Moments] = {}
    for i, a in enumerate(typed):
        at = 2 + 5 * i
        empty_v, bad, non_bool = (sum(int(r[at + k]) for r in by_arm.values()) for k in range(3))
        kinds[a] = kind_from_counts(path, columns[a][0], empty_v, bad, non_bool, "inf or nan")
        moments[a] = {arm: (int(r[0]), float(r[at + 3]), r[at + 4]) for arm, r in by_arm.items()}
    for a, (column, sql_type) in columns.items():
        if a not in kinds:
            kinds[a] = column_kind(con, path, column, a, "kept", sql_type)
    ordered = {a: kinds[a] for a in columns}
    return Profile({arm: int(r[0]) for arm, r in by_arm.items()}, ordered, moments)


def exclude(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    key: str,
    numbers: dict[str, str],
    *,
    by_cluster: bool,
) -> int:
    """`clean(is_b, id, c0, ...)`: `kept` without duplicate units (or clusters seen in both
    variants), every metric column a double; returns how many units or clusters went."""
    values = "".join(f", {expr} AS {name}" for name, expr in numbers.items())
    # One hash aggregation over the ids finds every repeated id (and, in unit mode, the empty
    # ones: NULL ids form one group); `clean` stays a view, re-reading `kept` without them.
    rule = "count(DISTINCT is_b) > 1" if by_cluster else "count(*) > 1 OR id IS NULL"
    con.execute(
        f"CREATE TEMP TABLE dropped AS SELECT id, count(*) AS n FROM kept GROUP BY id HAVING {rule}"
    )
    (empty,) = con.execute("SELECT coalesce(sum(n), 0) FROM dropped WHERE id IS NULL").fetchone()
    empty_ids(path, key, int(empty))
    (excluded,) = con.execute("SELECT count(*) FROM dropped").fetchone()
    source = "kept ANTI JOIN dropped USING (id)" if excluded else "kept"
    con.execute(f"CREATE VIEW clean AS SELECT is_b, id{values} FROM {source}")
    return int(excluded)  # an arm it emptied is reported from the arms' sizes (`arms_left`)


def arms_left(path: Path, left: dict[bool, int], excluded: int, *, by_cluster: bool) -> None:
    """The one-line error when excluding repeated units (or crossed clusters) empties an arm."""
    if not left.get(True) or not left.get(False):
        what = "clusters seen in both variants" if by_cluster else "units with several rows"
        raise DataFileError(
            f"{path}: an arm is empty after excluding {excluded} {what}"
            + ("; is the cluster column the unit of randomization?" if by_cluster else "")
        )


def moments(con: duckdb.DuckDBPyConnection, names: list[str]) -> dict[str, Moments]:
    """Per-arm count, sum and sample variance of `clean`'s columns `names`, in one scan."""
    if not names:
        return {}
    parts = ", ".join(f"sum({quote(a)}), var_samp({quote(a)})" for a in names)
    found = con.execute(f"SELECT is_b, count(*), {parts} FROM clean GROUP BY is_b").fetchall()
    return {
        a: {bool(r[0]): (int(r[1]), float(r[2 + 2 * i]), r[3 + 2 * i]) for r in found}
        for i, a in enumerate(names)
    }


def doubles(columns: dict[str, tuple[str, str]]) -> dict[str, str]:
    """alias -> SQL expression of the column's value as a double."""
    return {a: number(a, sql_type) for a, (_, sql_type) in columns.items()}
