"""Group robot webhook [91770]: `POST webhook/send?key=KEY`. The key is a secret."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from engine.wecom.transport import DEFAULT_BASE_URL, Transport

WEBHOOK_SEND = "webhook/send"
ROBOT_LIMIT_PER_MINUTE = 20


class RobotWebhook:
    """Posts one robot message per call; retries and pacing belong to the caller."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 10.0,
        http: httpx.Client | None = None,
    ) -> None:
        self._transport = Transport(base_url, timeout=timeout, http=http)

    def __repr__(self) -> str:
        return f"RobotWebhook(base_url={self._transport.base_url!r})"

    def close(self) -> None:
        """Release the HTTP connections."""
        self._transport.close()

    def send_once(
        self, key: str, message: Mapping[str, Any], *, secrets: Iterable[str] = ()
    ) -> dict[str, Any]:
        """Post `message` to the robot with `key`; returns WeCom's answer whatever its errcode.

        Raises WeComUnreachable (never left) or DeliveryOutcomeUnknown (left, no answer), with
        `key` and every value in `secrets` masked. The answer itself is not redacted: pass it
        to `raise_for_errcode` with the same secrets.
        """
        return self._transport.once(
            "POST", WEBHOOK_SEND, params={"key": key}, body=message, secrets=(key, *secrets)
        )
