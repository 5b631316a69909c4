"""A run's claim on its `sending` rows: a lease that a heartbeat thread keeps extending.

A run that dies stops its heartbeat, so its lease ends within one lease length; until then
no other run treats its rows as abandoned, and after that they are reconciled, not resent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import TracebackType

from sqlmodel import Session

from engine.ledger.model import Claim
from engine.ledger.sending import extend_lease

LEASE = timedelta(minutes=2)


def wall_clock() -> datetime:
    """The real time: leases are about processes being alive, never a run's simulated clock."""
    return datetime.now(UTC)


class Heartbeat:
    """Context manager: while open, extends `owner`'s lease every quarter lease."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        owner: str,
        *,
        lease: timedelta = LEASE,
        clock: Callable[[], datetime] = wall_clock,
    ) -> None:
        self.session_factory, self.owner, self.lease, self.clock = (
            session_factory, owner, lease, clock,
        )  # fmt: skip
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{owner}", daemon=True)

    def claim(self) -> Claim:
        """The claim to write now: this owner, a lease ending one lease length from now."""
        return Claim(self.owner, self.clock() + self.lease)

    def _beat(self) -> None:
        interval = max(self.lease.total_seconds() / 4, 0.05)
        while not self._stop.wait(interval):
            try:
                with self.session_factory() as session:
                    extend_lease(session, self.claim())
                    session.commit()
            except Exception:
                continue

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
