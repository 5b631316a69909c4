"""Where approvals count: with `approvals = "console"` only logged-in leads approve.

The CLI takes an approver's name as typed; the console knows who logged in. A workspace that
wants only authenticated approvals sets `approvals = "console"`, and the CLI's promote,
approve and decline refuse before anything changes.
"""

from __future__ import annotations

from services.workspace import Workspace
from sop_models.errors import ApprovalError


def refuse_cli_approval(ws: Workspace, *, command: str) -> None:
    """Refuse a CLI approval command when the workspace takes approvals in the console only."""
    if ws.settings.approvals == "console":
        raise ApprovalError(
            f"sop {command}: this workspace takes approvals in the console only"
            ' (approvals = "console" in sopflow.toml): log in to `sop web` as a lead'
        )
