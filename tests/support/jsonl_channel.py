"""A JSONL channel for dispatch tests: one line per message, optionally dying mid-chunk,
optionally able to look into its own file (reconcile), optionally slow or held back."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sop_models.actions import PlannedAction


@dataclass(frozen=True)
class Result:
    """A channel outcome with the shape of engine.channels' DeliveryResult."""

    key: str
    status: str
    response_id: str | None = None
    error: str | None = None
    attempts: int = 1
    sent_at: datetime | None = None


class JsonlChannel:
    """Appends one JSON line per message; can die (os._exit) after k messages of chunk n."""

    def __init__(
        self,
        path: Path,
        *,
        sent_at: datetime | None = None,
        crash_in_chunk: int | None = None,
        crash_after: int = 0,
        status: str = "sent",
        before_write: Callable[[], object] | None = None,
    ) -> None:
        self.path = path
        self.sent_at = sent_at
        self.crash_in_chunk = crash_in_chunk
        self.crash_after = crash_after
        self.status = status
        self.chunks = 0
        self.before_write = before_write  # called once per batch, before its first line

    def send_batch(self, actions: list[PlannedAction]) -> list[Result]:
        self.chunks += 1
        if self.before_write is not None:
            self.before_write()
        results = []
        for index, action in enumerate(actions):
            if self.chunks == self.crash_in_chunk and index == self.crash_after:
                os._exit(1)
            line = {"key": action.key, "group": action.group_id, "text": action.text}
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
            result = Result(action.key, self.status, f"line-{action.key}", sent_at=self.sent_at)
            results.append(result)
        return results

    def written(self) -> list[str]:
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line)["key"] for line in lines]


class ReconcilingJsonlChannel(JsonlChannel):
    """The same channel, able to say exactly which keys it already wrote."""

    def reconcile(self, keys: list[str]) -> dict[str, str]:
        written = set(self.written())
        return {key: "sent" if key in written else "not_sent" for key in keys}
