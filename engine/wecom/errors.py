"""Errors of the WeCom client, and the redaction that keeps credentials out of them.

    SopflowError
    └── ChannelError
        ├── WeComApiError           WeCom answered with a non-zero errcode
        │   └── WeComTokenRejected  40014 / 42001: the access_token is invalid or expired
        ├── WeComUnreachable        no connection: the request never left (safe to retry)
        ├── WeComRequestInvalid     we refuse to send a request that breaks a documented limit
        ├── ChannelRateLimited
        │   └── WeComRateLimited    45009 / 45033 / -1 still answered after every backoff
        └── DeliveryOutcomeUnknown  (sop_models) the request left, no usable answer came

Messages name the API path only, never a query string; `redact` scrubs any text that might
carry an access_token, corpsecret or robot key before it reaches a message or a log.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from sop_models.errors import ChannelError, ChannelRateLimited

_SECRET_PARAM = re.compile(r"(?i)\b(access_token|corpsecret|key)=([^&\s\"'<>#]+)")
MASK = "***"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with credential query parameters and the given secret values masked."""
    out = _SECRET_PARAM.sub(lambda m: f"{m.group(1)}={MASK}", text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            out = out.replace(secret, MASK)
    return out


class WeComApiError(ChannelError):
    """WeCom answered a call with a non-zero errcode."""

    def __init__(self, api: str, errcode: int, errmsg: str, *, attempts: int = 1) -> None:
        self.api = redact(api)
        self.errcode = errcode
        self.errmsg = redact(errmsg)
        self.attempts = attempts
        super().__init__(f"WeCom {self.api}: errcode {errcode} ({self.errmsg})")


class WeComTokenRejected(WeComApiError):
    """WeCom rejected the access_token (40014 invalid, 42001 expired)."""


class WeComRateLimited(ChannelRateLimited):
    """WeCom kept answering 45009/45033/-1 after every backoff."""

    def __init__(self, api: str, errcode: int, errmsg: str, *, attempts: int = 1) -> None:
        self.api = redact(api)
        self.errcode = errcode
        self.errmsg = redact(errmsg)
        self.attempts = attempts
        super().__init__(
            f"WeCom {self.api}: errcode {errcode} ({self.errmsg}) after {attempts} attempt(s)"
        )


class WeComUnreachable(ChannelError):
    """No connection to WeCom could be made; the request never left."""

    def __init__(self, api: str, reason: str, *, attempts: int = 1) -> None:
        self.api = redact(api)
        self.reason = redact(reason)
        self.attempts = attempts
        super().__init__(
            f"WeCom {self.api}: not reachable ({self.reason}) after {attempts} attempt(s)"
        )


class WeComRequestInvalid(ChannelError):
    """A request that breaks a documented WeCom limit; it was not sent."""


class _RedactingFilter(logging.Filter):
    """Masks credentials in records of loggers that print request URLs (httpx, httpcore)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(str(a)) if _may_hold_url(a) else a for a in record.args)
        if isinstance(record.msg, str) and "=" in record.msg:
            record.msg = redact(record.msg)
        return True


def _may_hold_url(value: object) -> bool:
    return not isinstance(value, int | float) and "=" in str(value)


_FILTER = _RedactingFilter()


def install_log_redaction() -> None:
    """Attach the redacting filter to httpx's loggers (they log full request URLs at INFO)."""
    for name in ("httpx", "httpcore", "httpcore.connection", "httpcore.http11", "httpcore.http2"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
