"""The operator's phone page: today's and tomorrow's hand posts of their groups, and "done"."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from services.hand_posts import day_work, mark_posted, post_image
from services.sessions import Login
from sop_models.errors import AccountError
from sop_models.i18n import tr
from sopflow.web.app import render
from sopflow.web.auth import checked_form, login, now, workspace

router = APIRouter()


VERDICTS = ("early", "on_time", "late")  # the ledger's punctuality words


@router.get("/tasks")
def tasks(
    request: Request, posted: str = "", verdict: str = "", user: Login = Depends(login)
) -> Response:
    ws = workspace(request)
    today = now().astimezone(ws.settings.zone).date()
    days = [day_work(ws, user=user.user, day=today + timedelta(days=n)) for n in (0, 1)]
    verdict = verdict if verdict in VERDICTS else ""
    return render(request, "tasks.html", days=days, posted=posted, verdict=verdict)


@router.get("/tasks/image")
def image(request: Request, key: str, user: Login = Depends(login)) -> Response:
    """The image of one of the user's hand posts (a JPG/PNG file in the workspace)."""
    found = post_image(workspace(request), user=user.user, key=key)
    if found is None:
        raise HTTPException(404, tr("no such image"))
    raw, media_type = found
    return Response(raw, media_type=media_type, headers={"Cache-Control": "private, max-age=300"})


@router.post("/tasks/done")
def done(
    request: Request, user: Login = Depends(login), form: dict[str, str] = Depends(checked_form)
) -> Response:
    try:
        result = mark_posted(workspace(request), user=user.user, key=form.get("key", ""), now=now())
    except AccountError as err:
        raise HTTPException(403, str(err)) from None
    posted = f"{result.group_name or result.group_id} · {result.post}"
    query = urlencode({"posted": posted, "verdict": result.verdict})
    return RedirectResponse(f"/tasks?{query}", status_code=303)


@router.get("/r/{token}", name="tracked_link")
def tracked_link(request: Request, token: str, code: str = "", state: str = "") -> Response:
    """A tracked link: count the click (robots and repeats aside), then redirect. Inside WeCom
    (and with WeCom configured) the visitor is first sent through WeCom's in-app authorization,
    which comes back here with a `code` naming them, so repeats count once per member."""
    from services.tracked_links import click, is_robot, link_exists
    from services.wecom_login import authorize_url, identifies_visitors, visitor_for_code

    ws = workspace(request)
    agent = request.headers.get("user-agent", "")
    member = visitor_for_code(ws, code=code) if code and state == token else None
    in_wecom = "wxwork" in agent.lower() and not is_robot(agent)
    if not code and in_wecom and identifies_visitors(ws) and link_exists(ws, token):
        back = str(request.url_for("tracked_link", token=token))
        target = authorize_url(ws, redirect_uri=back, state=token, qr=False)
        return RedirectResponse(target, status_code=302)
    target = click(
        ws,
        token=token,
        member=member,
        address=request.client.host if request.client else "unknown",
        user_agent=agent,
        now=now(),
    )
    if target is None:
        raise HTTPException(404, tr("no such link"))
    return RedirectResponse(target, status_code=302)
