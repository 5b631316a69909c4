"""Errors of the WeCom client, and the redaction that keeps credentials out of them.

The classes (WeComApiError, WeComTokenRejected, WeComUnreachable, WeComRequestInvalid,
WeComRateLimited) and `redact` live in `sop_models.errors`, drawn with the rest of the tree;
this module re-exports them for the WeCom client and adds the log filter. Messages name the
API path only, never a query string; `redact` scrubs any text that might carry an
access_token, corpsecret or robot key before it reaches a message or a log.
"""

from __future__ import annotations

import logging

from sop_models.errors import (
    MASK,
    WeComApiError,
    WeComRateLimited,
    WeComRequestInvalid,
    WeComTokenRejected,
    WeComUnreachable,
    redact,
)

__all__ = [
    "MASK",
    "WeComApiError",
    "WeComRateLimited",
    "WeComRequestInvalid",
    "WeComTokenRejected",
    "WeComUnreachable",
    "install_log_redaction",
    "redact",
]


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
