"""The channel interface: send one batch of planned actions, report each key's fate.

A batch is what one Prefect task sends. A channel returns one DeliveryResult per action
key, in the order given; an action it did not get out is `failed` with attempts 0 (safe to
retry), never `sent`. `unknown` means a request left and no answer came: do not resend
blindly. `awaiting_confirmation` means a person still has to act (confirm a WeCom mass send,
tick a checklist item).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal, Protocol, runtime_checkable

from sop_models.actions import PlannedAction

DeliveryStatus = Literal["sent", "failed", "awaiting_confirmation", "unknown", "skipped"]
SENT: DeliveryStatus = "sent"
FAILED: DeliveryStatus = "failed"
AWAITING: DeliveryStatus = "awaiting_confirmation"
UNKNOWN: DeliveryStatus = "unknown"
# The channel refused it by rule before calling out (a group at WeCom's mass-message cap):
# not sent, and not sent again by later runs; `error` says why.
SKIPPED: DeliveryStatus = "skipped"
CST = timezone(timedelta(hours=8), "Asia/Shanghai")  # China has no DST: a fixed +08:00

Now = Callable[[], datetime]


def shanghai_now() -> datetime:
    """The current time in Asia/Shanghai (the default `now` of every channel)."""
    return datetime.now(CST)


def local(at: datetime) -> datetime:
    """`at` shown in Asia/Shanghai (+08:00); naive times are taken as already local."""
    return at.replace(tzinfo=CST) if at.tzinfo is None else at.astimezone(CST)


@dataclass(frozen=True)
class DeliveryResult:
    """What happened to one action key in one send."""

    key: str
    status: DeliveryStatus
    response_id: str | None = None
    error: str | None = None
    attempts: int = 1
    sent_at: datetime | None = None
    retry_at: datetime | None = None
    """Set when the service refused for a while (WeCom 45009): do not try before this."""


@runtime_checkable
class Channel(Protocol):
    """Anything that can send a batch of planned actions and report per key."""

    name: str

    def send_batch(self, actions: Sequence[PlannedAction]) -> list[DeliveryResult]:
        """Send `actions`; one result per action, in order."""
        ...


def not_sent(actions: Iterable[PlannedAction], reason: str) -> list[DeliveryResult]:
    """`failed` results, zero attempts, for actions that were never handed to the service."""
    return [DeliveryResult(a.key, FAILED, error=f"not sent: {reason}", attempts=0) for a in actions]
