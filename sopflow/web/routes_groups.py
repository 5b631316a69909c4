"""The group registry for leads: search and filter by owner, tag and SOP (read only here;
`sop groups ...` changes it)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.console_reads import find_groups
from services.sessions import Login
from sopflow.web.app import render
from sopflow.web.auth import lead, workspace

router = APIRouter()
GROUPS_SHOWN = 200


@router.get("/groups")
def groups(
    request: Request,
    q: str = "",
    owner: str = "",
    tag: str = "",
    sop: str = "",
    user: Login = Depends(lead),
) -> Response:
    shown, total = find_groups(
        workspace(request), search=q, owner=owner, tag=tag, sop_id=sop, limit=GROUPS_SHOWN
    )
    return render(
        request,
        "groups.html",
        groups=shown,
        total=total,
        filters={"q": q, "owner": owner, "tag": tag, "sop": sop},
    )
