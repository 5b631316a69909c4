"""Customer-group mass send [92135] and its results [93338], as typed calls on a WeComClient."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.wecom.client import WeComClient
from engine.wecom.errors import WeComRequestInvalid

ADD_MSG_TEMPLATE = "externalcontact/add_msg_template"
GET_SEND_RESULT = "externalcontact/get_groupmsg_send_result"
GET_TASK = "externalcontact/get_groupmsg_task"
LIST_V2 = "externalcontact/get_groupmsg_list_v2"
REMIND = "externalcontact/remind_groupmsg_send"
CANCEL = "externalcontact/cancel_groupmsg_send"
MAX_CHATS_PER_TEMPLATE = 2000
MAX_ATTACHMENTS = 9
# get_groupmsg_send_result status: 0 not sent yet, 1 sent, 2 and 3 failed.
STATUS_NOT_SENT, STATUS_SENT = 0, 1
# get_groupmsg_task status: 0 the sender has not confirmed yet, 2 sent (not 1) [93338].
TASK_WAITING, TASK_SENT = 0, 2
FAILED_REASONS = {
    2: "WeCom could not deliver to this group (status 2)",
    3: "the group already had its mass message quota (status 3)",
}


@dataclass(frozen=True)
class MassSendTicket:
    """What add_msg_template answered: the task id and the chats it refused."""

    msgid: str
    fail_list: tuple[str, ...]
    attempts: int


@dataclass(frozen=True)
class GroupSendRow:
    """One chat's state in a mass send task."""

    chat_id: str
    userid: str
    status: int
    send_time: int | None


def add_group_msg_template(
    client: WeComClient,
    *,
    sender: str,
    chat_ids: Sequence[str],
    text: str,
    attachments: Sequence[Mapping[str, Any]] = (),
) -> MassSendTicket:
    """Create a group mass-send task for up to 2,000 of `sender`'s groups.

    Not idempotent: a lost answer raises DeliveryOutcomeUnknown and is not resent. The
    message goes out only after the sender confirms it in the WeCom client.
    """
    if not sender:
        raise WeComRequestInvalid(f"{ADD_MSG_TEMPLATE}: a group mass send needs a sender")
    if not 1 <= len(chat_ids) <= MAX_CHATS_PER_TEMPLATE:
        raise WeComRequestInvalid(
            f"{ADD_MSG_TEMPLATE}: {len(chat_ids)} chat ids, expected 1 to {MAX_CHATS_PER_TEMPLATE}"
        )
    if len(attachments) > MAX_ATTACHMENTS:
        raise WeComRequestInvalid(
            f"{ADD_MSG_TEMPLATE}: {len(attachments)} attachments, at most {MAX_ATTACHMENTS}"
        )
    if not text and not attachments:
        raise WeComRequestInvalid(f"{ADD_MSG_TEMPLATE}: neither text nor attachments")
    body: dict[str, Any] = {"chat_type": "group", "sender": sender, "chat_id_list": [*chat_ids]}
    if text:
        body["text"] = {"content": text}
    if attachments:
        body["attachments"] = [dict(a) for a in attachments]
    reply = client.call(ADD_MSG_TEMPLATE, body, idempotent=False)
    fail_list = tuple(str(item) for item in reply.payload.get("fail_list") or ())
    return MassSendTicket(str(reply.payload.get("msgid", "")), fail_list, reply.attempts)


def _pages(
    client: WeComClient, api: str, body: Mapping[str, Any], field: str
) -> Iterator[dict[str, Any]]:
    cursor = ""
    while True:
        payload = client.call(api, {**body, "cursor": cursor}, idempotent=True).payload
        yield from payload.get(field) or ()
        cursor = str(payload.get("next_cursor") or "")
        if not cursor:
            return


def group_send_results(
    client: WeComClient, *, msgid: str, userid: str, limit: int = 1000
) -> list[GroupSendRow]:
    """Every chat's send state for `msgid` as sent by `userid` (all cursor pages)."""
    body = {"msgid": msgid, "userid": userid, "limit": limit}
    return [
        GroupSendRow(
            chat_id=str(item.get("chat_id", "")),
            userid=str(item.get("userid", userid)),
            status=int(item.get("status", STATUS_NOT_SENT)),
            send_time=int(item["send_time"]) if item.get("send_time") else None,
        )
        for item in _pages(client, GET_SEND_RESULT, body, "send_list")
    ]


def group_msg_tasks(client: WeComClient, *, msgid: str, limit: int = 1000) -> list[dict[str, Any]]:
    """The senders' tasks of `msgid`: `{"userid", "status", "send_time"}` (all pages)."""
    return list(_pages(client, GET_TASK, {"msgid": msgid, "limit": limit}, "task_list"))


def group_msg_list(
    client: WeComClient,
    *,
    start_time: int,
    end_time: int,
    creator: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Group mass sends created between two unix times (optionally by one creator)."""
    body: dict[str, Any] = {
        "chat_type": "group",
        "start_time": start_time,
        "end_time": end_time,
        "filter_type": 2,  # both company-created and personal sends
        "limit": limit,
    }
    if creator:
        body["creator"] = creator
    return list(_pages(client, LIST_V2, body, "group_msg_list"))


def remind_group_msg(client: WeComClient, *, msgid: str) -> None:
    """Remind the senders of `msgid` to confirm it (WeCom allows 3 reminders a day)."""
    client.call(REMIND, {"msgid": msgid}, idempotent=False)


def cancel_group_msg(client: WeComClient, *, msgid: str) -> None:
    """Cancel `msgid` for senders who have not confirmed it (idempotent: cancelled stays so)."""
    client.call(CANCEL, {"msgid": msgid}, idempotent=True)


def find_created_task(
    client: WeComClient,
    *,
    sender: str,
    text: str,
    attachments: Sequence[Mapping[str, Any]],
    since: int,
    until: int,
    known: Collection[str] = (),
) -> str | None:
    """The msgid of a task `sender` created in [since, until] with this content, if any.

    After a lost answer or a `-1`, the task may exist although no msgid came back. Tasks in
    `known` (msgids already recorded) are not candidates. list_v2 carries no chat ids, so
    two unrecorded tasks with the same content and sender cannot be told apart: the newest
    is taken.
    """
    found = [
        item
        for item in group_msg_list(client, start_time=since, end_time=until, creator=sender)
        if str(item.get("msgid", "")) not in known
        and (item.get("text") or {}).get("content", "") == text
        and list(item.get("attachments") or []) == [dict(a) for a in attachments]
    ]
    found.sort(key=lambda item: int(item.get("create_time") or 0))
    return str(found[-1]["msgid"]) if found else None
