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
import os
import tempfile
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from services.workspace import Workspace
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


def _write(ws: Workspace, rows: list[Attachment]) -> None:
    data = [
        {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(a).items()}
        for a in rows
    ]
    fd, name = tempfile.mkstemp(dir=ws.root, prefix=".overlays.")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"overlays": data}, out, ensure_ascii=False, indent=1)
        tmp.replace(_path(ws))
    finally:
        tmp.unlink(missing_ok=True)


def attach(ws: Workspace, attachment: Attachment) -> None:
    """Attach (or re-attach with a new window) an overlay; both SOPs must exist."""
    if attachment.overlay == attachment.base:
        raise PlanError(f"{attachment.overlay} cannot be laid over itself")
    if attachment.start and attachment.end and attachment.end < attachment.start:
        raise PlanError(f"--until {attachment.end} is before --from {attachment.start}")
    services.resolve(ws.store, attachment.base, "latest")
    services.resolve(ws.store, attachment.overlay, attachment.ref)
    with (ws.root / f"{OVERLAYS_FILE}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            rows = [
                a
                for a in attachments(ws)
                if (a.overlay, a.base) != (attachment.overlay, attachment.base)
            ]
            _write(ws, [*rows, attachment])
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def detach(ws: Workspace, *, overlay: str, base: str) -> None:
    """Remove an attachment; an unknown one is an error."""
    with (ws.root / f"{OVERLAYS_FILE}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            rows = attachments(ws)
            kept = [a for a in rows if (a.overlay, a.base) != (overlay, base)]
            if len(kept) == len(rows):
                raise PlanError(f"{overlay} is not attached to {base}")
            _write(ws, kept)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
