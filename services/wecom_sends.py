"""WeCom's own per-message data on our mass sends, imported as message-level events.

For every post the ledger handed to WeCom as a customer-group mass send (a msgid recorded)
and due on a workspace day in [start, end], `get_groupmsg_send_result` [93338] says per chat
whether and when the sender's message went out. Each chat sent becomes a `delivered` event of
its group at WeCom's `send_time`, carrying the post's message key (sop:version:slot:date) and
the event id `wecom:MSGID:CHAT`, so fetching again adds only what is new. Chats that failed
(status 2), were over the monthly cap (3) or wait for the sender (0) are counted per message,
never turned into events.

What the API does not give is said, not invented: WeCom has no read (open) data for
customer-group mass messages, and its answer names the chat, not the members it reached; a
`delivered` event's `value` is the group's registered `member_count` (0 when none is set).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

import pyarrow as pa
from sqlmodel import col, select

from engine.groups import Group
from engine.ledger.model import Delivery
from engine.wecom.client import WeComClient
from engine.wecom.groupmsg import group_send_results
from services.channels import MASS_SEND, configured_secrets, wecom_credentials
from services.event_imports import import_table
from services.workspace import Workspace
from sop_models.i18n import N_
from sop_models.messages import message_key, message_of_delivery

NO_READ_DATA = N_(
    "WeCom gives no read data for customer-group mass messages (get_groupmsg_send_result has"
    " only each chat's send status and time): opens come from your own events (tracked links,"
    " imported open rows), never from WeCom"
)
#: get_groupmsg_send_result status -> the name a message's count goes under.
STATUS_NAMES = {0: "waiting", 1: "sent", 2: "failed", 3: "over_cap"}


@dataclass
class MessageSends:
    """One message's chats as WeCom reports them (summed over its mass-send tasks)."""

    message: str
    sent: int = 0
    failed: int = 0
    over_cap: int = 0
    waiting: int = 0


@dataclass
class SendResults:
    """What one fetch found and stored."""

    messages: list[MessageSends] = field(default_factory=list)
    new_events: int = 0
    already_stored: int = 0
    batch: str | None = None
    without_members: list[str] = field(default_factory=list)  # groups with member_count 0

    def as_json(self) -> dict[str, object]:
        """Plain values for `--json`."""
        return {
            "messages": [vars(m) for m in self.messages],
            "new_events": self.new_events,
            "already_stored": self.already_stored,
            "batch": self.batch,
            "without_members": self.without_members,
            "read_data": None,
            "note": NO_READ_DATA,
        }


@dataclass(frozen=True)
class _Post:
    message: str
    sop_id: str
    version: str
    group: Group


def _message(row: Delivery, zone: tzinfo) -> str:
    try:
        return message_of_delivery(row.key)
    except ValueError:  # not a planner key: its fields say the same
        return message_key(row.sop_id, row.version, row.slot, row.due_at.astimezone(zone).date())


def _mass_posts(ws: Workspace, start: date, end: date) -> dict[tuple[str, str], dict[str, _Post]]:
    """(msgid, sender) -> chat id -> the post sent there, for mass sends due in [start, end]."""
    zone = ws.settings.zone
    since = datetime.combine(start, time(0), zone)
    until = datetime.combine(end + timedelta(days=1), time(0), zone)
    with ws.session() as session:
        rows = session.exec(
            select(Delivery, Group)
            .join(Group, col(Group.id) == col(Delivery.group_id))
            .where(Delivery.channel == MASS_SEND, col(Delivery.response_id).is_not(None))
            .where(Delivery.due_at >= since, Delivery.due_at < until)
            .order_by(col(Delivery.due_at), col(Delivery.key))
        ).all()
    tasks: dict[tuple[str, str], dict[str, _Post]] = defaultdict(dict)
    for row, group in rows:
        if row.response_id and group.sender and group.target:
            post = _Post(_message(row, zone), row.sop_id, row.version, group)
            tasks[(row.response_id, group.sender)][group.target] = post
    return tasks


def fetch_send_results(ws: Workspace, *, start: date, end: date, now: datetime) -> SendResults:
    """Fetch WeCom's send result of every mass send due in [start, end]; store chats sent as
    `delivered` events with their message key (one audited batch)."""
    tasks = _mass_posts(ws, start, end)
    found = SendResults()
    if not tasks:
        return found
    corp_id, secret = wecom_credentials(ws)
    by_message: dict[str, MessageSends] = {}
    events: list[dict[str, object]] = []
    with WeComClient(
        corpid=corp_id,
        corpsecret=secret,
        base_url=ws.settings.wecom_base_url,
        secrets=configured_secrets(ws.settings),
    ) as client:
        for (msgid, sender), chats in tasks.items():
            for result in group_send_results(client, msgid=msgid, userid=sender):
                post = chats.get(result.chat_id)
                if post is None:
                    continue  # a chat of this task that no post of ours names
                counts = by_message.setdefault(post.message, MessageSends(post.message))
                name = STATUS_NAMES.get(result.status, "failed")
                setattr(counts, name, getattr(counts, name) + 1)
                if result.status == 1 and result.send_time:
                    events.append(_delivered(post, msgid, result.chat_id, result.send_time))
    found.messages = sorted(by_message.values(), key=lambda m: m.message)
    found.without_members = sorted({str(e["group"]) for e in events if not e["value"]})
    if events:
        stored = import_table(
            ws,
            pa.Table.from_pylist(events),
            source=f"wecom get_groupmsg_send_result {start.isoformat()}..{end.isoformat()}",
            now=now,
            actor="sopflow-wecom",
            again="reuse",
        )
        found.new_events = stored.rows if stored.new else 0
        found.already_stored = len(events) - found.new_events
        found.batch = stored.batch if stored.new else None
    return found


def _delivered(post: _Post, msgid: str, chat_id: str, send_time: int) -> dict[str, object]:
    return {
        "group": post.group.id,
        "time": datetime.fromtimestamp(send_time, UTC).isoformat(),
        "event": "delivered",
        "value": float(post.group.member_count),
        "sop": post.sop_id,
        "sop_version": post.version,
        "message": post.message,
        "event_id": f"wecom:{msgid}:{chat_id}",
    }
