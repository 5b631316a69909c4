"""How many mass messages each customer group has had in the cap's current period.

Counted from what WeCom reports, not from our own ledger: `get_groupmsg_list_v2` over the
period with every creator (staff's own sends and other tools' count to the cap too), then
each task's senders (`get_groupmsg_task`) and their chats (`get_groupmsg_send_result`).
A chat counts once per task that was sent to it in the period (status 1) or still waits for
its sender (status 0: it may go out before the period ends). Tasks created up to a day
before the period are included, since a sender may confirm one after the period began.
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
    GroupSendRow,
    group_msg_list,
    group_msg_tasks,
    group_send_results,
)
from sop_models.actions import PlannedAction

LOOKBACK = 86400  # tasks created this long before the period may be confirmed in it
MAX_LIST_SPAN = 30 * 86400  # get_groupmsg_list_v2 spans at most a month
FinalRows = dict[tuple[str, str], list[GroupSendRow]]


def sends_in_period(
    client: WeComClient,
    *,
    rule: CapRule,
    at: datetime,
    chats: Collection[str],
    senders: Collection[str] | None = None,
    final: FinalRows | None = None,
) -> tuple[Counter[str], int]:
    """Per chat in `chats`, the mass messages counting to the cap of `at`'s period; and the cap.

    Only the send results of `senders` (the chats' owners: a group's mass messages all go
    out through its owner) are fetched when given. `final` caches the rows of tasks whose
    every chat has its final status, so a later count asks WeCom only about open tasks.
    """
    start, end, cap = cap_period(rule, at)
    first, last, stop = int(start.timestamp()), int(at.timestamp()), int(end.timestamp())
    since = max(first - LOOKBACK, last - MAX_LIST_SPAN)
    counts: Counter[str] = Counter()
    wanted = set(chats)
    cache: FinalRows = final if final is not None else {}
    for message in group_msg_list(client, start_time=since, end_time=max(since + 1, last)):
        msgid = str(message.get("msgid", ""))
        known = [key for key in cache if key[0] == msgid]
        if known and senders is not None and {s for _, s in known} >= set(senders):
            rows = [row for key in known for row in cache[key]]
        else:
            rows = _task_rows(client, msgid, senders, cache)
        for row in rows:
            if row.chat_id not in wanted:
                continue
            sent_in_period = row.status == STATUS_SENT and first <= (row.send_time or last) < stop
            if sent_in_period or row.status == STATUS_NOT_SENT:
                counts[row.chat_id] += 1
    return counts, cap


def _task_rows(
    client: WeComClient, msgid: str, senders: Collection[str] | None, cache: FinalRows
) -> list[GroupSendRow]:
    rows: list[GroupSendRow] = []
    for task in group_msg_tasks(client, msgid=msgid):
        sender = str(task.get("userid", ""))
        if not sender or (senders is not None and sender not in senders):
            continue
        found = cache.get((msgid, sender)) or group_send_results(client, msgid=msgid, userid=sender)
        if all(row.status != STATUS_NOT_SENT for row in found):
            cache[(msgid, sender)] = found
        rows.extend(found)
    return rows


def over_cap(
    client: WeComClient,
    rule: CapRule,
    now: datetime,
    actions: Sequence[PlannedAction],
    final: FinalRows | None = None,
) -> dict[str, str]:
    """Keys to skip because their chat would pass the cap -> why (earliest actions kept)."""
    chats = {a.target for a in actions if a.target}
    if not chats:
        return {}
    senders = {a.sender for a in actions if a.sender}
    counts, cap = sends_in_period(
        client, rule=rule, at=now, chats=chats, senders=senders, final=final
    )
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
