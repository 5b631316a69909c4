"""A sliding-window limiter kept in the database, so every process sharing it keeps one pace.

`sop serve` runs each flow run in its own process, and an on-join welcome run can overlap
the 10:00 column run: both may post through the same robot. A per-process window would let
each of them send 20 a minute to it; this one counts the sends of all processes (and hosts,
on PostgreSQL) in the `channel_sends` table. Buckets are hashes of the limited key, so
webhook keys, which are secrets, are never stored.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from sqlalchemy import Engine, delete, insert, select, text
from sqlmodel import Field, Session, SQLModel, col


class ChannelSend(SQLModel, table=True):
    """One send through a rate-limited key (a robot), at a wall-clock time."""

    __tablename__ = "channel_sends"

    id: int | None = Field(default=None, primary_key=True)
    bucket: str = Field(index=True)  # a hash of the limited key, never the key
    sent_at: float  # seconds since the epoch (wall clock: comparable across processes)


def bucket_of(key: str) -> str:
    """The stored name of a limited key: a one-way hash."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


class DatabaseWindowLimiter:
    """At most `limit` acquisitions per key in any `window` seconds, across processes.

    Each attempt is one short transaction holding the database's writer lock (SQLite's
    `BEGIN IMMEDIATE` from sopflow's engines; a per-bucket advisory lock on PostgreSQL):
    count the bucket's sends within the window, record one and return, or leave and sleep
    until the oldest of them is `window + margin` seconds old. Waits, never drops.
    """

    def __init__(
        self,
        engine: Engine,
        limit: int = 20,
        window: float = 60.0,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        margin: float = 1.0,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be >= 1 and window > 0")
        self.engine = engine
        self.limit = limit
        self.window = window
        self.margin = margin
        self._clock = clock
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"DatabaseWindowLimiter(limit={self.limit}, window={self.window})"

    def acquire(self, key: str) -> float:
        """Block until `key` may send, record the send, and return the seconds waited."""
        bucket = bucket_of(key)
        waited = 0.0
        while True:
            wait = self._try(bucket)
            if wait is None:
                return waited
            self._sleep(wait)
            waited += wait

    def _try(self, bucket: str) -> float | None:
        """Record a send and return None, or return how long to wait first."""
        table = ChannelSend.__table__
        with Session(self.engine) as session:
            if session.get_bind().dialect.name == "postgresql":
                lock = int(bucket[:15], 16)  # fits a signed 64-bit advisory lock key
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock})
            now = self._clock()
            horizon = now - self.window - self.margin
            session.execute(
                delete(table).where(table.c.bucket == bucket, table.c.sent_at <= horizon)
            )
            recent = list(
                session.exec(
                    select(table.c.sent_at)
                    .where(table.c.bucket == bucket)
                    .order_by(col(table.c.sent_at))
                ).scalars()
            )
            if len(recent) < self.limit:
                session.execute(insert(table).values(bucket=bucket, sent_at=now))
                session.commit()
                return None
            session.commit()  # the expired rows' deletion
        return max(recent[-self.limit] - horizon, 0.001)
