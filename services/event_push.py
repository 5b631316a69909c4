"""`sop events push`: one event in, the group's threshold triggers evaluated and sent at once.

The event is a batch of one, checked, attributed and audited like any import (the same row
again is refused, naming its batch); then the triggers of that group's SOP (and overlays)
are evaluated against the live counts (an event counts toward a campaign only when it says
which: `--campaign ID`) and what fired goes out through the same dispatch and
ledger as every post, so a threshold already posted never fires again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa

from engine import groups as group_registry
from engine.dispatch import DispatchReport
from engine.events.batches import ImportResult
from services.event_imports import import_table
from services.sending import batches, send_batch
from services.triggers import campaign_owner, trigger_actions
from services.workspace import Workspace
from sop_models.actions import PlannedAction
from sop_models.errors import DataFileError, EventRowsError


@dataclass
class PushResult:
    """The stored batch, the trigger posts it fired, and what their sending did."""

    batch: ImportResult
    group_id: str
    fired: list[PlannedAction] = field(default_factory=list)
    reports: list[DispatchReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def push_event(
    ws: Workspace,
    *,
    group: str,
    event: str,
    at: datetime,
    now: datetime,
    value: float | None = None,
    member: str | None = None,
    actor: str = "operator",
    campaign: str | None = None,
) -> PushResult:
    """Append one event for `group` (id or registered name) and fire its due triggers. With
    `campaign` the event belongs to that campaign of the group's SOP or an overlay attached to
    it (its `sop` and `message` name it), so the campaign's thresholds count it."""
    group_id = _group_id(ws, group)
    sop, message = None, None
    if campaign is not None:
        sop = campaign_owner(ws, group_id=group_id, campaign=campaign, now=at)
        message = f"campaigns.{campaign}"
    row = {
        "group": [group_id], "member": [member], "time": [at.isoformat()], "event": [event],
        "value": [None if value is None else repr(value)], "sop": [sop], "message": [message],
    }  # fmt: skip
    source = f"push {group_id} {event} {at.isoformat()}"
    try:
        batch = import_table(ws, pa.table(row), source=source, now=now, actor=actor)
    except EventRowsError as err:  # one row: say what is wrong with the flags, on one line
        reasons = "; ".join(p.reason for p in err.problems) if err.problems else str(err)
        raise DataFileError(f"sop events push: {reasons}; nothing stored") from None
    result = PushResult(batch, group_id)
    fired = trigger_actions(ws, now=now, group_ids=[group_id])
    result.fired = fired.actions
    result.warnings = [
        *fired.warnings,
        *(f"triggers of {sop} failed: {e}" for sop, _, e in fired.failures),
    ]
    for part in batches(result.fired):
        result.reports.append(send_batch(ws, part, now=now))
    return result


def _group_id(ws: Workspace, group: str) -> str:
    with ws.session() as session:
        known = group_registry.list_groups(session)
    by_id = [g.id for g in known if g.id == group]
    by_name = [g.id for g in known if g.name.strip() == group.strip()]
    if by_id or len(by_name) == 1:
        return (by_id or by_name)[0]
    why = "names several groups" if by_name else "is no registered group id or name"
    raise DataFileError(f"--group: {group!r} {why} (see `sop groups list`)")
