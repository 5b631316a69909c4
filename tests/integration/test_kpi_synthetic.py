"""KPIs on generated events agree with plain hand-written DuckDB queries.

The events come from `simulator.synthetic` (the generator `bench/kpi_bench.py` scales up): every
group runs one version, members join once and some leave once, and act at random times after
joining.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from engine.events import EventStore
from engine.kpi import METRICS, compute_kpis, unit_sums
from simulator.synthetic import synthetic_events

START = date(2026, 8, 1)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> EventStore:
    store = EventStore(Path(tmp_path_factory.mktemp("synthetic")) / "store")
    store.import_rows(synthetic_events(20_000, start=START), "synthetic")
    return store


WINDOW = {"start": START, "end": START + timedelta(days=14)}


def _rows(table: pa.Table, *keys: str) -> dict[tuple, tuple[float, float]]:
    return {tuple(r[k] for k in ("metric", *keys)): (r["num"], r["den"]) for r in table.to_pylist()}


def test_generator_writes_valid_events_of_the_requested_size() -> None:
    table = synthetic_events(5_000, seed=1)
    assert 4_900 <= table.num_rows <= 5_000
    assert set(table["event"].unique().to_pylist()) >= {"join", "leave", "message", "order"}
    assert synthetic_events(5_000, seed=1).equals(table)


def test_generator_numbers_groups_from_first_group_and_keeps_one_version_per_group() -> None:
    table = synthetic_events(2_000, groups=3, first_group=7)
    pairs = {
        (r["group"], r["sop_version"]) for r in table.select(["group", "sop_version"]).to_pylist()
    }
    assert pairs == {("门店0007群", "2.0"), ("门店0008群", "1.0"), ("门店0009群", "2.0")}


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
    table = synthetic_events(20_000, start=START)
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
