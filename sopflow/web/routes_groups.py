"""The group registry for leads: search and filter by owner, tag and SOP (read only here;
`sop groups ...` changes it)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.groups import list_groups
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
    found = list_groups(workspace(request), sop_id=sop or None, tag=tag or None)
    if owner:
        found = [g for g in found if g.owner == owner]
    if q:
        needle = q.casefold()
        found = [g for g in found if needle in g.name.casefold() or needle in g.id.casefold()]
    return render(
        request,
        "groups.html",
        groups=found[:GROUPS_SHOWN],
        total=len(found),
        filters={"q": q, "owner": owner, "tag": tag, "sop": sop},
    )
