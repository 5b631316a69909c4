"""Overlay attachments: which campaign SOPs are laid over which base SOP's groups, and when.

Kept in the workspace file `overlays.json` beside `calendar.json`, for the same reasons (a few
rows of workspace configuration, read whole by every plan); writes are atomic under an flock.
`sop plan` uses them (`services.planning`); each overlay is versioned and promoted like any
SOP, and the attachment names an alias (default production), so a promotion needs no
re-attaching.
"""

from __future__ import annotations

import fcntl
import json
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path

from services.workspace import Workspace
from services.workspace_files import write_audited
from sop_models.errors import PlanError, WorkspaceError
from versions import services

OVERLAYS_FILE = "overlays.json"


@dataclass(frozen=True)
class Attachment:
    """Overlay SOP `overlay` (at alias or version `ref`) over `base`'s groups, `start`..`end`."""

    overlay: str
    base: str
    ref: str = "production"
    start: date | None = None
    end: date | None = None


def _path(ws: Workspace) -> Path:
    return ws.root / OVERLAYS_FILE


def attachments(ws: Workspace, *, base: str | None = None) -> list[Attachment]:
    """Every attachment (of `base` only, when given)."""
    path = _path(ws)
    if not path.exists():
        return []
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))["overlays"]
        found = [
            Attachment(
                r["overlay"],
                r["base"],
                r.get("ref") or "production",
                date.fromisoformat(r["start"]) if r.get("start") else None,
                date.fromisoformat(r["end"]) if r.get("end") else None,
            )
            for r in rows
        ]
    except (ValueError, KeyError, TypeError) as err:
        raise WorkspaceError(f"{path}: not an overlay list written by sopflow ({err})") from None
    return [a for a in found if base is None or a.base == base]


def _write(
    ws: Workspace,
    rows: list[Attachment],
    *,
    action: str,
    base: str,
    before: Attachment | None,
    after: Attachment | None,
    by: str | None,
    now: datetime | None,
) -> None:
    data = [_plain(a) for a in rows]
    text = json.dumps({"overlays": data}, ensure_ascii=False, indent=1)
    shown = after or before
    assert shown is not None
    write_audited(
        ws,
        name=OVERLAYS_FILE,
        text=text,
        action=action,
        sop_id=base,
        by=by,
        before={"overlay": _plain(before) if before else None},
        after={"overlay": _plain(after) if after else None},
        note=f"{action.replace('_', ' ')} {shown.overlay}@{shown.ref} over {base}",
        now=now,
    )


def _plain(attachment: Attachment) -> dict[str, str | None]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(attachment).items()}


def attach(
    ws: Workspace, attachment: Attachment, *, by: str | None = None, now: datetime | None = None
) -> None:
    """Attach (or re-attach with a new window) an overlay; both SOPs must exist. Audited as
    `overlay_attach` by `by` (default: the OS login name), with the previous attachment."""
    if attachment.overlay == attachment.base:
        raise PlanError(f"{attachment.overlay} cannot be laid over itself")
    if attachment.start and attachment.end and attachment.end < attachment.start:
        raise PlanError(f"--until {attachment.end} is before --from {attachment.start}")
    services.resolve(ws.store, attachment.base, "latest")
    services.resolve(ws.store, attachment.overlay, attachment.ref)
    pair = (attachment.overlay, attachment.base)
    with (ws.root / f"{OVERLAYS_FILE}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            rows = attachments(ws)
            before = next((a for a in rows if (a.overlay, a.base) == pair), None)
            kept = [a for a in rows if (a.overlay, a.base) != pair]
            _write(ws, [*kept, attachment], action="overlay_attach", base=attachment.base,
                   before=before, after=attachment, by=by, now=now)  # fmt: skip
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def detach(
    ws: Workspace, *, overlay: str, base: str, by: str | None = None, now: datetime | None = None
) -> None:
    """Remove an attachment (audited as `overlay_detach`); an unknown one is an error."""
    with (ws.root / f"{OVERLAYS_FILE}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            rows = attachments(ws)
            kept = [a for a in rows if (a.overlay, a.base) != (overlay, base)]
            if len(kept) == len(rows):
                raise PlanError(f"{overlay} is not attached to {base}")
            (gone,) = [a for a in rows if (a.overlay, a.base) == (overlay, base)]
            _write(ws, kept, action="overlay_detach", base=base, before=gone, after=None,
                   by=by, now=now)  # fmt: skip
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
