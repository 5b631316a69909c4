"""Event times outside a sane window are refused by line, and a refused import writes nothing.

The window runs from 2000-01-01 (UTC) to a year after the import's `now` (passed in, never read
from the clock); offsets must lie within ±14:00 (issue 13, item 8).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from engine.events import EventRowsError, EventStore
from engine.events.schema import TimeLimits

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
HEADER = "group,member,time,event,value,sop_version\n"
GOOD = "一群,张三,2026-08-19T10:00:00+08:00,join,,1.0\n"

LATE = "is after 2027-11-28 03:00 UTC (366 days after the import)"
#: Each bad time with the reason its row is refused for.
BAD_TIMES = {
    "9999-12-31T23:59:59+08:00": f"time '9999-12-31T23:59:59+08:00' {LATE}",
    "0001-01-01T00:00:00+08:00": "time '0001-01-01T00:00:00+08:00' is before 2000-01-01 00:00 UTC",
    "10000-01-01T00:00:00+08:00": "bad time '10000-01-01T00:00:00+08:00'",
    "2026-08-19T10:00:00+99:00": "time '2026-08-19T10:00:00+99:00' has a UTC offset beyond ±14:00",
    "2099-01-01T00:00:00+08:00": f"time '2099-01-01T00:00:00+08:00' {LATE}",
}


def _store_files(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


@pytest.mark.parametrize(("time", "reason"), list(BAD_TIMES.items()))
def test_each_bad_time_is_refused_with_its_line_and_nothing_is_written(
    tmp_path: Path, time: str, reason: str
) -> None:
    src = tmp_path / "events.csv"
    src.write_text(HEADER + GOOD + f"一群,李四,{time},join,,\n", encoding="utf-8")
    store = EventStore(tmp_path / "events")
    with pytest.raises(EventRowsError) as caught:
        store.import_file(src, now=NOW)
    assert [str(p) for p in caught.value.problems] == [f"line 3: {reason}"]
    assert not store.root.exists()  # not the folder, the lock, a temp file or a Parquet file


def test_all_bad_times_of_a_file_are_reported_together_and_the_store_is_untouched(
    tmp_path: Path,
) -> None:
    store = EventStore(tmp_path / "events")
    good = tmp_path / "good.csv"
    good.write_text(HEADER + GOOD, encoding="utf-8")
    assert store.import_file(good, now=NOW).rows == 1
    before = (_store_files(store.root), (store.root / "manifest.json").read_bytes())
    bad = tmp_path / "bad.csv"
    rows = "".join(f"一群,m{i},{time},join,,\n" for i, time in enumerate(BAD_TIMES))
    bad.write_text(HEADER + GOOD + rows, encoding="utf-8")
    with pytest.raises(EventRowsError) as caught:
        store.import_file(bad, now=NOW)
    assert caught.value.total == len(BAD_TIMES)
    assert [p.where for p in caught.value.problems] == [f"line {n}" for n in range(3, 8)]
    assert (_store_files(store.root), (store.root / "manifest.json").read_bytes()) == before
    assert store.summary().rows == 1


def test_times_inside_the_window_import_up_to_the_edges(tmp_path: Path) -> None:
    src = tmp_path / "edges.csv"
    src.write_text(
        HEADER
        + "一群,m1,2000-01-01T08:00:00+08:00,join,,\n"  # 2000-01-01 00:00 UTC: the first allowed
        + "一群,m2,2027-11-28T03:00:00Z,join,,\n"  # now + 366 days: the last allowed
        + "一群,m3,2026-08-19T10:00:00+14:00,join,,\n"
        + "一群,m4,2026-08-19T10:00:00-1200,join,,\n",
        encoding="utf-8",
    )
    store = EventStore(tmp_path / "events")
    result = store.import_file(src, now=NOW)
    assert (result.rows, result.new) == (4, True)
    summary = store.summary()
    assert summary.latest == datetime(2027, 11, 28, 3, 0, tzinfo=UTC)
    assert summary.first_day is not None and summary.first_day.year == 2000
    manifest = json.loads((store.root / "manifest.json").read_text(encoding="utf-8"))
    assert [e["rows"] for e in manifest["imports"]] == [4]
    assert sorted(p.name for p in store.root.glob(".tmp-*")) == []


def test_a_second_past_the_window_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "late.csv"
    src.write_text(HEADER + "一群,m1,2027-11-28T03:00:01Z,join,,\n", encoding="utf-8")
    with pytest.raises(EventRowsError, match="line 2: time '2027-11-28T03:00:01Z' is after"):
        EventStore(tmp_path / "events").import_file(src, now=NOW)


def test_the_window_follows_now_and_the_limits_passed_in(tmp_path: Path) -> None:
    src = tmp_path / "events.csv"
    src.write_text(HEADER + "一群,m1,2028-06-01T10:00:00+08:00,join,,\n", encoding="utf-8")
    store = EventStore(tmp_path / "events")
    with pytest.raises(EventRowsError, match="is after"):
        store.import_file(src, now=NOW)
    assert store.import_file(src, now=NOW + timedelta(days=365)).rows == 1
    strict = TimeLimits(earliest=datetime(2026, 1, 1, tzinfo=UTC), ahead=timedelta(days=1))
    old = tmp_path / "old.csv"
    old.write_text(HEADER + "一群,m1,2025-12-31T10:00:00+08:00,join,,\n", encoding="utf-8")
    with pytest.raises(EventRowsError, match="is before 2026-01-01 00:00 UTC"):
        store.import_file(old, now=NOW, limits=strict)


def test_rows_from_memory_are_held_to_the_same_window(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "events")
    table = pa.table(
        {
            "group": ["一群", "一群", "一群"],
            "time": ["2026-08-19T10:00:00+08:00", "2099-01-01T00:00:00Z", "1970-01-01T00:00:00Z"],
            "event": ["exposure", "exposure", "exposure"],
        }
    )
    with pytest.raises(EventRowsError) as caught:
        store.import_rows(table, "simulator", now=NOW)
    assert [p.where for p in caught.value.problems] == ["row 1", "row 2"]
    assert not store.root.exists()


def test_now_must_carry_a_zone(tmp_path: Path) -> None:
    src = tmp_path / "events.csv"
    src.write_text(HEADER + GOOD, encoding="utf-8")
    with pytest.raises(ValueError, match="time zone"):
        EventStore(tmp_path / "events").import_file(src, now=datetime(2026, 11, 27))
