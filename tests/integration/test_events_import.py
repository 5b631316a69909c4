"""Event imports: CSV, JSONL and Parquet in; bad rows named by line; all or nothing; idempotent."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.events import EventRowsError, EventStore
from sop_models.errors import DataFileError

CSV_OK = """group,member,time,event,value,sop_version
一群,张三,2026-08-19T10:00:00+08:00,join,,1.0
一群,,2026-08-19T10:00:00+08:00,delivered,200,v1.0
一群,"李
四",2026-08-19T23:30:00+08:00,order,99.5,1.0
二群,王五,2026-08-20T00:30:00+08:00,message,,
"""


def _rows(store: EventStore) -> list[tuple]:
    con = duckdb.connect()
    rel = store.relation(con)
    cols = '"group", member, time, event, value, sop_version, day'
    return rel.query("e", f"SELECT {cols} FROM e ORDER BY time, event").fetchall()


def _store_files(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_csv_import_keeps_chinese_names_and_local_days(tmp_path: Path) -> None:
    src = tmp_path / "events.csv"
    src.write_text(CSV_OK, encoding="utf-8")
    store = EventStore(tmp_path / "store")
    result = store.import_file(src)
    assert (result.rows, result.new) == (4, True)
    assert result.file.name == f"events-{result.sha256}.parquet"
    rows = _rows(store)
    assert [(r[0], r[3]) for r in rows] == [
        ("一群", "delivered"),
        ("一群", "join"),
        ("一群", "order"),
        ("二群", "message"),
    ]
    assert rows[2][1] == "李\n四"
    assert rows[2][2] == datetime(2026, 8, 19, 15, 30, tzinfo=UTC)
    assert rows[0][4:6] == (200.0, "1.0")  # "v1.0" is stored as "1.0"
    assert rows[3][5] is None
    # 00:30 in Shanghai is still the previous day in UTC; `day` is the Shanghai date.
    assert rows[3][6] == date(2026, 8, 20)


def test_jsonl_import_accepts_numbers_and_nulls(tmp_path: Path) -> None:
    src = tmp_path / "events.jsonl"
    lines = [
        {"group": "三群", "member": "赵六", "time": "2026-08-19T10:00:00Z", "event": "join"},
        {
            "group": "三群",
            "member": "赵六",
            "time": "2026-08-19T11:00:00+08:00",
            "event": "order",
            "value": 12.5,
            "sop_version": "2.0",
            "sop": "welcome",
        },
        {
            "group": "三群",
            "member": None,
            "time": "2026-08-19T12:00:00+0800",
            "event": "cost",
            "value": "30",
        },
    ]
    src.write_text(
        "\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n\n", encoding="utf-8"
    )
    store = EventStore(tmp_path / "store")
    assert store.import_file(src).rows == 3
    rows = _rows(store)
    assert [(r[3], r[4]) for r in rows] == [("order", 12.5), ("cost", 30.0), ("join", None)]


def test_parquet_import_accepts_timestamp_columns(tmp_path: Path) -> None:
    src = tmp_path / "events.parquet"
    table = pa.table(
        {
            "group": ["四群", "四群"],
            "member": ["甲", None],
            "time": pa.array(
                [datetime(2026, 8, 19, 2, tzinfo=UTC), datetime(2026, 8, 19, 17, tzinfo=UTC)],
                pa.timestamp("us", tz="UTC"),
            ),
            "event": ["join", "delivered"],
            "value": [None, 150],
        }
    )
    pq.write_table(table, src)
    store = EventStore(tmp_path / "store")
    assert store.import_file(src).rows == 2
    rows = _rows(store)
    assert [r[6] for r in rows] == [date(2026, 8, 19), date(2026, 8, 20)]


BAD_CSV = """group,member,time,event,value,sop_version
一群,张三,2026-08-19T10:00:00+08:00,join,,1.0
,张三,2026-08-19T10:00:00+08:00,opne,,1.0
一群,"李
四",2026-08-19T10:00:00,order,,1.0
一群,李四
二群,王五,2026-13-19T10:00:00+08:00,order,-3,x

