"""Overlay attachments: which campaign SOPs are laid over which base SOP's groups, and when.

Kept in the workspace database (`services.overlay_store`, migration 0108), so every workspace
cache of a pool sees what one machine attached. Each attach/detach is one transaction with its
audit record (`overlay_attach`, `overlay_detach`: the attachment before and after). A workspace
made before 0108 kept them in `overlays.json`: the first read imports that file once (audited
as `overlay_import`, the file's hash in `before`) and removes it. `sop plan` uses them
(`services.planning`); each overlay is versioned and promoted like any SOP, and the attachment
names an alias (default production), so a promotion needs no re-attaching. The groups that
follow a base with the overlay attached are the overlay's groups: `sop experiment OVERLAY`
puts each on the overlay's candidate or production (`arms`).
"""

from __future__ import annotations

import fcntl
import json
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime

from sqlmodel import Session, col, delete, select

from services.cli_identity import os_user, signed
from services.overlay_store import OverlayArm, OverlayRow
from services.workspace import Workspace
from sop_models.errors import PlanError, WorkspaceError
from versions import audit, services
from versions.audit_files import file_hash

OVERLAYS_FILE = "overlays.json"


@dataclass(frozen=True)
class Attachment:
    """Overlay SOP `overlay` (at alias or version `ref`) over `base`'s groups, `start`..`end`."""

    overlay: str
    base: str
    ref: str = "production"
    start: date | None = None
    end: date | None = None


def _attachment(row: OverlayRow) -> Attachment:
    def day(text: str | None) -> date | None:
        return date.fromisoformat(text) if text else None

    return Attachment(row.overlay, row.base, row.ref, day(row.start_day), day(row.end_day))


def _row(attachment: Attachment, now: datetime) -> OverlayRow:
    start, end = attachment.start, attachment.end
    return OverlayRow(
        overlay=attachment.overlay, base=attachment.base, ref=attachment.ref,
        start_day=start.isoformat() if start else None, end_day=end.isoformat() if end else None,
        changed_at=now,
    )  # fmt: skip


def attachments(ws: Workspace, *, base: str | None = None) -> list[Attachment]:
    """Every attachment (of `base` only, when given), in (base, overlay) order."""
    import_file(ws)
    with ws.session() as session:
        query = select(OverlayRow).order_by(col(OverlayRow.base), col(OverlayRow.overlay))
        if base is not None:
            query = query.where(OverlayRow.base == base)
        return [_attachment(row) for row in session.exec(query).all()]


def _plain(attachment: Attachment | None) -> dict[str, str | None] | None:
    if attachment is None:
        return None
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(attachment).items()}


def _audit(
    session: Session,
    *,
    action: str,
    base: str,
    before: Attachment | None,
    after: Attachment | None,
    by: str | None,
    now: datetime,
) -> None:
    shown = after or before
    assert shown is not None
    user = os_user()
    audit.append(
        session, actor=signed(by or user, user), action=action, sop_id=base, version=None,
        before={"overlay": _plain(before)}, after={"overlay": _plain(after)},
        note=f"{action.replace('_', ' ')} {shown.overlay}@{shown.ref} over {base}", now=now,
    )  # fmt: skip


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
    import_file(ws)
    at = now or datetime.now(UTC)
    with ws.session() as session:
        old = session.get(OverlayRow, (attachment.overlay, attachment.base))
        before = _attachment(old) if old is not None else None
        if old is not None:
            session.delete(old)
            session.flush()
        session.add(_row(attachment, at))
        _audit(session, action="overlay_attach", base=attachment.base, before=before,
               after=attachment, by=by, now=at)  # fmt: skip
        session.commit()


def detach(
    ws: Workspace, *, overlay: str, base: str, by: str | None = None, now: datetime | None = None
) -> None:
    """Remove an attachment (audited as `overlay_detach`); an unknown one is an error."""
    import_file(ws)
    at = now or datetime.now(UTC)
    with ws.session() as session:
        old = session.get(OverlayRow, (overlay, base))
        if old is None:
            raise PlanError(f"{overlay} is not attached to {base}")
        gone = _attachment(old)
        session.delete(old)
        _audit(session, action="overlay_detach", base=base, before=gone, after=None, by=by,
               now=at)  # fmt: skip
        session.commit()


def import_file(ws: Workspace, *, now: datetime | None = None) -> int:
    """Move a pre-0108 `overlays.json` into the database once (audited as `overlay_import`;
    a pair the database already holds keeps the database's row), then remove the file.
    Returns how many attachments were added; 0 when there is no file."""
    path = ws.root / OVERLAYS_FILE
    if not path.exists():
        return 0
    with (ws.root / f"{OVERLAYS_FILE}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            if not path.exists():  # another process imported it while we waited
                return 0
            data = path.read_bytes()
            found = _parse(path.name, data)
            at = now or datetime.now(UTC)
            user = os_user()
            with ws.session() as session:
                held = {(r.overlay, r.base) for r in session.exec(select(OverlayRow)).all()}
                added = [a for a in found if (a.overlay, a.base) not in held]
                session.add_all(_row(a, at) for a in added)
                audit.append(
                    session,
                    actor=signed(user, user),
                    action="overlay_import",
                    sop_id="(workspace)",
                    version=None,
                    before={"files": {OVERLAYS_FILE: file_hash(data)}},
                    after={"overlays": [_plain(a) for a in added], "files": {OVERLAYS_FILE: None}},
                    note=f"{len(added)} overlay attachment(s) moved from {OVERLAYS_FILE} into"
                    " the database",
                    now=at,
                )
                session.commit()
            path.unlink()
            return len(added)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _parse(name: str, data: bytes) -> list[Attachment]:
    try:
        rows = json.loads(data.decode("utf-8"))["overlays"]
        return [
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
        raise WorkspaceError(f"{name}: not an overlay list written by sopflow ({err})") from None


def arms(ws: Workspace, *, overlay: str) -> dict[str, str]:
    """Group id -> the overlay's alias that group follows (set by an experiment on it)."""
    with ws.session() as session:
        rows = session.exec(select(OverlayArm).where(OverlayArm.overlay == overlay)).all()
        return {row.group_id: row.alias for row in rows}


def set_arms(session: Session, *, overlay: str, aliases: dict[str, str]) -> None:
    """Put each group on its alias of `overlay` (the caller commits, with its audit record)."""
    session.exec(delete(OverlayArm).where(col(OverlayArm.overlay) == overlay))  # type: ignore[call-overload]
    session.add_all(OverlayArm(overlay=overlay, group_id=g, alias=a) for g, a in aliases.items())
