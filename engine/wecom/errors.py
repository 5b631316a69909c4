"""Errors of the WeCom client, and the redaction that keeps credentials out of them.

The classes (WeComApiError, WeComTokenRejected, WeComUnreachable, WeComRequestInvalid,
WeComRateLimited) and `redact` live in `sop_models.errors`, drawn with the rest of the tree;
this module re-exports them for the WeCom client and adds `Secrets` and the log filter.
Messages name the API path only, never a query string. `redact` masks `name=value`
credentials by pattern; `Secrets` holds the configured values themselves (corp secret, robot
keys, access tokens as they arrive) so that WeCom text echoing one in free words is masked too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator

from sop_models.errors import (
    MASK,
    WeComApiError,
    WeComRateLimited,
    WeComRequestInvalid,
    WeComSetupError,
    WeComTokenRejected,
    WeComUnreachable,
    redact,
)

__all__ = [
    "MASK",
    "Secrets",
    "WeComApiError",
    "WeComRateLimited",
    "WeComRequestInvalid",
    "WeComSetupError",
    "WeComTokenRejected",
    "WeComUnreachable",
    "install_log_redaction",
    "redact",
]

# Every secret value any Secrets set has seen in this process: the log filter masks them all
# (logging is process-wide, so its filter cannot know which client a record came from).
_LOGGED: set[str] = set()
_LOGGED_LOCK = threading.Lock()


class Secrets:
    """Secret values to mask in any text a WeCom client or channel lets out; grows at run time.

    Iterating gives a snapshot, longest value first (so a secret that contains another is
    masked whole). The values never appear in its repr.
    """

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self.add(*values)

    def add(self, *values: str) -> None:
        """Mask these values from now on (empty values are ignored); also in logs."""
        found = {v for v in values if v}
        if not found:
            return
        with self._lock:
            self._values |= found
        with _LOGGED_LOCK:
            _LOGGED.update(found)

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            snapshot = sorted(self._values, key=len, reverse=True)
        return iter(snapshot)

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)

    def __repr__(self) -> str:
        return f"Secrets({len(self)} value(s))"

    def redact(self, text: str) -> str:
        """`text` with credential parameters and every value of this set masked."""
        return redact(text, self)


def _logged_secrets() -> list[str]:
    with _LOGGED_LOCK:
        return sorted(_LOGGED, key=len, reverse=True)


class _RedactingFilter(logging.Filter):
    """Masks credentials in records of loggers that print request URLs or WeCom answers."""

    def filter(self, record: logging.LogRecord) -> bool:
        known = _logged_secrets()
        if isinstance(record.args, tuple):
            record.args = tuple(_masked_arg(a, known) for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg, known)
        return True


def _masked_arg(value: object, known: list[str]) -> object:
    if isinstance(value, int | float):
        return value  # keeps %d and %.1f working
    text = str(value)
    masked = redact(text, known)
    return value if masked == text else masked


_FILTER = _RedactingFilter()
LOGGERS = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "engine.wecom",
)


def install_log_redaction() -> None:
    """Attach the redacting filter to httpx's loggers (they log full request URLs at INFO)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
