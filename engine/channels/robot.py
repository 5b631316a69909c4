"""Group robot channel: posts actions through WeCom group robot webhooks.

Each robot takes at most 20 messages a minute. Sends to one robot are paced by a sliding
window that waits (messages queue, none is dropped). A 45009 answer (another process used
the robot) blocks the robot for a while: the channel waits out one 60 s block and tries
again; refused still, the robot's remaining messages are not sent (failed, attempts 0).
`action.target` names the robot; the keys, which are secrets, come in a name -> key mapping
and never appear in results or errors: every error text is masked with all the keys and any
other `secrets` given, before it leaves the channel.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from engine.channels.base import FAILED, SENT, UNKNOWN, DeliveryResult, Now, shanghai_now
from engine.channels.content import (
    ContentError,
    check_bytes,
    image_payload,
    news_article,
    split_list,
)
from engine.channels.ratelimit import Limiter, SlidingWindowLimiter
from engine.wecom.errors import Secrets, WeComApiError, WeComUnreachable
from engine.wecom.robot import ROBOT_LIMIT_PER_MINUTE, WEBHOOK_SEND, RobotWebhook
from engine.wecom.transport import (
    BUSY_CODES,
    DEFAULT_BASE_URL,
    FREQUENCY_LIMITED,
    RetryPolicy,
    raise_for_errcode,
)
from sop_models.actions import PlannedAction
from sop_models.errors import ChannelRateLimited, DeliveryOutcomeUnknown
from sop_models.wecom_limits import ROBOT_MARKDOWN_BYTES, ROBOT_TEXT_BYTES

ROBOT_BLOCK = timedelta(seconds=60)  # a robot refused with 45009 is refused for a while
ROBOT_RETRY = RetryPolicy(max_attempts=4, base_delay=15.0, max_delay=120.0)


def robot_message(action: PlannedAction) -> dict[str, Any]:
    """The webhook body for an action, by msgtype (see engine.channels.content for extra)."""
    if action.msgtype in ("text", "markdown"):
        limit = ROBOT_TEXT_BYTES if action.msgtype == "text" else ROBOT_MARKDOWN_BYTES
        if not action.text.strip():
            raise ContentError(f"{action.key}: empty {action.msgtype} message")
        check_bytes(action, f"robot {action.msgtype}", action.text, limit)
        if action.msgtype == "markdown":
            return {"msgtype": "markdown", "markdown": {"content": action.text}}
        text: dict[str, Any] = {"content": action.text}
        for name in ("mentioned_list", "mentioned_mobile_list"):
            if split_list(action.extra.get(name)):
                text[name] = split_list(action.extra.get(name))
        return {"msgtype": "text", "text": text}
    if action.msgtype == "image":
        return {"msgtype": "image", "image": image_payload(action)}
    if action.msgtype == "news":
        return {"msgtype": "news", "news": {"articles": [news_article(action)]}}
    raise ContentError(f"{action.key}: robot cannot send msgtype {action.msgtype!r}")


class RobotWebhookChannel:
    """Sends actions to group robots; `robots` maps robot name (action.target) to its key.

    With one robot, an action without a target goes to it. `clock`/`sleep` drive both the
    pacing and the 45009 backoff, so tests can run on a fake clock. The pacing lives in the
    channel (or the `limiter` given): keep one per process, not one per batch.
    """

    def __init__(
        self,
        robots: Mapping[str, str],
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Now = shanghai_now,
        per_minute: int = ROBOT_LIMIT_PER_MINUTE,
        margin: float = 1.0,
        retry: RetryPolicy = ROBOT_RETRY,
        webhook: RobotWebhook | None = None,
        limiter: Limiter | None = None,
        name: str = "robot",
        secrets: Iterable[str] = (),
    ) -> None:
        self.name = name
        self._robots = dict(robots)
        self._secrets = secrets if isinstance(secrets, Secrets) else Secrets(secrets)
        self._secrets.add(*self._robots.values())
        self._webhook = webhook or RobotWebhook(base_url, timeout=timeout)
        self._limiter: Limiter = limiter or SlidingWindowLimiter(
            per_minute, 60.0, clock=clock, sleep=sleep, margin=margin
        )
        self._sleep = sleep
        self._now = now
        self._retry = retry

    def __repr__(self) -> str:
        return f"RobotWebhookChannel(name={self.name!r}, robots={sorted(self._robots)!r})"

    @property
    def limiter(self) -> Limiter:
        """What paces the sends (per process by default; see engine.channels.shared_limit)."""
        return self._limiter

    def close(self) -> None:
        """Release the HTTP connections."""
        self._webhook.close()

    def send_batch(self, actions: Sequence[PlannedAction]) -> list[DeliveryResult]:
        """Send in order, pacing per robot; one result per action.

        After an unknown outcome or an unreachable server the rest of the batch is not sent
        (`failed`, attempts 0); after a robot stays rate limited, the rest for that robot.
        """
        results: list[DeliveryResult] = []
        stopped: str | None = None
        limited: dict[str, str] = {}
        for action in actions:
            robot = action.target or (next(iter(self._robots)) if len(self._robots) == 1 else "")
            if stopped or robot in limited:
                reason = stopped or limited[robot]
                results.append(DeliveryResult(action.key, FAILED, error=reason, attempts=0))
                continue
            result, scope = self._send_one(action, robot)
            results.append(result)
            if scope == "batch":
                stopped = f"not sent: an earlier request failed ({result.error})"
            elif scope == "robot":
                limited[robot] = f"not sent: robot {robot!r} is rate limited"
        return results

    def _send_one(self, action: PlannedAction, robot: str) -> tuple[DeliveryResult, str]:
        """The result, and what it blocks: "" nothing, "robot" this robot, "batch" the rest."""
        key = self._robots.get(robot)
        if not key:
            error = f"no webhook key configured for robot {robot!r} (group {action.group_id})"
            return DeliveryResult(action.key, FAILED, error=error, attempts=0), ""
        try:
            message = robot_message(action)
        except ContentError as exc:
            return DeliveryResult(action.key, FAILED, error=str(exc), attempts=0), ""
        attempts = 0
        waited_block = False
        try:
            while True:
                attempts += 1
                self._limiter.acquire(key)
                try:
                    answer = self._webhook.send_once(key, message, secrets=self._secrets)
                except WeComUnreachable:
                    if attempts >= self._retry.max_attempts:
                        raise
                    self._sleep(self._retry.delay(attempts))
                    continue
                code = int(answer.get("errcode", 0))
                if code == FREQUENCY_LIMITED and not waited_block and self._retry.block_wait:
                    waited_block = True  # the robot is blocked for a while: wait it out once
                    self._sleep(self._retry.block_wait)
                    continue
                if code in BUSY_CODES - {FREQUENCY_LIMITED} and attempts < self._retry.max_attempts:
                    self._sleep(self._retry.delay(attempts))
                    continue
                raise_for_errcode(WEBHOOK_SEND, answer, attempts, self._secrets)
                return DeliveryResult(action.key, SENT, attempts=attempts, sent_at=self._now()), ""
        except DeliveryOutcomeUnknown as exc:
            error = self._clean(exc)
            return DeliveryResult(action.key, UNKNOWN, error=error, attempts=attempts), "batch"
        except WeComUnreachable as exc:
            return self._failed(action, exc, attempts), "batch"
        except ChannelRateLimited as exc:
            failed = self._failed(action, exc, attempts)
            if getattr(exc, "errcode", None) == FREQUENCY_LIMITED:  # blocked for a while
                failed = replace(failed, retry_at=self._now() + ROBOT_BLOCK)
            return failed, "robot"
        except WeComApiError as exc:
            return self._failed(action, exc, attempts), ""

    def _failed(self, action: PlannedAction, exc: Exception, attempts: int) -> DeliveryResult:
        return DeliveryResult(action.key, FAILED, error=self._clean(exc), attempts=attempts)

    def _clean(self, exc: Exception) -> str:
        return f"robot: {self._secrets.redact(str(exc))}"
