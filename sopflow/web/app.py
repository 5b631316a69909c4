"""The console's FastAPI app for one workspace: routes, templates, local static files.

`create_app(ws)` wires the routers (`routes_*`); handlers call the services the CLI calls.
Responses carry a strict Content-Security-Policy: every script, style and image comes from
the app itself, and no page works only with JavaScript (it adds a copy button, nothing else).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from itsdangerous import Signer

from report.times import local_time
from services.sessions import signing_key
from services.workspace import Workspace
from sop_models.errors import SopflowError
from sop_models.i18n import use_language
from sopflow.web.auth import NotLoggedIn
from sopflow.web.i18n import translator

HERE = Path(__file__).parent
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page from templates/, with the login, its CSRF token and the words of the language."""
    ws: Workspace = request.app.state.workspace
    login = getattr(request.state, "login", None)
    base = {
        "login": login,
        "csrf": login.csrf if login else "",
        "t": request.app.state.t,
        "lang": "en" if ws.settings.language == "en" else "zh-CN",
        "when": lambda at: local_time(at, ws.settings.zone),
    }
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)


def current_store(request: Request) -> None:
    """Every page reads the shared store as it is now, give or take
    `web_store_refresh_seconds` (one `git ls-remote`, ~8 ms, when due)."""
    ws: Workspace = request.app.state.workspace
    ws.store.refresh(ws.settings.web_store_refresh_seconds)


def create_app(ws: Workspace) -> FastAPI:
    """The console for workspace `ws` (its database migrated, its signing key made)."""
    from sopflow.web import (
        routes_admin,
        routes_approvals,
        routes_groups,
        routes_login,
        routes_sops,
        routes_tasks,
    )

    app = FastAPI(
        title="sopflow",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(current_store)],
    )
    _ = ws.engine  # migrate before the first request
    app.state.workspace = ws
    app.state.signer = Signer(signing_key(ws), salt="sopflow-console")
    app.state.templates = Jinja2Templates(directory=HERE / "templates")
    app.state.t = translator(ws.settings.language)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    routes = (routes_login, routes_sops, routes_groups, routes_approvals, routes_tasks)
    for module in (*routes, routes_admin):
        app.include_router(module.router)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        with use_language(ws.settings.language):  # what services write for the page, too
            response: Response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(NotLoggedIn)
    async def to_login(request: Request, exc: NotLoggedIn) -> Response:
        return RedirectResponse(f"/login?next={exc.next_url}", status_code=303)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return render(request, "error.html", status_code=exc.status_code, message=exc.detail)

    @app.exception_handler(SopflowError)
    async def user_error(request: Request, exc: SopflowError) -> Response:
        # The same one-line messages the CLI prints, as a page (the action changed nothing).
        return render(request, "error.html", status_code=400, message=str(exc))

    return app
