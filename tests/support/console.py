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


POSTS = {
    "g-fang": ("阿芳的福利群", "阿芳", "今晚 20:00 会员福利：<b>湿巾</b>买一送一 ✨"),
    "g-other": ("别人的群", "小李", "别人的文案"),
}


def with_hand_posts(ws: Workspace, *, now: datetime) -> dict[str, str]:
    """Two task-list groups (阿芳's and someone else's), each with a hand post due one hour
    after `now` (written by the real task list channel); returns group id -> delivery key."""
    from datetime import timedelta

    from engine.dispatch import dispatch
    from engine.groups import add_group
    from services.channels import build_channel, close_channels
    from tests.support.wecom_fake import planned

    with ws.session() as session:
        for gid, (name, owner, _) in POSTS.items():
            add_group(
                session,
                id=gid,
                name=name,
                sop_id="mombaby-refined",
                owner=owner,
                channel="tasklist",
                now=now,
            )
        session.commit()
    due = now.astimezone(ws.settings.zone) + timedelta(hours=1)
    keys = {gid: f"mombaby-refined:1.0:{gid}:evening:{due.date()}" for gid in POSTS}
    actions = [
        planned(
            keys[gid],
            group_id=gid,
            at=due,
            channel="tasklist",
            sop_id="mombaby-refined",
            version="1.0",
            slot="columns.evening",
            text=text,
        )
        for gid, (_, _, text) in POSTS.items()
    ]
    try:
        dispatch(ws.session, build_channel("tasklist", ws), actions, now=now)
    finally:
        close_channels()
    return keys
