"""Where approvals count: with `approvals = "console"` only logged-in leads approve.

The CLI takes an approver's name as typed; the console knows who logged in. A workspace that
wants only authenticated approvals sets `approvals = "console"`, and every CLI command that
moves production (promote, approve, decline, rollback) refuses before anything changes.
`candidate` and `reject` stay allowed: they move only the candidate alias, never production.
"""

from __future__ import annotations

from datetime import datetime

from services.workspace import Workspace
from sop_models.errors import AliasError, ApprovalError
from sop_models.i18n import N_, tr
from versions.store import VersionInfo


def refuse_cli_approval(ws: Workspace, *, command: str) -> None:
    """Refuse a CLI command that moves production when approvals are taken in the console only."""
    if ws.settings.approvals == "console":
        raise ApprovalError(
            f"sop {command}: this workspace takes approvals in the console only"
            ' (approvals = "console" in sopflow.toml): log in to `sop web` as a lead'
        )


ALIAS_MOVES = {
    "candidate": N_("make a version the candidate"),
    "promote": N_("promote a version"),
    "reject": N_("reject the candidate"),
    "rollback": N_("roll back production"),
}


def alias_move_with_reason(
    ws: Workspace,
    *,
    action: str,
    sop_id: str,
    version: str,
    account: str,
    reason: str,
    now: datetime,
) -> VersionInfo:
    """Candidate, promote, reject or rollback as a logged-in account, with a reason.

    In the console every alias move needs a reason (kept in the audit record); a blank one is
    refused before anything changes.
    """
    from versions import services

    if action not in ALIAS_MOVES:
        raise AliasError(f"no alias move {action!r} (one of {', '.join(ALIAS_MOVES)})")
    reason = reason.strip()
    if not reason:
        raise AliasError(
            tr("reason: give a reason to {action} (it is kept in the audit log)").format(
                action=tr(ALIAS_MOVES[action])
            )
        )
    uow = ws.uow()
    if action == "candidate":
        return services.set_candidate(
            uow, sop_id=sop_id, version=version, actor=account, now=now, reason=reason
        )
    if action == "promote":
        return services.promote(
            uow,
            sop_id=sop_id,
            version=version,
            approver=account,
            policy=ws.policy,
            now=now,
            reason=reason,
        )
    if action == "reject":
        return services.reject(uow, sop_id=sop_id, actor=account, reason=reason, now=now)
    return services.rollback(uow, sop_id=sop_id, author=account, reason=reason, now=now)
