"""Reading and verifying the audit trail of a workspace."""

from __future__ import annotations

from datetime import datetime

from services.workspace import Workspace
from services.workspace_files import workspace_file_findings
from versions import audit, services
from versions.approvals import required
from versions.audit import AuditRecord
from versions.audit_repair import RepairReport
from versions.audit_repair import repair as repair_store


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


def verify(ws: Workspace) -> list[str]:
    """Breaks in the hash chain, git refs that moved without an audit record, and workspace
    files (calendar.json, overlays.json) edited outside sopflow."""
    return services.verify(ws.uow()) + workspace_file_findings(ws)


def repair(ws: Workspace, *, actor: str, remove: bool, now: datetime) -> RepairReport:
    """Record or remove tags no audit record mentions (a crashed save); re-anchor the head."""
    return repair_store(ws.uow(), actor=required(actor, "--by"), remove=remove, now=now)
