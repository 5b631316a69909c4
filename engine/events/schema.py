"""The event schema: what a community-group event file holds (see SCHEMA.md beside this file).

One row is one thing that happened in one customer group:

| column      | type                  | rule                                                      |
|-------------|-----------------------|-----------------------------------------------------------|
| group       | text, required        | group id or name (Chinese names welcome)                  |
| member      | text, nullable        | required for member events, empty for group-level events  |
| time        | ISO-8601 with offset  | `2026-08-19T10:00:00+08:00`; `Z`, `+08`, `+0800` also ok  |
| event       | text, required        | one of EVENT_TYPES                                        |
| value       | number, nullable      | meaning depends on the event (VALUE_MEANING); never < 0   |
| sop_version | text, nullable        | `1.0` or `v1.0` (stored as `1.0`)                         |
| sop         | text, optional column | SOP id                                                    |
| message     | text, optional column | message key `sop:version:slot:date`, or just the slot     |
| event_id    | text, optional column | the source's id of the event: repeats are skipped         |

A time without an offset is a row error unless the caller names the zone it was written in
(`naive_tz="Asia/Shanghai"`): a bare `10:00` is ambiguous and guessing would shift whole days.
The store keeps `time` in UTC and adds `day`, the local calendar date in the store's zone
(Asia/Shanghai by default) that all per-day KPIs use.

Times must fall in a sane window (TimeLimits): from 2000-01-01 (UTC) to a year after the import's
`now`, with a UTC offset within ±14:00. A stray 9999-12-31 would otherwise break every later KPI
and report, and one event in 2099 would stretch every per-day KPI table over 27,000 empty days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# A bad file raises EventRowsError listing RowProblems (defined in sop_models.errors).
from sop_models.errors import EventRowsError as EventRowsError
from sop_models.errors import RowProblem as RowProblem

#: Member-level events: `member` is required.
MEMBER_EVENTS: tuple[str, ...] = (
    "join",
    "leave",
    "message",
    "open",
    "click",
    "participate",
    "order",
    "coupon_use",
    "referral",
    "ugc",
    "profile_complete",
)
#: Group-level events: `member` must be empty.
GROUP_EVENTS: tuple[str, ...] = ("exposure", "cost")
#: Events that may be either: a push to the whole group or a 1:1 message (a welcome), a coupon
#: pushed to the group or handed to one member.
EITHER_EVENTS: tuple[str, ...] = ("delivered", "coupon_issued")
EVENT_TYPES: tuple[str, ...] = MEMBER_EVENTS + GROUP_EVENTS + EITHER_EVENTS
#: Events whose `value` is required.
VALUE_REQUIRED: tuple[str, ...] = ("order", "delivered", "cost")

VALUE_MEANING: dict[str, str] = {
    "order": "order amount (required)",
    "delivered": "members the push reached, 1 for a 1:1 message (required)",
    "cost": "money spent (required)",
    "exposure": "number of channel exposures (empty = 1)",
    "coupon_issued": "number of coupons issued (empty = 1)",
}

REQUIRED_COLUMNS: tuple[str, ...] = ("group", "time", "event")
COLUMNS: tuple[str, ...] = (
    *("group", "member", "time", "event", "value", "sop_version", "sop", "message", "event_id"),
)
#: Columns of the stored Parquet files, in order (`row_hash` identifies a row across imports).
STORED_COLUMNS: tuple[str, ...] = (*COLUMNS, "day", "row_hash")

DEFAULT_TZ = "Asia/Shanghai"
KEEP_CAP = 1000  # bad rows kept on an EventRowsError

#: The largest UTC offset in use anywhere (Line Islands, +14:00), in minutes.
MAX_OFFSET_MINUTES = 14 * 60


@dataclass(frozen=True)
class TimeLimits:
    """The window event times must fall in: from `earliest` to `ahead` after the import's `now`.

    Without a `now` (rows a simulator or a benchmark hands over) the upper bound is
    `latest_without_now`. The engine never reads the clock: the caller passes `now`.
    """

    earliest: datetime = datetime(2000, 1, 1, tzinfo=UTC)
    ahead: timedelta = timedelta(days=366)
    latest_without_now: datetime = datetime(2100, 1, 1, tzinfo=UTC)

    def window(self, now: datetime | None) -> tuple[datetime, datetime]:
        """The first and last allowed time (both included) for an import at `now`."""
        if now is None:
            return self.earliest, self.latest_without_now
        if now.tzinfo is None:
            raise ValueError("now must carry a time zone (e.g. datetime.now(UTC))")
        return self.earliest, now.astimezone(UTC) + self.ahead


DEFAULT_TIME_LIMITS = TimeLimits()
