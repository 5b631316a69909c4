"""The group registry for leads: search and filter by owner, tag and SOP; edit one group;
import groups from CSV with every bad row shown (changes go through services.groups, which
checks them against the workspace and audits them as the logged-in lead)."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from engine.groups import CHANNELS
from services import groups as group_services
from services.console_reads import find_groups
from services.sessions import Login
from sop_models.errors import BadRowsError, SopflowError, one_line
from sopflow.web.app import render
from sopflow.web.auth import checked_form, lead, now, workspace

router = APIRouter()
GROUPS_SHOWN = 200
TEXT_FIELDS = ("name", "owner", "sender", "channel", "target", "sop_id", "alias")
UPLOAD_NAME = "groups.csv"  # how row errors name the uploaded file


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


@router.get("/groups/import")
def import_form(request: Request, user: Login = Depends(lead)) -> Response:
    return render(request, "group_import.html", problems=[], error="", added=None)


@router.post("/groups/import")
async def import_csv(
    request: Request, user: Login = Depends(lead), form: dict[str, str] = Depends(checked_form)
) -> Response:
    """Import a pasted or uploaded CSV, all or nothing; bad rows are listed by line."""
    upload = (await request.form()).get("file")
    text = form.get("csv", "")
    if isinstance(upload, UploadFile) and upload.filename:
        text = (await upload.read()).decode("utf-8-sig", errors="replace")
    problems: list[tuple[str, str]] = []
    error, added = "", None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / UPLOAD_NAME
        path.write_text(text, encoding="utf-8")
        try:
            added, _ = group_services.import_groups(
                workspace(request), path=path, now=now(), by=user.user.name
            )
        except BadRowsError as err:
            problems = [(p.path, one_line(p.message)) for p in err.problems]
        except SopflowError as err:
            error = one_line(str(err)).replace(str(path), UPLOAD_NAME)
    status = 400 if problems or error else 200
    return render(request, "group_import.html", status, problems=problems, error=error, added=added)


@router.get("/groups/{group_id}")
def edit_form(request: Request, group_id: str, user: Login = Depends(lead)) -> Response:
    group, history = group_services.show_group(workspace(request), group_id=group_id)
    return _edit_page(request, group, _values(group), history=history)


@router.post("/groups/{group_id}")
def edit(
    request: Request,
    group_id: str,
    user: Login = Depends(lead),
    form: dict[str, str] = Depends(checked_form),
) -> Response:
    """Change the fields that differ from the stored group; problems re-show the form."""
    ws = workspace(request)
    group, history = group_services.show_group(ws, group_id=group_id)
    current = _values(group)
    typed = {key: form.get(key, "").strip() for key in current}
    try:
        changes = {k: _parsed(k, v) for k, v in typed.items() if v != current[k]}
        if changes:
            group_services.edit_group(
                ws, group_id=group_id, changes=changes, by=user.user.name, now=now()
            )
    except (SopflowError, ValueError) as err:
        return _edit_page(request, group, typed, history=history, error=one_line(str(err)))
    return RedirectResponse(f"/groups?q={group_id}", status_code=303)


def _values(group: Any) -> dict[str, str]:
    """The editable fields of a group as the form shows them."""
    values = {name: str(getattr(group, name) or "") for name in TEXT_FIELDS}
    values["start_date"] = group.start_date.isoformat() if group.start_date else ""
    values["member_count"] = str(group.member_count)
    values["tags"] = "; ".join(group.tag_list)
    return values


def _parsed(name: str, text: str) -> Any:
    """A typed form value as services.groups expects it (errors name the field)."""
    if name == "start_date":
        try:
            return date.fromisoformat(text) if text else None
        except ValueError:
            raise ValueError(f"start_date: {text!r} is not a date (YYYY-MM-DD)") from None
    if name == "member_count":
        if not text.isdigit():
            raise ValueError(f"member_count: {text!r} is not a whole number")
        return int(text)
    if name == "tags":
        return [tag.strip() for tag in text.split(";") if tag.strip()]
    return text


def _edit_page(
    request: Request, group: Any, values: dict[str, str], *, history: int, error: str = ""
) -> Response:
    return render(
        request,
        "group_edit.html",
        400 if error else 200,
        group=group,
        values=values,
        history=history,
        channels=CHANNELS,
        error=error,
    )
