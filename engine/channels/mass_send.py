"""WeCom customer-group mass send channel (externalcontact/add_msg_template).

Actions are grouped by (sender, content); each group becomes one add_msg_template call per
2,000 chats (`action.target` is the chat id, `action.sender` the owner's staff user id).
WeCom only queues the message: the sender must confirm it in the WeCom client, so results
are `awaiting_confirmation` with the msgid as response id until `poll_results`/`confirm`
(get_groupmsg_send_result) find each chat sent (1) or failed (2, 3); `follow_up` reminds
senders who do not confirm and cancels at a deadline (engine.channels.mass_followup).

Before sending, each chat's mass messages in the cap's period (`cap_rule`: month, week or
day) are counted from WeCom; a chat at its cap is `skipped` (not sent again; the reason
says so) instead of being sent and refused. After a lost answer or a `-1`, the task is
looked up (get_groupmsg_list_v2) before anything is sent again. A setup error (secret, corp
id, permission, trusted IP) stops the batch: nothing more is tried. Every error text and
response id is masked with the client's secrets before it leaves the channel.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from engine.channels.base import (
    AWAITING,
    CST,
    FAILED,
    SENT,
    SKIPPED,
    UNKNOWN,
    DeliveryResult,
    DeliveryStatus,
    Now,
    not_sent,
    shanghai_now,
)
from engine.channels.content import ContentError
from engine.channels.mass_cap import FinalRows, over_cap, sends_in_period
from engine.channels.mass_content import mass_content
from engine.channels.mass_followup import FollowUp, FollowUpPolicy, UnconfirmedTask, follow_up
from engine.quota import CapRule
from engine.wecom.client import WeComClient
from engine.wecom.errors import WeComSetupError, WeComUnreachable
from engine.wecom.groupmsg import (
    FAILED_REASONS,
    MAX_CHATS_PER_TEMPLATE,
    STATUS_SENT,
    MassSendTicket,
    add_group_msg_template,
    find_created_task,
    group_send_results,
)
from engine.wecom.media import MediaCache
from engine.wecom.statistics import follow_users
from sop_models.actions import PlannedAction
from sop_models.errors import ChannelError, ChannelRateLimited, DeliveryOutcomeUnknown

log = logging.getLogger("engine.wecom")
LOOKUP_SLACK = 300  # seconds around the send in which a created task is looked for
SETUP_RECHECK = timedelta(minutes=10)  # after a setup error, no call before this has passed


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


class WeComMassSendChannel:
    """Creates group mass-send tasks through a WeComClient (given by the caller).

    `cap_rule` is the workspace's mass-message cap (None: do not count, let WeCom refuse).
    """

    def __init__(
        self,
        client: WeComClient,
        *,
        now: Now = shanghai_now,
        name: str = "wecom_mass",
        cap_rule: CapRule | None = "month",
    ) -> None:
        self.name = name
        self._client = client
        self._secrets = client.secrets
        self._now = now
        self._cap_rule = cap_rule
        self._media = MediaCache(client, clock=lambda: self._now().timestamp())
        self._awaiting: dict[str, AwaitingSend] = {}
        self._setup: tuple[str, datetime] | None = None  # a setup error and when it came
        self._final: FinalRows = {}  # send results that can no longer change (cap counting)

    def check_setup(self) -> None:
        """Raise WeComSetupError (naming the setting to fix) unless the app may mass-send.

        Asks for a token and the staff with customer-contact permission: wrong secret or
        corp id, a system-app secret (48002) and an untrusted server IP (60020) show here.
        """
        follow_users(self._client)

    def _setup_stop(self, exc: WeComSetupError) -> str:
        reason = self._clean(exc)
        self._setup = (reason, self._now())
        return reason

    def __repr__(self) -> str:
        return f"WeComMassSendChannel(name={self.name!r}, client={self._client!r})"

    def send_batch(self, actions: Sequence[PlannedAction]) -> list[DeliveryResult]:
        """One add_msg_template per (sender, content) and 2,000 chats; results per key.

        A lost answer that no lookup resolves makes that call's keys `unknown` and stops the
        batch; so does an unreachable, rate-limited or misconfigured WeCom. Keys not
        attempted are `failed` with attempts 0.
        """
        results: dict[str, DeliveryResult] = {}
        batches: dict[tuple[str, str, str], dict[str, list[PlannedAction]]] = {}
        stopped: str | None = None
        if self._setup and self._now() - self._setup[1] < SETUP_RECHECK:
            return not_sent(actions, self._setup[0])  # no call until the setting is fixed
        try:
            over_cap = self._over_cap(actions)
        except WeComSetupError as exc:
            over_cap, stopped = {}, self._setup_stop(exc)
        for action in actions:
            if stopped:
                break
            try:
                if not action.sender:
                    raise ContentError(f"{action.key}: no sender (group owner's staff user id)")
                if not action.target:
                    raise ContentError(f"{action.key}: no chat id (target) for {action.group_id}")
                if action.key in over_cap:
                    reason = over_cap[action.key]
                    results[action.key] = DeliveryResult(
                        action.key, SKIPPED, error=reason, attempts=0
                    )
                    continue
                text, attachments = mass_content(action, self._media.media_id)
            except WeComSetupError as exc:
                stopped = self._setup_stop(exc)
                break
            except ChannelError as exc:  # content, or an image upload that was refused
                error = self._clean(exc) if not isinstance(exc, ContentError) else str(exc)
                results[action.key] = DeliveryResult(action.key, FAILED, error=error, attempts=0)
                continue
            content = (action.sender, text, json.dumps(attachments, sort_keys=True))
            batches.setdefault(content, {}).setdefault(action.target, []).append(action)
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
        rest = [a for a in actions if a.key not in results]
        results.update((r.key, r) for r in not_sent(rest, stopped or "batch stopped"))
        until = max((r.retry_at for r in results.values() if r.retry_at), default=None)
        if until:  # what the block kept from going out waits for it too
            results.update(
                (k, replace(r, retry_at=until))
                for k, r in results.items()
                if r.status == FAILED and (r.error or "").startswith("not sent: ")
            )
        return [results[a.key] for a in actions]

    def sent_this_period(self, chats: set[str], at: datetime) -> dict[str, int]:
        """Mass messages WeCom reports per chat in the cap period containing `at`."""
        counts, _ = sends_in_period(
            self._client, rule=self._cap_rule or "month", at=at, chats=chats
        )
        return dict(counts)

    def _over_cap(self, actions: Sequence[PlannedAction]) -> dict[str, str]:
        """Keys whose chat already has its cap of mass messages this period -> why."""
        if self._cap_rule is None:
            return {}
        try:
            return over_cap(self._client, self._cap_rule, self._now(), actions, self._final)
        except WeComSetupError:
            raise
        except ChannelError as exc:  # WeCom still refuses past the cap (status 3)
            log.warning("mass send: cannot count this period's sends: %s", self._clean(exc))
            return {}

    def _send_chunk(
        self,
        sender: str,
        text: str,
        attachments: list[dict[str, Any]],
        chunk: Mapping[str, list[PlannedAction]],
    ) -> tuple[list[DeliveryResult], str | None]:
        """Send one template for `chunk` (chat id -> actions); results and a reason to stop."""
        todo = [a for group in chunk.values() for a in group]
        since = int(self._now().timestamp()) - LOOKUP_SLACK
        try:
            ticket = self._create(sender, text, attachments, chunk, since)
        except DeliveryOutcomeUnknown as exc:
            error = self._clean(exc)
            return [DeliveryResult(a.key, UNKNOWN, error=error) for a in todo], error
        except WeComSetupError as exc:
            return self._failed(todo, exc), self._setup_stop(exc)
        except (WeComUnreachable, ChannelRateLimited) as exc:
            failed = self._failed(todo, exc)
            wait = getattr(exc, "retry_after", None)
            if wait:  # blocked (45009): the run reschedules instead of calling into the block
                retry_at = self._now() + timedelta(seconds=wait)
                failed = [replace(r, retry_at=retry_at) for r in failed]
            return failed, self._clean(exc)
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

    def _create(
        self,
        sender: str,
        text: str,
        attachments: list[dict[str, Any]],
        chunk: Mapping[str, list[PlannedAction]],
        since: int,
    ) -> MassSendTicket:
        """add_msg_template; after a lost answer or -1, find the task before sending again."""
        for attempt in (1, 2):
            try:
                return add_group_msg_template(
                    self._client,
                    sender=sender,
                    chat_ids=list(chunk),
                    text=text,
                    attachments=attachments,
                )
            except DeliveryOutcomeUnknown as lost:
                until = int(self._now().timestamp()) + LOOKUP_SLACK
                known = {item.msgid for item in self._awaiting.values()}
                try:
                    msgid = find_created_task(
                        self._client,
                        sender=sender,
                        text=text,
                        attachments=attachments,
                        since=since,
                        until=until,
                        known=known,
                    )
                except ChannelError:  # the lookup failed too: the outcome stays unknown
                    raise lost from None
                if msgid:
                    return MassSendTicket(msgid, (), attempt)
                if attempt == 2:
                    raise
                log.warning("mass send: no task was created for %s, sending again", sender)
        raise AssertionError("unreachable")

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

    def follow_up(self, tasks: Sequence[UnconfirmedTask], policy: FollowUpPolicy) -> list[FollowUp]:
        """Remind or cancel each unconfirmed task as `policy` says; one FollowUp per key."""
        done = follow_up(self._client, tasks, policy, self._now())
        for item in done:
            if item.action == "cancelled":
                self._awaiting.pop(item.key, None)
        return done
