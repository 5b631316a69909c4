"""One HTTP exchange with WeCom, and the retry rules around it.

WeCom answers HTTP 200 with `{"errcode": ...}`; the errcode decides, not the status. A failed
connection means the request never left and may be retried; a timeout or a garbled answer
after sending means the outcome is unknown, so a non-idempotent call is never resent blindly;
nor is one answered `-1` (system busy): WeCom may have done it anyway [90454].

A 45009 (frequency limit) blocks the API for 60 s, or 60 min past an hourly limit: retrying
after seconds only adds refused calls. The transport waits out one 60 s block and tries once
more; still refused, it raises WeComRateLimited with `retry_after` so the run can reschedule.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from engine.wecom.errors import (
    WeComApiError,
    WeComRateLimited,
    WeComTokenRejected,
    WeComUnreachable,
    install_log_redaction,
    redact,
)
from sop_models.errors import SETUP_FIXES, DeliveryOutcomeUnknown, WeComSetupError

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com/cgi-bin/"
TOKEN_CODES = frozenset({40014, 42001})  # invalid / expired access_token
BUSY_CODES = frozenset({45009, 45033, -1})  # frequency, concurrency, system busy
RATE_CODES = frozenset({45009, 45033})
FREQUENCY_LIMITED, SYSTEM_BUSY = 45009, -1
BLOCK_SECONDS, HOURLY_BLOCK_SECONDS = 60.0, 3600.0
NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

Sleep = Callable[[float], None]
log = logging.getLogger("engine.wecom")


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff: attempt n waits base * 2**(n-1), capped at max_delay."""

    max_attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0
    block_wait: float = BLOCK_SECONDS
    """How long to wait after a 45009 before one more try (0: do not wait, raise at once)."""

    def delay(self, failures: int) -> float:
        """Seconds to wait after the `failures`-th failed attempt (1-based)."""
        return min(self.max_delay, self.base_delay * 2 ** max(0, failures - 1))


@dataclass(frozen=True)
class Reply:
    """A WeCom answer with errcode 0, and how many HTTP attempts it took."""

    payload: Mapping[str, Any]
    attempts: int


def raise_for_errcode(
    api: str, payload: Mapping[str, Any], attempts: int, secrets: Iterable[str] = ()
) -> None:
    """Raise the error class that fits a non-zero errcode (no-op on errcode 0).

    WeCom's errmsg is free text that may echo a credential: every value in `secrets` is
    masked in it (the error classes mask `name=value` credentials themselves).
    """
    code = int(payload.get("errcode", 0))
    if code == 0:
        return
    message = redact(str(payload.get("errmsg", "")), secrets)
    if code in TOKEN_CODES:
        raise WeComTokenRejected(api, code, message, attempts=attempts)
    if code in SETUP_FIXES:
        raise WeComSetupError(api, code, message, attempts=attempts)
    if code in BUSY_CODES:
        raise WeComRateLimited(api, code, message, attempts=attempts)
    raise WeComApiError(api, code, message, attempts=attempts)


class Transport:
    """Sends JSON requests to a WeCom base URL; owns the httpx client unless given one."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        sleep: Sleep = time.sleep,
        http: httpx.Client | None = None,
        on_block: Callable[[str], None] | None = None,
    ) -> None:
        install_log_redaction()
        self.on_block = on_block  # told of every 45009 (api), so other processes hold off
        self.base_url = base_url.rstrip("/") + "/"
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self._own_http = http is None
        self._http = http or httpx.Client(timeout=timeout)

    def __repr__(self) -> str:
        return f"Transport(base_url={redact(self.base_url)!r})"

    def close(self) -> None:
        """Close the HTTP client if this transport created it."""
        if self._own_http:
            self._http.close()

    def once(
        self,
        method: str,
        api: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        secrets: Iterable[str] = (),
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> dict[str, Any]:
        """One HTTP exchange; returns the JSON answer whatever its errcode.

        Raises WeComUnreachable when the request never left and DeliveryOutcomeUnknown when
        it left but no usable answer came back; `secrets` are masked in those errors.
        """
        hidden = tuple(secrets)
        content = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"} if content else None
        try:
            response = self._http.request(
                method,
                self.base_url + api,
                params=params,
                content=None if files else content,
                headers=None if files else headers,
                files=files,
            )
        except NOT_SENT_ERRORS as exc:
            raise WeComUnreachable(api, redact(_describe(exc), hidden)) from None
        except httpx.TransportError as exc:
            raise DeliveryOutcomeUnknown(
                f"WeCom {api}: request sent but no answer ({redact(_describe(exc), hidden)})"
            ) from None
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or "errcode" not in payload:
            raise DeliveryOutcomeUnknown(
                f"WeCom {api}: request sent but the answer (HTTP {response.status_code}) "
                "carries no errcode"
            )
        return payload

    def request(
        self,
        method: str,
        api: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        idempotent: bool,
        secrets: Iterable[str] = (),
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> Reply:
        """Send with retries: connection failures and busy errcodes back off and retry.

        A lost answer is retried only when `idempotent`; otherwise DeliveryOutcomeUnknown
        propagates. Token errcodes raise WeComTokenRejected at once (the caller refreshes).
        Every value in `secrets` is masked in the errors raised.
        """
        hidden = tuple(secrets)
        attempt = 0
        waited_block = False
        while True:
            attempt += 1
            last = attempt >= self.retry.max_attempts
            try:
                payload = self.once(
                    method, api, params=params, body=body, secrets=hidden, files=files
                )
            except WeComUnreachable as exc:
                if last:
                    raise WeComUnreachable(api, exc.reason, attempts=attempt) from None
                self._back_off(api, attempt, "unreachable")
                continue
            except DeliveryOutcomeUnknown:
                if not idempotent or last:
                    raise
                self._back_off(api, attempt, "no answer")
                continue
            code = int(payload.get("errcode", 0))
            if code == SYSTEM_BUSY and not idempotent:
                raise DeliveryOutcomeUnknown(
                    f"WeCom {api}: errcode -1 (system busy): it may have taken effect anyway"
                )
            if code == FREQUENCY_LIMITED:
                if self.on_block is not None:
                    self.on_block(api)
                if waited_block or not self.retry.block_wait:
                    raise WeComRateLimited(
                        api,
                        code,
                        redact(str(payload.get("errmsg", "")), hidden),
                        attempts=attempt,
                        retry_after=HOURLY_BLOCK_SECONDS if waited_block else BLOCK_SECONDS,
                    )
                waited_block = True
                log.warning("WeCom %s: errcode 45009, waiting out the block", api)
                self.sleep(self.retry.block_wait)
                continue
            if code in BUSY_CODES and not last:
                self._back_off(api, attempt, f"errcode {code}")
                continue
            raise_for_errcode(api, payload, attempt, hidden)
            return Reply(payload=payload, attempts=attempt)

    def _back_off(self, api: str, attempt: int, why: str) -> None:
        delay = self.retry.delay(attempt)
        log.warning("WeCom %s: %s, retrying in %.1fs (attempt %d)", api, why, delay, attempt)
        self.sleep(delay)


def _describe(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
