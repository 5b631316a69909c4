"""Sending what a run planned: channel batches (one per channel and hour, at most 2,000
actions) and each batch dispatched with the ledger's exactly-once bookkeeping.

`services.playbooks` plans the actions a run sends; flows send its batches with `send_batch`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.dispatch import DispatchReport, dispatch
from services.channels import build_channel
from services.tracked_links import track_action_links
from services.workspace import Workspace
from sop_models.actions import PlannedAction

BATCH_LIMIT = 2000  # WeCom mass send covers at most 2,000 groups per call
LOCAL_CHANNELS = ("outbox", "console", "tasklist")
LOCAL_CHUNK, REMOTE_CHUNK = 1000, 200


@dataclass(frozen=True)
class Batch:
    """Actions that one task sends through one channel."""

    channel: str
    actions: tuple[PlannedAction, ...]

    @property
    def label(self) -> str:
        first = self.actions[0].at.strftime("%H:%M") if self.actions else "-"
        return f"{self.channel}@{first}x{len(self.actions)}"


def batches(actions: Sequence[PlannedAction]) -> list[Batch]:
    """Split actions into channel batches: one per channel and hour, ≤ BATCH_LIMIT each.

    Grouping by the hour keeps one task per slot for group posts, and folds the day's stream
    of on-join welcomes into a few batches instead of one task per member.
    """
    grouped: dict[tuple[str, datetime], list[PlannedAction]] = defaultdict(list)
    for action in actions:
        grouped[(action.channel, action.at.replace(minute=0, second=0, microsecond=0))].append(
            action
        )
    found: list[Batch] = []
    for (channel, _at), items in sorted(grouped.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        for offset in range(0, len(items), BATCH_LIMIT):
            found.append(Batch(channel, tuple(items[offset : offset + BATCH_LIMIT])))
    return found


def send_batch(
    ws: Workspace, batch: Batch, *, now: datetime, owner: str | None = None
) -> DispatchReport:
    """Send one batch through its channel with the ledger's exactly-once bookkeeping.

    `owner` names the run in the rows it claims (a retry with the same owner takes back the
    rows its failed attempt left); a new id by default.
    """
    channel = build_channel(batch.channel, ws, day=batch.actions[0].at.date())
    # Local channels can look into their own records after a crash, so a large chunk risks
    # nothing; remote ones keep chunks small so fewer messages can end up `unknown`.
    chunk = LOCAL_CHUNK if batch.channel in LOCAL_CHANNELS else REMOTE_CHUNK
    actions = track_action_links(ws, batch.actions, now=now)  # the SOP's `track_links`
    lease = timedelta(seconds=ws.settings.lease_seconds)
    return dispatch(
        ws.session, channel, actions, now=now, chunk_size=chunk, owner=owner, lease=lease
    )
