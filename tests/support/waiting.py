"""Polling for something another process or thread makes true: the one `wait_until` of the suite."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T],
    *,
    timeout: float = 30.0,
    interval: float = 0.2,
    what: str = "the condition",
) -> T:
    """Call `predicate` every `interval` seconds until it returns something truthy; return that.

    Fails the test (naming `what` and the last value seen) when `timeout` seconds pass first.
    The predicate is always called once more at the deadline, so a slow machine that makes the
    condition true just in time still passes.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(
                f"timed out after {timeout:g} s waiting for {what} (last value: {value!r})",
                pytrace=False,
            )
        time.sleep(interval)
