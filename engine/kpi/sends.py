"""Events plus what sopflow itself sent: `delivered` rows derived from the delivery ledger.

A team that only sends through sopflow (robot, outbox, tasklist, mass send, hand posts marked
done) has no `delivered` events unless it imports them; its KPIs per delivery (open_rate,
welcome_open_rate, click_rate) would have no denominator. `WithSends` adds one `delivered` row
per sent or done ledger row, with one source of truth per message and group:

- a (group, message) pair with any `delivered` event in the store (the simulator's and the
  demo's, WeCom's `sop events wecom-stats`, an imported file) counts those events only, and the
  ledger adds nothing for it;
- a group with `delivered` events that name no message is counted from the events alone: a
  team importing its own counts per group and day (no message to match a send with) keeps
  them as they are, so nothing is counted twice; events naming only the slot cover the sends
  of that slot, group and day;
- every other sent/done ledger row is one `delivered` row at its send time (the done time for
  a hand post) with its message key; `value` is 1 for a row sent to one member (a welcome) and
  the group's registered member count for a post to the group (no count registered: no value).

The ledger rows carry no member (they say nothing about who is in the group) and always a
version, so a group-day with a send counts for the version sent.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq

from engine.kpi.compute import EventExtent, EventSource


@dataclass(frozen=True)
class Send:
    """One sent or done ledger row, as a `delivered` event."""

    group: str
    time: datetime
    value: float | None
    sop_version: str
    sop: str
    message: str


@dataclass(frozen=True)
class _Extent:
    rows: int
    first_day: date | None
    last_day: date | None
    latest: datetime | None
    without_version: int
    without_sop: int


class WithSends:
    """An EventSource: the events of `events` plus the ledger's sends where no `delivered`
    event covers them (see the module docstring). The sends are kept in a Parquet file of a
    private temporary directory for as long as this object lives, so any DuckDB connection can
    read `source_sql()`."""

    def __init__(self, events: EventSource, sends: list[Send]) -> None:
        self.events = events
        self.tz: str = events.tz
        self.sends = len(sends)
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._path: Path | None = None
        zone = ZoneInfo(self.tz)
        days = [s.time.astimezone(zone).date() for s in sends]
        self._span = (min(days), max(days), max(s.time for s in sends)) if sends else None
        if sends:
            self._dir = tempfile.TemporaryDirectory(prefix="sopflow-sends-")
            self._path = Path(self._dir.name) / "sends.parquet"
            table = pa.table(
                {
                    "group": [s.group for s in sends],
                    "time": [s.time.astimezone(UTC) for s in sends],
                    "event": ["delivered"] * len(sends),
                    "value": [s.value for s in sends],
                    "sop_version": [s.sop_version for s in sends],
                    "sop": [s.sop for s in sends],
                    "message": [s.message for s in sends],
                    "day": days,
                }
            )
            pq.write_table(table, self._path)

    def source_sql(self) -> str:
        """A FROM-clause item: the stored events, then the sends no `delivered` event covers."""
        events = self.events.source_sql()
        if self._path is None:
            return events
        path = "'" + str(self._path).replace("'", "''") + "'"
        return f"""({events} UNION ALL BY NAME
            SELECT d.* FROM read_parquet({path}) d WHERE NOT EXISTS (
                SELECT 1 FROM {events} s WHERE s.event = 'delivered' AND s."group" = d."group"
                  AND (s.message = d.message OR s.message IS NULL
                       OR (s.message NOT LIKE '%:%' AND s.day = d.day
                           AND s.message = split_part(d.message, ':', 3)))))"""

    def summary(self) -> EventExtent:
        """The stored events' extent widened by the sends' days (sends always carry a version
        and an SOP)."""
        known = self.events.summary()
        if self._span is None:
            return known
        first, last, latest = self._span
        return _Extent(
            rows=getattr(known, "rows", 0) + self.sends,
            first_day=min(first, known.first_day) if known.first_day else first,
            last_day=max(last, known.last_day) if known.last_day else last,
            latest=max(latest, known.latest) if known.latest else latest,
            without_version=known.without_version,
            without_sop=known.without_sop,
        )
