"""Outbox channel: appends one JSON line per action to a file, fsynced once per batch.

Lines are UTF-8 with Chinese as is (no \\u escapes). The file's name is the response id, and
`reconcile` reads the file back, so a run that died mid-batch learns exactly what got out.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.channels.base import SENT, UNKNOWN, DeliveryResult, Now, local, shanghai_now
from sop_models.actions import PlannedAction


def outbox_record(action: PlannedAction, written_at: datetime) -> dict[str, Any]:
    """The JSON object written for one action (times in +08:00 ISO-8601)."""
    return {
        "key": action.key,
        "sop_id": action.sop_id,
        "version": action.version,
        "group": action.group_id,
        "member": action.member_id,
        "at": local(action.at).isoformat(),
        "kind": action.kind,
        "slot": action.slot,
        "msgtype": action.msgtype,
        "channel": action.channel,
        "target": action.target,
        "sender": action.sender,
        "content_tag": action.content_tag,
        "text": action.text,
        "extra": dict(action.extra),
        "written_at": local(written_at).isoformat(),
    }


def read_outbox(path: Path) -> list[dict[str, Any]]:
    """Every valid JSON line of an outbox file (a torn last line is skipped)."""
    if not path.exists():
        return []
    records = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                records.append(record)
    return records


class OutboxChannel:
    """Appends actions to a JSON-lines file; the directory is created if missing."""

    def __init__(self, path: Path, *, now: Now = shanghai_now, name: str = "outbox") -> None:
        self.name = name
        self.path = Path(path)
        self._now = now

    def __repr__(self) -> str:
        return f"OutboxChannel(path={str(self.path)!r})"

    def send_batch(self, actions: Sequence[PlannedAction]) -> list[DeliveryResult]:
        """Write all lines in one append + fsync; `unknown` for all if the write fails."""
        if not actions:
            return []
        written_at = self._now()
        lines = "".join(
            json.dumps(outbox_record(a, written_at), ensure_ascii=False) + "\n" for a in actions
        )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a+b") as handle:
                handle.seek(0, os.SEEK_END)
                if handle.tell() > 0:
                    handle.seek(-1, os.SEEK_END)
                    if handle.read(1) != b"\n":  # a torn line from a crash: end it first
                        handle.write(b"\n")
                handle.write(lines.encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:  # part of the batch may be on disk: reconcile() will tell
            error = f"outbox {self.path}: {exc.strerror or exc}"
            return [DeliveryResult(a.key, UNKNOWN, error=error) for a in actions]
        where = self.path.name  # the response id: the file the lines went to
        return [DeliveryResult(a.key, SENT, response_id=where, sent_at=written_at) for a in actions]

    def reconcile(self, keys: Sequence[str]) -> dict[str, str]:
        """`sent` for keys found in the file, `not_sent` for the others."""
        found = {str(r.get("key")) for r in read_outbox(self.path)}
        return {key: SENT if key in found else "not_sent" for key in keys}
