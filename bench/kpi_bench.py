"""KPIs over 1M and 10M stored events vs a hand-written DuckDB query over the same Parquet files.

Events come from `simulator.synthetic` (the generator the KPI tests use, here with 100 groups of
100 members over 30 days per import) and go through `EventStore.import_rows`, so the files are
exactly what the store writes: 1M events are one import, 10M are ten imports of 1M (ten files).
Figures are throughputs (events / median wall time after a warm-up), so the ratio is our
speed relative to the hand query: hand_time / our_time.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import pyarrow as pa

from bench.table import Row, median_ms
from engine.events import EventStore
from engine.kpi import METRICS, compute_kpis
from simulator.synthetic import synthetic_events

CHUNK = 1_000_000  # events per import
GROUPS, MEMBERS, DAYS = 100, 100, 30  # per import
REPEAT = 11

HAND_SQL = """SELECT sop_version, count(*) FILTER (WHERE event = 'open') AS opens,
       sum(value) FILTER (WHERE event = 'delivered') AS delivered
FROM read_parquet('{glob}') GROUP BY sop_version"""


def _fill(store: EventStore, chunks: range) -> None:
    for n in chunks:
        table = synthetic_events(
            CHUNK, groups=GROUPS, members=MEMBERS, days=DAYS, seed=7 + n, first_group=n * GROUPS
        )
        store.import_rows(table, f"bench chunk {n}")


def _open_rate_pair(store: EventStore, con: duckdb.DuckDBPyConnection) -> tuple[float, float]:
    """Median ms of compute_kpis(open_rate by version) and of the hand query, after checking
    both give the same numbers."""
    hand_sql = HAND_SQL.format(glob=store.glob.replace("'", "''"))

    def ours() -> pa.Table:
        return compute_kpis(store, metrics=["open_rate"], by=("version",))

    def hand() -> pa.Table:
        return con.sql(hand_sql).to_arrow_table()

    got = {r["sop_version"]: (r["num"], r["den"]) for r in ours().to_pylist()}
    want = {r["sop_version"]: (r["opens"], r["delivered"]) for r in hand().to_pylist()}
    if got != want:
        raise AssertionError(f"open_rate differs from the hand query: {got} != {want}")
    return median_ms(ours, REPEAT), median_ms(hand, REPEAT)


def _rate(events: int, ms: float) -> float:
    """Million events per second."""
    return events / ms / 1000


def _row(size: str, events: int, ours_ms: float, hand_ms: float, files: int) -> Row:
    return Row(
        f"KPI open_rate by version, {size} events (median of {REPEAT})",
        _rate(events, ours_ms),
        "M ev/s",
        "hand DuckDB query",
        _rate(events, hand_ms),
        ">= 0.70x",
        f"ratio = hand time / our time (higher is better); ours {ours_ms:.1f} ms, "
        f"hand {hand_ms:.1f} ms; {files} Parquet file(s)",
    )


def run(quick: bool = False) -> list[Row]:
    """1M events (and 10M unless `quick`): open_rate and all metrics vs the hand query."""
    rows: list[Row] = []
    con = duckdb.connect()
    with tempfile.TemporaryDirectory() as tmp:
        store = EventStore(Path(tmp) / "events")
        _fill(store, range(1))
        events = store.summary().rows
        ours_ms, hand_ms = _open_rate_pair(store, con)
        rows.append(_row("1M", events, ours_ms, hand_ms, len(store.paths)))

        def everything() -> pa.Table:
            return compute_kpis(store, by=("version",))

        found = {r["metric"] for r in everything().to_pylist()}
        all_ms = median_ms(everything, 5)
        rows.append(
            Row(
                f"KPI all {len(METRICS)} metrics by version, 1M events (median of 5)",
                _rate(events, all_ms),
                "M ev/s",
                "hand query, open_rate only",
                _rate(events, hand_ms),
                "none (extra)",
                f"not like for like: {len(found)} metrics with output, incl. membership and "
                f"stays, vs one scan for one metric; ours {all_ms:.0f} ms, hand {hand_ms:.0f} ms",
            )
        )
        if not quick:
            _fill(store, range(1, 10))
            events = store.summary().rows
            ours_ms, hand_ms = _open_rate_pair(store, con)
            rows.append(_row("10M", events, ours_ms, hand_ms, len(store.paths)))
    con.close()
    return rows
