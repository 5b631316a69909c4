"""KPIs over 1M and 10M stored events vs a hand-written DuckDB query over the same Parquet files.

Events come from a vectorised generator (the one in tests/test_kpi_synthetic.py, with more
groups and a group offset) and go through `EventStore.import_rows`, so the files are exactly
what the store writes: 1M events are one import, 10M are ten imports of 1M (ten files).
Figures are throughputs (events / median wall time after a warm-up), so the ratio is our
speed relative to the hand query: hand_time / our_time.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bench.table import Row, median_ms
from engine.events import EventStore
from engine.kpi import METRICS, compute_kpis

SHANGHAI = timezone(timedelta(hours=8))
ACTIVITY = np.array(["message", "open", "participate", "order", "coupon_use", "referral", "ugc"])
WEIGHTS = np.array([0.6, 0.2, 0.05, 0.06, 0.03, 0.03, 0.03])
DAY_US = 86_400_000_000
CHUNK = 1_000_000  # events per import
GROUPS, MEMBERS, DAYS = 100, 100, 30  # per import
REPEAT = 11

HAND_SQL = """SELECT sop_version, count(*) FILTER (WHERE event = 'open') AS opens,
       sum(value) FILTER (WHERE event = 'delivered') AS delivered
FROM read_parquet('{glob}') GROUP BY sop_version"""


def synthetic_events(
    n_events: int,
    *,
    groups: int = GROUPS,
    members: int = MEMBERS,
    days: int = DAYS,
    seed: int = 7,
    first_group: int = 0,
) -> pa.Table:
    """About `n_events` valid events for groups numbered from `first_group` (numpy only)."""
    rng = np.random.default_rng(seed)
    t0 = int(datetime(2026, 8, 1, tzinfo=SHANGHAI).timestamp()) * 1_000_000
    n_m = groups * members
    member_group = np.repeat(np.arange(groups), members)
    join_t = t0 + rng.integers(-3 * DAY_US, days * DAY_US // 2, n_m)
    leaves = rng.random(n_m) < 0.15
    leave_t = (join_t + rng.integers(DAY_US // 24, days * DAY_US, n_m))[leaves]
    push_group = np.repeat(np.arange(groups), days)
    push_t = t0 + np.tile(np.arange(days), groups) * DAY_US + 10 * 3_600_000_000
    n_act = max(n_events - n_m - leaves.sum() - 2 * push_group.size, 0)
    who = rng.integers(0, n_m, n_act)
    act = ACTIVITY[rng.choice(ACTIVITY.size, n_act, p=WEIGHTS)]
    group = np.concatenate(
        [member_group, member_group[leaves], member_group[who], push_group, push_group]
    )
    member = np.concatenate(
        [np.arange(n_m), np.arange(n_m)[leaves], who, np.full(2 * push_group.size, -1)]
    )
    first = np.maximum(join_t[who], t0)
    acted = first + (rng.random(n_act) * (t0 + days * DAY_US - first)).astype(np.int64)
    time = np.concatenate([join_t, leave_t, acted, push_t, push_t + 1])
    event = np.concatenate(
        [
            np.full(n_m, "join"),
            np.full(leaves.sum(), "leave"),
            act,
            np.full(push_group.size, "delivered"),
            np.full(push_group.size, "cost"),
        ]
    )
    value = np.full(event.size, np.nan)
    value[event == "order"] = rng.integers(1, 500, (event == "order").sum())
    value[event == "delivered"] = members
    value[event == "cost"] = rng.integers(10, 100, (event == "cost").sum())
    names = pa.array([f"门店{first_group + i:04d}群" for i in range(groups)])
    member_ids = pc.binary_join_element_wise("会员", pa.array(member.astype(str)), "")
    return pa.table(
        {
            "group": names.take(pa.array(group)),
            "member": pc.if_else(pa.array(member < 0), None, member_ids),
            "time": pa.array(time, pa.timestamp("us", tz="Asia/Shanghai")),
            "event": pa.array(event),
            "value": pa.array(value, from_pandas=True),
            "sop_version": pa.array(np.where((first_group + group) % 2 == 0, "1.0", "2.0")),
        }
    )


def _fill(store: EventStore, chunks: range) -> None:
    for n in chunks:
        table = synthetic_events(CHUNK, seed=7 + n, first_group=n * GROUPS)
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
