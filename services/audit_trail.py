"""Reading and verifying the audit trail of a workspace."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from services.workspace import Workspace
from services.workspace_files import workspace_file_findings
from versions import audit, services
from versions import audit_checkpoint as checkpoint
from versions.approvals import required
from versions.audit import AuditRecord
from versions.audit_checkpoint import Checked
from versions.audit_files import AUDITED_FILES, file_hash
from versions.audit_repair import RepairReport
from versions.audit_repair import repair as repair_store
from versions.audit_verify import GitFacts


def records(
    ws: Workspace,
    *,
    sop_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AuditRecord]:
    """Audit records, oldest first, filtered by SOP, actor, action and time range."""
    with ws.session() as session:
        return audit.query(
            session, sop_id=sop_id, actor=actor, action=action, since=since, until=until
        )


def newest(
    ws: Workspace,
    *,
    limit: int,
    sop_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[list[AuditRecord], int]:
    """The newest `limit` records matching the filters (newest first) and how many match."""
    with ws.session() as session:
        return audit.newest(
            session,
            limit=limit,
            sop_id=sop_id,
            actor=actor,
            action=action,
            since=since,
            until=until,
        )


def verify_recent(ws: Workspace, *, now: datetime, full: bool = False) -> Checked:
    """`verify`, hashing only the records after the last clean check whose rows are unchanged
    (`versions.audit_checkpoint`), every record with `full`; a clean check moves the mark."""
    store = ws.store
    facts = GitFacts(store.raw_refs(), store.audit_anchor())
    refs = store.refs()
    files = {name: file_hash(_read(ws.root / name)) for name in AUDITED_FILES}
    with ws.session() as session:
        checked, point = checkpoint.verify(
            session, git_refs=refs, git=facts, files=files, now=now, full=full
        )
    if point is not None:
        with ws.session() as session:
            checkpoint.remember(session, point)
            session.commit()
    return checked


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


def verify(ws: Workspace) -> list[str]:
    """Breaks in the hash chain, git refs that moved without an audit record, and workspace
    files (calendar.json, overlays.json) edited outside sopflow."""
    return services.verify(ws.uow()) + workspace_file_findings(ws)


def repair(ws: Workspace, *, actor: str, remove: bool, now: datetime) -> RepairReport:
    """Record or remove tags no audit record mentions (a crashed save); re-anchor the head."""
    return repair_store(ws.uow(), actor=required(actor, "--by"), remove=remove, now=now)
