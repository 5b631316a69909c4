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
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from engine.kpi.compute import EventExtent, EventSource

LEDGER_COLUMNS = pa.schema(
    [
        ("key", pa.string()),
        ("group", pa.string()),
        ("member", pa.string()),
        ("status", pa.string()),
        ("sent_at", pa.timestamp("us", tz="UTC")),
        ("updated_at", pa.timestamp("us", tz="UTC")),
        ("due_at", pa.timestamp("us", tz="UTC")),
        ("version", pa.string()),
        ("sop", pa.string()),
    ]
)
"""The ledger rows WithSends takes (sent and done rows; `key` is the delivery key)."""

MEMBER_COUNTS = pa.schema([("group", pa.string()), ("members", pa.int64())])
"""Each registered group's member count."""

# One `delivered` row per ledger row with a time: a machine's send at its due time (it goes out
# then, never early: the ledger's `sent_at` is the channel's clock, which a replay does not
# move), a hand post when it was marked done (its send time, else its update).
# The message key is the delivery key without its group and member (sop_models.messages).
_SENDS = """
    SELECT r."group", t AS time, 'delivered' AS event,
           CASE WHEN r.member IS NOT NULL THEN 1.0
                WHEN r.key LIKE '%:merged' THEN NULL
                ELSE CAST(nullif(c.members, 0) AS DOUBLE) END AS value,
           r.version AS sop_version, r.sop,
           concat_ws(':', split_part(r.key, ':', 1), split_part(r.key, ':', 2),
                     split_part(r.key, ':', 4), split_part(r.key, ':', 5)) AS message,
           CAST(timezone($tz, t) AS DATE) AS day
    FROM (SELECT *, CASE WHEN status = 'done' THEN coalesce(sent_at, updated_at)
                         WHEN sent_at IS NOT NULL THEN due_at END AS t
          FROM ledger) r
    LEFT JOIN counts c ON c."group" = r."group"
    WHERE t IS NOT NULL AND len(string_split(r.key, ':')) >= 5
"""


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

    def __init__(self, events: EventSource, ledger: pa.Table, counts: pa.Table) -> None:
        self.events = events
        self.tz: str = events.tz
        self.sends = 0
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._path: Path | None = None
        self._span: tuple[date, date, datetime] | None = None
        if ledger.num_rows:
            self._write(ledger.cast(LEDGER_COLUMNS), counts.cast(MEMBER_COUNTS))

    def _write(self, ledger: pa.Table, counts: pa.Table) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="sopflow-sends-")
        path = Path(self._dir.name) / "sends.parquet"
        con = duckdb.connect()
        try:
            con.register("ledger", ledger)
            con.register("counts", counts)
            con.execute(f"CREATE TABLE sends AS {_SENDS}", {"tz": self.tz})
            quoted = "'" + str(path).replace("'", "''") + "'"
            con.execute(f"COPY sends TO {quoted} (FORMAT parquet)")
            n, first, last, latest = con.execute(
                "SELECT count(*), min(day), max(day), max(time) FROM sends"
            ).fetchall()[0]
        finally:
            con.close()
        if n:
            self.sends, self._path, self._span = int(n), path, (first, last, latest)

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
