"""Who is asking: the signed session cookie, role checks and CSRF tokens.

Pages depend on `login` (no session -> redirect to the login page), `lead` (403 for an
operator) and, for every state-changing request, `checked_form` (403 without the session's
CSRF token in the form's `csrf` field).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from itsdangerous import BadSignature, Signer

from services.sessions import Login, current
from services.workspace import Workspace
from sop_models.i18n import tr

COOKIE = "sop_session"
PRE_COOKIE = "sop_pre"  # login form's CSRF token, before there is a session


class NotLoggedIn(Exception):
    """No live session: the app answers with a redirect to the login page."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


def now() -> datetime:
    """The one place the console reads the clock."""
    return datetime.now(UTC)


def workspace(request: Request) -> Workspace:
    ws: Workspace = request.app.state.workspace
    return ws


def signer(request: Request) -> Signer:
    found: Signer = request.app.state.signer
    return found


def session_id(request: Request) -> str | None:
    """The session id from the signed cookie, or None (missing or tampered)."""
    return unsigned_cookie(request, COOKIE)


def set_cookie(request: Request, response: Any, name: str, value: str, max_age: int) -> None:
    """A signed, HttpOnly, SameSite=Lax cookie (Secure over HTTPS)."""
    response.set_cookie(
        name,
        signer(request).sign(value).decode(),
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def unsigned_cookie(request: Request, name: str) -> str | None:
    """A signed cookie's value, or None (missing or tampered)."""
    raw = request.cookies.get(name)
    if not raw:
        return None
    try:
        return signer(request).unsign(raw).decode()
    except BadSignature:
        return None


def login(request: Request) -> Login:
    """The logged-in account, or a redirect to the login page."""
    found = None
    sid = session_id(request)
    if sid:
        found = current(workspace(request), session_id=sid, now=now())
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise NotLoggedIn(quote(target, safe="/?=&"))
    request.state.login = found
    return found


def lead(user: Login = Depends(login)) -> Login:
    """A lead or admin; an operator is refused with 403."""
    if not user.user.is_lead:
        raise HTTPException(403, tr("a lead account is required"))
    return user


def admin(user: Login = Depends(login)) -> Login:
    """An admin; anyone else is refused with 403."""
    if user.user.role != "admin":
        raise HTTPException(403, tr("an admin account is required"))
    return user


async def checked_form(request: Request, user: Login = Depends(login)) -> dict[str, str]:
    """The posted form, refused with 403 unless it carries the session's CSRF token."""
    form = await request.form()
    token = str(form.get("csrf") or "")
    if not token or not secrets.compare_digest(token, user.csrf):
        raise HTTPException(403, tr("missing or wrong CSRF token"))
    return {key: str(value) for key, value in form.items()}
