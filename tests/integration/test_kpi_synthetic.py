"""KPIs on generated events agree with plain hand-written DuckDB queries.

`synthetic_events` is the small vectorised generator the KPI tests (and, scaled up, a benchmark)
use: every group runs one version, members join once and some leave once, and act at random
times after joining.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from engine.events import EventStore
from engine.kpi import METRICS, compute_kpis, unit_sums

SHANGHAI = timezone(timedelta(hours=8))
START = date(2026, 8, 1)
ACTIVITY = np.array(["message", "open", "participate", "order", "coupon_use", "referral", "ugc"])
WEIGHTS = np.array([0.6, 0.2, 0.05, 0.06, 0.03, 0.03, 0.03])
DAY_US = 86_400_000_000


def synthetic_events(
    n_events: int, *, groups: int = 6, members: int = 30, days: int = 14, seed: int = 7
) -> pa.Table:
    """About `n_events` valid events, built with numpy only (no Python loop over rows)."""
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
    time = np.concatenate(
        [join_t, leave_t, _after(join_t[who], t0, t0 + days * DAY_US, rng), push_t, push_t + 1]
    )
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
    names = pa.array([f"门店{i:02d}群" for i in range(groups)])
    member_ids = pc.binary_join_element_wise("会员", pa.array(member.astype(str)), "")
    return pa.table(
        {
            "group": names.take(pa.array(group)),
            "member": pc.if_else(pa.array(member < 0), None, member_ids),
            "time": pa.array(time, pa.timestamp("us", tz="Asia/Shanghai")),
            "event": pa.array(event),
            "value": pa.array(value, from_pandas=True),
            "sop_version": pa.array(np.where(group % 2 == 0, "1.0", "2.0")),
        }
    )


def _after(joined: np.ndarray, lo: int, hi: int, rng: np.random.Generator) -> np.ndarray:
    """Random times in the window, none before the member joined."""
    first = np.maximum(joined, lo)
    return first + (rng.random(joined.size) * (hi - first)).astype(np.int64)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> EventStore:
    store = EventStore(Path(tmp_path_factory.mktemp("synthetic")) / "store")
    store.import_rows(synthetic_events(20_000), "synthetic")
    return store


WINDOW = {"start": START, "end": START + timedelta(days=14)}


def _rows(table: pa.Table, *keys: str) -> dict[tuple, tuple[float, float]]:
    return {tuple(r[k] for k in ("metric", *keys)): (r["num"], r["den"]) for r in table.to_pylist()}


def test_generator_writes_valid_events_of_the_requested_size() -> None:
    table = synthetic_events(5_000, seed=1)
    assert 4_900 <= table.num_rows <= 5_000
    assert set(table["event"].unique().to_pylist()) >= {"join", "leave", "message", "order"}
    assert synthetic_events(5_000, seed=1).equals(table)


def test_event_metrics_match_a_hand_written_query(store: EventStore) -> None:
    hand = duckdb.sql(
        f"""SELECT sop_version, count(*) FILTER (WHERE event = 'open'),
                   sum(value) FILTER (WHERE event = 'delivered'),
                   sum(value) FILTER (WHERE event = 'order'),
                   sum(value) FILTER (WHERE event = 'cost')
            FROM {store.source_sql()} WHERE day >= DATE '2026-08-01' AND day < DATE '2026-08-15'
            GROUP BY 1"""
    ).fetchall()
    got = _rows(compute_kpis(store, metrics=["open_rate", "roi"], **WINDOW), "sop_version")
    for version, opens, delivered, amount, cost in hand:
        assert got[("open_rate", version)] == (opens, delivered)
        assert got[("roi", version)] == (amount, cost)


def test_member_metrics_match_a_range_join_over_join_and_leave_days(store: EventStore) -> None:
    hand = duckdb.sql(
        f"""WITH e AS (SELECT * FROM {store.source_sql()}),
            j AS (SELECT "group", member, min(day) AS jd FROM e WHERE event = 'join' GROUP BY ALL),
            l AS (SELECT "group", member, min(day) AS ld FROM e WHERE event = 'leave' GROUP BY ALL),
            d AS (SELECT DISTINCT "group", day FROM e
                  WHERE day >= DATE '2026-08-01' AND day < DATE '2026-08-15'),
            m AS (SELECT d."group", d.day, count(*) AS members FROM d
                  JOIN j ON j."group" = d."group" AND j.jd <= d.day
                  LEFT JOIN l ON l."group" = j."group" AND l.member = j.member
                  WHERE l.ld IS NULL OR l.ld >= d.day GROUP BY ALL),
            s AS (SELECT "group", day, count(DISTINCT member) AS speakers FROM e
                  WHERE event = 'message' GROUP BY ALL)
            SELECT m."group", m.day, coalesce(s.speakers, 0), m.members
            FROM m LEFT JOIN s USING ("group", day)"""
    ).fetchall()
    got = _rows(
        compute_kpis(store, metrics=["interaction_rate"], by=("group", "day"), **WINDOW),
        "group",
        "day",
    )
    assert len(hand) > 50
    for group, day, speakers, members in hand:
        assert got[("interaction_rate", group, day)] == (speakers, members)


def test_conversion_matches_distinct_orderers_over_members_seen(store: EventStore) -> None:
    hand = duckdb.sql(
        f"""WITH e AS (SELECT * FROM {store.source_sql()}),
            j AS (SELECT "group", member, min(day) AS jd FROM e WHERE event = 'join' GROUP BY ALL),
            l AS (SELECT "group", member, min(day) AS ld FROM e WHERE event = 'leave' GROUP BY ALL),
            present AS (SELECT j."group", count(*) AS members
                        FROM j LEFT JOIN l USING ("group", member) WHERE j.jd <= DATE '2026-08-14'
                          AND (l.ld IS NULL OR l.ld >= DATE '2026-08-01') GROUP BY ALL),
            buyers AS (SELECT "group", count(DISTINCT member) AS n FROM e WHERE event = 'order'
                       AND day BETWEEN DATE '2026-08-01' AND DATE '2026-08-14' GROUP BY ALL)
            SELECT present."group", coalesce(buyers.n, 0), present.members
            FROM present LEFT JOIN buyers USING ("group")"""
    ).fetchall()
    got = _rows(compute_kpis(store, metrics=["conversion_rate"], by=("group",), **WINDOW), "group")
    assert {(g, n, d) for g, n, d in hand} == {(g, n, d) for (_, g), (n, d) in got.items()}


def test_unit_sums_add_up_to_the_version_totals(store: EventStore) -> None:
    for metric in ("open_rate", "interaction_rate", "conversion_rate", "first_week_retention"):
        per_group = unit_sums(store, metric, **WINDOW)
        totals = _rows(compute_kpis(store, metrics=[metric], **WINDOW), "sop_version")
        for version in ("1.0", "2.0"):
            mine = pc.equal(per_group["sop_version"], version)
            num = pc.sum(per_group["num"].filter(mine)).as_py()
            den = pc.sum(per_group["den"].filter(mine)).as_py()
            assert totals[(metric, version)] == (num, den)


@pytest.fixture(scope="module")
def untagged_store(tmp_path_factory: pytest.TempPathFactory) -> EventStore:
    """The same events with no version on messages and opens."""
    table = synthetic_events(20_000)
    keep = pc.is_in(table["event"], pa.array(["message", "open"]))
    versions = pc.if_else(keep, None, table["sop_version"])
    table = table.set_column(table.schema.get_field_index("sop_version"), "sop_version", versions)
    store = EventStore(Path(tmp_path_factory.mktemp("untagged")) / "store")
    store.import_rows(table, "synthetic, partly untagged")
    return store


@pytest.mark.parametrize("by", [("version",), ("group", "day")])
def test_each_metric_comes_out_the_same_alone_or_with_all_others(
    store: EventStore, untagged_store: EventStore, by: tuple[str, ...]
) -> None:
    together = compute_kpis(store, by=by, **WINDOW)  # type: ignore[arg-type]
    for metric in METRICS:
        alone = compute_kpis(store, metrics=[metric], by=by, **WINDOW)  # type: ignore[arg-type]
        assert together.filter(pc.equal(together["metric"], metric)).to_pylist() == (
            alone.to_pylist()
        ), metric
    # Each group runs one version, so untagged events must land on that version.
    untagged = compute_kpis(untagged_store, by=by, **WINDOW)  # type: ignore[arg-type]
    assert untagged.to_pylist() == together.to_pylist()


def test_no_window_means_the_whole_data(store: EventStore) -> None:
    summary = store.summary()
    assert summary.first_day is not None and summary.last_day is not None
    whole = {"start": summary.first_day, "end": summary.last_day + timedelta(days=1)}
    for metrics in (["open_rate"], None):
        assert compute_kpis(store, metrics=metrics).to_pylist() == (
            compute_kpis(store, metrics=metrics, **whole).to_pylist()
        )
