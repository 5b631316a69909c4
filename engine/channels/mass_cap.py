"""How many mass messages each customer group has had in the cap's current period.

Counted from what WeCom reports, not from our own ledger: `get_groupmsg_list_v2` over the
period with every creator (staff's own sends and other tools' count to the cap too), then
each task's senders (`get_groupmsg_task`) and their chats (`get_groupmsg_send_result`).
A chat counts once per task that was sent to it in the period (status 1) or still waits for
its sender (status 0: it may go out before the period ends).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from datetime import datetime

from engine.quota import RULE_WORDS, CapRule, cap_period
from engine.wecom.client import WeComClient
from engine.wecom.groupmsg import (
    STATUS_NOT_SENT,
    STATUS_SENT,
    group_msg_list,
    group_msg_tasks,
    group_send_results,
)
from sop_models.actions import PlannedAction


def sends_in_period(
    client: WeComClient, *, rule: CapRule, at: datetime, chats: Collection[str]
) -> tuple[Counter[str], int]:
    """Per chat in `chats`, the mass messages counting to the cap of `at`'s period; and the cap."""
    start, end, cap = cap_period(rule, at)
    first, last = int(start.timestamp()), int(at.timestamp())
    counts: Counter[str] = Counter()
    wanted = set(chats)
    for message in group_msg_list(client, start_time=first, end_time=max(first + 1, last)):
        msgid = str(message.get("msgid", ""))
        senders = {str(t.get("userid", "")) for t in group_msg_tasks(client, msgid=msgid)}
        for sender in sorted(s for s in senders if s):
            for row in group_send_results(client, msgid=msgid, userid=sender):
                if row.chat_id not in wanted:
                    continue
                when = row.send_time or first
                in_period = first <= when < int(end.timestamp())
                if (row.status == STATUS_SENT and in_period) or row.status == STATUS_NOT_SENT:
                    counts[row.chat_id] += 1
    return counts, cap


def over_cap(
    client: WeComClient, rule: CapRule, now: datetime, actions: Sequence[PlannedAction]
) -> dict[str, str]:
    """Keys to skip because their chat would pass the cap -> why (earliest actions kept)."""
    chats = {a.target for a in actions if a.target}
    if not chats:
        return {}
    counts, cap = sends_in_period(client, rule=rule, at=now, chats=chats)
    skipped: dict[str, str] = {}
    for action in sorted(actions, key=lambda a: (a.at, a.key)):
        chat = action.target
        if not chat:
            continue
        if counts[chat] >= cap:
            skipped[action.key] = (
                f"skipped: group {action.group_id} ({chat}) already has {counts[chat]} mass "
                f"message(s) this period, WeCom cap {cap} {RULE_WORDS[rule]}; not sent"
            )
        else:
            counts[chat] += 1
    return skipped
