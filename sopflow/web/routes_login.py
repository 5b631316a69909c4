"""Logging in and out. The login form carries its own CSRF token (a signed pre-session
cookie), and a successful login always starts a new session id."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from services.accounts import User, authenticate
from services.sessions import end_session, start_session
from sop_models.errors import AccountError
from sop_models.i18n import tr
from sopflow.web.app import render
from sopflow.web.auth import (
    COOKIE,
    PRE_COOKIE,
    checked_form,
    now,
    session_id,
    set_cookie,
    unsigned_cookie,
    workspace,
)

router = APIRouter()
PRE_MAX_AGE = 3600


def _safe_next(target: str) -> str:
    """Only paths of this app (never `//evil.example` or a full URL)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _login_page(request: Request, *, next_url: str, error: str = "", status: int = 200) -> Response:
    from services.wecom_login import login_ways

    token = secrets.token_urlsafe(24)
    in_app, qr = login_ways(workspace(request))
    response = render(
        request,
        "login.html",
        status_code=status,
        pre=token,
        next_url=next_url,
        error=error,
        wecom_app=in_app,
        wecom_qr=qr,
    )
    set_cookie(request, response, PRE_COOKIE, token, PRE_MAX_AGE)
    return response


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    return _login_page(request, next_url=_safe_next(next))


@router.post("/login")
def login_submit(
    request: Request,
    name: str = Form(""),
    password: str = Form(""),
    pre: str = Form(""),
    next: str = Form("/"),
) -> Response:
    expected = unsigned_cookie(request, PRE_COOKIE)
    if not pre or not expected or not secrets.compare_digest(pre, expected):
        raise HTTPException(403, tr("missing or wrong CSRF token"))
    ws = workspace(request)
    address = request.client.host if request.client else "unknown"
    try:
        user = authenticate(ws, name=name, password=password, address=address, now=now())
    except AccountError as err:
        return _login_page(request, next_url=_safe_next(next), error=str(err), status=401)
    return _logged_in(request, user, next)


def _logged_in(request: Request, user: User, next_url: str) -> Response:
    """End any earlier session, start a new one (a new id), and go where the person was going."""
    ws = workspace(request)
    old = session_id(request)
    if old:
        end_session(ws, session_id=old)
    new_id, _ = start_session(ws, user=user, now=now())
    target = _safe_next(next_url)
    if target == "/" and not user.is_lead:
        target = "/tasks"
    response = RedirectResponse(target, status_code=303)
    set_cookie(request, response, COOKIE, new_id, ws.settings.web_idle_minutes * 60 * 48)
    response.delete_cookie(PRE_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(request: Request, form: dict[str, str] = Depends(checked_form)) -> Response:
    sid = session_id(request)
    if sid:
        end_session(workspace(request), session_id=sid)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


STATE_COOKIE = "sop_wecom_state"


@router.get("/login/wecom")
def wecom_start(request: Request, qr: int = 0, next: str = "/") -> Response:
    """Send the browser to WeCom (QR-code login with `qr=1`, else in-app authorization)."""
    from services.wecom_login import authorize_url

    state = secrets.token_urlsafe(16)
    callback = str(request.url_for("wecom_callback"))
    try:
        target = authorize_url(workspace(request), redirect_uri=callback, state=state, qr=bool(qr))
    except AccountError as err:
        return _login_page(request, next_url=_safe_next(next), error=str(err), status=400)
    response = RedirectResponse(target, status_code=303)
    set_cookie(request, response, STATE_COOKIE, f"{state} {_safe_next(next)}", PRE_MAX_AGE)
    return response


@router.get("/login/wecom/callback", name="wecom_callback")
def wecom_callback(request: Request, code: str = "", state: str = "") -> Response:
    """WeCom's redirect back: the `state` must be ours; the code names the WeCom user."""
    from services.wecom_login import user_for_code

    expected, _, next_url = (unsigned_cookie(request, STATE_COOKIE) or "").partition(" ")
    if not state or not expected or not secrets.compare_digest(state, expected):
        raise HTTPException(403, tr("the login state does not match"))
    ws = workspace(request)
    try:
        user = user_for_code(ws, code=code)
    except AccountError as err:
        response = _login_page(request, next_url=_safe_next(next_url), error=str(err), status=401)
    else:
        response = _logged_in(request, user, next_url)
    response.delete_cookie(STATE_COOKIE, path="/")  # a state serves one login only
    return response
