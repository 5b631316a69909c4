"""KPI formulas on small hand-computed data sets, by version, by group and by day.

Data set A and its hand counts are in `tests/support/kpi_data.py` (the alert tests use it too).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from engine.events import EventStore
from engine.kpi import METRICS, STAGES, compute_kpis, get_metric, unit_sums
from sop_models.errors import CheckError
from tests.support.kpi_data import DATA_A, HEAD, make_store

NINE = [
    "open_rate",
    "interaction_rate",
    "leave_rate",
    "conversion_rate",
    "average_order_value",
    "roi",
    "first_week_retention",
    "repurchase_rate",
    "messages_per_member",
]
WINDOW = {"start": date(2026, 8, 1), "end": date(2026, 8, 11)}


def by_key(table: pa.Table, key: str) -> dict[tuple[str, object], tuple[float, float, float]]:
    """{(metric, unit): (num, den, value)} from compute_kpis output."""
    return {(r["metric"], r[key]): (r["num"], r["den"], r["value"]) for r in table.to_pylist()}


@pytest.fixture
def store_a(tmp_path: Path) -> EventStore:
    return make_store(tmp_path, DATA_A)


def test_kpis_by_version_sum_groups_of_the_same_version(store_a: EventStore) -> None:
    got = by_key(compute_kpis(store_a, metrics=NINE, by=("version",), **WINDOW), "sop_version")
    assert got[("open_rate", "1.0")] == (4, 9, 4 / 9)
    assert got[("open_rate", "2.0")] == (1, 4, 1 / 4)
    assert got[("interaction_rate", "1.0")] == (4, 43, 4 / 43)
    assert got[("interaction_rate", "2.0")] == (3, 27, 3 / 27)
    assert got[("messages_per_member", "1.0")] == (7, 43, 7 / 43)
    assert got[("messages_per_member", "2.0")] == (3, 27, 3 / 27)
    assert got[("leave_rate", "1.0")] == (1, 43, 1 / 43)
    assert got[("leave_rate", "2.0")] == (1, 27, 1 / 27)
    assert got[("conversion_rate", "1.0")] == (3, 6, 0.5)
    assert got[("conversion_rate", "2.0")] == (1, 3, 1 / 3)
    assert got[("average_order_value", "1.0")] == (240, 3, 80.0)
    assert got[("average_order_value", "2.0")] == (120, 1, 120.0)
    assert got[("roi", "1.0")] == (240, 40, 6.0)
    assert got[("roi", "2.0")] == (120, 60, 2.0)
    # E left within a week (the rejoin at 08-04 18:00 is too late to observe 7 days).
    assert got[("first_week_retention", "1.0")] == (3, 4, 0.75)
    assert got[("first_week_retention", "2.0")] == (2, 3, 2 / 3)
    assert got[("repurchase_rate", "1.0")] == (1, 3, 1 / 3)
    assert got[("repurchase_rate", "2.0")] == (1, 1, 1.0)
    assert len(got) == 18


def test_kpis_by_group(store_a: EventStore) -> None:
    got = by_key(compute_kpis(store_a, metrics=NINE, by=("group",), **WINDOW), "group")
    assert got[("open_rate", "一群")] == (3, 7, 3 / 7)
    assert got[("interaction_rate", "一群")] == (3, 31, 3 / 31)
    assert got[("messages_per_member", "一群")] == (6, 31, 6 / 31)
    assert got[("leave_rate", "三群")] == (0, 12, 0.0)
    assert got[("conversion_rate", "一群")] == (2, 4, 0.5)
    assert got[("average_order_value", "一群")] == (210, 2, 105.0)
    assert got[("roi", "三群")] == (30, 10, 3.0)
    assert got[("first_week_retention", "二群")] == (2, 3, 2 / 3)
    assert ("first_week_retention", "三群") not in got  # joined 08-05: not 7 days before the end
    assert got[("repurchase_rate", "三群")] == (0, 1, 0.0)


def test_kpis_by_day(store_a: EventStore) -> None:
    got = by_key(compute_kpis(store_a, metrics=NINE, by=("day",), **WINDOW), "day")
    d3, d4 = date(2026, 8, 3), date(2026, 8, 4)
    assert got[("open_rate", d3)] == (3, 6, 0.5)
    assert got[("open_rate", d4)] == (1, 5, 0.2)
    # C leaves on 08-03 and D joins: both count as members that day.
    assert got[("interaction_rate", d3)] == (4, 7, 4 / 7)
    assert got[("messages_per_member", d3)] == (6, 7, 6 / 7)
    assert got[("leave_rate", d3)] == (1, 7, 1 / 7)
    # E leaves and rejoins on 08-04: one member, one leave.
    assert got[("leave_rate", d4)] == (1, 6, 1 / 6)
    assert got[("interaction_rate", d4)] == (2, 6, 1 / 3)
    assert got[("conversion_rate", d3)] == (3, 7, 3 / 7)
    assert got[("average_order_value", d3)] == (270, 3, 90.0)
    assert got[("roi", d3)] == (270, 90, 3.0)
    assert got[("roi", d4)] == (60, 0, None)
    assert got[("repurchase_rate", d3)] == (1, 3, 1 / 3)
    assert got[("first_week_retention", date(2026, 8, 1))] == (2, 3, 2 / 3)
    assert got[("first_week_retention", d3)] == (1, 1, 1.0)
    assert ("open_rate", date(2026, 8, 6)) not in got  # no pushes, no row


def test_group_and_day_units_with_a_version_filter(store_a: EventStore) -> None:
    table = compute_kpis(
        store_a, metrics=["open_rate"], by=("group", "day"), sop_version="v2.0", **WINDOW
    )
    assert table.column_names == ["metric", "group", "day", "num", "den", "value"]
    rows = [(r["group"], r["day"], r["value"]) for r in table.to_pylist()]
    assert rows == [("二群", date(2026, 8, 3), 0.5), ("二群", date(2026, 8, 4), 0.0)]


def test_unit_sums_give_per_group_sums_for_the_delta_method(store_a: EventStore) -> None:
    sums = unit_sums(store_a, "interaction_rate", **WINDOW).to_pylist()
    assert sums == [
        {"group": "一群", "sop_version": "1.0", "num": 3.0, "den": 31.0},
        {"group": "三群", "sop_version": "1.0", "num": 1.0, "den": 12.0},
        {"group": "二群", "sop_version": "2.0", "num": 3.0, "den": 27.0},
    ]


def test_a_connection_with_an_events_table_works_like_the_store(store_a: EventStore) -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    cols = '"group", member, time, event, value, sop_version'  # no day, no sop
    con.execute(f"CREATE TABLE events AS SELECT {cols} FROM {store_a.source_sql()}")
    from_con = compute_kpis(con, metrics=NINE, by=("group",), **WINDOW)
    assert (
        from_con.to_pylist()
        == compute_kpis(store_a, metrics=NINE, by=("group",), **WINDOW).to_pylist()
    )


DATA_B = """四群,P,2026-07-25T10:00:00+08:00,join,,1.0
四群,Q,2026-07-25T10:00:00+08:00,join,,1.0
四群,R,2026-07-25T10:00:00+08:00,join,,1.0
四群,S,2026-07-25T10:00:00+08:00,join,,1.0
四群,P,2026-07-28T10:00:00+08:00,profile_complete,,1.0
四群,,2026-08-01T09:00:00+08:00,exposure,100,1.0
四群,T,2026-08-01T10:00:00+08:00,join,,1.0
四群,U,2026-08-01T10:00:00+08:00,join,,1.0
四群,P,2026-08-01T11:00:00+08:00,message,,1.0
四群,,2026-08-02T09:00:00+08:00,exposure,,1.0
四群,P,2026-08-02T20:00:00+08:00,participate,,1.0
四群,P,2026-08-02T20:30:00+08:00,participate,,1.0
四群,Q,2026-08-02T20:00:00+08:00,participate,,1.0
四群,,2026-08-02T10:00:00+08:00,coupon_issued,10,1.0
四群,P,2026-08-03T10:00:00+08:00,coupon_use,,1.0
四群,Q,2026-08-03T10:00:00+08:00,coupon_use,,1.0
四群,T,2026-08-03T10:00:00+08:00,coupon_use,,1.0
四群,T,2026-08-03T11:00:00+08:00,profile_complete,,1.0
四群,P,2026-08-04T10:00:00+08:00,referral,,1.0
四群,R,2026-08-05T10:00:00+08:00,leave,,1.0
四群,P,2026-08-06T10:00:00+08:00,referral,,1.0
四群,Q,2026-08-07T10:00:00+08:00,ugc,,1.0
四群,U,2026-08-07T10:00:00+08:00,ugc,,1.0
四群,U,2026-08-08T10:00:00+08:00,ugc,,1.0
四群,Q,2026-08-10T10:00:00+08:00,message,,1.0
"""


def test_every_other_metric_on_a_second_hand_computed_group(tmp_path: Path) -> None:
    store = make_store(tmp_path, DATA_B)
    window = {"start": date(2026, 8, 1), "end": date(2026, 8, 15)}
    got = by_key(compute_kpis(store, by=(), **window), "metric")
    got = {m: v for (m, _), v in got.items()}
    assert got["join_rate"] == (2, 101, 2 / 101)  # empty exposure value counts 1
    assert got["profile_completion"] == (26, 75, 26 / 75)  # P 14 days + T 12 days
    assert got["activity_participation"] == (2, 75, 2 / 75)
    assert got["retention"] == (3, 4, 0.75)  # of P Q R S, R left
    assert got["churn_rate"] == (2, 4, 0.5)  # R left, S never active
    assert got["coupon_use_rate"] == (3, 10, 0.3)
    assert got["referral_rate"] == (2, 6, 1 / 3)
    assert got["koc_share"] == (3, 6, 0.5)  # P referred, Q and U posted UGC
    assert got["ugc_count"] == (3, 14, 3.0)
    days = by_key(compute_kpis(store, metrics=["weekly_active"], by=("day",), **window), "day")
    assert days[("weekly_active", date(2026, 8, 1))] == (1, 6, 1 / 6)
    assert days[("weekly_active", date(2026, 8, 9))] == (4, 5, 0.8)  # R has left
    assert days[("weekly_active", date(2026, 8, 14))] == (2, 5, 0.4)


def test_events_without_version_count_for_their_group_days_version(tmp_path: Path) -> None:
    body = DATA_A.replace(
        "一群,A,2026-08-03T10:05:00+08:00,open,,1.0", "一群,A,2026-08-03T10:05:00+08:00,open,,"
    )
    store = make_store(tmp_path, body)
    got = by_key(compute_kpis(store, metrics=NINE, by=("version",), **WINDOW), "sop_version")
    assert got[("open_rate", "1.0")] == (4, 9, 4 / 9)
    assert got[("interaction_rate", "1.0")] == (4, 43, 4 / 43)


def test_registry_names_stages_and_refuses_unknown_metrics(store_a: EventStore) -> None:
    assert len(METRICS) == 21
    assert {m.stage for m in METRICS.values()} == set(STAGES)
    assert get_metric("open_rate").label == "消息打开率"
    assert get_metric("open_rate").stage_label == "激活期"
    assert get_metric("leave_rate").direction == "lower"
    with pytest.raises(CheckError, match="unknown metric 'opens_rate'"):
        compute_kpis(store_a, metrics=["opens_rate"])
    with pytest.raises(CheckError, match="cannot group KPIs by week"):
        compute_kpis(store_a, by=("week",))  # type: ignore[arg-type]


def test_an_empty_store_gives_an_empty_table(tmp_path: Path) -> None:
    table = compute_kpis(EventStore(tmp_path / "nothing"), by=("group", "day"))
    assert table.num_rows == 0
    assert table.column_names == ["metric", "group", "day", "num", "den", "value"]


def test_sop_filter_keeps_the_groups_running_that_sop(tmp_path: Path) -> None:
    sops = {"一群": "welcome", "二群": "flash_sale", "三群": "welcome"}
    body = "".join(f"{line},{sops[line.split(',')[0]]}\n" for line in DATA_A.splitlines())
    src = tmp_path / "events.csv"
    src.write_text(HEAD.strip() + ",sop\n" + body, encoding="utf-8")
    store = EventStore(tmp_path / "store")
    store.import_file(src)
    got = by_key(compute_kpis(store, metrics=NINE, by=("group",), sop="welcome", **WINDOW), "group")
    assert {group for _, group in got} == {"一群", "三群"}
    assert got[("open_rate", "一群")] == (3, 7, 3 / 7)
    assert got[("interaction_rate", "三群")] == (1, 12, 1 / 12)


def test_members_seen_without_a_join_were_there_from_the_groups_first_day(tmp_path: Path) -> None:
    body = """五群,,2026-08-01T09:00:00+08:00,delivered,2,1.0
五群,X,2026-08-01T10:00:00+08:00,message,,1.0
五群,Y,2026-08-02T10:00:00+08:00,message,,1.0
五群,Y,2026-08-03T09:00:00+08:00,leave,,1.0
五群,Z,2026-08-03T10:00:00+08:00,join,,1.0
五群,Z,2026-08-03T11:00:00+08:00,message,,1.0
"""
    store = make_store(tmp_path, body)
    window = {"start": date(2026, 8, 1), "end": date(2026, 8, 5)}
    got = by_key(compute_kpis(store, metrics=["interaction_rate"], by=("day",), **window), "day")
    assert [got[("interaction_rate", date(2026, 8, d))] for d in (1, 2, 3, 4)] == [
        (1, 2, 0.5),  # X and Y (seen on 08-02, never joined) are members from 08-01
        (1, 2, 0.5),
        (1, 3, 1 / 3),  # Y leaves, Z joins
        (0, 2, 0.0),
    ]
