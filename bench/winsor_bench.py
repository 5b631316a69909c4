"""`sop check-data --winsorize` on 2M unit rows: the capped check against the same check uncapped.

A capped mean needs the pooled cap (one aggregate over the kept rows) and its capped per-arm
moments (one more); nothing is copied. The uncapped path runs no extra query at all.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from bench.table import Row, median_ms
from engine.stats.unit_table import check_unit_table


def _table(rows: int) -> pa.Table:
    """10% payers with lognormal(4, 1.5) spend, the heavy tail the cap is for."""
    rng = np.random.default_rng(9)
    arm = rng.random(rows) < 0.5
    paying = rng.random(rows) < 0.1
    return pa.table(
        {
            "member": [f"m{i}" for i in range(rows)],
            "arm": np.where(arm, "B", "A"),
            "spend": np.where(paying, np.round(rng.lognormal(4.0, 1.5, rows), 2), 0.0),
        }
    )


def _check(path: Path, winsorize: tuple[str, ...]) -> None:
    check_unit_table(
        path, unit="member", variant_column="arm", baseline="A", candidate="B",
        metrics=["spend"], winsorize=winsorize,
    )  # fmt: skip


def run(quick: bool = False) -> list[Row]:
    """check-data --winsorize spend vs check-data on the same file, CSV and Parquet."""
    rows = 200_000 if quick else 2_000_000
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        table = _table(rows)
        parquet, csv = Path(tmp) / "units.parquet", Path(tmp) / "units.csv"
        pq.write_table(table, parquet)
        pacsv.write_csv(table, csv)
        for path, kind in ((csv, "CSV"), (parquet, "Parquet")):
            capped = median_ms(lambda p=path: _check(p, ("spend",)), 3)
            plain = median_ms(lambda p=path: _check(p, ()), 3)
            name = f"check-data --winsorize spend, {rows:,} units, {kind}"
            out.append(Row(name, capped, "ms", "the same check uncapped", plain, "none"))
    return out


if __name__ == "__main__":
    from bench.table import render

    print(render(run()))
