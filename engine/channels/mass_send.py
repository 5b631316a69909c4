"""WeCom customer-group mass send channel (externalcontact/add_msg_template).

Actions are grouped by (sender, content); each group becomes one add_msg_template call per
2,000 chats (`action.target` is the chat id, `action.sender` the owner's staff user id).
WeCom only queues the message: the sender must confirm it in the WeCom client, so results
are `awaiting_confirmation` with the msgid as response id until `poll_results`/`confirm`
(get_groupmsg_send_result) find each chat sent (1) or failed (2, 3). Every error text and
response id is masked with the client's secrets (corp secret, tokens, any other configured
secret) before it leaves the channel.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.channels.base import (
    AWAITING,
    CST,
    FAILED,
    SENT,
    UNKNOWN,
    DeliveryResult,
    DeliveryStatus,
    Now,
    not_sent,
    shanghai_now,
)
from engine.channels.content import ContentError, news_article
from engine.wecom.client import WeComClient
from engine.wecom.errors import WeComUnreachable
from engine.wecom.groupmsg import (
    FAILED_REASONS,
    MAX_CHATS_PER_TEMPLATE,
    STATUS_SENT,
    add_group_msg_template,
    group_send_results,
)
from sop_models.actions import PlannedAction
from sop_models.errors import ChannelError, ChannelRateLimited, DeliveryOutcomeUnknown


@dataclass(frozen=True)
class AwaitingSend:
    """A key waiting for its sender's confirmation: enough to poll its fate later."""

    key: str
    msgid: str
    sender: str
    chat_id: str


@dataclass(frozen=True)
class ChatOutcome:
    """One chat's state in a mass send task, in delivery-ledger terms."""

    chat_id: str
    status: DeliveryStatus
    sent_at: datetime | None = None
    error: str | None = None


def mass_content(action: PlannedAction) -> tuple[str, list[dict[str, Any]]]:
    """(text, attachments) of an action; see engine.channels.content for `extra` keys.

    Markdown goes out as plain text: customer groups do not render it.
    """
    extra = action.extra
    attachments: list[dict[str, Any]] = []
    if extra.get("image_media_id"):
        attachments.append({"msgtype": "image", "image": {"media_id": extra["image_media_id"]}})
    elif extra.get("image_pic_url"):
        attachments.append({"msgtype": "image", "image": {"pic_url": extra["image_pic_url"]}})
    elif action.msgtype == "image":
        raise ContentError(
            f"{action.key}: an image mass send needs extra.image_media_id or pic_url"
        )
    if action.msgtype == "news" or extra.get("news_url"):
        article = news_article(action)
        link = {"title": article["title"], "desc": article["description"], "url": article["url"]}
        if "picurl" in article:
            link["picurl"] = article["picurl"]
        attachments.append({"msgtype": "link", "link": link})
    text = "" if action.msgtype in ("news", "image") else action.text
    if not text.strip() and not attachments:
        raise ContentError(f"{action.key}: empty message")
    return text, attachments


