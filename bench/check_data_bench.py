"""`sop check-data` on 2M unit rows (CSV and Parquet) against plain DuckDB SQL in the same process.

Target (issue 14, item 9): within 2x of a plain DuckDB group-by computing the same per-arm sums.
check-data's sums are over units with one row: a unit with several rows is left out with all its
rows (a duplicate export line, or a member seen in both variants). The baseline is therefore the
query an analyst would write for the same numbers: `GROUP BY id HAVING count(*) > 1`, an anti
join, `GROUP BY arm`; the bench checks that both give the same units per arm. A diagnostic row
compares with the naive `GROUP BY arm` over every row (wrong when ids repeat): the gap is the
price of hashing every id once, which no exact duplicate check can skip.
Two tables: every id distinct (check-data's fast path: no copy), and 10,000 ids on two rows.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from bench.table import Row, median_ms
from engine.stats.unit_table import TableCheck, check_unit_table


def _table(rows: int, repeated: int = 0) -> pa.Table:
    """`rows` rows; the last `repeated` rows reuse the ids of the first ones (units on 2 rows)."""
    rng = np.random.default_rng(9)
    arm = rng.random(rows) < 0.5
    ids = [f"m{i}" for i in range(rows - repeated)] + [f"m{i}" for i in range(repeated)]
    return pa.table(
        {
            "member": ids,
            "arm": np.where(arm, "B", "A"),
            "opened": rng.random(rows) < np.where(arm, 0.21, 0.20),
            "spend": rng.gamma(2.0, 30.0, rows),
        }
    )


def _check(path: Path) -> TableCheck:
    return check_unit_table(
        path,
        unit="member",
        variant_column="arm",
        baseline="A",
        candidate="B",
        metrics=["opened", "spend"],
    )


def _reader(path: Path) -> str:
    return f"{'read_parquet' if path.suffix == '.parquet' else 'read_csv'}('{path}')"


def _same_sums(path: Path) -> dict[str, int]:
    """The per-arm sums check-data reports, in plain SQL: units with one row only."""
    con = duckdb.connect()
    found = con.execute(
        f"WITH t AS (SELECT * FROM {_reader(path)}), "
        "once AS (SELECT member FROM t GROUP BY member HAVING count(*) = 1) "
        "SELECT arm, count(*), sum(opened::INT), sum(spend), var_samp(spend) "
        "FROM t SEMI JOIN once USING (member) GROUP BY arm"
    ).fetchall()
    con.close()
    return {str(r[0]): int(r[1]) for r in found}


def _naive(path: Path) -> None:
    """Every row, duplicates included: not the same sums when an id repeats."""
    con = duckdb.connect()
    con.execute(
        f"SELECT arm, count(*), sum(opened::INT), sum(spend) FROM {_reader(path)} GROUP BY arm"
    ).fetchall()
    con.close()


def _agree(path: Path) -> None:
    """Both sides count the same units per arm, or the comparison means nothing."""
    primary = _check(path).decision.primary
    ours, sums = (primary.baseline.n, primary.candidate.n), _same_sums(path)
    if ours != (sums["A"], sums["B"]):
        raise AssertionError(f"{path.name}: check-data {ours} != SQL {sums}")


def run(quick: bool = False) -> list[Row]:
    """check-data vs the same sums in plain DuckDB SQL, on CSV and on Parquet."""
    rows = 200_000 if quick else 2_000_000
    repeat = 3
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for repeated in (0, rows // 200):
            table = _table(rows, repeated)
            parquet, csv = Path(tmp) / f"u{repeated}.parquet", Path(tmp) / f"u{repeated}.csv"
            pq.write_table(table, parquet)
            pacsv.write_csv(table, csv)
            for path, kind in ((csv, "CSV"), (parquet, "Parquet")):
                _agree(path)
                ours = median_ms(lambda p=path: _check(p), repeat)
                same = median_ms(lambda p=path: _same_sums(p), repeat)
                dup = f", {repeated:,} ids on 2 rows" if repeated else ", ids distinct"
                name = f"check-data, {rows:,} rows, {kind}{dup}"
                out.append(Row(name, ours, "ms", "DuckDB SQL, same per-arm sums", same, "<= 2x"))
                if not repeated:
                    naive = median_ms(lambda p=path: _naive(p), repeat)
                    out.append(
                        Row(
                            name, ours, "ms", "naive GROUP BY arm (duplicates kept)", naive,
                            "none (diagnostic)", "the gap: one hash of every id",
                        )
                    )  # fmt: skip
    return out


if __name__ == "__main__":
    from bench.table import render

    print(render(run()))
