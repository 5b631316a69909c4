"""The ops console over HTTP: a workspace with accounts, and a logged-in TestClient."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from services.accounts import add_user
from services.workspace import Workspace
from sopflow.web.app import create_app
from tests.support.examples import example_text, modified
from tests.support.workspaces import in_production
from versions import services

T0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
PASSWORD = "correct-horse-9"
SCRIPT = "<script>alert('x')</script>"
ACCOUNTS = {"李经理": "lead", "小王": "lead", "阿芳": "operator", "管理员": "admin"}


def with_accounts(ws: Workspace) -> Workspace:
    """Every account of ACCOUNTS, each with PASSWORD."""
    for name, role in ACCOUNTS.items():
        add_user(ws, name=name, role=role, password=PASSWORD, actor="os:test", now=T0)
    return ws


def with_versions(ws: Workspace) -> Workspace:
    """mombaby-refined v1.0 in production (by 小王, promoted by 李经理) and v2.0 by 小王 whose
    welcome text carries a <script> tag."""
    in_production(ws, "mombaby-refined", now=T0)

    def change(data: dict) -> None:
        data["base_content"]["welcome"]["warmth"] = f"欢迎！{SCRIPT}"

    services.save_version(
        ws.uow(),
        text=modified(example_text("mombaby-refined"), change),
        source="v2.yaml",
        author="小王",
        message="新欢迎语",
        major=True,
        now=T0,
    )
    return ws


def csrf_of(html: str, field: str = "csrf") -> str:
    """The hidden CSRF token of the first form with that field in a page."""
    found = re.search(rf'name="{field}" value="([^"]+)"', html)
    assert found, f"no {field} field in the page"
    return found.group(1)


def client(ws: Workspace) -> TestClient:
    """A client of the console for `ws` (no login yet), following no redirects."""
    return TestClient(create_app(ws), follow_redirects=False)


def log_in(web: TestClient, name: str, password: str = PASSWORD) -> object:
    """Fill in the login form as a person would; returns the POST's response."""
    page = web.get("/login")
    return web.post(
        "/login", data={"name": name, "password": password, "pre": csrf_of(page.text, "pre")}
    )
