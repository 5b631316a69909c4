"""Mass sends a sender never confirms: remind them after a while, cancel at a deadline.

WeCom only queues a group mass send until its sender confirms it in the client; left alone
it waits for ever. `follow_up_decision` is the pure rule (age of the task, configured
thresholds, reminders already sent: WeCom allows 3 a day); `FollowUp` is what the channel
did for one ledger key, with the delivery result to record:

    waiting    nothing to do yet                     result awaiting_confirmation
    reminded   remind_groupmsg_send was called        result awaiting_confirmation
    cancelled  cancel_groupmsg_send was called        result failed (attempts 0: a new task
                                                      may be created), error says why
A refused reminder (WeCom allows 3 a day) leaves the key `waiting` with the reason.
    sent       the task was confirmed meanwhile       no result: `confirm` records the chats
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from engine.channels.base import AWAITING, FAILED, DeliveryResult
from engine.wecom.client import WeComClient
from engine.wecom.groupmsg import TASK_SENT, cancel_group_msg, group_msg_tasks, remind_group_msg
from sop_models.errors import ChannelError, WeComSetupError, one_line

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


def follow_up(
    client: WeComClient, tasks: Sequence[UnconfirmedTask], policy: FollowUpPolicy, now: datetime
) -> list[FollowUp]:
    """Remind or cancel each unconfirmed task as `policy` says; one FollowUp per key."""
    done: list[FollowUp] = []
    for task in tasks:
        sent = any(
            int(t.get("status", 0)) == TASK_SENT
            for t in group_msg_tasks(client, msgid=task.msgid)
            if t.get("userid") == task.sender
        )
        decision = "sent" if sent else follow_up_decision(task, now, policy)
        hours = (now - task.created_at).total_seconds() / 3600
        refused = ""
        if decision == "remind":
            try:
                remind_group_msg(client, msgid=task.msgid)
            except WeComSetupError:
                raise
            except ChannelError as exc:  # e.g. the 3 reminders of the day are used up
                decision, refused = "wait", f"reminder refused: {one_line(exc)}"
        for key in task.keys:
            if decision == "sent":
                done.append(FollowUp(key, task.msgid, "sent", None))
            elif decision == "wait":
                waiting = DeliveryResult(key, AWAITING, task.msgid, refused or None, attempts=0)
                done.append(FollowUp(key, task.msgid, "waiting", waiting, refused))
        if decision == "remind":
            note = f"reminded {task.sender} after {hours:.1f} h without confirmation"
            for key in task.keys:
                result = DeliveryResult(key, AWAITING, task.msgid, note, attempts=0)
                done.append(FollowUp(key, task.msgid, "reminded", result, note))
        elif decision == "cancel":
            cancel_group_msg(client, msgid=task.msgid)
            note = f"cancelled: {task.sender} did not confirm within {hours:.1f} h"
            for key in task.keys:
                result = DeliveryResult(key, FAILED, task.msgid, note, attempts=0)
                done.append(FollowUp(key, task.msgid, "cancelled", result, note))
    return done
