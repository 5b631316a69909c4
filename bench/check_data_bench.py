"""`sop check-data` on 2M unit rows (CSV and Parquet) against a plain DuckDB group-by.

The baseline computes the same per-arm sums (units, opened, spend) with one `GROUP BY arm` over
the same file in the same process; the ratio is check-data's time over that. Target: <= 2x.
A second, diagnostic baseline adds `count(DISTINCT member)`: check-data leaves out units with
several rows, which no plain group-by does, and that takes one hash of every id.
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
from engine.stats.unit_table import check_unit_table


def _table(rows: int) -> pa.Table:
    rng = np.random.default_rng(9)
    arm = rng.random(rows) < 0.5
    return pa.table(
        {
            "member": [f"m{i}" for i in range(rows)],
            "arm": np.where(arm, "B", "A"),
            "opened": rng.random(rows) < np.where(arm, 0.21, 0.20),
            "spend": rng.gamma(2.0, 30.0, rows),
        }
    )


def _check(path: Path) -> None:
    check_unit_table(
        path,
        unit="member",
        variant_column="arm",
        baseline="A",
        candidate="B",
        metrics=["opened", "spend"],
    )


def _baseline(path: Path) -> None:
    reader = "read_parquet" if path.suffix == ".parquet" else "read_csv"
    con = duckdb.connect()
    con.execute(
        f"SELECT arm, count(*), sum(opened::INT), sum(spend) FROM {reader}('{path}') GROUP BY arm"
    ).fetchall()
    con.close()


def _baseline_with_ids(path: Path) -> None:
    """The same sums plus the one thing the duplicate-unit rule needs: whether any id repeats."""
    reader = "read_parquet" if path.suffix == ".parquet" else "read_csv"
    con = duckdb.connect()
    con.execute(
        f"SELECT arm, count(*), sum(opened::INT), sum(spend) FROM {reader}('{path}') GROUP BY arm"
    ).fetchall()
    con.execute(f"SELECT count(DISTINCT member) FROM {reader}('{path}')").fetchall()
    con.close()


def run(quick: bool = False) -> list[Row]:
    """check-data vs a plain group-by on CSV and on Parquet."""
    rows = 200_000 if quick else 2_000_000
    repeat = 3
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        table = _table(rows)
        parquet, csv = Path(tmp) / "units.parquet", Path(tmp) / "units.csv"
        pq.write_table(table, parquet)
        pacsv.write_csv(table, csv)
        for path, kind in ((csv, "CSV"), (parquet, "Parquet")):
            ours = median_ms(lambda p=path: _check(p), repeat)
            base = median_ms(lambda p=path: _baseline(p), repeat)
            ids = median_ms(lambda p=path: _baseline_with_ids(p), repeat)
            name = f"check-data, {rows:,} units, {kind}"
            out.append(Row(name, ours, "ms", "DuckDB GROUP BY arm, same sums", base, "<= 2x"))
            out.append(
                Row(
                    name,
                    ours,
                    "ms",
                    "same sums + count(DISTINCT id)",
                    ids,
                    "none (diagnostic)",
                    "like for like: the duplicate-unit rule needs every id hashed once",
                )
            )
    return out


if __name__ == "__main__":
    from bench.table import render

    print(render(run()))
