"""Console channel: prints each action to a text stream (for dry runs and demos)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Sequence
from typing import TextIO

from engine.channels.base import FAILED, SENT, DeliveryResult, Now, local, shanghai_now
from sop_models.actions import PlannedAction


def render(action: PlannedAction) -> str:
    """The block printed for one action: a header line, then the text indented."""
    at = local(action.at).strftime("%Y-%m-%d %H:%M %z")
    who = f" member {action.member_id}" if action.member_id else ""
    head = f"── {at} · group {action.group_id}{who} · {action.kind} {action.slot} · {action.key}"
    body = "\n".join(f"   {line}".rstrip() for line in action.text.splitlines() or [""])
    return f"{head}\n{body}\n"


class ConsoleChannel:
    """Writes actions to `stream` (stdout by default, looked up at send time)."""

    def __init__(
        self, stream: TextIO | None = None, *, now: Now = shanghai_now, name: str = "console"
    ) -> None:
        self.name = name
        self._stream = stream
        self._now = now

    def __repr__(self) -> str:
        return f"ConsoleChannel(name={self.name!r})"

    def send_batch(self, actions: Sequence[PlannedAction]) -> list[DeliveryResult]:
        """Print every action; one `sent` result each (a write error fails the rest)."""
        stream = self._stream or sys.stdout
        results: list[DeliveryResult] = []
        broken: str | None = None
        for action in actions:
            if broken:
                results.append(DeliveryResult(action.key, FAILED, error=broken, attempts=0))
                continue
            try:
                stream.write(render(action))
            except (OSError, UnicodeError) as exc:
                broken = f"console write failed: {type(exc).__name__}: {exc}"
                results.append(DeliveryResult(action.key, FAILED, error=broken))
                continue
            results.append(DeliveryResult(action.key, SENT, sent_at=self._now()))
        with contextlib.suppress(OSError):  # what was written stands
            stream.flush()
        return results
