"""Customer-group statistics [92133, 96359]: by owner and by day, inside WeCom's limits.

WeCom answers at most 30 days per query (both ends included), 100 owners per filter and
1,000 rows per page, and keeps 180 days. Longer ranges are split, owner lists chunked and
pages followed here, so callers ask for what they need. Days are Asia/Shanghai dates.
`owner_filter` is always sent: without it a corp whose app sees more than 1,000 people gets
81017, so "every owner" is resolved first (`get_follow_user_list`) and asked 100 at a time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from engine.wecom.client import WeComClient
from engine.wecom.errors import WeComRequestInvalid

BY_OWNER = "externalcontact/groupchat/statistic"
BY_DAY = "externalcontact/groupchat/statistic_group_by_day"
FOLLOW_USERS = "externalcontact/get_follow_user_list"
CST = timezone(timedelta(hours=8), "Asia/Shanghai")
MAX_DAYS, MAX_OWNERS, MAX_LIMIT, HISTORY_DAYS = 30, 100, 1000, 180
COUNT_FIELDS = (
    "new_chat_cnt",
    "chat_total",
    "chat_has_msg",
    "new_member_cnt",
    "member_total",
    "member_has_msg",
    "msg_total",
    "migrate_trainee_chat_cnt",
)


@dataclass(frozen=True)
class OwnerStat:
    """One owner's group counts over one queried window [day_begin, day_end]."""

    owner: str
    day_begin: date
    day_end: date
    new_chat_cnt: int = 0
    chat_total: int = 0
    chat_has_msg: int = 0
    new_member_cnt: int = 0
    member_total: int = 0
    member_has_msg: int = 0
    msg_total: int = 0
    migrate_trainee_chat_cnt: int = 0


@dataclass(frozen=True)
class DayStat:
    """One day's group counts, summed over the requested owners."""

    day: date
    new_chat_cnt: int = 0
    chat_total: int = 0
    chat_has_msg: int = 0
    new_member_cnt: int = 0
    member_total: int = 0
    member_has_msg: int = 0
    msg_total: int = 0
    migrate_trainee_chat_cnt: int = 0


def day_timestamp(day: date) -> int:
    """Unix time of 00:00 Asia/Shanghai on `day` (what WeCom expects)."""
    return int(datetime(day.year, day.month, day.day, tzinfo=CST).timestamp())


def day_of(timestamp: int) -> date:
    """The Asia/Shanghai date of a unix time."""
    return datetime.fromtimestamp(timestamp, CST).date()


def wecom_today(now: datetime) -> date:
    """The day it is in Beijing at `now`: WeCom counts its statistics days there."""
    return now.astimezone(CST).date()


def day_ranges(start: date, end: date, max_days: int = MAX_DAYS) -> list[tuple[date, date]]:
    """[start, end] cut into consecutive windows of at most `max_days` days (ends included)."""
    if end < start:
        raise WeComRequestInvalid(f"statistics: range ends ({end}) before it starts ({start})")
    windows: list[tuple[date, date]] = []
    begin = start
    while begin <= end:
        stop = min(end, begin + timedelta(days=max_days - 1))
        windows.append((begin, stop))
        begin = stop + timedelta(days=1)
    return windows


def follow_users(client: WeComClient) -> list[str]:
    """Staff with customer-contact permission: every possible group owner the app sees."""
    payload = client.call(FOLLOW_USERS, None, method="GET", idempotent=True).payload
    return [str(user) for user in payload.get("follow_user") or ()]


def owner_chunks(owners: Sequence[str], size: int = MAX_OWNERS) -> list[list[str]]:
    """Owner filters of at most `size` distinct ids each."""
    unique = list(dict.fromkeys(owners))
    return [unique[i : i + size] for i in range(0, len(unique), size)]


def _check_window(start: date, end: date, today: date | None) -> None:
    if today is None:
        return
    oldest, newest = today - timedelta(days=HISTORY_DAYS), today - timedelta(days=1)
    if start < oldest or end > newest:
        raise WeComRequestInvalid(
            f"statistics: {start}..{end} is outside what WeCom keeps ({oldest}..{newest})"
        )


def _counts(data: Mapping[str, Any]) -> dict[str, int]:
    return {name: int(data.get(name) or 0) for name in COUNT_FIELDS}


def _body(begin: date, end: date, owners: list[str]) -> dict[str, Any]:
    return {
        "day_begin_time": day_timestamp(begin),
        "day_end_time": day_timestamp(end),
        "owner_filter": {"userid_list": owners},
    }


def _owner_pages(
    client: WeComClient, body: Mapping[str, Any], page_size: int
) -> Iterator[Mapping[str, Any]]:
    offset = 0
    while True:
        payload = client.call(
            BY_OWNER, {**body, "offset": offset, "limit": page_size}, idempotent=True
        ).payload
        items = payload.get("items") or []
        yield from items
        next_offset = int(payload.get("next_offset") or 0)
        total = payload.get("total")
        if not items or next_offset <= offset or (total is not None and next_offset >= total):
            return
        offset = next_offset


def fetch_owner_stats(
    client: WeComClient,
    *,
    start: date,
    end: date,
    owners: Sequence[str] | None = None,
    today: date | None = None,
    page_size: int = MAX_LIMIT,
    order_by: int = 1,
) -> list[OwnerStat]:
    """Group counts per owner, one row per owner and ≤30-day window of [start, end].

    `owners=None` asks for every owner the app sees (resolved first); with `today` the
    range is checked against WeCom's 180-day history. Windows are not summed: totals such
    as chat_total are snapshots, not additive.
    """
    if not 1 <= page_size <= MAX_LIMIT:
        raise WeComRequestInvalid(f"statistics: page size {page_size}, expected 1 to {MAX_LIMIT}")
    _check_window(start, end, today)
    chunks = owner_chunks(follow_users(client) if owners is None else owners)
    rows: list[OwnerStat] = []
    for begin, stop in day_ranges(start, end):
        for chunk in chunks:
            body = {**_body(begin, stop, chunk), "order_by": order_by, "order_asc": 0}
            for item in _owner_pages(client, body, page_size):
                counts = _counts(item.get("data") or {})
                rows.append(OwnerStat(str(item.get("owner", "")), begin, stop, **counts))
    return rows


def fetch_daily_stats(
    client: WeComClient,
    *,
    start: date,
    end: date,
    owners: Sequence[str] | None = None,
    today: date | None = None,
) -> list[DayStat]:
    """Group counts per day over [start, end], summed over `owners` (None: all owners).

    Owner lists above 100 are queried in chunks and each day's counts added up (a group has
    one owner, so one day's counts of different owners add up; days are never added).
    """
    _check_window(start, end, today)
    chunks = owner_chunks(follow_users(client) if owners is None else owners)
    totals: dict[date, dict[str, int]] = {}
    for begin, stop in day_ranges(start, end):
        for chunk in chunks:
            payload = client.call(BY_DAY, _body(begin, stop, chunk), idempotent=True).payload
            for item in payload.get("items") or []:
                day = day_of(int(item.get("stat_time", 0)))
                counts = _counts(item.get("data") or {})
                into = totals.setdefault(day, dict.fromkeys(COUNT_FIELDS, 0))
                for name, value in counts.items():
                    into[name] += value
    return [DayStat(day, **totals[day]) for day in sorted(totals)]
