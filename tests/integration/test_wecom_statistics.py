"""Group statistics fetched from the fake WeCom: 30-day windows, owner chunks, paging."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from engine.wecom.client import WeComClient
from engine.wecom.errors import WeComApiError, WeComRequestInvalid
from engine.wecom.statistics import (
    BY_DAY,
    BY_OWNER,
    DayStat,
    OwnerStat,
    day_of,
    day_ranges,
    day_timestamp,
    fetch_daily_stats,
    fetch_owner_stats,
)
from tests.support.wecom_fake import FakeClock, FakeWeCom

START = date(2025, 1, 1)


@pytest.fixture
def wecom() -> Iterator[FakeWeCom]:
    with FakeWeCom(clock=FakeClock()) as fake:
        yield fake


@pytest.fixture
def client(wecom: FakeWeCom) -> Iterator[WeComClient]:
    with WeComClient(
        corpid=wecom.corpid,
        corpsecret=wecom.corpsecret,
        base_url=wecom.base_url,
        sleep=lambda s: None,
    ) as c:
        yield c


def _span_days(body: dict) -> int:
    return (body["day_end_time"] - body["day_begin_time"]) // 86400 + 1


def test_day_ranges_cut_45_days_into_30_and_15() -> None:
    end = START + timedelta(days=44)
    assert day_ranges(START, end) == [
        (START, START + timedelta(days=29)),
        (START + timedelta(days=30), end),
    ]


def test_day_timestamps_are_shanghai_midnight() -> None:
    assert day_timestamp(date(2025, 3, 8)) == 1741363200
    assert day_of(1741363200 + 86399) == date(2025, 3, 8)


def test_daily_stats_split_a_45_day_range_into_two_queries_and_parse_rows(wecom, client) -> None:
    end = START + timedelta(days=44)
    for offset in range(45):
        day = START + timedelta(days=offset)
        wecom.add_stats("zhangsan", day, new_member_cnt=offset, member_total=200, msg_total=3)
        wecom.add_stats("lisi", day, new_member_cnt=1, member_total=180, msg_total=2)
    rows = fetch_daily_stats(client, start=START, end=end, owners=["zhangsan", "lisi"])
    calls = wecom.calls(BY_DAY)
    assert len(calls) == 2
    assert [_span_days(c.body) for c in calls] == [30, 15]
    assert len(rows) == 45
    assert rows[0] == DayStat(START, new_member_cnt=1, member_total=380, msg_total=5)
    assert rows[-1].day == end
    assert rows[-1].new_member_cnt == 45


def test_owner_stats_follow_offset_pages(wecom, client) -> None:
    owners = [f"staff-{n}" for n in range(5)]
    for n, owner in enumerate(owners):
        wecom.add_stats(owner, START, new_chat_cnt=n, chat_total=10 + n, chat_has_msg=n)
    rows = fetch_owner_stats(client, start=START, end=START, owners=owners, page_size=2)
    assert [c.body["offset"] for c in wecom.calls(BY_OWNER)] == [0, 2, 4]
    assert [r.owner for r in rows] == ["staff-4", "staff-3", "staff-2", "staff-1", "staff-0"]
    assert rows[0] == OwnerStat(
        "staff-4", START, START, new_chat_cnt=4, chat_total=14, chat_has_msg=4
    )


def test_owner_lists_over_100_are_chunked_and_day_counts_added_up(wecom, client) -> None:
    owners = [f"staff-{n:03d}" for n in range(250)]
    for owner in owners:
        wecom.add_stats(owner, START, new_chat_cnt=1, msg_total=2)
    daily = fetch_daily_stats(client, start=START, end=START, owners=owners)
    by_owner = fetch_owner_stats(client, start=START, end=START, owners=owners)
    sizes = [len(c.body["owner_filter"]["userid_list"]) for c in wecom.calls(BY_DAY)]
    assert sizes == [100, 100, 50]
    assert len(wecom.calls(BY_OWNER)) == 3
    assert daily == [DayStat(START, new_chat_cnt=250, msg_total=500)]
    assert sorted(r.owner for r in by_owner) == owners


def test_owner_stats_keep_one_row_per_owner_and_window(wecom, client) -> None:
    end = START + timedelta(days=44)
    # WeCom answers a window as a whole (chat_total is a snapshot): the fake sums nothing
    wecom.add_window_stats("zhangsan", START, START + timedelta(days=29), chat_total=8)
    wecom.add_window_stats("zhangsan", START + timedelta(days=30), end, chat_total=9)
    rows = fetch_owner_stats(client, start=START, end=end, owners=["zhangsan"])
    assert [(r.day_begin, r.day_end, r.chat_total) for r in rows] == [
        (START, START + timedelta(days=29), 8),
        (START + timedelta(days=30), end, 9),
    ]


OWNERS = {"userid_list": ["zhangsan"]}


def test_fake_wecom_refuses_what_the_docs_forbid(wecom, client) -> None:
    begin = day_timestamp(START)
    too_long = {"day_begin_time": begin, "day_end_time": begin + 30 * 86400}
    too_many = {
        "day_begin_time": begin,
        "owner_filter": {"userid_list": [str(n) for n in range(101)]},
    }
    for api, body, errcode in [
        (BY_DAY, too_long, 600018),
        (BY_OWNER, too_many, 40058),
        (BY_OWNER, {"day_begin_time": begin, "limit": 1001, "owner_filter": OWNERS}, 40058),
        (BY_OWNER, {"day_begin_time": begin}, 81017),
        (BY_DAY, {"day_begin_time": begin}, 81017),
    ]:
        with pytest.raises(WeComApiError) as caught:
            client.call(api, body, idempotent=True)
        assert caught.value.errcode == errcode


def test_ranges_outside_the_180_day_history_are_refused_before_sending(wecom, client) -> None:
    today = date(2025, 7, 1)
    with pytest.raises(WeComRequestInvalid, match="outside what WeCom keeps"):
        fetch_daily_stats(client, start=today - timedelta(days=200), end=today, today=today)
    with pytest.raises(WeComRequestInvalid, match="before it starts"):
        fetch_owner_stats(client, start=START, end=START - timedelta(days=1))
    assert wecom.calls(BY_DAY) == [] and wecom.calls(BY_OWNER) == []


def test_every_owner_is_resolved_and_asked_for_100_at_a_time(wecom, client) -> None:
    wecom.follow_users = {f"staff-{n:03d}" for n in range(250)}
    wecom.add_stats("staff-007", START, chat_total=3)
    wecom.add_stats("staff-201", START, chat_total=4)
    rows = fetch_owner_stats(client, start=START, end=START)
    assert {(r.owner, r.chat_total) for r in rows} == {("staff-007", 3), ("staff-201", 4)}
    days = fetch_daily_stats(client, start=START, end=START)
    assert [d.chat_total for d in days] == [7]
    filters = [c.body["owner_filter"]["userid_list"] for c in wecom.calls(BY_OWNER)]
    assert [len(f) for f in filters] == [100, 100, 50]
    assert len(wecom.calls("externalcontact/get_follow_user_list")) == 2