class WeComMassSendChannel:
    """Creates group mass-send tasks through a WeComClient (given by the caller)."""

    def __init__(
        self, client: WeComClient, *, now: Now = shanghai_now, name: str = "wecom_mass"
    ) -> None:
        self.name = name
        self._client = client
        self._secrets = client.secrets
        self._now = now
        self._awaiting: dict[str, AwaitingSend] = {}

    def __repr__(self) -> str:
        return f"WeComMassSendChannel(name={self.name!r}, client={self._client!r})"

    def send_batch(self, actions: Sequence[PlannedAction]) -> list[DeliveryResult]:
        """One add_msg_template per (sender, content) and 2,000 chats; results per key.

        A lost answer makes that call's keys `unknown` and stops the batch; so does an
        unreachable or rate-limited WeCom. Keys not attempted are `failed` with attempts 0.
        """
        results: dict[str, DeliveryResult] = {}
        batches: dict[tuple[str, str, str], dict[str, list[PlannedAction]]] = {}
        for action in actions:
            try:
                if not action.sender:
                    raise ContentError(f"{action.key}: no sender (group owner's staff user id)")
                if not action.target:
                    raise ContentError(f"{action.key}: no chat id (target) for {action.group_id}")
                text, attachments = mass_content(action)
            except ContentError as exc:
                results[action.key] = DeliveryResult(action.key, FAILED, error=str(exc), attempts=0)
                continue
            content = (action.sender, text, json.dumps(attachments, sort_keys=True))
            batches.setdefault(content, {}).setdefault(action.target, []).append(action)
        stopped: str | None = None
        for (sender, text, attachments), by_chat in batches.items():
            chats = list(by_chat)
            for start in range(0, len(chats), MAX_CHATS_PER_TEMPLATE):
                chunk = {
                    chat: by_chat[chat] for chat in chats[start : start + MAX_CHATS_PER_TEMPLATE]
                }
                if stopped:
                    todo = [a for group in chunk.values() for a in group]
                    results.update((r.key, r) for r in not_sent(todo, stopped))
                    continue
                done, stopped = self._send_chunk(sender, text, json.loads(attachments), chunk)
                results.update((r.key, r) for r in done)
        return [results[a.key] for a in actions]

    def _send_chunk(
        self,
        sender: str,
        text: str,
        attachments: list[dict[str, Any]],
        chunk: Mapping[str, list[PlannedAction]],
    ) -> tuple[list[DeliveryResult], str | None]:
        """Send one template for `chunk` (chat id -> actions); results and a reason to stop."""
        todo = [a for group in chunk.values() for a in group]
        try:
            ticket = add_group_msg_template(
                self._client,
                sender=sender,
                chat_ids=list(chunk),
                text=text,
                attachments=attachments,
            )
        except DeliveryOutcomeUnknown as exc:
            error = self._clean(exc)
            return [DeliveryResult(a.key, UNKNOWN, error=error) for a in todo], error
        except (WeComUnreachable, ChannelRateLimited) as exc:
            return self._failed(todo, exc), self._clean(exc)
        except ChannelError as exc:  # this call was refused; other calls may go through
            return self._failed(todo, exc), None
        msgid = self._secrets.redact(ticket.msgid)  # WeCom's text, stored as the response id
        refused = set(ticket.fail_list)
        results = []
        for chat, group in chunk.items():
            for action in group:
                if chat in refused:
                    error = f"WeCom refused chat {chat} for sender {sender} (fail_list)"
                    results.append(
                        DeliveryResult(action.key, FAILED, msgid, error, ticket.attempts)
                    )
                    continue
                self._awaiting[action.key] = AwaitingSend(action.key, msgid, sender, chat)
                results.append(
                    DeliveryResult(action.key, AWAITING, msgid, attempts=ticket.attempts)
                )
        return results, None

    def _clean(self, exc: Exception) -> str:
        return f"mass send: {self._secrets.redact(str(exc))}"

    def _failed(self, actions: Sequence[PlannedAction], exc: ChannelError) -> list[DeliveryResult]:
        error, attempts = self._clean(exc), int(getattr(exc, "attempts", 1))
        return [DeliveryResult(a.key, FAILED, error=error, attempts=attempts) for a in actions]

    def poll_results(self, msgid: str, sender: str) -> dict[str, ChatOutcome]:
        """Each chat's fate in `msgid` as sent by `sender` (all result pages)."""
        outcomes: dict[str, ChatOutcome] = {}
        for row in group_send_results(self._client, msgid=msgid, userid=sender):
            if row.status == STATUS_SENT:
                sent_at = datetime.fromtimestamp(row.send_time, CST) if row.send_time else None
                outcomes[row.chat_id] = ChatOutcome(row.chat_id, SENT, sent_at or self._now())
            elif row.status in FAILED_REASONS:
                outcomes[row.chat_id] = ChatOutcome(
                    row.chat_id, FAILED, None, FAILED_REASONS[row.status]
                )
            else:
                outcomes[row.chat_id] = ChatOutcome(row.chat_id, AWAITING)
        return outcomes

    def confirm(self, pending: Sequence[AwaitingSend]) -> list[DeliveryResult]:
        """Poll WeCom once per (msgid, sender) and map every pending key to its fate."""
        polled: dict[tuple[str, str], Mapping[str, ChatOutcome]] = {}
        results = []
        for item in pending:
            ask = (item.msgid, item.sender)
            if ask not in polled:
                polled[ask] = self.poll_results(item.msgid, item.sender)
            found = polled[ask].get(item.chat_id) or ChatOutcome(item.chat_id, AWAITING)
            results.append(
                DeliveryResult(
                    item.key,
                    found.status,
                    item.msgid,
                    found.error,
                    attempts=0,
                    sent_at=found.sent_at,
                )
            )
            if found.status != AWAITING:
                self._awaiting.pop(item.key, None)
        return results

    def reconcile(self, keys: Sequence[str]) -> dict[str, DeliveryResult]:
        """Fates of keys this channel queued in this process (others are not known here)."""
        pending = [self._awaiting[key] for key in keys if key in self._awaiting]
        return {result.key: result for result in self.confirm(pending)}
