"""Admin pages: accounts (add, set a role, disable, reset a password) through
services.accounts, the service `sop users` uses, and the workspace settings, read-only.

Only an admin sees them (a lead or operator gets 403); every account change is an audit
record naming the admin. A password made here is shown once, in the answer to the form.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from services import accounts
from services.console_reads import settings_rows
from services.sessions import Login
from services.web_store import ROLES
from sopflow.web.app import render
from sopflow.web.auth import admin, checked_form, now, workspace

router = APIRouter()
ACTIONS = ("add", "role", "disable", "password")


def _users_page(request: Request, *, shown: tuple[str, str] | None = None) -> Response:
    users = accounts.list_users(workspace(request))
    return render(request, "users.html", users=users, roles=ROLES, shown=shown)


@router.get("/admin/users")
def users(request: Request, user: Login = Depends(admin)) -> Response:
    return _users_page(request)


@router.post("/admin/users/{action}")
def change_user(
    request: Request,
    action: str,
    user: Login = Depends(admin),
    form: dict[str, str] = Depends(checked_form),
) -> Response:
    """Add an account or change one, as the logged-in admin; a password left blank is made
    here and shown once."""
    if action not in ACTIONS:
        raise HTTPException(404, f"no action {action!r}")
    ws, actor, at = workspace(request), user.user.name, now()
    name = form.get("name", "").strip()
    if action == "role":
        accounts.set_role(ws, name=name, role=form.get("role", ""), actor=actor, now=at)
    elif action == "disable":
        accounts.disable_user(ws, name=name, actor=actor, now=at)
    else:
        typed = form.get("password", "")
        password = typed or accounts.one_time_password()
        if action == "add":
            accounts.add_user(
                ws,
                name=name,
                role=form.get("role", ""),
                password=password,
                actor=actor,
                now=at,
                wecom_userid=form.get("wecom_userid", "").strip() or None,
            )
        else:
            accounts.reset_password(ws, name=name, password=password, actor=actor, now=at)
        if not typed:
            return _users_page(request, shown=(name, password))
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/admin/settings")
def settings(request: Request, user: Login = Depends(admin)) -> Response:
    ws = workspace(request)
    return render(request, "settings.html", rows=settings_rows(ws), root=str(ws.root))