二群,,2026-08-19T10:00:00+08:00,message,abc,1.0
二群,,2026-08-19T10:00:00+08:00,delivered,,1.0
二群,王五,2026-08-19T10:00:00+08:00,cost,5,1.0
二群,王五,2026-08-19T10:00:00+08:00,delivered,1,1.0
"""


def test_bad_csv_rows_are_all_reported_by_line_and_nothing_is_stored(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "store")
    good = tmp_path / "good.csv"
    good.write_text(CSV_OK, encoding="utf-8")
    store.import_file(good)
    before = (_store_files(store.root), (store.root / "manifest.json").read_bytes())
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD_CSV, encoding="utf-8")
    with pytest.raises(EventRowsError) as caught:
        store.import_file(bad)
    err = caught.value
    assert [str(p) for p in err.problems] == [
        "line 3: missing group; unknown event 'opne'",
        "line 4: time '2026-08-19T10:00:00' has no UTC offset "
        "(write e.g. 2026-08-19T10:00:00+08:00); order without value",
        "line 6: expected 6 fields, found 2",
        "line 7: bad time '2026-13-19T10:00:00+08:00'; negative amount -3; "
        "bad sop_version 'x' (expected e.g. 1.0)",
        "line 9: non-numeric value 'abc'; message without member",
        "line 10: delivered without value",
        "line 11: cost is a group event: member must be empty",
    ]
    assert str(err).splitlines()[0] == f"{bad}: 7 bad rows, nothing imported"
    assert (_store_files(store.root), (store.root / "manifest.json").read_bytes()) == before
    assert len(_rows(store)) == 4


def test_bad_jsonl_rows_are_reported_by_line(tmp_path: Path) -> None:
    src = tmp_path / "bad.jsonl"
    src.write_text(
        '{"group":"一群","member":"m1","time":"2026-08-19T10:00:00+08:00","event":"join"}\n'
        "{bad\n"
        "\n"
        '{"group":"一群","event":"open","time":"2026-08-19T10:00:00Z","extra":1}\n'
        '{"group":"一群","member":"m1","time":"2026-08-19T10:00:00+08:00","event":"order",'
        '"value":"abc","sop_version":1.0}\n',
        encoding="utf-8",
    )
    store = EventStore(tmp_path / "store")
    with pytest.raises(EventRowsError) as caught:
        store.import_file(src)
    assert [str(p) for p in caught.value.problems] == [
        "line 2: not a JSON object",
        "line 4: unknown field(s) extra; open without member",
        "line 5: sop_version must be text like \"1.0\"; non-numeric value 'abc'",
    ]
    assert _store_files(store.root) == []  # a refused import creates nothing, not even the lock


def test_message_lists_twenty_bad_rows_then_counts_the_rest(tmp_path: Path) -> None:
    src = tmp_path / "many.csv"
    body = "".join(f"群{i},m{i},2026-08-19T10:00:00+08:00,wave,,\n" for i in range(25))
    src.write_text("group,member,time,event,value,sop_version\n" + body, encoding="utf-8")
    with pytest.raises(EventRowsError) as caught:
        EventStore(tmp_path / "store").import_file(src)
    lines = str(caught.value).splitlines()
    assert lines[1] == "  line 2: unknown event 'wave'"
    assert lines[20] == "  line 21: unknown event 'wave'"
    assert lines[21:] == ["  ... and 5 more"]
    assert caught.value.total == 25


def test_naive_times_are_refused_unless_a_zone_is_named(tmp_path: Path) -> None:
    src = tmp_path / "naive.csv"
    src.write_text("group,time,event\n一群,2026-08-19 23:30:00,exposure\n", encoding="utf-8")
    store = EventStore(tmp_path / "store")
    with pytest.raises(EventRowsError, match="line 2: time '2026-08-19 23:30:00' has no UTC"):
        store.import_file(src)
    assert store.import_file(src, naive_tz="Asia/Shanghai").rows == 1
    assert _rows(store)[0][2] == datetime(2026, 8, 19, 15, 30, tzinfo=UTC)


def test_importing_the_same_rows_again_is_refused_naming_the_batch(tmp_path: Path) -> None:
    src = tmp_path / "events.csv"
    src.write_text(CSV_OK, encoding="utf-8")
    store = EventStore(tmp_path / "store")
    first = store.import_file(src)
    # The same rows in another order (another file's bytes) are the same batch.
    lines = CSV_OK.splitlines(keepends=True)
    shuffled = tmp_path / "again.csv"
    shuffled.write_text(lines[0] + "".join(reversed(_records(lines[1:]))), encoding="utf-8")
    for path in (src, shuffled):
        with pytest.raises(DataFileError, match=f"already imported as batch {first.batch}"):
            store.import_file(path)
    assert len(store.imports()) == 1
    assert len(_rows(store)) == 4


def _records(lines: list[str]) -> list[str]:
    """CSV records (a quoted newline keeps two lines together)."""
    out: list[str] = []
    for line in lines:
        if out and out[-1].count('"') % 2 == 1:
            out[-1] += line
        else:
            out.append(line)
    return out


def test_overlapping_rows_are_refused_by_line_unless_they_carry_event_ids(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "store")
    head = "group,member,time,event,event_id\n"
    one = "一群,张三,2026-08-19T10:00:00+08:00,open,e1\n"
    two = "一群,李四,2026-08-19T10:05:00+08:00,open,e2\n"
    first = tmp_path / "a.csv"
    first.write_text(head + one, encoding="utf-8")
    batch = store.import_file(first).batch
    second = tmp_path / "b.csv"
    second.write_text(head + two + one, encoding="utf-8")
    result = store.import_file(second)  # e1 is stored: skipped, e2 is new
    assert (result.rows, result.skipped) == (1, 1)
    plain = tmp_path / "c.csv"
    plain.write_text(
        "group,member,time,event\n一群,王五,2026-08-19T11:00:00+08:00,open\n"
        "一群,张三,2026-08-19T10:00:00+08:00,open\n",
        encoding="utf-8",
    )
    # Without an id, a row equal to a stored one is refused by its line, naming its batch.
    with pytest.raises(DataFileError, match=rf"1 row\(s\) \(line 3\) .* batch {batch}"):
        store.import_file(plain)
    assert store.summary().rows == 2


def test_removing_a_batch_takes_its_rows_out(tmp_path: Path) -> None:
    src = tmp_path / "events.csv"
    src.write_text(CSV_OK, encoding="utf-8")
    store = EventStore(tmp_path / "store")
    result = store.import_file(src)
    assert store.remove(result.batch[:8]).sha256 == result.sha256
    assert (store.summary().rows, store.imports(), _rows(store)) == (0, [], [])
    assert not result.file.exists()
    with pytest.raises(DataFileError, match="is not an event batch"):
        store.remove(result.batch)
    assert store.import_file(src).new is True


def test_rows_from_memory_are_checked_by_row_index_and_deduplicated(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "store")
    bad = pa.table(
        {
            "group": ["一群", "一群"],
            "time": ["2026-08-19T10:00:00+08:00", "soon"],
            "event": ["exposure", "exposure"],
        }
    )
    with pytest.raises(EventRowsError, match="row 1: bad time 'soon'"):
        store.import_rows(bad, "simulator")
    good = pa.table(
        {
            "group": ["一群"],
            "time": ["2026-08-19T10:00:00+08:00"],
            "event": ["exposure"],
            "value": [3],
        }
    )
    first = store.import_rows(good, "simulator")
    assert (first.rows, first.new, first.source) == (1, True, "simulator")
    assert store.import_rows(good, "simulator again").new is False
    assert store.summary().rows == 1


def test_file_level_faults_are_one_line_errors(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "store")
    extra = tmp_path / "extra.csv"
    extra.write_text("group,time,event,channel\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"unknown column\(s\) channel"):
        store.import_file(extra)
    missing = tmp_path / "missing.csv"
    missing.write_text("group,member\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"missing column\(s\) time, event"):
        store.import_file(missing)
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"group,time,event\n" + "张三".encode("gbk") + b",x,join\n")
    with pytest.raises(DataFileError, match="line 2: not UTF-8"):
        store.import_file(latin)
    with pytest.raises(DataFileError, match=r"unknown event file type '\.xlsx'"):
        store.import_file(tmp_path / "events.xlsx")
    assert store.summary().rows == 0


def test_store_days_keep_the_zone_they_were_made_with(tmp_path: Path) -> None:
    src = tmp_path / "events.csv"
    src.write_text(CSV_OK, encoding="utf-8")
    EventStore(tmp_path / "store", tz="UTC").import_file(src)
    assert EventStore(tmp_path / "store").tz == "UTC"
    with pytest.raises(DataFileError, match="days are in UTC, not Asia/Shanghai"):
        EventStore(tmp_path / "store", tz="Asia/Shanghai")
