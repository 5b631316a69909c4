"""Mass sends a sender never confirms: remind them after a while, cancel at a deadline.

WeCom only queues a group mass send until its sender confirms it in the client; left alone
it waits for ever. `follow_up_decision` is the pure rule (age of the task, configured
thresholds, reminders already sent: WeCom allows 3 a day); `FollowUp` is what the channel
did for one ledger key, with the delivery result to record:

    waiting    nothing to do yet                     result awaiting_confirmation
    reminded   remind_groupmsg_send was called        result awaiting_confirmation
    cancelled  cancel_groupmsg_send was called        result failed (attempts 0: a new task
                                                      may be created), error says why
    sent       the task was confirmed meanwhile       no result: `confirm` records the chats
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from engine.channels.base import DeliveryResult

Decision = Literal["wait", "remind", "cancel"]
FollowUpAction = Literal["waiting", "reminded", "cancelled", "sent"]
REMINDERS_PER_DAY = 3


@dataclass(frozen=True)
class FollowUpPolicy:
    """When to remind a sender and when to give up on an unconfirmed task."""

    remind_after: timedelta = timedelta(hours=2)
    remind_every: timedelta = timedelta(hours=2)
    cancel_after: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        if not timedelta(0) < self.remind_after < self.cancel_after:
            raise ValueError("remind_after must be positive and shorter than cancel_after")


@dataclass(frozen=True)
class UnconfirmedTask:
    """A mass-send task still waiting for its sender, with its ledger keys and reminders."""

    msgid: str
    sender: str
    created_at: datetime
    keys: tuple[str, ...]
    last_reminded: datetime | None = None
    reminders_today: int = 0


@dataclass(frozen=True)
class FollowUp:
    """What was done about one key of an unconfirmed task."""

    key: str
    msgid: str
    action: FollowUpAction
    result: DeliveryResult | None
    detail: str = ""


def follow_up_decision(task: UnconfirmedTask, now: datetime, policy: FollowUpPolicy) -> Decision:
    """Cancel past the deadline; remind past `remind_after` (spaced, ≤3 a day); else wait."""
    age = now - task.created_at
    if age >= policy.cancel_after:
        return "cancel"
    if age < policy.remind_after or task.reminders_today >= REMINDERS_PER_DAY:
        return "wait"
    if task.last_reminded is not None and now - task.last_reminded < policy.remind_every:
        return "wait"
    return "remind"
